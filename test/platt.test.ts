import test from 'ava';
import { createRequire } from 'node:module';
import { matrix, type Matrix } from '../src/linalg/matrix.js';
import { coupleProbabilities, pairwiseToProbabilities, sigmoidPredict, sigmoidTrain } from '../src/linalg/platt.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { foldRows, stratifiedFolds } from '../src/stages/folds.js';
import { fitSigmoids, ONE_FOLD_SAMPLES, type InnerFit } from '../src/stages/svm-probability.js';
import { svmSpec, type Svm } from '../src/stages/svm.js';
import { fashionSample } from './helpers.js';

test.after.always(() => shutdownPool());

const require = createRequire(import.meta.url);

interface LibsvmJs {
  train(X: number[][], y: number[]): void;
  predictProbability(
    X: number[][],
  ): Array<{ prediction: number; estimates: Array<{ label: number; probability: number }> }>;
}

const rows = (M: Matrix) =>
  Array.from({ length: M.rows }, (_, i) => Array.from(M.data.subarray(i * M.cols, (i + 1) * M.cols)));

test("SVM probabilities agree with libsvm's -b 1 (libsvm-js) on 2,000 Fashion-MNIST images: mean absolute difference under 0.01 as libsvm (5 folds, each held out) and with the stage's defaults, 0.015 from one held-out fold", async (t) => {
  const train = fashionSample(2000, 7);
  const test = fashionSample(500, 8);
  // a few features keep libsvm-js (asm.js) quick: each image's mean over 7×7 blocks, scaled to 0..1
  const pool = (M: Matrix) => {
    const out = matrix(M.rows, 16);
    for (let r = 0; r < M.rows; r++)
      for (let p = 0; p < 784; p++) {
        const b = Math.floor(Math.floor(p / 28) / 7) * 4 + Math.floor((p % 28) / 7);
        out.data[r * 16 + b] += M.data[r * 784 + p] / (49 * 255);
      }
    return out;
  };
  const Xtr = pool(train.X);
  const Xte = pool(test.X);
  const params = { C: 4, gamma: 2 };
  const SVM = (await require('libsvm-js/asm')) as {
    new (o: object): LibsvmJs;
    SVM_TYPES: { C_SVC: unknown };
    KERNEL_TYPES: { RBF: unknown };
  };
  const ref = new SVM({
    type: SVM.SVM_TYPES.C_SVC,
    kernel: SVM.KERNEL_TYPES.RBF,
    gamma: params.gamma,
    cost: params.C,
    probabilityEstimates: true,
    quiet: true,
  });
  ref.train(rows(Xtr), Array.from(train.y));
  const refP = ref.predictProbability(rows(Xte));
  // one held-out fold alone (half of 2,000 rows) gives noisier sigmoids: why auto keeps every fold for classes this small
  const settings = [
    { setting: { probability_folds: 5, probability_held_out: 'all' }, within: 0.01, agree: 0.97 },
    { setting: {}, within: 0.01, agree: 0.97 },
    { setting: { probability_held_out: 'one' }, within: 0.015, agree: 0.94 },
  ];
  for (const { setting, within, agree } of settings) {
    const ours = (await svmSpec
      .create(svmSpec.schema.parse({ ...params, probability: true, ...setting }))
      .fit(Xtr, train.y)) as Svm;
    const proba = await ours.predictProba!(Xte);
    let sum = 0;
    let n = 0;
    let same = 0;
    const labels = await ours.predict(Xte);
    refP.forEach((r, i) => {
      for (const e of r.estimates) {
        sum += Math.abs(e.probability - proba.data[i * proba.cols + e.label]);
        n++;
      }
      if (r.prediction === labels[i]) same++;
    });
    const mae = sum / n;
    const name = JSON.stringify(setting);
    t.log(`${name}: mean absolute difference ${mae.toFixed(4)}; the same answer for ${same} of ${refP.length}`);
    t.true(mae < within, `${name}: mean absolute difference ${mae}`);
    t.true(same / refP.length > agree, name);
  }
});

test('sigmoid fit: separable decision values give a steep sigmoid the right way round; Platt targets keep it finite', (t) => {
  const f = [-3, -2, -1.5, -1, 1, 1.5, 2, 3];
  const positive = [0, 0, 0, 0, 1, 1, 1, 1];
  const { A, B } = sigmoidTrain(f, positive);
  t.true(A < 0, `A = ${A}: a large decision value is the first class`);
  t.true(Number.isFinite(A) && Number.isFinite(B));
  t.true(sigmoidPredict(3, A, B) > 0.8 && sigmoidPredict(-3, A, B) < 0.2);
  // Platt's targets (n+1)/(n+2) and 1/(n+2): never 0 or 1, even here
  t.true(sigmoidPredict(1, A, B) < 1 && sigmoidPredict(-1, A, B) > 0);
});

test('coupling: two classes give the pair probability back; any k gives a distribution that follows the pairs', (t) => {
  const p2 = new Float64Array(2);
  coupleProbabilities(2, Float64Array.from([0, 0.8, 0.2, 0]), p2);
  t.true(Math.abs(p2[0] - 0.8) < 1e-3 && Math.abs(p2[0] + p2[1] - 1) < 1e-12);
  // three classes where class 2 wins every pair
  const decision = Float64Array.from([0, -2, -2]); // machines (0,1), (0,2), (1,2): > 0 votes for the first
  const p = pairwiseToProbabilities(decision, 1, 3, [-1, -1, -1], [0, 0, 0]);
  t.true(Math.abs(p[0] + p[1] + p[2] - 1) < 1e-9);
  t.true(p[2] > p[0] && p[2] > p[1], Array.from(p).join(', '));
});

