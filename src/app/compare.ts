import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { UsageError } from '../config/errors.js';
import {
  comparePair,
  IncomparableRunsError,
  leaderboard,
  type Leaderboard,
  type PairComparison,
  type RunRecord,
} from '../metrics/comparison.js';
import { leaderboardMarkdown, leaderboardTable, pairMarkdown } from '../report/comparison.js';
import { accuracyChart } from '../report/plots/charts.js';
import type { Picture } from '../report/plots/figure.js';
import { RUN_FORMAT, RunJson } from '../report/json.js';
import { checkOutputs, type PlannedOutput, writeFilesAtomic } from '../report/write.js';
import { FileReadError, readRegularFile } from '../util/read-file.js';

export interface LoadedRun {
  path: string;
  record: RunRecord;
}

/** The largest run file read (a run's JSON with 10,000 test predictions is about 2 MB). */
const MAX_RUN_FILE_BYTES = 256 * 2 ** 20;

/**
 * Reads a run file. Returns the reason it is not one (another JSON format, not JSON) instead of throwing, so the
 * caller decides whether that is an error (a named file) or a skip (a folder scan).
 */
export function readRunFile(path: string): LoadedRun | { path: string; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(readRegularFile(path, MAX_RUN_FILE_BYTES).toString('utf8'));
  } catch (err) {
    if (err instanceof FileReadError) return { path, reason: err.message };
    const e = err as NodeJS.ErrnoException;
    return {
      path,
      reason:
        e.code === 'ENOENT' ? 'no such file' : e.code ? e.message : `not JSON (${e.message.replace(/\s*\n\s*/g, ' ')})`,
    };
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== RUN_FORMAT) {
    return {
      path,
      reason:
        typeof format === 'string'
          ? `format ${format}, not a run`
          : 'not a run file (no "format": "fashion-pipeline/run")',
    };
  }
  const parsed = RunJson.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { path, reason: `damaged run file: ${issue.path.join('.') || '(top)'}: ${issue.message}` };
  }
  const r = parsed.data;
  const record: RunRecord = { name: r.name, steps: r.config.steps.map((s) => s.id), cv: r.cv, test: r.test };
  if (r.data) record.trainRows = r.data.train_rows;
  return { path, record };
}

export interface CompareOptions {
  /** Run files; none = every run file in `out`. */
  files?: string[];
  /** Folder read when no files are named, and where the page and chart are written. */
  out: string;
  /** Significance level (0.05). */
  alpha?: number;
}

export interface CompareResult {
  mode: 'leaderboard' | 'pair';
  runs: string[];
  skipped: Array<{ file: string; reason: string }>;
  board: Leaderboard;
  /** Only for two runs. */
  comparison?: PairComparison;
  markdown: string;
  chart: Picture;
  files: { markdown: string; chart: string };
}

/**
 * `pipeline compare`: with no files or with one, or three and more, a leaderboard of the runs (results/COMPARISON.md);
 * with exactly two, the paired comparison of the second against the first (results/<a>-vs-<b>.md). Both with a PNG
 * bar chart of test accuracy and CV error bars.
 */
/**
 * A leaderboard ranks runs on one set of classes (its columns are their F1 scores): runs on the set most runs have are
 * kept (the first run's on a tie), the others are listed as not compared, with their classes.
 */
function keepOneClassSet(runs: LoadedRun[], skipped: CompareResult['skipped']): void {
  const classesOf = (r: LoadedRun) => JSON.stringify(r.record.test?.class_names ?? null);
  const counts = new Map<string, number>();
  for (const r of runs) counts.set(classesOf(r), (counts.get(classesOf(r)) ?? 0) + 1);
  const kept = [...counts.entries()].reduce((best, e) => (e[1] > best[1] ? e : best))[0];
  for (let i = runs.length - 1; i >= 0; i--) {
    const names = runs[i].record.test?.class_names;
    if (classesOf(runs[i]) === kept || !names) continue;
    skipped.push({
      file: basename(runs[i].path),
      reason: `other classes (${names.length}: ${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''}); compare it with runs on the same data`,
    });
    runs.splice(i, 1);
  }
}

