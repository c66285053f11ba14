import { createHash } from 'node:crypto';
import test from 'ava';
import { matrix, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { createRng } from '../src/util/rng.js';
import {
  binFeatures,
  growTree,
  MAX_BINS,
  type BinnedData,
  type TreeArrays,
  type TreeOptions,
} from '../src/stages/random-forest-worker.js';
import { circle, lbpCoder } from '../src/stages/lbp-rows.js';
import { RandomForest, RandomForestParams, randomForestSpec, resolveMaxFeatures } from '../src/stages/random-forest.js';
import { NotFittedError, ParamRangeError } from '../src/stages/stage.js';
import { blobs, fashionSample, fashionTestSample } from './helpers.js';

test.after.always(async () => {
  await shutdownPool();
});

function scaled(X: Matrix): Matrix {
  const out = new Float32Array(X.data.length);
  for (let i = 0; i < out.length; i++) out[i] = X.data[i] / 255;
  return matrix(X.rows, X.cols, out);
}

function accuracy(pred: Uint8Array, y: Uint8Array): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) ok++;
  return ok / y.length;
}

/** Stratified Fashion-MNIST samples, pixels / 255. */
function fashion(trainRows: number, testRows: number): { Xtr: Matrix; ytr: Uint8Array; Xte: Matrix; yte: Uint8Array } {
  const tr = fashionSample(trainRows, 7);
  const te = fashionTestSample(testRows, 7);
  return { Xtr: scaled(tr.X), ytr: tr.y, Xte: scaled(te.X), yte: te.y };
}

/** The leaf each row of X reaches in a tree. */
function leafOf(tree: TreeArrays, X: Matrix, row: number): number {
  let node = 0;
  while (tree.feature[node] >= 0) {
    node = X.data[row * X.cols + tree.feature[node]] <= tree.threshold[node] ? tree.left[node] : tree.right[node];
  }
  return node;
}

function sameTrees(a: readonly TreeArrays[], b: readonly TreeArrays[]): boolean {
  if (a.length !== b.length) return false;
  const eq = (x: ArrayLike<number>, y: ArrayLike<number>) =>
    x.length === y.length && Array.prototype.every.call(x, (v: number, i: number) => v === y[i]);
  return a.every(
    (t, i) =>
      eq(t.feature, b[i].feature) &&
      eq(t.threshold, b[i].threshold) &&
      eq(t.left, b[i].left) &&
      eq(t.right, b[i].right) &&
      eq(t.leafValue, b[i].leafValue),
  );
}

test('params: defaults are scikit-learn’s, the schema is strict and checks max_features', (t) => {
  t.deepEqual(RandomForestParams.parse({}), {
    trees: 100,
    max_depth: null,
    max_features: 'sqrt',
    min_samples_leaf: 1,
    bootstrap: true,
    seed: 0,
    engine: 'native',
  });
  for (const ok of ['sqrt', 'log2', 0.25, 1, 2, 784])
    t.true(RandomForestParams.safeParse({ max_features: ok }).success, String(ok));
  for (const bad of [0, -1, 1.5, 'auto', null])
    t.false(RandomForestParams.safeParse({ max_features: bad }).success, String(bad));
  t.false(RandomForestParams.safeParse({ tree: 10 }).success, 'unknown keys are refused');
  t.false(RandomForestParams.safeParse({ trees: 0 }).success);
  t.false(RandomForestParams.safeParse({ max_depth: 0 }).success);
  t.false(RandomForestParams.safeParse({ min_samples_leaf: 0 }).success);
  t.false(RandomForestParams.safeParse({ engine: 'sklearn' }).success);
  t.is(randomForestSpec.name, 'random_forest');
  t.is(randomForestSpec.kind, 'estimator');
  t.true(randomForestSpec.create(RandomForestParams.parse({ trees: 3 })) instanceof RandomForest);

  t.is(resolveMaxFeatures('sqrt', 784), 28);
  t.is(resolveMaxFeatures('log2', 784), 9);
  t.is(resolveMaxFeatures(0.5, 50), 25);
  t.is(resolveMaxFeatures(0.001, 50), 1);
  t.is(resolveMaxFeatures(1, 50), 50, '1 is the fraction 1.0: all features');
  t.is(resolveMaxFeatures(7, 50), 7);
});

