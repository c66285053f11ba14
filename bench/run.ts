/**
 * `npm run bench [-- --vs-sklearn] [--tasks a,b] [--repeats N]`: times each stage and the main pipeline on the full data
 * (60k train, 10k test) and prints a markdown table (median seconds, accuracy, peak memory). With --vs-sklearn the same
 * tasks run in scikit-learn (Debian's python3-sklearn, run by /usr/bin/python3) right after ours, task by task, so each
 * ratio compares two measurements taken minutes apart on the same machine. The table is also saved to bench/last-run.md.
 * `--pipelines a,b` (or `--pipelines all`: every shipped pipeline without a grid) times each pipeline file as a whole
 * process, ours (`node dist/bench/tasks.js --task pipeline --file …`) then scikit-learn's translation of the same file
 * (bench/sklearn_pipeline.py): load the data, fit on 60k, predict 10k (saved to bench/last-pipelines.md).
 * `--roofline`: the main kernels against this machine's peak (bench/roofline.ts, saved to bench/last-roofline.md).
 * `--grid FILE` instead times one grid search three ways: --no-cache, with an empty cache, and again with the cache the
 * second run filled (saved to bench/last-grid.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipelineFile } from '../src/config/load.js';
import { resolveDataDir } from '../src/data/fashion-mnist.js';
import { workerCount } from '../src/runtime/pool.js';
import { PIPELINE_ENV } from './pipeline-env.js';

interface Row {
  task: string;
  seconds: number[];
  accuracy: number | null;
  peak_rss_mb: number;
  cv_mean?: number;
  cv_std?: number;
}

/** What each task measures and the issue's target ratio (ours / scikit-learn). */
const TASKS: Array<{ task: string; emits: string[]; what: string[]; target: string[] }> = [
  { task: 'pca-fit', emits: ['pca-fit'], what: ['PCA 50 components, fit on 60k×784'], target: ['≤ 1.0'] },
  {
    task: 'pca-fit-standard',
    emits: ['pca-fit-standard'],
    what: ['PCA 50 components, fit on standardized pixels (not 8-bit: the float path)'],
    target: ['—'],
  },
  {
    task: 'knn-predict',
    emits: ['knn-predict'],
    what: ['k-NN k=5 distance, predict 10k rows on PCA-50'],
    target: ['≤ 0.4'],
  },
  { task: 'rf-pca-fit', emits: ['rf-pca-fit'], what: ['random forest 100 trees on PCA-50, fit'], target: ['≤ 0.5'] },
  {
    task: 'rf-raw-fit',
    emits: ['rf-raw-fit'],
    what: ['random forest 100 trees on 784 pixels, fit'],
    target: ['≤ 0.5'],
  },
  {
    task: 'svm',
    emits: ['svm-fit', 'svm-predict'],
    what: ['SVM rbf C=10 on standardized PCA-50, fit', 'SVM rbf C=10, predict 10k rows'],
    target: ['≤ 0.4', '≤ 0.3'],
  },
  {
    task: 'run-pca-rf',
    emits: ['run-pca-rf'],
    what: ['`pipeline run pipelines/pca-rf.yaml` (5-fold CV + test)'],
    target: ['≤ 0.5'],
  },
  {
    task: 'svm-256',
    emits: ['svm256-fit', 'svm256-predict'],
    what: ['SVM rbf C=10 on standardized PCA-256, fit', 'SVM rbf C=10 on PCA-256, predict 10k rows'],
    target: ['≤ 0.4', '≤ 0.3'],
  },
  {
    task: 'hog',
    emits: ['hog'],
    what: ['HOG of the 60k training images, default params (1296 features; theirs: skimage.feature.hog per image)'],
    target: ['—'],
  },
];

