import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCompare } from '../src/app/compare.js';
import { runRun } from '../src/app/run.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { RunJson } from '../src/report/json.js';
import { CLASS_NAMES } from '../src/data/fashion-mnist.js';
import { classificationReport, confusionMatrix } from '../src/metrics/classification.js';
import { comparePair, leaderboard, type RunRecord } from '../src/metrics/comparison.js';
import { tempDir } from './helpers.js';

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));

/** 200 test labels, 20 per class. */
const LABELS = Array.from({ length: 200 }, (_, i) => i % 10);

/**
 * Predictions that are right except on the given rows (where they say label + 1), as a run record in the JSON layout
 * `pipeline run` writes.
 */
function runJson(
  name: string,
  wrong: Set<number>,
  folds: number[] | null,
  { foldsId = 'f00d', labels = LABELS, fitMs = 1000 }: { foldsId?: string; labels?: number[]; fitMs?: number } = {},
): RunJson {
  const predictions = labels.map((y, i) => (wrong.has(i) ? (y + 1) % 10 : y));
  const cm = confusionMatrix(labels, predictions, 10);
  const report = classificationReport(cm);
  const accuracy = predictions.filter((p, i) => p === labels[i]).length / labels.length;
  const mean = folds ? folds.reduce((a, b) => a + b, 0) / folds.length : 0;
  const std = folds ? Math.sqrt(folds.reduce((a, b) => a + (b - mean) ** 2, 0) / folds.length) : 0;
  return {
    format: 'fashion-pipeline/run',
    format_version: 1,
    name,
    file: `${name}.yaml`,
    started_at: '2026-12-01T00:00:00.000Z',
    duration_ms: 1,
    seed: 1,
    config: {
      name,
      steps: [
        { id: 'normalize', stage: 'normalize', params: {} },
        { id: 'knn', stage: 'knn', params: {} },
      ],
    },
    data: { train_rows: 500, checksums: {} },
    cv: folds
      ? {
          k: folds.length,
          seed: 1,
          folds_id: foldsId,
          folds: folds.map((accuracy, i) => ({
            fold: i + 1,
            train_rows: 400,
            test_rows: 100,
            accuracy,
            macro_f1: accuracy,
            fit_ms: 1,
            predict_ms: 1,
          })),
          mean_accuracy: mean,
          std_accuracy: std,
          mean_macro_f1: mean,
          std_macro_f1: std,
        }
      : null,
    test: {
      rows: labels.length,
      accuracy,
      macro_f1: accuracy,
      per_class: report.perClass.map((c) => ({ name: CLASS_NAMES[c.label], ...c })),
      macro_avg: report.macroAvg,
      weighted_avg: report.weightedAvg,
      class_names: [...CLASS_NAMES],
      confusion_matrix: cm,
      fit_ms: fitMs,
      predict_ms: 50,
      predictions,
      labels,
      confidence: null,
    },
    timings_ms: { cv: null, final: null },
    environment: { node: process.version, peak_rss_mb: 1, versions: {} },
  };
}

const range = (from: number, to: number) => new Set(Array.from({ length: to - from }, (_, i) => from + i));

/**
 * alpha is wrong on rows 0, 1 and 20..29, beta on 20..29 and 40..49: only alpha is right on 40..49 (b = 10), only beta
 * on 0 and 1 (c = 2), both wrong on 20..29.
 */
function pairFolder(): { dir: string; a: string; b: string } {
  const dir = tempDir();
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, JSON.stringify(runJson('alpha', new Set([0, 1, ...range(20, 30)]), [0.9, 0.91, 0.92, 0.9, 0.91])));
  writeFileSync(
    b,
    JSON.stringify(runJson('beta', new Set([...range(20, 30), ...range(40, 50)]), [0.88, 0.9, 0.9, 0.89, 0.9])),
  );
  return { dir, a, b };
}

