/**
 * SVM on Fashion-MNIST: pixels / 255 → PCA (50 components) → standardize → svm (rbf, C = 10, gamma 'scale'), fit on
 * the training split, predict the test split; prints seconds and accuracy.
 *
 *   node dist/bench/svm.js [--rows 60000] [--test-rows 10000] [--pca 50 (0 = none)] [--C 10] [--gamma scale]
 *                          [--kernel rbf] [--engine libsvm|mljs]
 *
 * Workers: $FASHION_WORKERS (default: the core count). Measured with the defaults on 2 shared cores: fit 61.9 s,
 * predict 16.1 s, accuracy 0.8887, gamma 0.02, 21035 support vectors (libsvm-js's own SVM class, one thread: fit 128 s,
 * predict 39 s, 0.889; scikit-learn SVC, rbf, C = 10, gamma 1/50: fit 29 s, predict 10 s, 0.890).
 */
import { loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import { matrix, takeLabels, takeRows, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool, workerCount } from '../src/linalg/pool.js';
import { Normalize } from '../src/stages/normalize.js';
import { registry } from '../src/stages/registry.js';
import type { Transformer } from '../src/stages/stage.js';
import { Svm, SvmParams } from '../src/stages/svm.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function scale(X: Matrix): Matrix {
  const out = new Float32Array(X.data.length);
  for (let i = 0; i < out.length; i++) out[i] = X.data[i] / 255;
  return matrix(X.rows, X.cols, out);
}

function head(X: Matrix, y: Uint8Array, rows: number): { X: Matrix; y: Uint8Array } {
  if (rows >= X.rows) return { X, y };
  const idx = Array.from({ length: rows }, (_, i) => i);
  return { X: takeRows(X, idx), y: takeLabels(y, idx) };
}

const seconds = (from: number) => ((performance.now() - from) / 1000).toFixed(1);

const rows = Number(arg('rows') ?? 60000);
const testRows = Number(arg('test-rows') ?? 10000);
const components = Number(arg('pca') ?? 50);
const gammaArg = arg('gamma') ?? 'scale';
const params = SvmParams.parse({
  kernel: arg('kernel') ?? 'rbf',
  C: Number(arg('C') ?? 10),
  gamma: gammaArg === 'scale' || gammaArg === 'auto' ? gammaArg : Number(gammaArg),
  engine: arg('engine') ?? 'libsvm',
});

const dir = resolveDataDir();
let t0 = performance.now();
const trainSplit = loadSplit(dir, 'train');
const testSplit = loadSplit(dir, 'test');
const train = head(scale(trainSplit.X), trainSplit.y, rows);
const test = head(scale(testSplit.X), testSplit.y, testRows);
console.log(`data: ${train.X.rows} train / ${test.X.rows} test rows, ${seconds(t0)} s; workers: ${workerCount()}`);

let Xtr = train.X;
let Xte = test.X;
const steps: string[] = ['/255'];
if (components > 0) {
  const spec = registry.get('pca');
  if (!spec) {
    console.log('pca: not in the registry (yet), skipped');
  } else {
    t0 = performance.now();
    const pca = spec.create(spec.schema.parse({ components })) as Transformer;
    await pca.fit(Xtr, train.y);
    Xtr = await pca.transform(Xtr);
    Xte = await pca.transform(Xte);
    steps.push(`pca ${components}`);
    console.log(`pca ${components}: ${seconds(t0)} s`);
  }
}
const standard = await new Normalize({ method: 'standard' }).fit(Xtr, train.y);
Xtr = await standard.transform(Xtr);
Xte = await standard.transform(Xte);
steps.push('standardize');

const svm = new Svm(params);
t0 = performance.now();
await svm.fit(Xtr, train.y);
const fitS = seconds(t0);
const info = svm.fitted;
t0 = performance.now();
const pred = await svm.predict(Xte);
const predictS = seconds(t0);
let hits = 0;
for (let i = 0; i < pred.length; i++) if (pred[i] === test.y[i]) hits++;

console.log(`${steps.join(' → ')} → svm ${JSON.stringify(params)}`);
console.log(`gamma ${info.gamma}, support vectors ${info.n_support.reduce((s, n) => s + n, 0)} (${info.n_support.join(' ')})`);
console.log(`fit ${fitS} s, predict ${predictS} s, accuracy ${(hits / pred.length).toFixed(4)}`);
await shutdownPool();