test('an int max_features above the feature count is a ParamRangeError at fit time', async (t) => {
  const { X, y } = blobs(60, 4, 3, 5);
  for (const engine of ['native', 'mljs'] as const) {
    const rf = new RandomForest({ trees: 2, max_features: 5, engine });
    const err = await t.throwsAsync(() => rf.fit(X, y), { instanceOf: ParamRangeError });
    t.is(err?.param, 'max_features');
    t.regex(err?.message ?? '', /max_features is 5.*only 4 features/);
  }
});

test('unfitted use throws NotFittedError; clone is unfitted with equal params; fit leaves params alone', async (t) => {
  const { X, y } = blobs(90, 5, 3, 2);
  const rf = new RandomForest({ trees: 4, max_depth: 6, max_features: 2, seed: 9 });
  await t.throwsAsync(() => rf.predict(X), { instanceOf: NotFittedError });
  await t.throwsAsync(() => rf.predictProba(X), { instanceOf: NotFittedError });
  const before = JSON.stringify(rf.params);
  t.true(Object.isFrozen(rf.params));
  await rf.fit(X, y);
  t.is(JSON.stringify(rf.params), before);
  const copy = rf.clone();
  t.not(copy, rf);
  t.deepEqual(copy.params, rf.params);
  await t.throwsAsync(() => copy.predict(X), { instanceOf: NotFittedError });
  await t.throwsAsync(() => rf.predict(matrix(1, 6)), { message: /6 features.*fitted on 5/ });
  const nan = matrix(X.rows, X.cols, X.data.slice());
  nan.data[7] = Number.NaN;
  await t.throwsAsync(() => new RandomForest({ trees: 1 }).fit(nan, y), { message: /non-finite/ });
});

test('pixels: beats ml-random-forest (the oracle) on the same split, and learns 2000 images well', async (t) => {
  // ml-random-forest is O(n²) per node: the oracle gets a small split, and a few seeds on each side.
  const small = fashion(400, 500);
  let oracleSum = 0;
  for (const seed of [1, 2]) {
    const oracle = await new RandomForest({ trees: 15, engine: 'mljs', seed }).fit(small.Xtr, small.ytr);
    oracleSum += accuracy(await oracle.predict(small.Xte), small.yte);
  }
  const oracleAcc = oracleSum / 2;
  let sum = 0;
  for (let seed = 1; seed <= 8; seed++) {
    const ours = await new RandomForest({ trees: 15, seed }).fit(small.Xtr, small.ytr);
    sum += accuracy(await ours.predict(small.Xte), small.yte);
  }
  const ours15 = sum / 8;
  const ours100 = await new RandomForest({ trees: 100, seed: 1 }).fit(small.Xtr, small.ytr);
  const acc100 = accuracy(await ours100.predict(small.Xte), small.yte);
  t.log(
    `400 rows, 15 trees: ml-random-forest ${oracleAcc.toFixed(3)} (2 seeds), ours ${ours15.toFixed(3)} (8 seeds); ours, 100 trees: ${acc100.toFixed(3)}`,
  );
  t.true(oracleAcc > 0.6, 'the oracle itself works');
  t.true(ours15 >= oracleAcc);
  t.true(acc100 >= oracleAcc);

  const big = fashion(2000, 1000);
  const rf = await new RandomForest({ trees: 100 }).fit(big.Xtr, big.ytr);
  const acc = accuracy(await rf.predict(big.Xte), big.yte);
  t.log(`2000 rows, 100 trees: ${acc.toFixed(3)}`);
  t.true(acc >= 0.8);
});

test('same seed gives identical trees and predictions; another seed gives other trees', async (t) => {
  const { Xtr, ytr, Xte } = fashion(600, 300);
  const a = await new RandomForest({ trees: 8, seed: 5 }).fit(Xtr, ytr);
  const b = await new RandomForest({ trees: 8, seed: 5 }).fit(Xtr, ytr);
  const c = await new RandomForest({ trees: 8, seed: 6 }).fit(Xtr, ytr);
  t.true(sameTrees(a.trees(), b.trees()));
  t.deepEqual(await a.predict(Xte), await b.predict(Xte));
  t.deepEqual((await a.predictProba(Xte)).data, (await b.predictProba(Xte)).data);
  t.false(sameTrees(a.trees(), c.trees()));
  // Trees of one forest differ from each other too (each has its own derived seed).
  t.false(sameTrees([a.trees()[0]], [a.trees()[1]]));
});

