import test from 'ava';
import { fitAndScore, FoldSource, type FitJob } from '../src/evaluate/fit-and-score.js';
import { FitCache } from '../src/evaluate/fit-cache.js';
import {
  packedUpperLength,
  packUpper,
  PARALLEL_EIGEN,
  symmetricTopEigen,
  symmetricTopEigenPacked,
  symmetricTopEigenParallel,
} from '../src/linalg/eigen.js';
import type { Matrix } from '../src/linalg/matrix.js';
import { Pipeline, Timings } from '../src/pipeline/pipeline.js';
import { SharedRows, sharedPlan } from '../src/pipeline/shared-fit.js';
import type { StepConfig } from '../src/pipeline/steps.js';
import { shutdownPool } from '../src/runtime/pool.js';
import type { Pca } from '../src/stages/pca.js';
import { registry } from '../src/stages/registry.js';
import type { Transformer } from '../src/stages/stage.js';
import { codeVersion } from '../src/util/code-version.js';
import { createRng } from '../src/util/rng.js';
import { fashionSample, withEnv } from './helpers.js';

test.after.always(async () => {
  await shutdownPool();
});

/** Steps as a pipeline file gives them (params validated, defaults filled in). */
function steps(list: Array<[string, Record<string, unknown>]>): StepConfig[] {
  return list.map(([stage, params]) => ({
    id: stage,
    stage,
    params: registry.get(stage)!.schema.parse(params) as Record<string, unknown>,
  }));
}

/** best.yaml's shape at a test's size: fine HOG (1,296 features) and the pixels' square roots, standardized, 2,080 wide. */
function wide(components = 24, solver = 'full'): StepConfig[] {
  return steps([
    [
      'union',
      {
        hog: { steps: [{ hog: { cell: 4 } }, { normalize: { method: 'standard' } }] },
        pixels: { steps: [{ normalize: { method: 'sqrt' } }, { normalize: { method: 'standard' } }], weight: 2 },
      },
    ],
    ['pca', { components, solver }],
    ['svm', { C: 10 }],
  ]);
}

const data = fashionSample(900, 3);

function transformers(p: Pipeline): Transformer[] {
  return p.steps.slice(0, -1).map((s) => s.stage as Transformer);
}

/** Largest |a − b| / (|b| + floor) over two arrays of the same length. */
function relative(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (Math.abs(b[i]) + floor));
  return worst;
}

/** 1 − |cos| of the angle between component c of two fitted PCAs, the worst over the first `count`. */
function componentGap(a: Pca, b: Pca, count: number): number {
  const [ca, cb] = [a.components, b.components];
  let worst = 0;
  for (let c = 0; c < count; c++) {
    let dot = 0;
    for (let j = 0; j < ca.cols; j++) dot += ca.data[c * ca.cols + j] * cb.data[c * cb.cols + j];
    worst = Math.max(worst, 1 - Math.abs(dot));
  }
  return worst;
}

test('a fold fitted from the shared moments is the fold fitted on its own rows, up to float rounding', async (t) => {
  const source = new FoldSource(data, 3, 42);
  for (const fold of [1, 3]) {
    const { train, test: held } = source.get(fold);
    const plain = Pipeline.fromSteps(wide());
    await plain.fit(train.X, train.y);
    const shared = Pipeline.fromSteps(wide());
    const timings = new Timings();
    await shared.fit(train.X, train.y, { timings, shared: source.shared(fold, 'train') });
    // the shared path ran: the union never transformed raw rows (its row-wise part was computed once, for every fold)
    t.truthy(timings.byStage.get('pca')!.fit_ms > 0);
    // the standard steps' means and scales: the fold's training rows only (held-out rows would move them visibly)
    const [pu, su] = [plain.steps[0].stage.snapshot(), shared.steps[0].stage.snapshot()] as Array<{
      branches: Array<Array<{ mean: Float64Array | null; scale: Float64Array | null }>>;
    }>;
    for (const b of [0, 1]) {
      const [p, s] = [pu.branches[b][1], su.branches[b][1]];
      t.true(relative(s.mean!, p.mean!, 1e-6) < 1e-5, `fold ${fold} branch ${b} means`);
      t.true(relative(s.scale!, p.scale!) < 1e-5, `fold ${fold} branch ${b} scales`);
    }
    const [pp, sp] = [plain.steps[1].stage as Pca, shared.steps[1].stage as Pca];
    t.true(relative(sp.explainedVariance, pp.explainedVariance) < 1e-5, `fold ${fold} variances`);
    t.true(componentGap(sp, pp, 10) < 1e-6, `fold ${fold} components`);
    // the held-out predictions: from the shared rows and from the raw rows alike
    const viaRaw = await shared.predict(held.X);
    const viaShared = await shared.predict(held.X, { shared: source.shared(fold, 'test') });
    t.deepEqual(viaShared, viaRaw);
    const fromPlain = await plain.predict(held.X);
    const agree = fromPlain.filter((label, i) => label === viaRaw[i]).length;
    t.true(agree >= held.y.length - 2, `fold ${fold}: ${agree} of ${held.y.length} predictions agree`);
  }
});

