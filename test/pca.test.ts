import test from 'ava';
import { PCA as MlPca } from 'ml-pca';
import { loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import { packUpper, symmetricTopEigen, tridiagonalEigen } from '../src/linalg/eigen.js';
import { matrix, takeRows, toNested, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { createRng } from '../src/util/rng.js';
import { Arena } from '../src/runtime/wasm.js';
import { pcaProjectTask, projectionChunk, projectionWeights } from '../src/linalg/projection.js';
import { Pca, pcaSpec } from '../src/stages/pca.js';
import { NotFittedError, ParamRangeError } from '../src/stages/stage.js';

test.after.always(async () => {
  await shutdownPool();
});

/** The first n training images, pixels / 255. */
const fashion = (() => {
  let cached: { X: Matrix; y: Uint8Array } | null = null;
  return (n: number): { X: Matrix; y: Uint8Array } => {
    if (!cached) {
      const split = loadSplit(resolveDataDir(), 'train');
      const idx = Array.from({ length: 3000 }, (_, i) => i);
      const X = takeRows(split.X, idx);
      for (let i = 0; i < X.data.length; i++) X.data[i] /= 255;
      cached = { X, y: split.y.slice(0, 3000) };
    }
    const X = matrix(n, cached.X.cols, cached.X.data.slice(0, n * cached.X.cols));
    return { X, y: cached.y.slice(0, n) };
  };
})();

/** 2×2 average pooling of 28×28 images: 196 features, for the tests that run ml-pca on more rows. */
function pooled(X: Matrix): Matrix {
  const out = new Float32Array(X.rows * 196);
  for (let i = 0; i < X.rows; i++) {
    for (let r = 0; r < 14; r++) {
      for (let c = 0; c < 14; c++) {
        const o = i * 784 + 2 * r * 28 + 2 * c;
        out[i * 196 + r * 14 + c] = (X.data[o] + X.data[o + 1] + X.data[o + 28] + X.data[o + 29]) / 4;
      }
    }
  }
  return matrix(X.rows, 196, out);
}

function synthetic(n: number, d: number, seed: number): Matrix {
  const rng = createRng(seed);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    // correlated features with decreasing scales and an offset
    const z = [rng.float() - 0.5, rng.float() - 0.5, rng.float() - 0.5];
    for (let f = 0; f < d; f++) {
      data[i * d + f] = 3 + z[0] * (f + 1) + z[1] * Math.sin(f) * 2 + z[2] * (f % 3) + (rng.float() - 0.5) * 0.1;
    }
  }
  return matrix(n, d, data);
}

function column(M: Matrix, c: number): Float64Array {
  const out = new Float64Array(M.rows);
  for (let i = 0; i < M.rows; i++) out[i] = M.data[i * M.cols + c];
  return out;
}

function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

test('params: defaults, strict schema, frozen', (t) => {
  const p = new Pca();
  t.deepEqual(p.params, {
    components: 50,
    whiten: false,
    engine: 'native',
    solver: 'auto',
    iterated_power: 'auto',
    oversamples: 10,
    seed: 0,
  });
  t.true(Object.isFrozen(p.params));
  t.throws(() => new Pca({ components: 0 }));
  t.throws(() => new Pca({ components: 2.5 }));
  t.throws(() => pcaSpec.schema.parse({ components: 3, extra: 1 }));
  t.deepEqual(pcaSpec.schema.parse({}), {
    components: 50,
    whiten: false,
    engine: 'native',
    solver: 'auto',
    iterated_power: 'auto',
    oversamples: 10,
    seed: 0,
  });
});

test('outputFeatures: the component count, or ParamRangeError on components > features', (t) => {
  t.is(pcaSpec.outputFeatures!(pcaSpec.schema.parse({ components: 30 }), 784), 30);
  const err = t.throws(() => pcaSpec.outputFeatures!(pcaSpec.schema.parse({ components: 800 }), 784), {
    instanceOf: ParamRangeError,
  });
  t.is(err!.param, 'components');
  t.regex(err!.message, /components must be ≤ the 784 features it receives/);
});

test('fit: ParamRangeError for more components than features or rows', async (t) => {
  const X = synthetic(30, 8, 1);
  const y = new Uint8Array(30);
  const e1 = await t.throwsAsync(new Pca({ components: 9 }).fit(X, y), { instanceOf: ParamRangeError });
  t.is(e1!.param, 'components');
  const e2 = await t.throwsAsync(new Pca({ components: 5 }).fit(matrix(4, 8, X.data.slice(0, 32)), new Uint8Array(4)), {
    instanceOf: ParamRangeError,
  });
  t.is(e2!.param, 'components');
});

test('unfitted use throws NotFittedError; clone is an unfitted copy; fit leaves params alone', async (t) => {
  const p = new Pca({ components: 3, whiten: true });
  await t.throwsAsync(p.transform(synthetic(5, 8, 2)), { instanceOf: NotFittedError });
  t.throws(() => p.explainedVarianceRatio, { instanceOf: NotFittedError });
  const before = { ...p.params };
  const X = synthetic(50, 8, 3);
  await p.fit(X, new Uint8Array(50));
  t.deepEqual({ ...p.params }, before);
  const c = p.clone();
  t.not(c, p);
  t.deepEqual({ ...c.params }, before);
  await t.throwsAsync(c.transform(X), { instanceOf: NotFittedError });
  t.is((await p.transform(X)).cols, 3);
  await t.throwsAsync(p.transform(synthetic(5, 9, 2)), { message: /9 features/ });
});

test('native PCA matches ml-pca on 500 Fashion-MNIST images (components, variance, transform)', async (t) => {
  const { X, y } = fashion(500);
  const k = 20;
  const ours = await new Pca({ components: k }).fit(X, y);
  const ref = new MlPca(toNested(X));
  const U = ref.getEigenvectors();
  const ev = ref.getEigenvalues();
  const ratio = ref.getExplainedVariance();
  const comps = ours.components;
  const ourEv = ours.explainedVariance;
  const ourRatio = ours.explainedVarianceRatio;
  const refProj = ref.predict(toNested(X), { nComponents: k });
  const ourProj = await ours.transform(X);
  for (let c = 0; c < k; c++) {
    const refVec = U.getColumn(c);
    const ourVec = comps.data.subarray(c * 784, (c + 1) * 784);
    t.true(Math.abs(cosine(refVec, ourVec)) > 0.999, `component ${c}: |cos| ${cosine(refVec, ourVec)}`);
    t.true(Math.abs(ourEv[c] - ev[c]) <= 1e-6 * ev[0], `variance ${c}: ${ourEv[c]} vs ${ev[c]}`);
    t.true(Math.abs(ourRatio[c] - ratio[c]) <= 1e-6, `ratio ${c}: ${ourRatio[c]} vs ${ratio[c]}`);
    // projections equal up to the component's sign
    const sign = Math.sign(cosine(refVec, ourVec));
    const ours_c = column(ourProj, c);
    let worst = 0;
    for (let i = 0; i < X.rows; i++) worst = Math.max(worst, Math.abs(ours_c[i] - sign * refProj.get(i, c)));
    t.true(worst < 1e-4, `transform column ${c}: max diff ${worst}`);
  }
  // descending variance; sign convention: the largest-|value| entry of each component is positive
  for (let c = 1; c < k; c++) t.true(ourEv[c] <= ourEv[c - 1]);
  for (let c = 0; c < k; c++) {
    const v = comps.data.subarray(c * 784, (c + 1) * 784);
    let best = 0;
    for (let f = 1; f < 784; f++) if (Math.abs(v[f]) > Math.abs(v[best])) best = f;
    t.true(v[best] > 0);
  }
});

test('engine mljs agrees with native (same signs after the flip)', async (t) => {
  const { X: raw, y } = fashion(1000);
  const X = pooled(raw);
  const k = 15;
  const a = await new Pca({ components: k }).fit(X, y);
  const b = await new Pca({ components: k, engine: 'mljs' }).fit(X, y);
  const ra = a.explainedVarianceRatio;
  const rb = b.explainedVarianceRatio;
  for (let c = 0; c < k; c++) t.true(Math.abs(ra[c] - rb[c]) < 1e-6, `ratio ${c}`);
  const ta = await a.transform(X);
  const tb = await b.transform(X);
  let worst = 0;
  for (let i = 0; i < ta.data.length; i++) worst = Math.max(worst, Math.abs(ta.data[i] - tb.data[i]));
  t.true(worst < 1e-4, `max diff ${worst}`);
});

test('whiten: unit variance (n − 1) and zero mean on the fit data; the ratio is unchanged', async (t) => {
  const { X: raw, y } = fashion(1500);
  const X = pooled(raw);
  const k = 10;
  const plain = await new Pca({ components: k }).fit(X, y);
  const white = await new Pca({ components: k, whiten: true }).fit(X, y);
  const Z = await white.transform(X);
  const P = await plain.transform(X);
  const ev = plain.explainedVariance;
  for (let c = 0; c < k; c++) {
    const z = column(Z, c);
    let mean = 0;
    for (const v of z) mean += v;
    mean /= z.length;
    let v2 = 0;
    for (const v of z) v2 += (v - mean) ** 2;
    t.true(Math.abs(mean) < 1e-4, `mean ${c}: ${mean}`);
    t.true(Math.abs(v2 / (z.length - 1) - 1) < 1e-4, `variance ${c}: ${v2 / (z.length - 1)}`);
    // whitened = plain / sqrt(variance)
    const p = column(P, c);
    for (let i = 0; i < 20; i++) t.true(Math.abs(z[i] - p[i] / Math.sqrt(ev[c])) < 1e-4);
  }
  t.deepEqual(white.explainedVarianceRatio, plain.explainedVarianceRatio);
});

test.serial('FASHION_WORKERS=1 and the default pool give identical output (several chunks)', async (t) => {
  const X = synthetic(20000, 24, 7);
  const y = new Uint8Array(X.rows);
  const saved = process.env.FASHION_WORKERS;
  try {
    process.env.FASHION_WORKERS = '1';
    const one = await new Pca({ components: 6, whiten: true }).fit(X, y);
    const outOne = await one.transform(X);
    process.env.FASHION_WORKERS = '2';
    const two = await new Pca({ components: 6, whiten: true }).fit(X, y);
    const outTwo = await two.transform(X);
    t.deepEqual(one.explainedVariance, two.explainedVariance);
    t.deepEqual(one.components.data, two.components.data);
    t.deepEqual(outOne.data, outTwo.data);
  } finally {
    if (saved === undefined) delete process.env.FASHION_WORKERS;
    else process.env.FASHION_WORKERS = saved;
  }
});

test('offset data and odd feature counts: matches ml-pca, all components included', async (t) => {
  for (const [d, k] of [
    [13, 3],
    [13, 13],
    [7, 5],
  ]) {
    const X = synthetic(401, d, 11 + d);
    for (let i = 0; i < X.data.length; i++) X.data[i] += 1000;
    const ours = await new Pca({ components: k }).fit(X, new Uint8Array(X.rows));
    const ref = new MlPca(toNested(X));
    const ev = ref.getEigenvalues();
    const ourEv = ours.explainedVariance;
    for (let c = 0; c < k; c++) {
      t.true(Math.abs(ourEv[c] - ev[c]) <= 1e-3 * ev[0], `d ${d} variance ${c}: ${ourEv[c]} vs ${ev[c]}`);
    }
    // the leading components are well separated here: they match up to sign
    const U = ref.getEigenvectors();
    for (let c = 0; c < Math.min(k, 2); c++) {
      const ourVec = ours.components.data.subarray(c * d, (c + 1) * d);
      t.true(Math.abs(cosine(U.getColumn(c), ourVec)) > 0.999, `d ${d} component ${c}`);
    }
    const Z = await ours.transform(X);
    t.is(Z.cols, k);
    if (k === d) {
      let sum = 0;
      for (const r of ours.explainedVarianceRatio) sum += r;
      t.true(Math.abs(sum - 1) < 1e-6, `all components explain everything: ${sum}`);
    }
  }
});

test("tridiagonalEigen's last components alone (the residual checks) are those of the whole vectors, bit for bit", (t) => {
  const rng = createRng(17);
  for (const n of [1, 2, 7, 60]) {
    const diag = Float64Array.from({ length: n }, (_, i) => Math.exp(-i / 9) * 50 + rng.float());
    const sub = Float64Array.from({ length: n }, () => rng.float() * 3);
    const [d1, s1, d2, s2] = [diag.slice(), sub.slice(), diag.slice(), sub.slice()];
    const full = new Float64Array(n * n);
    const last = new Float64Array(n);
    tridiagonalEigen(d1, s1, n, full);
    tridiagonalEigen(d2, s2, n, last, true);
    t.deepEqual(d2, d1, `eigenvalues, n = ${n}`);
    t.deepEqual(
      last,
      Float64Array.from({ length: n }, (_, i) => full[i * n + n - 1]),
      `last components, n = ${n}`,
    );
  }
});

test('symmetricTopEigen: repeated and zero eigenvalues, against a known spectrum', (t) => {
  const n = 40;
  const rng = createRng(3);
  // random orthogonal basis by Gram–Schmidt
  const Q = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) Q[c * n + i] = rng.float() - 0.5;
    for (let p = 0; p < c; p++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += Q[c * n + i] * Q[p * n + i];
      for (let i = 0; i < n; i++) Q[c * n + i] -= s * Q[p * n + i];
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += Q[c * n + i] ** 2;
    for (let i = 0; i < n; i++) Q[c * n + i] /= Math.sqrt(s);
  }
  const lambda = Array.from({ length: n }, (_, c) => (c < 3 ? 5 : c < 6 ? 2 : c < 20 ? 1 / (c + 1) : 0));
  const M = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] += lambda[c] * Q[c * n + i] * Q[c * n + j];
  }
  const k = 8;
  const { values, vectors } = symmetricTopEigen(M, n, k);
  for (let c = 0; c < k; c++) {
    t.true(Math.abs(values[c] - lambda[c]) < 1e-9, `value ${c}: ${values[c]} vs ${lambda[c]}`);
    // residual ‖Mv − λv‖
    let r = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += M[i * n + j] * vectors[c * n + j];
      r += (s - values[c] * vectors[c * n + i]) ** 2;
    }
    t.true(Math.sqrt(r) < 1e-8, `residual ${c}`);
  }
  // orthonormal
  for (let a = 0; a < k; a++) {
    for (let b = 0; b <= a; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += vectors[a * n + i] * vectors[b * n + i];
      t.true(Math.abs(s - (a === b ? 1 : 0)) < 1e-9);
    }
  }
});

