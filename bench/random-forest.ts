/**
 * Random forest on Fashion-MNIST: fit on the training split (pixels / 255, or PCA features), predict the test split,
 * print seconds and accuracy.
 *
 *   node dist/bench/random-forest.js [--trees 100] [--rows 60000] [--pca 50] [--engine native|mljs] [--max-features sqrt]
 *
 * Workers: $FASHION_WORKERS (default: the core count). scikit-learn on the same data: pixels, 100 trees: 29.4 s fit,
 * 0.877; PCA-50, 100 trees: 23.8 s, 0.862.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import { matrix, takeLabels, takeRows, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool, workerCount } from '../src/linalg/pool.js';
import { RandomForest, type RandomForestParams } from '../src/stages/random-forest.js';

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

const trees = Number(arg('trees') ?? 100);
const rows = Number(arg('rows') ?? 60000);
const testRows = Number(arg('test-rows') ?? 10000);
const pca = arg('pca') === undefined ? 0 : Number(arg('pca'));
const engine = (arg('engine') ?? 'native') as RandomForestParams['engine'];
const mf = arg('max-features');
const maxFeatures = mf === undefined ? 'sqrt' : mf === 'sqrt' || mf === 'log2' ? mf : Number(mf);
const seed = Number(arg('seed') ?? 0);

const dir = resolveDataDir();
const train = loadSplit(dir, 'train');
const test = loadSplit(dir, 'test');
let tr = head(scale(train.X), train.y, rows);
let te = head(scale(test.X), test.y, testRows);
let what = `pixels (${tr.X.cols})`;

if (pca > 0) {
  const pcaFile = new URL('../src/stages/pca.js', import.meta.url);
  if (!existsSync(fileURLToPath(pcaFile))) throw new Error('bench: src/stages/pca.ts is not there (yet)');
  const mod = (await import(pcaFile.href)) as Record<string, unknown>;
  const Ctor = (mod.PCA ?? mod.Pca) as new (p: object) => {
    fit(X: Matrix, y: Uint8Array): Promise<unknown>;
    transform(X: Matrix): Promise<Matrix>;
  };
  const t0 = performance.now();
  const p = new Ctor({ components: pca });
  await p.fit(tr.X, tr.y);
  tr = { X: await p.transform(tr.X), y: tr.y };
  te = { X: await p.transform(te.X), y: te.y };
  what = `PCA-${pca}`;
  console.log(`pca: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const rf = new RandomForest({ trees, engine, max_features: maxFeatures, seed });
const t0 = performance.now();
const cpu0 = process.cpuUsage();
await rf.fit(tr.X, tr.y);
const fitS = (performance.now() - t0) / 1000;
// CPU seconds of the whole process (main thread and workers): on a shared machine, wall time also counts waiting.
const fitCpu = process.cpuUsage(cpu0);
const cpuS = (fitCpu.user + fitCpu.system) / 1e6;
const t1 = performance.now();
const pred = await rf.predict(te.X);
const predS = (performance.now() - t1) / 1000;
let correct = 0;
for (let i = 0; i < pred.length; i++) if (pred[i] === te.y[i]) correct++;
const sizes = engine === 'native' ? rf.treeSizes() : [];
const meanNodes = sizes.length ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0;
console.log(
  `random_forest ${engine} ${what}, ${tr.X.rows} train rows, ${trees} trees, workers ${workerCount()}: ` +
    `fit ${fitS.toFixed(2)} s (CPU ${cpuS.toFixed(1)} s), predict ${predS.toFixed(2)} s, test accuracy ${(correct / pred.length).toFixed(4)}` +
    (meanNodes ? `, mean nodes/tree ${meanNodes.toFixed(0)}` : ''),
);
await shutdownPool();