test.serial('FASHION_WORKERS=1 and 2 grow the same forest', async (t) => {
  const { Xtr, ytr, Xte } = fashion(800, 300);
  const saved = process.env.FASHION_WORKERS;
  try {
    process.env.FASHION_WORKERS = '1';
    const inline = await new RandomForest({ trees: 6, seed: 3 }).fit(Xtr, ytr);
    process.env.FASHION_WORKERS = '2';
    const pooled = await new RandomForest({ trees: 6, seed: 3 }).fit(Xtr, ytr);
    t.true(sameTrees(inline.trees(), pooled.trees()));
    t.deepEqual(await inline.predict(Xte), await pooled.predict(Xte));
  } finally {
    if (saved === undefined) delete process.env.FASHION_WORKERS;
    else process.env.FASHION_WORKERS = saved;
  }
});

test('predictProba: rows sum to 1, one column per label up to the largest, predict is its argmax', async (t) => {
  const { X, y } = blobs(150, 6, 3, 8, 3);
  // Labels 0, 2 and 3: column 1 exists and stays 0.
  const y2 = y.map((v) => (v === 0 ? 0 : v + 1));
  const rf = await new RandomForest({ trees: 20, max_depth: 4 }).fit(X, y2);
  const proba = await rf.predictProba(X);
  t.is(proba.rows, X.rows);
  t.is(proba.cols, 4);
  const pred = await rf.predict(X);
  for (let i = 0; i < proba.rows; i++) {
    const row = Array.from(proba.data.subarray(i * 4, i * 4 + 4));
    t.true(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
    t.is(row[1], 0);
    t.is(pred[i], row.indexOf(Math.max(...row)));
  }
  t.true(accuracy(pred, y2) > 0.9);
});

test('max_depth=1 gives stumps; max_depth bounds every path', async (t) => {
  const { Xtr, ytr } = fashion(500, 10);
  const stumps = await new RandomForest({ trees: 10, max_depth: 1 }).fit(Xtr, ytr);
  t.deepEqual(stumps.treeSizes(), new Array(10).fill(3));
  for (const tree of stumps.trees()) t.deepEqual(Array.from(tree.feature.subarray(1)), [-1, -1]);
  const shallow = await new RandomForest({ trees: 5, max_depth: 4 }).fit(Xtr, ytr);
  for (const tree of shallow.trees()) {
    const depth = (node: number): number =>
      tree.feature[node] < 0 ? 0 : 1 + Math.max(depth(tree.left[node]), depth(tree.right[node]));
    t.true(depth(0) <= 4);
  }
});

test('fully grown trees without bootstrap fit the training data; min_samples_leaf holds in every leaf', async (t) => {
  const { Xtr, ytr } = fashion(700, 10);
  const full = await new RandomForest({ trees: 3, bootstrap: false }).fit(Xtr, ytr);
  t.is(accuracy(await full.predict(Xtr), ytr), 1);

  const leafy = await new RandomForest({ trees: 4, bootstrap: false, min_samples_leaf: 5 }).fit(Xtr, ytr);
  for (const tree of leafy.trees()) {
    const counts = new Map<number, number>();
    for (let i = 0; i < Xtr.rows; i++) {
      const leaf = leafOf(tree, Xtr, i);
      counts.set(leaf, (counts.get(leaf) ?? 0) + 1);
    }
    t.true(Math.min(...counts.values()) >= 5);
    // Every leaf of the tree is reached by training rows: thresholds on the raw values agree with the bins.
    t.is(counts.size, tree.feature.filter((f) => f < 0).length);
  }
});

test('binning: exact bins for ≤256 distinct values (even ones only in skipped rows), ordered quantile bins beyond', (t) => {
  const rows = 1001;
  const features = 3;
  const rng = createRng(21);
  const X = new Float32Array(rows * features);
  for (let i = 0; i < rows; i++) {
    X[i * features] = Math.floor(rng.float() * 200) / 255; // ≤200 distinct values
    X[i * features + 1] = rng.float() * 4 - 2; // ~1000 distinct values
    X[i * features + 2] = i % 4 === 0 ? 0 : i === 6 ? -3 : i === 7 ? 9 : -0; // rare values off the sampled rows
  }
  const codes = new Uint8Array(rows * features);
  const byRow = new Uint8Array(rows * features);
  const lo = new Float32Array(features * MAX_BINS);
  const hi = new Float32Array(features * MAX_BINS);
  binFeatures(X, rows, features, 0, features, codes, byRow, lo, hi);
  for (let f = 0; f < features; f++) {
    for (let i = 0; i < rows; i++) t.is(byRow[i * features + f], codes[f * rows + i]);
  }
  // Exact features: the code is the rank of the value among the distinct values (-0 is 0).
  for (const f of [0, 2]) {
    const distinct = [...new Set(Array.from({ length: rows }, (_, i) => X[i * features + f] + 0))].sort(
      (a, b) => a - b,
    );
    for (let i = 0; i < rows; i++) {
      const code = codes[f * rows + i];
      t.is(code, distinct.indexOf(X[i * features + f] + 0));
      t.is(lo[f * MAX_BINS + code], Math.fround(distinct[code]));
    }
  }
  t.deepEqual([codes[2 * rows + 6], codes[2 * rows + 7], codes[2 * rows + 1]], [0, 2, 1]);
  // Quantile feature: codes follow the values, every bin's range is right, bins do not overlap.
  const order = Array.from({ length: rows }, (_, i) => i).sort((a, b) => X[a * features + 1] - X[b * features + 1]);
  let used = 0;
  for (let j = 1; j < rows; j++) t.true(codes[rows + order[j]] >= codes[rows + order[j - 1]]);
  for (let b = 0; b < MAX_BINS; b++) {
    if (lo[MAX_BINS + b] === Infinity) continue;
    used++;
    t.true(lo[MAX_BINS + b] <= hi[MAX_BINS + b]);
    if (b > 0 && hi[MAX_BINS + b - 1] !== -Infinity) t.true(hi[MAX_BINS + b - 1] < lo[MAX_BINS + b]);
  }
  t.true(used > 200 && used <= MAX_BINS);
  for (let i = 0; i < rows; i++) {
    const code = codes[rows + i];
    t.true(X[i * features + 1] >= lo[MAX_BINS + code] && X[i * features + 1] <= hi[MAX_BINS + code]);
  }
});

test('continuous features (quantile bins): thresholds split unbinned values correctly', async (t) => {
  // 3000 distinct values per feature, more than the 256 bins; the label is a step in feature 0.
  const rng = createRng(4);
  const n = 3000;
  const X = matrix(n, 3);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 3; j++) X.data[i * 3 + j] = rng.float() * 10 - 5;
    y[i] = X.data[i * 3] > 1.2345 ? 1 : 0;
  }
  const rf = await new RandomForest({ trees: 10, max_features: 1 }).fit(X, y);
  const test = matrix(2000, 3);
  const yt = new Uint8Array(2000);
  for (let i = 0; i < 2000; i++) {
    for (let j = 0; j < 3; j++) test.data[i * 3 + j] = rng.float() * 10 - 5;
    yt[i] = test.data[i * 3] > 1.2345 ? 1 : 0;
  }
  t.true(accuracy(await rf.predict(test), yt) > 0.99);
  // Far from the step, every tree agrees.
  const far = matrix(2, 3, Float32Array.from([-4, 0, 0, 4.5, 0, 0]));
  const p = await rf.predictProba(far);
  t.deepEqual(Array.from(p.data), [1, 0, 0, 1]);
});