test('8-bit data takes the exact integer path: the covariance of exact integer sums, whatever the chunks', async (t) => {
  // pixels / 255 on 7 features: exactly the eigenpairs of (n·Σqqᵀ − ΣqΣqᵀ) / (n(n − 1)·255²) from exact sums
  const rng = createRng(9);
  const n = 3000;
  const d = 7;
  const q = Int32Array.from({ length: n * d }, () => rng.int(256));
  const X = matrix(
    n,
    d,
    Float32Array.from(q, (v) => v / 255),
  );
  const ours = await new Pca({ components: 3 }).fit(X, new Uint8Array(n));
  const sums = new Float64Array(d);
  const gram = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++) {
      sums[a] += q[i * d + a];
      for (let b = a; b < d; b++) gram[a * d + b] += q[i * d + a] * q[i * d + b];
    }
  }
  const cov = new Float64Array(d * d);
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      cov[a * d + b] = cov[b * d + a] = (n * gram[a * d + b] - sums[a] * sums[b]) / (n * (n - 1) * 255 * 255);
    }
  }
  const eig = symmetricTopEigen(cov, d, 3);
  t.deepEqual(Array.from(ours.explainedVariance), Array.from(eig.values));
});

test('8-bit chunks and a chunk off the grid: all chunks redone in float64, matching ml-pca', async (t) => {
  const { X: full } = fashion(3000);
  const d = 196;
  const X = matrix(full.rows, d);
  for (let i = 0; i < full.rows; i++) for (let f = 0; f < d; f++) X.data[i * d + f] = full.data[i * 784 + 4 * f];
  X.data[2500 * d + 100] += 1e-3; // only the third chunk (rows 2048..2999) leaves the x/255 grid
  const ours = await new Pca({ components: 5 }).fit(X, new Uint8Array(X.rows));
  const ref = new MlPca(toNested(X));
  const ev = ref.getEigenvalues();
  for (let c = 0; c < 5; c++) {
    t.true(
      Math.abs(ours.explainedVariance[c] - ev[c]) <= 1e-6 * ev[0],
      `variance ${c}: ${ours.explainedVariance[c]} vs ${ev[c]}`,
    );
  }
  const mean = ours.mean;
  let worst = 0;
  for (let f = 0; f < d; f++) {
    let s = 0;
    for (let i = 0; i < X.rows; i++) s += X.data[i * d + f];
    worst = Math.max(worst, Math.abs(mean[f] - s / X.rows));
  }
  t.true(worst < 1e-9, `mean off by ${worst}`);
});