export async function runCompare(options: CompareOptions): Promise<CompareResult> {
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha must be between 0 and 1, got ${options.alpha}`);
  const named = options.files ?? [];
  const skipped: CompareResult['skipped'] = [];
  const runs: LoadedRun[] = [];
  if (named.length === 0) {
    if (!existsSync(options.out))
      throw new UsageError(
        `no folder ${options.out}: run a pipeline first (pipeline run pipelines/pca-rf.yaml) or name run files`,
      );
    const candidates = readdirSync(options.out)
      .filter((f) => f.endsWith('.json') && !f.startsWith('.'))
      .sort();
    for (const f of candidates) {
      const r = readRunFile(join(options.out, f));
      if ('record' in r) runs.push(r);
      else skipped.push({ file: f, reason: r.reason });
    }
    if (runs.length === 0) {
      throw new UsageError(
        `no run files in ${options.out}/ (*.json with format ${RUN_FORMAT}); run a pipeline first: pipeline run pipelines/pca-rf.yaml`,
      );
    }
  } else {
    // One or two named files must be runs; in a longer list (a shell glob) other JSON is skipped as in a folder scan.
    for (const f of named) {
      const r = readRunFile(f);
      if ('record' in r) runs.push(r);
      else if (named.length <= 2 || r.reason === 'no such file') throw new UsageError(`${f}: ${r.reason}`);
      else skipped.push({ file: f, reason: r.reason });
    }
    if (runs.length === 0) throw new UsageError(`none of the named files is a run file (format ${RUN_FORMAT})`);
  }
  if (named.length !== 2) keepOneClassSet(runs, skipped);
  uniqueNames(runs);
  const records = runs.map((r) => r.record);
  const pairBase = named.length === 2 ? `${slug(records[0].name)}-vs-${slug(records[1].name)}` : null;
  const planned: PlannedOutput = {
    what: `--out ${options.out}`,
    dir: options.out,
    names: pairBase ? [`${pairBase}.md`, `${pairBase}-accuracy.png`] : ['COMPARISON.md', 'COMPARISON-accuracy.png'],
    longNameFix: "shorten the pipelines' names",
  };
  checkOutputs([planned]);
  const board = leaderboard(records);
  const links: Record<string, string> = {};
  for (const r of runs) {
    const md = r.path.replace(/\.json$/, '.md');
    if (existsSync(md)) links[r.record.name] = relative(options.out, md).split('\\').join('/');
  }
  const chart = await accuracyChart({
    title:
      named.length === 2
        ? `${records[0].name} vs ${records[1].name}: accuracy`
        : `Test accuracy of ${records.length} run${records.length === 1 ? '' : 's'}`,
    subtitle: ['bars: accuracy on the test set; dot and whiskers: cross-validation mean ± standard deviation'],
    runs: board.rows.map((r) => ({
      name: r.name,
      test: r.test?.accuracy ?? null,
      cv: r.cv ? { mean: r.cv.mean, std: r.cv.std } : null,
    })),
  });

  if (named.length === 2) {
    const [a, b] = records;
    let comparison: PairComparison;
    try {
      comparison = comparePair(a, b, alpha);
    } catch (err) {
      if (err instanceof IncomparableRunsError)
        throw new UsageError(`cannot compare ${named[0]} and ${named[1]}: ${err.message}`);
      throw err;
    }
    const base = pairBase!;
    const files = { markdown: join(options.out, `${base}.md`), chart: join(options.out, `${base}-accuracy.png`) };
    const markdown = pairMarkdown(comparison, {
      chart: basename(files.chart),
      leaderboard: leaderboardTable(board, links),
    });
    writeFilesAtomic([
      { path: files.markdown, content: markdown },
      { path: files.chart, content: chart.png },
    ]);
    return { mode: 'pair', runs: records.map((r) => r.name), skipped, board, comparison, markdown, chart, files };
  }

  const files = { markdown: join(options.out, 'COMPARISON.md'), chart: join(options.out, 'COMPARISON-accuracy.png') };
  const source =
    named.length === 0 ? `${options.out}/*.json` : named.map((f) => relative(options.out, f) || f).join(', ');
  const markdown = leaderboardMarkdown({ board, source, skipped, links, chart: basename(files.chart) });
  writeFilesAtomic([
    { path: files.markdown, content: markdown },
    { path: files.chart, content: chart.png },
  ]);
  return { mode: 'leaderboard', runs: records.map((r) => r.name), skipped, board, markdown, chart, files };
}

/** Two runs of the same name (say, one re-run into another folder) get their file name added. */
function uniqueNames(runs: LoadedRun[]): void {
  const count = new Map<string, number>();
  for (const r of runs) count.set(r.record.name, (count.get(r.record.name) ?? 0) + 1);
  for (const r of runs) {
    if ((count.get(r.record.name) ?? 0) > 1)
      r.record.name = `${r.record.name} (${join(basename(dirname(r.path)), basename(r.path))})`;
  }
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