test('mljs engine: wraps ml-random-forest, reproducible, probabilities are vote shares', async (t) => {
  const { X, y } = blobs(90, 4, 3, 12);
  const params = { trees: 5, engine: 'mljs' as const, seed: 4, max_depth: 5 };
  const a = await new RandomForest(params).fit(X, y);
  const b = await new RandomForest(params).fit(X, y);
  const pred = await a.predict(X);
  t.deepEqual(pred, await b.predict(X));
  t.true(accuracy(pred, y) > 0.9);
  const proba = await a.predictProba(X);
  t.is(proba.cols, 3);
  for (let i = 0; i < proba.rows; i++) {
    const s = proba.data[i * 3] + proba.data[i * 3 + 1] + proba.data[i * 3 + 2];
    t.true(Math.abs(s - 1) < 1e-5);
  }
  t.deepEqual(a.params, { ...RandomForestParams.parse(params) }, 'the library did not write into our params');
  t.deepEqual(a.treeSizes(), []);
});

/** 2,500 rows of 40 features (20 of few values, 20 continuous), 4 classes with a weak signal, binned; `id` names it. */
function goldenData(seed: number, id: string): BinnedData {
  const rows = 2500;
  const features = 40;
  const classes = 4;
  const rng = createRng(seed);
  const X = new Float32Array(rows * features);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    y[i] = rng.int(classes);
    for (let f = 0; f < features; f++) {
      const signal = f % 4 === y[i] && rng.float() < 0.2 ? 1 : 0;
      X[i * features + f] = f < 20 ? Math.floor(rng.float() * 12) + 3 * signal : rng.float() + signal;
    }
  }
  const data: BinnedData = {
    id,
    rows,
    features,
    classes,
    codes: new Uint8Array(rows * features),
    codesByRow: new Uint8Array(rows * features),
    y,
    binLo: new Float32Array(features * MAX_BINS),
    binHi: new Float32Array(features * MAX_BINS),
  };
  binFeatures(X, rows, features, 0, features, data.codes, data.codesByRow, data.binLo, data.binHi);
  return data;
}

