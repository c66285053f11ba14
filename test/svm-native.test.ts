import test, { type ExecutionContext } from 'ava';
import type { LabelledRows } from '../src/data/dataset.js';
import { matrix, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { powi } from '../src/linalg/svm-predict.js';
import { Normalize } from '../src/stages/normalize.js';
import { ParamRangeError } from '../src/stages/stage.js';
import { Pca } from '../src/stages/pca.js';
import { resolveGamma, Svm, type SvmParams } from '../src/stages/svm.js';
import { trainPair, type LibsvmParams, type PairModel } from '../src/stages/svm-libsvm.js';
import { trainPairNative } from '../src/stages/svm-native.js';
import { blobs, fashionSample, fashionTestSample } from './helpers.js';

test.after.always(() => shutdownPool());

/** x/255 → PCA 50 → standardized, as pipelines/pca-svm.yaml feeds the svm. */
async function pcaFeatures(
  train: LabelledRows,
  test: LabelledRows,
  components = 50,
): Promise<{ train: LabelledRows; test: LabelledRows }> {
  const scale = (X: Matrix) =>
    matrix(
      X.rows,
      X.cols,
      X.data.map((v) => v / 255),
    );
  const pca = await new Pca({ components }).fit(scale(train.X), train.y);
  const Ptr = await pca.transform(scale(train.X));
  const Pte = await pca.transform(scale(test.X));
  const standard = await new Normalize({ method: 'standard' }).fit(Ptr, train.y);
  return {
    train: { X: await standard.transform(Ptr), y: train.y },
    test: { X: await standard.transform(Pte), y: test.y },
  };
}

const fashion = pcaFeatures(fashionSample(3000, 9), fashionTestSample(1000, 9));

function accuracy(pred: Uint8Array, y: Uint8Array): number {
  let hits = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) hits++;
  return hits / y.length;
}

/** The dual objective ½ Σ_st c_s c_t K(x_s, x_t) − Σ_t |c_t| of a binary machine (c = y·α), in float64 from X. */
function dualObjective(m: PairModel, X: Matrix, p: LibsvmParams): number {
  const d = X.cols;
  const n = m.sv.length;
  let quad = 0;
  let linear = 0;
  for (let u = 0; u < n; u++) {
    linear += Math.abs(m.coef[u]);
    const a = m.sv[u] * d;
    for (let v = u; v < n; v++) {
      const b = m.sv[v] * d;
      let k: number;
      if (p.kernel === 'rbf') {
        let s = 0;
        for (let f = 0; f < d; f++) s += (X.data[a + f] - X.data[b + f]) ** 2;
        k = Math.exp(-p.gamma * s);
      } else {
        let s = 0;
        for (let f = 0; f < d; f++) s += X.data[a + f] * X.data[b + f];
        k = p.kernel === 'linear' ? s : powi(p.gamma * s + p.coef0, p.degree);
      }
      quad += (u === v ? 1 : 2) * m.coef[u] * m.coef[v] * k;
    }
  }
  return quad / 2 - linear;
}

function libsvmParams(X: Matrix, p: Partial<SvmParams>): LibsvmParams {
  return {
    kernel: p.kernel ?? 'rbf',
    C: p.C ?? 1,
    gamma: resolveGamma(p.gamma ?? 'scale', X),
    degree: p.degree ?? 3,
    coef0: p.coef0 ?? 0,
    tolerance: p.tolerance ?? 0.001,
    cacheMb: p.cache_mb ?? 200,
  };
}

/**
 * Every binary machine of our solver against libsvm's on the same rows: support vectors (as a set, and their number
 * within 2 %), ρ within 1e-3, dual objective within 1e-3 relative (both recomputed in float64 from the machines; the
 * solver's own value agrees too). Returns the worst differences, for the log.
 */