test('two runs: McNemar b = 10, c = 2 → exact binomial p = 0.0386, said in words; per-class and cell changes', async (t) => {
  const { dir, a, b } = pairFolder();
  const r = await runCompare({ files: [a, b], out: dir });
  t.is(r.mode, 'pair');
  const m = r.comparison!.test!.mcnemar;
  t.deepEqual([m.b, m.c, m.bothWrong, m.bothRight], [10, 2, 10, 178]);
  t.is(m.method, 'exact');
  t.true(Math.abs(m.pValue - 0.03857421875) < 1e-12);
  t.true(r.comparison!.test!.significant);
  t.is(r.files.markdown, join(dir, 'alpha-vs-beta.md'));
  t.true(existsSync(r.files.chart));
  const md = readFileSync(r.files.markdown, 'utf8');
  t.is(md, r.markdown);
  t.regex(
    md,
    /\*\*Test set: significant\.\*\* alpha is more accurate: test accuracy 0\.9400 → 0\.9000 \(−4\.00 points\); McNemar exact binomial p = 0\.0386 < 0\.05/,
  );
  t.regex(md, /exact binomial test, since b \+ c = 12 < 25/);
  t.regex(md, /!\[[^\]]*\]\(alpha-vs-beta-accuracy\.png\)/);
  // Labels 2..9 are wrong once in alpha (rows 22..29) and twice in beta (22..29 and 42..49), always as label + 1.
  t.regex(md, /\| Pullover → Dress \| 1 \| 2 \| \+1 \|/);
  const perClass = r.comparison!.test!.perClass;
  t.is(perClass.length, 10);
  t.true(
    perClass.every((c) => !c.significant),
    'one or two images per class are not significant after Holm',
  );
  t.is(perClass[2].recall.a, 19 / 20);
  t.is(perClass[2].recall.b, 18 / 20);
  t.is(perClass[0].recall.a, perClass[0].recall.b);
});

test('two runs on the same folds: Nadeau–Bengio corrected t-test, with the caveat; different folds: no paired test', async (t) => {
  const { dir, a, b } = pairFolder();
  const r = await runCompare({ files: [a, b], out: dir });
  const cv = r.comparison!.cv;
  t.false('missing' in cv);
  if ('missing' in cv) return;
  t.is(cv.testTrainRatio, 0.25);
  // numpy: d = b − a = [−0.02, −0.01, −0.02, −0.01, −0.01]; t = mean / sqrt((1/5 + 1/4)·var(d, ddof=1))
  const d = [-0.02, -0.01, -0.02, -0.01, -0.01];
  const mean = d.reduce((x, y) => x + y) / 5;
  const s2 = d.reduce((x, y) => x + (y - mean) ** 2, 0) / 4;
  t.true(Math.abs(cv.corrected.t - mean / Math.sqrt(0.45 * s2)) < 1e-9);
  t.true(Math.abs(cv.naive.t - mean / Math.sqrt(s2 / 5)) < 1e-9);
  t.true(cv.corrected.pValue > cv.naive.pValue);
  t.regex(r.markdown, /Nadeau & Bengio/);
  t.regex(r.markdown, /Fold scores are not independent/);

  const other = join(dir, 'c.json');
  writeFileSync(other, JSON.stringify(runJson('gamma', new Set([3]), [0.9, 0.9, 0.9, 0.9, 0.9], { foldsId: 'beef' })));
  const r2 = await runCompare({ files: [a, other], out: dir });
  t.true('missing' in r2.comparison!.cv);
  t.regex(r2.markdown, /No paired test over folds: the runs used different folds/);
});

test('two runs with different test labels are refused in one line; so is a file that is not a run', async (t) => {
  const { dir, a } = pairFolder();
  const shifted = join(dir, 'shifted.json');
  writeFileSync(
    shifted,
    JSON.stringify(runJson('shifted', new Set(), null, { labels: LABELS.map((y) => (y + 3) % 10) })),
  );
  const err = await t.throwsAsync(() => runCompare({ files: [a, shifted], out: dir }));
  t.is(err!.name, 'UsageError');
  t.regex(
    err!.message,
    /^cannot compare .*a\.json and .*shifted\.json: alpha and shifted have different test labels \(first difference at row 0\)/,
  );
  t.false(err!.message.includes('\n'));
  const short = join(dir, 'short.json');
  writeFileSync(short, JSON.stringify(runJson('short', new Set(), null, { labels: LABELS.slice(0, 100) })));
  await t.throwsAsync(() => runCompare({ files: [a, short], out: dir }), {
    message: /tested on 200 images and short on 100/,
  });
  const grid = join(dir, 'grid.json');
  writeFileSync(grid, JSON.stringify({ format: 'fashion-pipeline/grid' }));
  await t.throwsAsync(() => runCompare({ files: [a, grid], out: dir }), {
    message: /grid\.json: format fashion-pipeline\/grid, not a run/,
  });
  await t.throwsAsync(() => runCompare({ files: [a, join(dir, 'nope.json')], out: dir }), {
    message: /nope\.json: no such file/,
  });
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, JSON.stringify({ ...runJson('broken', new Set(), null), test: { rows: 'many' } }));
  await t.throwsAsync(() => runCompare({ files: [a, broken], out: dir }), {
    message: /broken\.json: damaged run file: test\.\w+/,
  });
  await t.throwsAsync(() => runCompare({ files: [a, a], out: dir, alpha: 2 }), {
    message: /--alpha must be between 0 and 1/,
  });
});