test('svm probability: a class needs a sample per internal fold, its augmented copies counted with it', async (t) => {
  // class 2 has one photo and its mirrored copy: two rows, one group, so one of two folds would lack the class
  const X = matrix(10, 2, Float32Array.from([0, 0, 0, 1, 1, 0, 1, 1, 5, 5, 5, 6, 6, 5, 6, 6, 9, 9, 9, 8]));
  const y = Uint8Array.from([0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
  const groups = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 8]);
  const svm = svmSpec.create(svmSpec.schema.parse({ kernel: 'linear', probability: true })) as Svm;
  const err = await t.throwsAsync(() => svm.fit(X, y, { groups }));
  t.regex(err.message, /class 2 has 1 training samples \(with their augmented copies\), fewer than the 2 folds/);
  // without groups the two rows are two samples, one per fold
  await t.notThrowsAsync(() =>
    (svmSpec.create(svmSpec.schema.parse({ kernel: 'linear', probability: true })) as Svm).fit(X, y),
  );
});

test("svm probability: held out 'one' fits one inner svm and teaches the sigmoids with that fold's rows only; 'all' with every row; 'auto' picks one only for large classes", async (t) => {
  // two classes, 40 rows; the fake inner fit answers each row's own feature as its decision value
  const n = 40;
  const X = matrix(
    n,
    1,
    Float32Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (1 + (i % 7))),
  );
  const y = Uint8Array.from({ length: n }, (_, i) => i % 2);
  const counts = new Map([
    [0, n / 2],
    [1, n / 2],
  ]);
  let fits = 0;
  const fitInner: InnerFit = async () => {
    fits++;
    return async (rows) => Float64Array.from(rows.data);
  };
  const one = await fitSigmoids(X, y, [0, 1], counts, 2, fitInner, undefined, 'one');
  t.is(fits, 1);
  const held = foldRows(stratifiedFolds(y, 2, 1), 0).held;
  const expected = sigmoidTrain(
    held.map((r) => X.data[r]),
    held.map((r) => (y[r] === 0 ? 1 : 0)),
  );
  t.deepEqual([one.A[0], one.B[0]], [expected.A, expected.B]);
  fits = 0;
  const all = await fitSigmoids(X, y, [0, 1], counts, 2, fitInner, undefined, 'all');
  t.is(fits, 2);
  const every = sigmoidTrain(
    Array.from(X.data),
    Array.from(y, (label) => (label === 0 ? 1 : 0)),
  );
  t.deepEqual([all.A[0], all.B[0]], [every.A, every.B]);
  // auto: by the samples a class has in a fold (the counts given, here as if each class were that large)
  fits = 0;
  await fitSigmoids(X, y, [0, 1], counts, 2, fitInner, undefined, 'auto');
  t.is(fits, 2);
  const large = new Map([
    [0, 2 * ONE_FOLD_SAMPLES],
    [1, 2 * ONE_FOLD_SAMPLES],
  ]);
  fits = 0;
  await fitSigmoids(X, y, [0, 1], large, 2, fitInner, undefined, 'auto');
  t.is(fits, 1);
  fits = 0;
  await fitSigmoids(X, y, [0, 1], large, 3, fitInner, undefined, 'auto');
  t.is(fits, 3);
});

test("svm probability: held out 'one' with groups holds out whole groups (a photo with its mirrored copy), and auto counts groups", async (t) => {
  // 24 photos of 2 classes, each with its copy: 48 rows, groups of two
  const n = 48;
  const X = matrix(
    n,
    1,
    Float32Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (1 + (i % 5))),
  );
  const y = Uint8Array.from({ length: n }, (_, i) => Math.floor(i / 2) % 2);
  const groups = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 2));
  const counts = new Map([
    [0, n / 2],
    [1, n / 2],
  ]);
  let held: number[] = [];
  const fitInner: InnerFit = async () => async (rows) => {
    held = Array.from(rows.data);
    return Float64Array.from(rows.data);
  };
  await fitSigmoids(X, y, [0, 1], counts, 2, fitInner, groups, 'one');
  const fold = stratifiedFolds(y, 2, 1, groups);
  const rows = foldRows(fold, 0).held;
  t.deepEqual(
    held,
    rows.map((r) => X.data[r]),
  );
  for (const r of rows) t.is(fold[r ^ 1], fold[r], `row ${r} and its copy in the same fold`);
  // auto counts groups: 24 photos are far under the bound however many rows their copies make
  let fits = 0;
  const counting: InnerFit = async () => {
    fits++;
    return async (r) => Float64Array.from(r.data);
  };
  const manyRows = new Map([
    [0, 4 * ONE_FOLD_SAMPLES],
    [1, 4 * ONE_FOLD_SAMPLES],
  ]);
  await fitSigmoids(X, y, [0, 1], manyRows, 2, counting, groups, 'auto');
  t.is(fits, 2);
});