async function pairsAgree(t: ExecutionContext, d: LabelledRows, params: Partial<SvmParams>, what: string) {
  const p = libsvmParams(d.X, params);
  const classes = [...new Set(d.y)].sort((u, v) => u - v);
  let worstRho = 0;
  let worstObj = 0;
  let worstSv = 0;
  for (let i = 0; i < classes.length; i++) {
    for (let j = i + 1; j < classes.length; j++) {
      const [a, b] = [classes[i], classes[j]];
      const ours = trainPairNative(d.X.data, d.X.cols, d.y, a, b, p);
      const theirs = await trainPair(d.X.data, d.X.cols, d.y, a, b, p);
      const pair = `${what} ${a}/${b}`;
      const svDiff = Math.abs(ours.sv.length - theirs.sv.length) / theirs.sv.length;
      t.true(svDiff <= 0.02, `${pair}: ${ours.sv.length} support vectors, libsvm ${theirs.sv.length}`);
      t.true(Math.abs(ours.rho - theirs.rho) <= 1e-3, `${pair}: rho ${ours.rho}, libsvm ${theirs.rho}`);
      const objOurs = dualObjective(ours, d.X, p);
      const objTheirs = dualObjective(theirs, d.X, p);
      const objDiff = Math.abs(objOurs - objTheirs) / Math.abs(objTheirs);
      t.true(objDiff <= 1e-3, `${pair}: dual objective ${objOurs}, libsvm ${objTheirs}`);
      t.true(
        Math.abs(ours.obj - objOurs) <= 1e-3 * Math.abs(objOurs),
        `${pair}: solver's objective ${ours.obj} vs ${objOurs}`,
      );
      t.is(ours.a, a);
      t.is(ours.b, b);
      t.true(ours.countA > 0 && ours.countA < ours.sv.length, `${pair}: support vectors on both sides`);
      worstRho = Math.max(worstRho, Math.abs(ours.rho - theirs.rho));
      worstObj = Math.max(worstObj, objDiff);
      worstSv = Math.max(worstSv, svDiff);
    }
  }
  t.log(
    `${what}: worst |Δρ| ${worstRho.toExponential(2)}, objective ${worstObj.toExponential(2)} relative, support vectors ${(100 * worstSv).toFixed(2)} %`,
  );
}

/** The native and libsvm engines as whole stages: predictions, support-vector counts per class. */
async function stagesAgree(
  t: ExecutionContext,
  train: LabelledRows,
  test: LabelledRows,
  params: Partial<SvmParams>,
  what: string,
) {
  const native = await new Svm({ ...params, engine: 'native' }).fit(train.X, train.y);
  const libsvm = await new Svm({ ...params, engine: 'libsvm' }).fit(train.X, train.y);
  t.is(native.fitted.engine, 'native');
  t.is(native.fitted.gamma, libsvm.fitted.gamma);
  const a = await native.predict(test.X);
  const b = await libsvm.predict(test.X);
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  const accNative = accuracy(a, test.y);
  const accLibsvm = accuracy(b, test.y);
  t.log(`${what}: ${same}/${a.length} predictions agree; accuracy native ${accNative}, libsvm ${accLibsvm}`);
  t.true(same / a.length >= 0.995, `${what}: ${same}/${a.length} predictions agree`);
  t.true(Math.abs(accNative - accLibsvm) <= 0.002, `${what}: accuracy ${accNative} vs ${accLibsvm}`);
  native.fitted.n_support.forEach((n, c) => {
    const m = libsvm.fitted.n_support[c];
    t.true(Math.abs(n - m) <= Math.max(1, 0.02 * m), `${what}: class ${c} has ${n} support vectors, libsvm ${m}`);
  });
  // the native model is a libsvm model: libsvm's own predict reads it and agrees with the native predict
  t.deepEqual(
    Array.from(await native.predictLibsvm(test.X)),
    Array.from(a),
    `${what}: libsvm's predict on the native model`,
  );
  return native;
}

test('blobs, rbf: every pair matches libsvm; the stages predict alike', async (t) => {
  const d = blobs(600, 6, 4, 17, 3);
  const heldOut = blobs(400, 6, 4, 17, 3);
  await pairsAgree(t, d, { C: 10 }, 'blobs rbf');
  await stagesAgree(t, d, heldOut, { C: 10 }, 'blobs rbf');
});

test('3000 Fashion-MNIST rows, PCA 50 standardized, rbf C=10: every pair matches libsvm; predictions agree', async (t) => {
  const { train, test: heldOut } = await fashion;
  await pairsAgree(t, train, { C: 10 }, 'fashion rbf');
  const svm = await stagesAgree(t, train, heldOut, { C: 10 }, 'fashion rbf');
  t.true(accuracy(await svm.predict(heldOut.X), heldOut.y) > 0.8);
});

for (const [kernel, params] of [
  ['linear', { kernel: 'linear', C: 0.1 }],
  ['poly', { kernel: 'poly', C: 1, degree: 3, coef0: 1 }],
] as const) {
  test(`${kernel} kernel on 1000 Fashion-MNIST rows (PCA 50): pairs and predictions match libsvm`, async (t) => {
    const { train, test: heldOut } = await fashion;
    const small: LabelledRows = {
      X: matrix(1000, train.X.cols, train.X.data.subarray(0, 1000 * train.X.cols)),
      y: train.y.subarray(0, 1000),
    };
    await pairsAgree(t, small, params, kernel);
    await stagesAgree(t, small, heldOut, params, kernel);
  });
}