test('the SIMD projection, in feature chunks or not, is bit-identical to summing float32(x − mean)·v over the features in order in float64', (t) => {
  const rng = createRng(21);
  for (const [rows, d, k] of [
    [7, 13, 3],
    [300, 37, 9],
    [513, 20, 16],
  ]) {
    const X = Float32Array.from({ length: rows * d }, () => (rng.float() - 0.3) * 7);
    const mean = Float64Array.from({ length: d }, () => rng.float());
    const components = Float32Array.from({ length: k * d }, () => rng.float() - 0.5);
    const scale = Float64Array.from({ length: k }, () => 0.5 + rng.float());
    const expected = new Float32Array(rows * k);
    const centred = new Float32Array(d);
    for (let i = 0; i < rows; i++) {
      for (let f = 0; f < d; f++) centred[f] = X[i * d + f] - mean[f];
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let f = 0; f < d; f++) s += centred[f] * components[c * d + f];
        expected[i * k + c] = s * scale[c];
      }
    }
    const weights = projectionWeights(components, k, d);
    t.deepEqual(pcaProjectTask(X, rows, d, mean, weights, k, scale), expected, `${rows}×${d} → ${k}`);
    // the features in chunks (the running sums wait in memory between them): still the same bits
    for (const chunk of [1, 5, 8]) {
      t.deepEqual(
        pcaProjectTask(X, rows, d, mean, weights, k, scale, chunk),
        expected,
        `${rows}×${d} → ${k}, ${chunk}`,
      );
    }
  }
  t.is(projectionChunk(6004, 256), 128, 'a chunk of 6,004 × 256 weights: 256 KB');
  t.is(projectionChunk(784, 56), 585);
  t.is(projectionChunk(20, 16), 20, 'never more than the features');
});