test('leaderboard of a folder: every run file, other JSON skipped, sorted, best of each column in bold, chart embedded', async (t) => {
  const dir = tempDir();
  const one = runJson('one', range(0, 30), [0.85, 0.86], { fitMs: 900 });
  one.test!.calibration = { ece: 0.0312, mce: 0.1, log_loss: 0.4, brier: 0.2, bins: [] };
  writeFileSync(join(dir, 'one.json'), JSON.stringify(one));
  writeFileSync(join(dir, 'two.json'), JSON.stringify(runJson('two', range(0, 10), [0.95, 0.96])));
  writeFileSync(join(dir, 'three.json'), JSON.stringify(runJson('three-long-name', range(0, 20), null)));
  writeFileSync(join(dir, 'two.md'), '# two\n');
  writeFileSync(join(dir, 'grid-result.json'), JSON.stringify({ format: 'fashion-pipeline/grid' }));
  writeFileSync(join(dir, 'notes.json'), '{ not json');
  const r = await runCompare({ out: dir });
  t.is(r.mode, 'leaderboard');
  t.deepEqual(
    r.board.rows.map((x) => x.name),
    ['two', 'three-long-name', 'one'],
  );
  t.deepEqual(
    r.skipped.map((s) => s.file),
    ['grid-result.json', 'notes.json'],
  );
  t.deepEqual(
    readdirSync(dir)
      .filter((f) => f.startsWith('COMPARISON'))
      .sort(),
    ['COMPARISON-accuracy.png', 'COMPARISON.md'],
  );
  const md = readFileSync(join(dir, 'COMPARISON.md'), 'utf8');
  t.regex(md, /^# Comparison of 3 runs/);
  t.regex(md, /!\[[^\]]*\]\(COMPARISON-accuracy\.png\)/);
  t.regex(
    md,
    /Not compared: `grid-result\.json` \(format fashion-pipeline\/grid, not a run\), `notes\.json` \(not JSON/,
  );
  const header = md.split('\n').find((l) => l.startsWith('| pipeline'))!;
  t.is(
    header,
    `| pipeline | CV accuracy (mean ± std) | test accuracy | macro-F1 | ECE | ${CLASS_NAMES.join(' | ')} | fit | predict |`,
  );
  const row = (name: string) => md.split('\n').find((l) => l.startsWith(`| ${name}`) || l.startsWith(`| [${name}]`))!;
  t.regex(
    row('two'),
    /^\| \[two\]\(two\.md\) \| \*\*0\.9550 ± 0\.0050\*\* \| \*\*0\.9500\*\* \| \*\*0\.9500\*\* \| — \|/,
  );
  t.regex(row('one'), /^\| one \| [^|]+ \| [^|]+ \| [^|]+ \| \*\*0\.0312\*\* \|/, 'the only ECE, in bold');
  t.regex(row('three-long-name'), /^\| three-long-name \| — \| 0\.9000 \|/);
  t.regex(
    row('one'),
    /\| \*\*0\.90 s\*\* \| \*\*0\.05 s\*\* \|$/,
    'shortest fit time in bold (ties for predict all bold)',
  );
  t.deepEqual(r.board.best.predict, [0, 1, 2]);
  t.is(r.chart.width > 0 && r.chart.height > 0, true);
  t.deepEqual(
    r.chart.texts.filter((x) => x.role === 'run-name').map((x) => x.text),
    ['two', 'three-long-name', 'one'],
  );
});

test('an empty results folder is a one-line usage error', async (t) => {
  const dir = tempDir();
  await t.throwsAsync(() => runCompare({ out: dir }), {
    name: 'UsageError',
    message: /no run files in .*; run a pipeline first/,
  });
  await t.throwsAsync(() => runCompare({ out: join(dir, 'missing') }), { name: 'UsageError', message: /no folder/ });
});

test('leaderboard and pair comparison as pure functions', (t) => {
  const rec = (name: string, wrong: Set<number>): RunRecord => {
    const j = runJson(name, wrong, [0.9, 0.9]) as unknown as { test: RunRecord['test']; cv: RunRecord['cv'] };
    return { name, steps: ['knn'], cv: j.cv, test: j.test };
  };
  const board = leaderboard([rec('x', range(0, 5)), rec('y', range(0, 5))]);
  t.deepEqual(board.best.accuracy, [0, 1], 'ties are both best');
  const same = comparePair(rec('x', range(0, 5)), rec('y', range(0, 5)));
  t.is(same.test!.mcnemar.pValue, 1);
  t.false(same.test!.significant);
  t.deepEqual(same.test!.cellChanges, []);
  t.false('missing' in same.cv);
});

test('CLI: compare prints the page; mismatched runs exit 2 with one line on stderr', (t) => {
  const { dir, a, b } = pairFolder();
  const ok = spawnSync(process.execPath, [BIN, 'compare', a, b, '--out', dir], { encoding: 'utf8' });
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /^# alpha vs beta/);
  t.regex(ok.stdout, /wrote .*alpha-vs-beta\.md/);
  const shifted = join(dir, 'shifted.json');
  writeFileSync(
    shifted,
    JSON.stringify(runJson('shifted', new Set(), null, { labels: LABELS.map((y) => (y + 1) % 10) })),
  );
  const bad = spawnSync(process.execPath, [BIN, 'compare', a, shifted, '--out', dir], { encoding: 'utf8' });
  t.is(bad.status, 2);
  t.is(bad.stderr.trim().split('\n').length, 1);
  t.regex(bad.stderr, /^pipeline: cannot compare .* different test labels/);
  const help = spawnSync(process.execPath, [BIN, 'compare', '--help'], { encoding: 'utf8' });
  t.regex(help.stdout, /Examples:/);
});

test.after.always(() => shutdownPool());

test('real runRun output matches the run JSON schema and feeds compare (pair and leaderboard)', async (t) => {
  const out = tempDir();
  const pipeline = (name: string, k: number) => {
    const path = join(tempDir(), `${name}.yaml`);
    writeFileSync(
      path,
      `name: ${name}\ndata:\n  limit: { train: 900, test: 300 }\nsteps:\n  - normalize: {}\n  - pca: { components: 10 }\n  - knn: { k: ${k} }\nevaluation:\n  folds: 3\n  seed: 4\n`,
    );
    return path;
  };
  const a = await runRun({ file: pipeline('real-a', 1), out, pictures: false });
  const b = await runRun({ file: pipeline('real-b', 7), out, pictures: false });
  for (const run of [a, b]) t.true(RunJson.safeParse(JSON.parse(readFileSync(run.files.json, 'utf8'))).success);
  const pair = await runCompare({ files: [a.files.json, b.files.json], out, alpha: 0.05 });
  t.regex(pair.markdown, /McNemar/);
  t.regex(pair.markdown, /corrected resampled t-test|Nadeau/);
  const board = await runCompare({ out, alpha: 0.05 });
  t.regex(board.markdown, /real-a/);
  t.regex(board.markdown, /real-b/);
});

test('a leaderboard ranks runs on one set of classes; a run on other classes is listed as not compared', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'one.json'), JSON.stringify(runJson('one', range(0, 30), [0.85, 0.86])));
  writeFileSync(join(dir, 'two.json'), JSON.stringify(runJson('two', range(0, 10), [0.95, 0.96])));
  const shop = runJson('shop', range(0, 5), [0.7, 0.72]);
  shop.test!.class_names = CLASS_NAMES.map((_, c) => `shop class ${c}`);
  writeFileSync(join(dir, 'shop.json'), JSON.stringify(shop));
  const r = await runCompare({ out: dir });
  t.deepEqual(
    r.board.rows.map((x) => x.name),
    ['two', 'one'],
  );
  t.deepEqual(r.skipped, [
    {
      file: 'shop.json',
      reason:
        'other classes (10: shop class 0, shop class 1, shop class 2, shop class 3, …); compare it with runs on the same data',
    },
  ]);
});