test('1 worker and 2 workers give the same native model, bit for bit; refitting too', async (t) => {
  const { train } = await fashion;
  const run = async (workers: string) => {
    const before = process.env.FASHION_WORKERS;
    process.env.FASHION_WORKERS = workers;
    try {
      return (await new Svm({ C: 10 }).fit(train.X, train.y)).modelText();
    } finally {
      if (before === undefined) delete process.env.FASHION_WORKERS;
      else process.env.FASHION_WORKERS = before;
    }
  };
  const one = await run('1');
  t.is(await run('2'), one);
  t.is(await run('2'), one, 'refit');
});

test('a small cache (rows evicted and recomputed) and no shrinking change nothing that matters', async (t) => {
  const { train } = await fashion;
  const p = libsvmParams(train.X, { C: 10 });
  const big = trainPairNative(train.X.data, train.X.cols, train.y, 0, 6, p);
  const tiny = trainPairNative(train.X.data, train.X.cols, train.y, 0, 6, { ...p, cacheMb: 0.01 });
  t.deepEqual(
    Array.from(tiny.sv),
    Array.from(big.sv),
    'the cache only changes when rows are computed, not their values',
  );
  t.deepEqual(Array.from(tiny.coef), Array.from(big.coef));
  t.is(tiny.rho, big.rho);
});

test('native is the default engine; its model saves and restores through the snapshot', async (t) => {
  const d = blobs(150, 5, 3, 8);
  const svm = await new Svm({ C: 2 }).fit(d.X, d.y);
  t.is(svm.params.engine, 'native');
  t.is(svm.fitted.engine, 'native');
  const restored = new Svm({ C: 2 }).restore(svm.snapshot());
  t.is(restored.fitted.engine, 'native');
  t.is(restored.modelText(), svm.modelText());
  t.deepEqual(Array.from(await restored.predict(d.X)), Array.from(await svm.predict(d.X)));
});

test.serial(
  "an SVM that cannot converge (C = gamma = 1e308) stops at libsvm's iteration bound with a warning, not a hang",
  async (t) => {
    const n = 60;
    const X = matrix(n, 4);
    const y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 2;
      for (let j = 0; j < 4; j++) X.data[i * 4 + j] = Math.sin(i * 7 + j * 3) + 0.3 * y[i];
    }
    const warnings: string[] = [];
    const listen = (w: Error) => warnings.push(w.message);
    process.on('warning', listen);
    try {
      const svm = await new Svm({ C: 1e308, gamma: 1e308 }).fit(X, y);
      t.is((await svm.predict(X)).length, n, 'a model is still made');
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
    } finally {
      process.off('warning', listen);
    }
    t.true(
      warnings.some((w) =>
        /svm: 1 of 1 binary machines stopped at the solver's iteration limit without converging/.test(w),
      ),
      warnings.join('\n'),
    );
  },
);

test.serial(
  'max_iter bounds the solver (as scikit-learn): a machine stopped there is said, naming it; other engines refuse it',
  async (t) => {
    const d = blobs(300, 6, 3, 5, 4);
    const warnings: string[] = [];
    const listen = (w: Error) => warnings.push(w.message);
    process.on('warning', listen);
    try {
      const bounded = await new Svm({ C: 10, max_iter: 3 }).fit(d.X, d.y);
      t.is((await bounded.predict(d.X)).length, 300, 'a model is still made');
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listen);
    }
    t.true(
      warnings.some((w) =>
        /binary machines stopped at the solver's iteration limit \(max_iter 3\) without converging/.test(w),
      ),
      warnings.join('\n'),
    );
    // a bound the solver never reaches changes nothing
    const free = await new Svm({ C: 10 }).fit(d.X, d.y);
    const roomy = await new Svm({ C: 10, max_iter: 10_000_000 }).fit(d.X, d.y);
    t.is(roomy.modelText(), free.modelText());
    const err = await t.throwsAsync(new Svm({ C: 10, max_iter: 5, engine: 'libsvm' }).fit(d.X, d.y), {
      instanceOf: ParamRangeError,
    });
    t.is((err as ParamRangeError).param, 'max_iter');
  },
);