test("the eigen solver's symmetric product from the packed upper triangle equals M·x (odd sizes too)", (t) => {
  const rng = createRng(4);
  for (const n of [1, 2, 3, 4, 9, 37, 130]) {
    const M = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) M[i * n + j] = M[j * n + i] = rng.float() - 0.5;
    const x = Float64Array.from({ length: n }, () => rng.float() * 3 - 1);
    const arena = new Arena();
    let length = 0;
    for (let i = 0; i < n; i++) length += (n - (i & ~1) + 1) & ~1;
    const [u, xa, ya] = [arena.reserve(length * 8), arena.reserve(n * 8), arena.reserve(n * 8)];
    packUpper(M, n, arena.f64(u, length));
    arena.f64(xa, n).set(x);
    arena.f64(ya, n).fill(Number.NaN); // the kernel must not read what y held
    arena.kernels.symMatVecF64(u, n, xa, ya);
    const got = arena.f64(ya, n);
    for (let i = 0; i < n; i++) {
      let want = 0;
      let scale = 0;
      for (let j = 0; j < n; j++) {
        want += M[i * n + j] * x[j];
        scale += Math.abs(M[i * n + j] * x[j]);
      }
      t.true(Math.abs(got[i] - want) <= 1e-14 * scale, `n = ${n}, row ${i}: ${got[i]} vs ${want}`);
    }
  }
});

