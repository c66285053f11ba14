import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGridCommand } from '../src/app/run-grid-command.js';
import { runRun } from '../src/app/run.js';
import { fitAndScore, FoldSource, JobMismatchError, jobKey, type FitJob } from '../src/evaluate/fit-and-score.js';
import { FitCache } from '../src/evaluate/fit-cache.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { stepsKey } from '../src/pipeline/steps.js';
import { codeVersion } from '../src/util/code-version.js';
import { blobs, tempDir } from './helpers.js';

test.after.always(() => shutdownPool());

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));

const pipeline = (grid = '') => `name: unit
data:
  limit: { train: 1200, test: 300 }
steps:
  - normalize: { method: minmax }
  - pca: { components: 12 }
  - knn: { k: 3 }
evaluation:
  folds: 3
  seed: 9
${grid}`;

function file(text: string): string {
  const path = join(tempDir(), 'p.yaml');
  writeFileSync(path, text);
  return path;
}

test('a one-candidate grid reproduces run’s per-fold CV numbers exactly (one unit of work behind both)', async (t) => {
  const run = await runRun({ file: file(pipeline()), out: tempDir(), pictures: false });
  const grid = await runGridCommand({
    file: file(pipeline('grid:\n  knn.k: [3]\n')),
    out: tempDir(),
    cacheDir: tempDir(),
  });
  if (grid.kind !== 'done') throw new Error('expected a finished search');
  const cv = run.result.cv!;
  t.is(grid.result.candidates.length, 1);
  t.is(grid.result.folds_id, cv.folds_id);
  t.deepEqual(
    grid.result.best.folds.map((f) => [f.fold, f.accuracy, f.macro_f1]),
    cv.folds.map((f) => [f.fold, f.accuracy, f.macro_f1]),
  );
  t.is(grid.result.best.mean_accuracy, cv.mean_accuracy);
  t.is(grid.result.test!.accuracy, run.result.test!.accuracy);
});

const data = blobs(300, 6, 3, 4);
const steps = [
  { id: 'normalize', stage: 'normalize', params: { method: 'standard' } },
  { id: 'pca', stage: 'pca', params: { components: 3, whiten: false, engine: 'native' } },
  {
    id: 'knn',
    stage: 'knn',
    params: { k: 3, weights: 'uniform', metric: 'euclidean', algorithm: 'brute', engine: 'native' },
  },
];

function job(source: FoldSource, fold = 1): FitJob {
  return { steps, fold, folds: source.identity, data: 'blobs', code: codeVersion() };
}

test('fitAndScore: with and without the cache, the same scores; a job is plain data whose key names what it depends on', async (t) => {
  const source = new FoldSource(data, 3, 1);
  const cache = new FitCache({
    enabled: true,
    dir: tempDir(),
    maxDiskBytes: 1e8,
    maxMemoryBytes: 1e8,
    maxEntryBytes: 1e8,
  });
  const plain = await fitAndScore(job(source), source);
  const first = await fitAndScore(job(source), source, { cache });
  cache.dropMemory();
  const fromDisk = await fitAndScore(job(source), source, { cache });
  t.is(cache.stats.misses, 2, 'normalize and normalize → pca fitted once');
  t.is(cache.stats.disk_hits, 1, 'the second call restores the longest prefix from disk');
  for (const r of [first, fromDisk])
    t.deepEqual(
      [r.accuracy, r.macro_f1, r.train_rows, r.test_rows],
      [plain.accuracy, plain.macro_f1, plain.train_rows, plain.test_rows],
    );
  const round = JSON.parse(JSON.stringify(job(source))) as FitJob;
  t.is(jobKey(round), jobKey(job(source)));
  t.not(jobKey({ ...job(source), fold: 2 }), jobKey(job(source)));
  t.not(jobKey({ ...job(source), code: 'other' }), jobKey(job(source)));
  t.not(
    jobKey({
      ...job(source),
      steps: steps.map((s, i) => (i === 1 ? { ...s, params: { ...s.params, components: 2 } } : s)),
    }),
    jobKey(job(source)),
  );
  t.is(stepsKey(round.steps), stepsKey(steps));
});

test('fitAndScore refuses a job made for other code or other folds (never a silent wrong score)', async (t) => {
  const source = new FoldSource(data, 3, 1);
  await t.throwsAsync(() => fitAndScore({ ...job(source), code: 'f00d' }, source), {
    instanceOf: JobMismatchError,
    message: /other code/,
  });
  const other = new FoldSource(data, 3, 2);
  await t.throwsAsync(() => fitAndScore(job(other), source), { instanceOf: JobMismatchError, message: /folds/ });
});

test('a damaged cache entry of the right size is discarded, reported once and recomputed; a failed touch keeps a good entry', async (t) => {
  const dir = tempDir();
  const damaged: string[] = [];
  const options = { enabled: true, dir, maxDiskBytes: 1e8, maxMemoryBytes: 1e8, maxEntryBytes: 1e8 };
  const source = new FoldSource(data, 3, 1);
  const reference = await fitAndScore(job(source), source, { cache: new FitCache(options) });
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const bytes = readFileSync(path);
    bytes[bytes.length - 5] ^= 0x40; // same size, one bit changed in the data
    writeFileSync(path, bytes);
  }
  const cache = new FitCache({ ...options, onDamaged: (f) => damaged.push(f) });
  const again = await fitAndScore(job(source), source, { cache });
  t.is(again.accuracy, reference.accuracy);
  t.is(cache.stats.disk_hits, 0);
  t.true(cache.stats.damaged >= 1);
  t.is(damaged.length, cache.stats.damaged);
  t.is(cache.stats.misses, 2, 'recomputed');

  const touchless = new FitCache({
    ...options,
    touch: () => {
      throw new Error('EROFS');
    },
  });
  const served = await fitAndScore(job(source), source, { cache: touchless });
  t.is(touchless.stats.disk_hits, 1, 'a touch that fails does not cost the entry');
  t.is(served.accuracy, reference.accuracy);
  t.true(readdirSync(dir).length > 0);
});

test('the code version is a digest of the built code, stable within a process', (t) => {
  t.regex(codeVersion(), /^[0-9a-f]{16}$/);
  t.is(codeVersion(), codeVersion());
});

test('Ctrl-C on the real CLI stops grid between units, keeps the checkpoint and prints the exact command to resume', async (t) => {
  const cacheDir = tempDir();
  const out = tempDir();
  const path = file(pipeline('grid:\n  knn.k: [1, 3, 5, 7, 9]\n  pca.components: [8, 12]\n'));
  const args = [BIN, 'grid', path, '--cache-dir', cacheDir, '--out', out, '--no-cache'];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const checkpoint = join(cacheDir, 'checkpoints', 'unit.jsonl');
  // wait until a few units are in the checkpoint, then interrupt
  for (let i = 0; i < 600; i++) {
    if (existsSync(checkpoint) && readFileSync(checkpoint, 'utf8').split('\n').length > 3) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.is(code, 130);
  t.regex(
    stderr,
    /interrupted: \d+ finished fold fits? kept in .*unit\.jsonl; continue with: pipeline grid .*--cache-dir .*--no-cache --resume/,
  );
  t.deepEqual(readdirSync(out), [], 'no report written');
  t.false(/\n\s+at /.test(stderr), 'no stack trace');
  const resumed = await runGridCommand({ file: path, out, cacheDir, cache: false, resume: true });
  if (resumed.kind !== 'done') throw new Error('expected a finished search');
  t.true(resumed.result.resumed > 0);
});
