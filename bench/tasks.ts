/**
 * Our side of the benchmark: one task per process (so peak memory is the task's own), the same tasks and the same JSON
 * lines as bench/sklearn_bench.py: {"task", "seconds": [...], "accuracy", "peak_rss_mb"}.
 *
 *   node dist/bench/tasks.js --task pca-fit|pca-fit-standard|knn-predict|rf-pca-fit|rf-raw-fit|svm|svm-256|run-pca-rf|hog
 *     [--repeats 3]
 *   node dist/bench/tasks.js --task pipeline --file pipelines/X.yaml   (fit on 60k, predict 10k; task `pipeline:<name>`)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRun } from '../src/app/run.js';
import { loadPipelineFile } from '../src/config/load.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import type { Matrix } from '../src/linalg/matrix.js';
import { shutdownPool, warmPool } from '../src/runtime/pool.js';
import { COMMON_TASK_MODULES } from '../src/stages/task-modules.js';
import { accuracy } from '../src/metrics/classification.js';
import { registry } from '../src/stages/registry.js';
import type { Estimator, Transformer } from '../src/stages/stage.js';

const TASKS = [
  'pca-fit',
  'pca-fit-standard',
  'knn-predict',
  'rf-pca-fit',
  'rf-raw-fit',
  'svm',
  'run-pca-rf',
  'hog',
  'svm-256',
  'pipeline',
] as const;
type TaskName = (typeof TASKS)[number];

function transformer(stage: string, params: object): Transformer {
  return registry.get(stage)!.create(params) as Transformer;
}
function estimator(stage: string, params: object): Estimator {
  return registry.get(stage)!.create(params) as Estimator;
}

async function timed<T>(repeats: number, fn: () => Promise<T>): Promise<{ seconds: number[]; last: T }> {
  const seconds: number[] = [];
  let last!: T;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    last = await fn();
    seconds.push((performance.now() - t0) / 1000);
  }
  return { seconds, last };
}

function emit(task: string, seconds: number[], acc: number | null, extra: Record<string, unknown> = {}): void {
  const peak = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify({ task, seconds, accuracy: acc, peak_rss_mb: peak, ...extra }));
}

async function main(task: TaskName, repeats: number): Promise<void> {
  if (task === 'run-pca-rf') {
    const out = mkdtempSync(join(tmpdir(), 'bench-run-'));
    const file = fileURLToPath(new URL('../../pipelines/pca-rf.yaml', import.meta.url));
    const { seconds, last } = await timed(1, () => runRun({ file, out }));
    rmSync(out, { recursive: true, force: true });
    emit(task, seconds, last.result.test!.accuracy, {
      cv_mean: last.result.cv!.mean_accuracy,
      cv_std: last.result.cv!.std_accuracy,
    });
    return;
  }
  // as the CLI does (app/load-data.ts): the workers start and load their code while the data is read
  if (task === 'pipeline') warmPool(COMMON_TASK_MODULES);
  const dir = resolveDataDir();
  const train = loadSplit(dir, 'train');
  const test = loadSplit(dir, 'test');
  if (task === 'pipeline') {
    const { config } = loadPipelineFile(pipelineFile!);
    const { seconds, last } = await timed(1, async () => {
      const pipeline = await Pipeline.fromSteps(config.steps).fit(train.X, train.y);
      return pipeline.predict(test.X);
    });
    emit(`pipeline:${config.name}`, seconds, accuracy(test.y, last));
    return;
  }
  if (task === 'hog') {
    const hog = await transformer('hog', {}).fit(train.X, train.y);
    const { seconds } = await timed(repeats, () => hog.transform(train.X));
    emit(task, seconds, null);
    return;
  }
  const minmax = transformer('normalize', { method: 'minmax' });
  await minmax.fit(train.X, train.y);
  const Xtr = await minmax.transform(train.X);
  const Xte = await minmax.transform(test.X);

  if (task === 'pca-fit') {
    const { seconds } = await timed(repeats, () => transformer('pca', { components: 50 }).fit(Xtr, train.y));
    emit(task, seconds, null);
    return;
  }
  if (task === 'pca-fit-standard') {
    const standard = await transformer('normalize', { method: 'standard' }).fit(train.X, train.y);
    const Xs = await standard.transform(train.X);
    const { seconds } = await timed(repeats, () => transformer('pca', { components: 50 }).fit(Xs, train.y));
    emit(task, seconds, null);
    return;
  }
  if (task === 'rf-raw-fit') {
    await forest(task, Xtr, Xte, train.y, test.y, Math.max(1, repeats - 1));
    return;
  }
  if (task === 'svm-256') {
    const pca256 = await transformer('pca', { components: 256 }).fit(Xtr, train.y);
    await svmTask('svm256', await pca256.transform(Xtr), await pca256.transform(Xte), train.y, test.y);
    return;
  }
  const pca = await transformer('pca', { components: 50 }).fit(Xtr, train.y);
  const Ptr = await pca.transform(Xtr);
  const Pte = await pca.transform(Xte);
  if (task === 'knn-predict') {
    const knn = await estimator('knn', { k: 5, weights: 'distance' }).fit(Ptr, train.y);
    const { seconds, last } = await timed(repeats, () => knn.predict(Pte));
    emit(task, seconds, accuracy(test.y, last));
  } else if (task === 'rf-pca-fit') {
    await forest(task, Ptr, Pte, train.y, test.y, Math.max(1, repeats - 1));
  } else if (task === 'svm') {
    await svmTask('svm', Ptr, Pte, train.y, test.y);
  }
}

/** The rbf SVM (C = 10, gamma scale) on standardized features: fit and predict timed apart (`<name>-fit`, `-predict`). */
async function svmTask(name: string, Ptr: Matrix, Pte: Matrix, ytr: Uint8Array, yte: Uint8Array): Promise<void> {
  const standard = await transformer('normalize', { method: 'standard' }).fit(Ptr, ytr);
  const Str = await standard.transform(Ptr);
  const Ste = await standard.transform(Pte);
  const svm = estimator('svm', { kernel: 'rbf', C: 10, gamma: 'scale' });
  const fit = await timed(1, () => svm.fit(Str, ytr));
  const predict = await timed(1, () => svm.predict(Ste));
  const acc = accuracy(yte, predict.last);
  emit(`${name}-fit`, fit.seconds, acc);
  emit(`${name}-predict`, predict.seconds, acc);
}

async function forest(
  task: string,
  Xtr: Matrix,
  Xte: Matrix,
  ytr: Uint8Array,
  yte: Uint8Array,
  repeats: number,
): Promise<void> {
  const { seconds, last } = await timed(repeats, () =>
    estimator('random_forest', { trees: 100, seed: 0 }).fit(Xtr, ytr),
  );
  emit(task, seconds, accuracy(yte, await last.predict(Xte)));
}

const argv = process.argv.slice(2);
const task = argv[argv.indexOf('--task') + 1] as TaskName;
if (!TASKS.includes(task)) {
  console.error(`tasks.js: --task must be one of ${TASKS.join(', ')}`);
  process.exit(2);
}
const fileAt = argv.indexOf('--file');
const pipelineFile = fileAt >= 0 ? argv[fileAt + 1] : undefined;
if (task === 'pipeline' && !pipelineFile) {
  console.error('tasks.js: --task pipeline needs --file PIPELINE.yaml');
  process.exit(2);
}
const repeatsAt = argv.indexOf('--repeats');
await main(task, repeatsAt >= 0 ? Number(argv[repeatsAt + 1]) : 3);
await shutdownPool();