test('the shared transform gives the union and PCA output of the raw rows bit for bit', async (t) => {
  const source = new FoldSource(data, 3, 42);
  const { train, test: held } = source.get(2);
  const pipeline = Pipeline.fromSteps(wide());
  await pipeline.fit(train.X, train.y, { shared: source.shared(2, 'train') });
  const raw = await pipeline.transform(held.X);
  const shared = await pipeline.transform(held.X, { shared: source.shared(2, 'test') });
  t.deepEqual(shared.data, raw.data);
});

test('the final fit (fold 0) takes every block: the fit on all training rows', async (t) => {
  const source = new FoldSource(data, 3, 42);
  const plain = Pipeline.fromSteps(wide());
  await plain.fit(data.X, data.y);
  const shared = Pipeline.fromSteps(wide());
  await shared.fit(data.X, data.y, { shared: source.shared(0, 'train') });
  const [pp, sp] = [plain.steps[1].stage as Pca, shared.steps[1].stage as Pca];
  t.true(relative(sp.explainedVariance, pp.explainedVariance) < 1e-5);
  t.true(componentGap(sp, pp, 10) < 1e-6);
  t.throws(() => source.shared(0, 'test'), { message: /no held-out rows/ });
});

test('only a union of row-wise then standard steps before a wide full-solver PCA shares', (t) => {
  const plan = (list: StepConfig[], cols = 784, rows = 600) =>
    sharedPlan(transformers(Pipeline.fromSteps(list)), rows, cols);
  t.truthy(plan(wide()));
  // randomized solver, mljs engine: their fits do not come from a covariance
  t.is(plan(wide(24, 'randomized')), null);
  // 784 pixels standardized: narrow, so each fold sums its own Gram exactly as before
  const pixels = steps([
    ['union', { p: { steps: [{ normalize: { method: 'minmax' } }, { normalize: { method: 'standard' } }] } }],
    ['pca', { components: 20, solver: 'full' }],
    ['svm', {}],
  ]);
  t.is(plan(pixels), null);
  // a branch whose last step is not affine (rows scaled to unit length after standardizing)
  const l2 = steps([
    [
      'union',
      {
        hog: {
          steps: [{ hog: { cell: 4 } }, { normalize: { method: 'standard' } }, { normalize: { method: 'l2' } }],
        },
        p: { steps: [{ normalize: { method: 'minmax' } }] },
      },
    ],
    ['pca', { components: 20, solver: 'full' }],
    ['svm', {}],
  ]);
  t.is(plan(l2), null);
  // a branch with no row-wise step (its standardization would see every row)
  const bare = steps([
    ['union', { hog: { steps: [{ hog: { cell: 4 } }] }, p: { steps: [{ normalize: { method: 'standard' } }] } }],
    ['pca', { components: 20, solver: 'full' }],
    ['svm', {}],
  ]);
  t.is(plan(bare), null);
});