test("the eigen solver's Gram–Schmidt kernels: dot products in two lanes and ordered subtractions, bit for bit", (t) => {
  const rng = createRng(5);
  for (const [m, n] of [
    [1, 1],
    [3, 5],
    [4, 8],
    [7, 33],
    [9, 130],
  ]) {
    const stride = (n + 1) & ~1;
    const Q = Float64Array.from({ length: m * stride }, () => rng.float() - 0.5);
    const v = Float64Array.from({ length: n }, () => rng.float() * 2 - 1);
    const c = Float64Array.from({ length: m }, () => rng.float() - 0.5);
    const arena = new Arena();
    const [qa, va, ca, oa] = [m * stride, stride, m, m].map((len) => arena.reserve(len * 8));
    arena.f64(qa, m * stride).set(Q);
    arena.f64(va, n).set(v);
    arena.f64(ca, m).set(c);
    arena.kernels.dotsF64(qa, m, stride, n, va, oa);
    const dots = arena.f64(oa, m).slice();
    for (let j = 0; j < m; j++) {
      // even and odd entries summed apart in order, then added, the odd tail last
      let even = 0;
      let odd = 0;
      const n2 = n & ~1;
      for (let i = 0; i < n2; i += 2) {
        even += Q[j * stride + i] * v[i];
        odd += Q[j * stride + i + 1] * v[i + 1];
      }
      let want = even + odd;
      if (n2 < n) want += Q[j * stride + n2] * v[n2];
      t.is(dots[j], want, `dot ${j} of ${m}×${n}`);
    }
    arena.kernels.subtractCombinationF64(qa, m, stride, n, ca, va);
    const got = arena.f64(va, n);
    for (let i = 0; i < n; i++) {
      let want = v[i];
      for (let j = 0; j < m; j++) want -= c[j] * Q[j * stride + i];
      t.is(got[i], want, `entry ${i} of ${m}×${n}`);
    }
  }
});