const PYTHON = '/usr/bin/python3';
const args = process.argv.slice(2);
const option = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const vsSklearn = args.includes('--vs-sklearn');
const gridFile = option('grid');
const repeats = Number(option('repeats') ?? 3);
const wanted = (option('tasks') ?? TASKS.map((t) => t.task).join(',')).split(',');
const unknown = wanted.filter((w) => !TASKS.some((t) => t.task === w));
if (unknown.length > 0) {
  console.error(`bench: unknown task ${unknown.join(', ')}; tasks: ${TASKS.map((t) => t.task).join(', ')}`);
  process.exit(2);
}

function sklearnAvailable(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const r = spawnSync(PYTHON, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? null : "scikit-learn is not installed for Debian's python3 (apt-get install python3-sklearn)";
}

function runLines(cmd: string, argv: string[], label: string, env?: NodeJS.ProcessEnv): Row[] {
  process.stderr.write(`bench: ${label} …\n`);
  const r = spawnSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'], env });
  if (r.status !== 0) throw new Error(`bench: ${label} failed (exit ${r.status})`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Row & { sklearn?: string })
    .filter((row) => row.task !== undefined);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f2 = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? '—' : v.toFixed(d));

if (args.includes('--roofline')) {
  await import('./roofline.js');
  process.exit(0);
}
if (gridFile) {
  benchGrid(gridFile);
  process.exit(0);
}
const pipelinesOption = option('pipelines');
if (pipelinesOption) {
  benchPipelines(pipelinesOption);
  process.exit(0);
}

/** Wall time of a child process (the whole process: start, data, work), with its JSON lines. */
function timeProcess(
  cmd: string,
  argv: string[],
  label: string,
  env?: NodeJS.ProcessEnv,
): { seconds: number; rows: Row[] } {
  const t0 = performance.now();
  const rows = runLines(cmd, argv, label, env);
  return { seconds: (performance.now() - t0) / 1000, rows };
}

/**
 * The shipped Fashion-MNIST pipeline files without a grid (each is a whole-process task; the photo pipelines have
 * their own bench, photo-features.ts, since this one loads Fashion-MNIST for both sides).
 */
function shippedPipelines(): string[] {
  const folder = fileURLToPath(new URL('../../pipelines/', import.meta.url));
  return readdirSync(folder)
    .filter((f) => f.endsWith('.yaml') && !/^grid:/m.test(readFileSync(join(folder, f), 'utf8')))
    .filter((f) => loadPipelineFile(join(folder, f)).config.data?.format !== 'folder')
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
}

function benchPipelines(which: string): void {
  const names = which === 'all' ? shippedPipelines() : which.split(',');
  const skipped = sklearnAvailable();
  const started = new Date();
  const tasksJs = fileURLToPath(new URL('./tasks.js', import.meta.url));
  const sklearnPy = fileURLToPath(new URL('../../bench/sklearn_bench.py', import.meta.url));
  const rows: string[] = [];
  for (const name of names) {
    const file = fileURLToPath(new URL(`../../pipelines/${name}.yaml`, import.meta.url));
    const ours = timeProcess(
      process.execPath,
      [tasksJs, '--task', 'pipeline', '--file', file],
      `ours ${name}`,
      PIPELINE_ENV,
    );
    const theirs = skipped
      ? null
      : timeProcess(PYTHON, [sklearnPy, '--data', resolveDataDir(), '--pipeline', file], `scikit-learn ${name}`);
    const a = ours.rows[0];
    const b = theirs?.rows.find((r) => r.task.startsWith('pipeline:'));
    const ratio = theirs ? ours.seconds / theirs.seconds : null;
    rows.push(
      `| \`${name}\` | ${f2(ours.seconds, 1)} | ${f2(a.accuracy, 4)} | ${a.peak_rss_mb} | ${theirs ? f2(theirs.seconds, 1) : '—'} | ${f2(b?.accuracy, 4)} | ${b?.peak_rss_mb ?? '—'} | ${ratio === null ? '—' : `**${f2(ratio)}**`} |`,
    );
    process.stderr.write(
      `bench: ${name}: ours ${f2(ours.seconds, 1)} s, theirs ${theirs ? f2(theirs.seconds, 1) : '—'} s\n`,
    );
  }
  const table = [
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus()[0]?.model.trim()} (${cpus().length} cores), Node ${process.version}, ${workerCount()} workers${skipped ? `; scikit-learn skipped: ${skipped}` : ''}.`,
    `Command: \`npm run bench -- --pipelines ${which}\`. Whole process, one run each: start, load the 70k images, fit on 60k, predict 10k (ours with the allocator setting of bin/pipeline); scikit-learn runs the same file translated by bench/sklearn_pipeline.py (target ratio ≤ 0.5).`,
    '',
    '| pipeline | ours s | ours acc | ours peak MB | scikit-learn s | sklearn acc | sklearn peak MB | ratio |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
  console.log(table);
  if (which === 'all') {
    const out = fileURLToPath(new URL('../../bench/last-pipelines.md', import.meta.url));
    writeFileSync(out + '.tmp', table + '\n');
    renameSync(out + '.tmp', out);
  }
}

/** Wall time of one `pipeline grid` run in a child process, with its summary lines. */
function timeGrid(file: string, extra: string[]): { seconds: number; lines: string } {
  const bin = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [bin, 'grid', file, '--out', mkdtempSync(join(tmpdir(), 'bench-grid-')), ...extra],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  if (r.status !== 0) throw new Error(`bench: grid ${extra.join(' ')} failed (exit ${r.status})`);
  return { seconds: (performance.now() - t0) / 1000, lines: r.stdout.trim() };
}

function benchGrid(file: string): void {
  const cacheDir = mkdtempSync(join(tmpdir(), 'bench-grid-cache-'));
  const started = new Date();
  // against scikit-learn the --no-cache run (the slowest, and not what is compared) is left out
  const runs: Array<[string, string[]]> = [
    ...(vsSklearn
      ? []
      : [
          ['--no-cache (every candidate refits its transformers)', ['--no-cache', '--cache-dir', cacheDir]] as [
            string,
            string[],
          ],
        ]),
    ['cache on, empty (prefixes and k-NN searches shared within the run)', ['--cache-dir', cacheDir]],
    ['cache on, filled by the previous run', ['--cache-dir', cacheDir]],
  ];
  const rows: string[] = [];
  let cold = 0;
  let empty = 0;
  for (const [label, extra] of runs) {
    process.stderr.write(`bench: grid ${label} …\n`);
    const { seconds, lines } = timeGrid(file, extra);
    if (cold === 0) cold = seconds;
    if (empty === 0 && extra[0] !== '--no-cache') empty = seconds;
    const best = /best (.*): CV/.exec(lines)?.[1] ?? '';
    rows.push(`| ${label} | ${seconds.toFixed(1)} | ${(cold / seconds).toFixed(2)}× | \`${best}\` |`);
    process.stderr.write(`bench: ${seconds.toFixed(1)} s\n`);
  }
  rmSync(cacheDir, { recursive: true, force: true });
  const skipped = vsSklearn ? sklearnAvailable() : 'not asked (--vs-sklearn)';
  if (!skipped) {
    const sklearnPy = fileURLToPath(new URL('../../bench/sklearn_bench.py', import.meta.url));
    const theirs = timeProcess(PYTHON, [sklearnPy, '--data', resolveDataDir(), '--grid', file], 'scikit-learn grid');
    const row = theirs.rows.find((r) => r.task.startsWith('grid:')) as (Row & { best?: string }) | undefined;
    rows.push(
      `| scikit-learn GridSearchCV(n_jobs=-1), Pipeline(memory=…), same folds scheme, refit + test (acc ${f2(row?.accuracy, 4)}) | ${theirs.seconds.toFixed(1)} | ours with an empty cache: **${f2(empty / theirs.seconds)}** of its time | \`${row?.best ?? ''}\` |`,
    );
  }
  const table = [
    `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus()[0]?.model.trim()} (${cpus().length} cores), Node ${process.version}, ${workerCount()} workers.`,
    `Command: \`npm run bench -- ${args.join(' ')}\` (wall time of the whole \`pipeline grid\` process, including the refit and test of the best).`,
    '',
    `| run | seconds | speed-up vs ${vsSklearn ? 'the first run' : '--no-cache'} | best candidate |`,
    '|---|---:|---:|---|',
    ...rows,
  ].join('\n');
  console.log(table);
  const out = fileURLToPath(new URL('../../bench/last-grid.md', import.meta.url));
  writeFileSync(out + '.tmp', table + '\n');
  renameSync(out + '.tmp', out);
}

const skip = vsSklearn ? sklearnAvailable() : null;
if (vsSklearn && skip) console.error(`bench: skipping scikit-learn: ${skip}`);
const dataDir = resolveDataDir();
const tasksJs = fileURLToPath(new URL('./tasks.js', import.meta.url));
const sklearnPy = fileURLToPath(new URL('../../bench/sklearn_bench.py', import.meta.url));
let sklearnVersion = '';
if (vsSklearn && !skip) {
  const v = spawnSync(PYTHON, ['-c', 'import sklearn, numpy; print(sklearn.__version__, numpy.__version__)'], {
    encoding: 'utf8',
  });
  sklearnVersion = v.stdout.trim();
}

const lines: string[] = [];
const started = new Date();
for (const spec of TASKS.filter((t) => wanted.includes(t.task))) {
  const ours = runLines(
    process.execPath,
    [tasksJs, '--task', spec.task, '--repeats', String(repeats)],
    `ours ${spec.task}`,
  );
  const theirs =
    vsSklearn && !skip
      ? runLines(
          PYTHON,
          [sklearnPy, '--data', dataDir, '--tasks', spec.task, '--repeats', String(repeats)],
          `scikit-learn ${spec.task}`,
        )
      : [];
  spec.emits.forEach((name, i) => {
    const a = ours.find((r) => r.task === name);
    const b = theirs.find((r) => r.task === name);
    if (!a) return;
    const ma = median(a.seconds);
    const mb = b ? median(b.seconds) : null;
    const ratio = mb ? ma / mb : null;
    const cols = [spec.what[i], `${f2(ma)} (${a.seconds.length}×)`, f2(a.accuracy, 4), String(a.peak_rss_mb)];
    if (vsSklearn)
      cols.push(
        mb === null ? '—' : `${f2(mb)} (${b!.seconds.length}×)`,
        f2(b?.accuracy, 4),
        b ? String(b.peak_rss_mb) : '—',
        ratio === null ? '—' : `**${f2(ratio)}**`,
        spec.target[i],
      );
    lines.push(`| ${cols.join(' | ')} |`);
    process.stderr.write(
      `bench: ${name}: ours ${f2(ma)} s${mb !== null ? `, scikit-learn ${f2(mb)} s, ratio ${f2(ratio)}` : ''}\n`,
    );
  });
}

const header = vsSklearn
  ? '| work (full data) | ours s (runs) | ours acc | ours peak MB | scikit-learn s (runs) | sklearn acc | sklearn peak MB | ratio | target |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|'
  : '| work (full data) | seconds, median (runs) | accuracy | peak MB |\n|---|---:|---:|---:|';
const table = [
  `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus()[0]?.model.trim()} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB), Node ${process.version}, ${workerCount()} workers${sklearnVersion ? `; scikit-learn/numpy ${sklearnVersion}` : ''}.`,
  `Command: \`npm run bench -- ${args.join(' ')}\`. Seconds are wall-clock medians; ratio = ours / scikit-learn (below 1 = faster).`,
  '',
  header,
  ...lines,
].join('\n');
console.log(table);
// only a run of every task replaces bench/last-run.md (the README's table); a --tasks subset is printed only
if (option('tasks') === undefined) {
  const out = fileURLToPath(new URL('../../bench/last-run.md', import.meta.url));
  writeFileSync(out + '.tmp', table + '\n');
  renameSync(out + '.tmp', out);
}