const FULL: TreeOptions = { maxDepth: Infinity, maxFeatures: 6, minSamplesLeaf: 1, bootstrap: true };
const SHALLOW: TreeOptions = { maxDepth: 5, maxFeatures: 40, minSamplesLeaf: 3, bootstrap: false };

/** SHA-256 of the trees' arrays, in order. */
function treeDigest(trees: TreeArrays[]): string {
  const h = createHash('sha256');
  for (const t of trees) {
    for (const a of [t.feature, t.threshold, t.left, t.right, t.leafValue])
      h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex');
}

test('growTree (WebAssembly) grows the trees the JavaScript growTree of commit c4a2b9e grew, bit for bit', (t) => {
  // The digest was taken from the JavaScript implementation (src/stages/random-forest/grow.ts and split.ts at
  // c4a2b9e) on the same data, options and seeds: the port replicates its generator and arithmetic. The trees reach
  // every split search (histogram above 1,024 samples, counting sort, insertion sort below 48).
  const data = goldenData(77, 'golden-a');
  const trees = [growTree(data, FULL, 1), growTree(data, FULL, 2), growTree(data, SHALLOW, 3)];
  t.deepEqual(
    trees.map((tree) => tree.feature.length),
    [487, 521, 17],
  );
  t.is(treeDigest(trees), '915af9d6498946c75ac0448c5ce77fdf19dcdd4466f082ff11f0bd1b43264f83');
});

test('growTree: the codes kept in kernel memory follow the data, whatever ran on the thread in between', (t) => {
  const a = goldenData(77, 'resident-a');
  const b = goldenData(78, 'resident-b');
  const first = treeDigest([growTree(a, FULL, 5)]);
  t.is(treeDigest([growTree(a, FULL, 5)]), first, 'again, from the codes already there');
  // other kernels lay their own regions out over the same memory
  lbpCoder(16, 16, circle(8, 1))(new Float32Array(256).fill(3), new Uint8Array(256));
  t.is(treeDigest([growTree(a, FULL, 5)]), first, 'after the LBP kernel used the memory');
  const other = treeDigest([growTree(b, FULL, 5)]);
  t.not(other, first);
  t.is(treeDigest([growTree(a, FULL, 5)]), first, 'after another data set');
  // more rows in a leaf than there are rows: every tree is its root
  t.is(growTree(a, { ...FULL, minSamplesLeaf: 2 ** 32 + 1 }, 5).feature.length, 1);
});