test('shared rows refuse blocks that overlap or leave rows out', (t) => {
  const X: Matrix = { rows: 4, cols: 2, data: new Float32Array(8) };
  t.throws(() => new SharedRows(X, [Int32Array.of(0, 1), Int32Array.of(1, 2, 3)]), { message: /two blocks/ });
  t.throws(() => new SharedRows(X, [Int32Array.of(0, 1), Int32Array.of(2)]), { message: /cover 3 of 4/ });
});

/** A symmetric n×n covariance-like matrix: the Gram matrix of `rows` random rows with decaying column scales. */
function covarianceLike(n: number, rows: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const X = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) for (let j = 0; j < n; j++) X[i * n + j] = (rng.float() - 0.5) / (1 + j / 50);
  const M = new Float64Array(n * n);
  for (let i = 0; i < rows; i++) {
    const o = i * n;
    for (let a = 0; a < n; a++) {
      const xa = X[o + a];
      for (let b = a; b < n; b++) M[a * n + b] += xa * X[o + b];
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) M[a * n + b] = M[b * n + a];
  return M;
}

test.serial(
  'the eigen solver with M·q on two threads: the one-thread answer to rounding, the same bits with 1 or 2 workers',
  async (t) => {
    const n = PARALLEL_EIGEN + 51;
    const M = covarianceLike(n, 300, 4);
    const k = 12;
    const one = symmetricTopEigen(M, n, k);
    const split1 = await withEnv('FASHION_WORKERS', '1', () => symmetricTopEigenParallel(M, n, k));
    const split2 = await withEnv('FASHION_WORKERS', '2', () => symmetricTopEigenParallel(M, n, k));
    t.deepEqual(split1.values, split2.values);
    t.deepEqual(split1.vectors, split2.vectors);
    t.true(relative(split2.values, one.values) < 1e-10);
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += split2.vectors[c * n + i] * one.vectors[c * n + i];
      t.true(1 - Math.abs(dot) < 1e-10, `vector ${c}: ${dot}`);
    }
    // below PARALLEL_EIGEN it is the one-thread solver, bit for bit (narrow PCAs keep their figures)
    const small = covarianceLike(300, 200, 5);
    t.deepEqual((await symmetricTopEigenParallel(small, 300, 5)).vectors, symmetricTopEigen(small, 300, 5).vectors);
  },
);

test('a search through the fit cache: the candidates after the first restore the shared fit, with the same scores', async (t) => {
  const source = new FoldSource(data, 3, 42);
  const cache = new FitCache({
    enabled: true,
    dir: null,
    maxDiskBytes: 0,
    maxMemoryBytes: 1e9,
    maxEntryBytes: 1e9,
  });
  const job = (C: number): FitJob => ({
    steps: wide().map((s) => (s.stage === 'svm' ? { ...s, params: { ...s.params, C } } : s)),
    fold: 2,
    folds: source.identity,
    data: 'fashion sample',
    code: codeVersion(),
  });
  const alone = [await fitAndScore(job(1), source), await fitAndScore(job(10), source)];
  const cached = [await fitAndScore(job(1), source, { cache }), await fitAndScore(job(10), source, { cache })];
  t.true(cache.stats.memory_hits >= 1, JSON.stringify(cache.stats));
  for (const [i, r] of cached.entries()) t.deepEqual([r.accuracy, r.macro_f1], [alone[i].accuracy, alone[i].macro_f1]);
  t.true(source.sharedUsed);
});

test('the eigen solver on a packed matrix with its norm: the answer of the row-major one, bit for bit', async (t) => {
  for (const n of [300, PARALLEL_EIGEN + 3]) {
    const M = covarianceLike(n, 120, 6);
    const packed = new Float64Array(packedUpperLength(n));
    packUpper(M, n, packed);
    let squares = 0;
    for (const v of M) squares += v * v;
    const fromPacked = await symmetricTopEigenPacked(packed, n, 6, Math.sqrt(squares));
    const fromMatrix = await symmetricTopEigenParallel(M, n, 6);
    t.deepEqual(fromPacked.vectors, fromMatrix.vectors, `n = ${n}`);
    t.deepEqual(fromPacked.values, fromMatrix.values, `n = ${n}`);
  }
});