test('symmetricTopEigen on a rank-deficient matrix stops after its rank, with the eigenvalues of the small Gram matrix', (t) => {
  // M = AᵀA for A of 12 rows × 400 columns: rank 12, 388 zero eigenvalues; its nonzero spectrum is that of AAᵀ (12×12)
  const rng = createRng(6);
  const rows = 12;
  const d = 400;
  const A = Float64Array.from({ length: rows * d }, () => rng.float() - 0.5);
  const M = new Float64Array(d * d);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) M[i * d + j] += A[r * d + i] * A[r * d + j];
  }
  const small = new Float64Array(rows * rows);
  for (let a = 0; a < rows; a++) {
    for (let b = 0; b < rows; b++) for (let i = 0; i < d; i++) small[a * rows + b] += A[a * d + i] * A[b * d + i];
  }
  const want = symmetricTopEigen(small, rows, rows).values;
  for (const k of [5, 12, 20]) {
    const { values, steps } = symmetricTopEigen(M, d, k);
    // a step per rank, then (k above the rank) one per zero eigenvalue wanted
    t.true(steps <= Math.max(rows, k) + 3, `k = ${k}: ${steps} steps for rank ${rows} (the whole space: ${d})`);
    for (let c = 0; c < k; c++) {
      const expected = c < rows ? want[c] : 0;
      t.true(Math.abs(values[c] - expected) < 1e-9 * want[0], `k = ${k}, value ${c}: ${values[c]} vs ${expected}`);
    }
  }
});
