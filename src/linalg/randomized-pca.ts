/**
 * PCA by a randomized truncated SVD (Halko, Martinsson and Tropp, "Finding structure with randomness", 2011, algorithms
 * 4.3–4.4 and 5.1; the algorithm of scikit-learn's randomized_svd): the top-k right singular vectors of the centred data
 * X_c = X − 1μᵀ from products of X_c with thin matrices only, never the d×d covariance. For very wide inputs (PCA on the
 * pixels of colour photos, d = 12,288: a 1.2 GB Gram matrix per worker part and an eigen solve on 12,288²) this is the
 * solver that fits; stages/pca.ts runs it (`solver`, auto's choice in stages/pca-solver.ts), and it returns what the
 * exact covariance solver (linalg/covariance-pca.ts) returns.
 *
 * With l = k + oversamples columns and q power iterations:
 *
 *     Ω: d × l Gaussian (seeded)
 *     q times:  Y = X_c·Ω,  Q = orth(Y),  Z = X_cᵀ·Q,  Ω = orth(Z)
 *     Y = X_c·Ω,  Q = orth(Y),  Bᵀ = X_cᵀ·Q  (d × l)
 *     SVD of B (through the l × l matrix B·Bᵀ): components = the top-k right singular vectors, variances s²/(n − 1)
 *
 * orth(Y) = Y·T with T from the Gram matrix YᵀY (see orthonormaliser), and X_cᵀ·Q is taken as (X_cᵀ·Y)·T: the
 * products run on Y as the workers made it, rounded to float32, and the last T is that of the Gram matrix of exactly
 * those float32 values. The products with X (2·n·d·l flops each, 2q + 2 of them) are pool tasks over chunks of rows
 * whose size depends on n only (linalg/randomized-pca-tasks.ts), with the WebAssembly SIMD kernels of src/wasm/gemm.ts
 * (float32 products summed in float32 over 64 terms, then in float64). The rows are centred a block at a time as they
 * are copied into kernel memory: X − μ is never stored whole, and no mean product is subtracted afterwards
 * (X·Ω − 1(μᵀΩ) in float32 would cancel digits where a feature's mean dwarfs its spread). Partial sums are added in
 * chunk order, and the Gaussian matrix comes from the seeded generator, so the result depends on the seed alone, not
 * on the number of workers.
 */
import { runAll, sharedFloat32, workerCount } from '../runtime/pool.js';
import { createRng } from '../util/rng.js';
import { symmetricTopEigen } from './eigen.js';
import type { Matrix } from './matrix.js';
import { panelsInto } from './randomized-pca-tasks.js';

export interface RandomizedOptions {
  /** Columns sampled beyond the k wanted (scikit-learn's n_oversamples). */
  oversamples: number;
  /** Power iterations, or 'auto' (scikit-learn's rule: 7 when k < 0.1·min(n, d), else 4). */
  iteratedPower: number | 'auto';
  /** Seed of the Gaussian test matrix. */
  seed: number;
}

export interface RandomizedSolution {
  /** Column means (d). */
  mean: Float64Array;
  /** k×d row-major, rows orthonormal, in descending order of variance. */
  components: Float64Array;
  /** Variance along each component (n − 1 denominator). */
  explainedVariance: Float64Array;
  /** Trace of the covariance: the sum of the column variances, computed exactly (two passes). */
  totalVariance: number;
  /** Power iterations run, and the sample width l (for tests and reports). */
  iterations: number;
  width: number;
}

/** scikit-learn's 'auto' power iterations: 7 when k < 0.1·min(n, d), else 4. */
export function powerIterations(n: number, d: number, k: number, iteratedPower: number | 'auto'): number {
  if (iteratedPower !== 'auto') return iteratedPower;
  return k < 0.1 * Math.min(n, d) ? 7 : 4;
}

/** Columns sampled: k + oversamples, at most min(n, d) (no more independent directions exist). */
export function sampleWidth(n: number, d: number, k: number, oversamples: number): number {
  return Math.min(k + oversamples, n, d);
}

/**
 * Rows per pool task: about 16 tasks (so 2–4 workers finish together) of at least 1,024 rows (each returns a d × l
 * float64 partial sum), a multiple of 64: a function of n alone, so the partial sums (and so the results) never depend
 * on the number of workers.
 */
function chunkRows(n: number): number {
  return Math.max(1024, Math.ceil(n / 16 / 64) * 64);
}

/** The module of the pool tasks (sampleRowsTask and the others). */
const MODULE = new URL('./randomized-pca-tasks.js', import.meta.url).href;

const up4 = (v: number): number => (v + 3) & ~3;
const up8 = (v: number): number => (v + 7) & ~7;

/** 16 slabs of features (fewer when d < 64), boundaries multiples of 4: a function of d alone. */
function featureSlabs(d: number): Array<[number, number]> {
  const quads = Math.ceil(d / 4);
  const count = Math.min(16, quads);
  const out: Array<[number, number]> = [];
  for (let j = 0; j < count; j++) {
    const f0 = 4 * Math.floor((j * quads) / count);
    const f1 = Math.min(d, 4 * Math.floor(((j + 1) * quads) / count));
    if (f1 > f0) out.push([f0, f1]);
  }
  return out;
}

/** Copies the upper triangle of an m×m matrix to the lower. */
function mirror(G: Float64Array, m: number): void {
  for (let a = 0; a < m; a++) for (let b = a + 1; b < m; b++) G[b * m + a] = G[a * m + b];
}

/**
 * T (l8 × l8) such that the columns of A·T are orthonormal, from G = AᵀA (l8 × l8, the first l rows and columns used),
 * for the normalisation between power iterations: T = R⁻¹ for the Cholesky factor G = RᵀR (l³/3 flops), or, when a
 * pivot shows a column of A within 1e−10 (relative) of the span of the columns before it, the eigen form of
 * eigenOrthonormaliser, which survives a singular G.
 *
 * Why this and not LU (scikit-learn) or Householder QR: the basis lives in row chunks (and the d×l side in slabs of
 * features) on the workers, and G is what they can sum without a pass of their own (sampleRowsTask and basisTask
 * return it with their products), leaving only l×l work to this thread. A·T loses orthogonality as ε·cond(A)² in float64 (Cholesky–QR), harmless between power
 * iterations, which only need the columns kept apart; the last basis is not taken as orthonormal at all: the
 * Rayleigh–Ritz step uses the Gram matrix of the float32 basis the last products used.
 */
function orthonormaliser(G: Float64Array, l: number, l8: number): Float64Array {
  // G = L·Lᵀ, L lower triangular (row-major l × l): each entry a dot product of two rows of L
  const L = new Float64Array(l * l);
  for (let j = 0; j < l; j++) {
    const rj = j * l;
    let s = G[j * l8 + j];
    for (let p = 0; p < j; p++) s -= L[rj + p] * L[rj + p];
    if (!(s > 1e-10 * G[j * l8 + j])) return eigenOrthonormaliser(G, l, l8);
    const pivot = Math.sqrt(s);
    L[rj + j] = pivot;
    for (let i = j + 1; i < l; i++) {
      const ri = i * l;
      let v = G[i * l8 + j];
      for (let p = 0; p < j; p++) v -= L[ri + p] * L[rj + p];
      L[ri + j] = v / pivot;
    }
  }
  // T = R⁻¹ = (L⁻¹)ᵀ: row i of L⁻¹ by forward substitution, stored as column i of T
  const inv = new Float64Array(l * l);
  for (let i = 0; i < l; i++) {
    const ri = i * l;
    inv[ri + i] = 1 / L[ri + i];
    for (let j = 0; j < i; j++) {
      let v = 0;
      for (let p = j; p < i; p++) v -= L[ri + p] * inv[p * l + j];
      inv[ri + j] = v / L[ri + i];
    }
  }
  const T = new Float64Array(l8 * l8);
  for (let i = 0; i < l; i++) for (let j = 0; j <= i; j++) T[j * l8 + i] = inv[i * l + j];
  return T;
}

/**
 * T (l8 × l8) such that the columns of A·T are orthonormal, from G = AᵀA: T = V·Λ^(−1/2) for the eigenpairs (Λ, V) of
 * G, directions with λ ≤ 1e−12·λmax dropped (their columns zero: A is rank-deficient there, below what float32
 * products resolve).
 */
function eigenOrthonormaliser(G: Float64Array, l: number, l8: number): Float64Array {
  const compact = new Float64Array(l * l);
  for (let a = 0; a < l; a++) for (let b = 0; b < l; b++) compact[a * l + b] = G[a * l8 + b];
  const eig = symmetricTopEigen(compact, l, l);
  const T = new Float64Array(l8 * l8);
  const floor = Math.max(eig.values[0], 0) * 1e-12;
  for (let c = 0; c < l; c++) {
    const lambda = eig.values[c];
    if (!(lambda > floor)) continue;
    const s = 1 / Math.sqrt(lambda);
    for (let i = 0; i < l; i++) T[i * l8 + c] = eig.vectors[c * l + i] * s;
  }
  return T;
}

/** The d×l Gaussian test matrix (Box–Muller on the seeded generator, filled row by row), d4 × l8 with zero padding. */
function gaussian(d: number, l: number, l8: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const out = new Float64Array(up4(d) * l8);
  let spare = NaN;
  for (let f = 0; f < d; f++) {
    for (let j = 0; j < l; j++) {
      if (Number.isNaN(spare)) {
        // Box–Muller: two independent normal values from two uniform ones
        const radius = Math.sqrt(-2 * Math.log(1 - rng.float())); // 1 − u in (0, 1]
        const angle = 2 * Math.PI * rng.float();
        out[f * l8 + j] = radius * Math.cos(angle);
        spare = radius * Math.sin(angle);
      } else {
        out[f * l8 + j] = spare;
        spare = NaN;
      }
    }
  }
  return out;
}

/**
 * The top-k principal components of X (n × d float32, row-major) by the randomized SVD: mean, components (k × d), their
 * variances and the total variance. Deterministic for a given seed, whatever the number of workers.
 */
export async function randomizedPca(X: Matrix, k: number, options: RandomizedOptions): Promise<RandomizedSolution> {
  const { rows: n, cols: d, data } = X;
  if (!(k >= 1 && k <= Math.min(n, d))) throw new RangeError(`randomizedPca: k must be in 1..${Math.min(n, d)}`);
  const d4 = up4(d);
  const l = sampleWidth(n, d, k, options.oversamples);
  const l8 = up8(l);
  const q = powerIterations(n, d, k, options.iteratedPower);
  const parallel = workerCount() > 1;
  const source = parallel ? sharedFloat32(data) : data;
  const step = chunkRows(n);
  const chunks: Array<[number, number]> = [];
  for (let r0 = 0; r0 < n; r0 += step) chunks.push([r0, Math.min(n, r0 + step)]);
  const slice = ([r0, r1]: [number, number]) => source.subarray(r0 * d, r1 * d);

  // means and variances: chunk moments combined in chunk order (Chan, Golub and LeVeque's pairwise update)
  const moments = await runAll<{ mean: Float64Array; m2: Float64Array }>(
    chunks.map((c) => ({ module: MODULE, fn: 'columnMomentsTask', args: [slice(c), c[1] - c[0], d] })),
  );
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  let seen = 0;
  moments.forEach((part, t) => {
    const m = chunks[t][1] - chunks[t][0];
    const total = seen + m;
    for (let f = 0; f < d; f++) {
      const delta = part.mean[f] - mean[f];
      mean[f] += (delta * m) / total;
      m2[f] += part.m2[f] + ((delta * delta * seen) / total) * m;
    }
    seen = total;
  });
  let totalVariance = 0;
  for (let f = 0; f < d; f++) totalVariance += m2[f] / (n - 1);

  // Buffers for the whole fit (shared with the workers when there are any), reused every round: fresh ones cost page
  // faults. W: Ω in float32 panels; Y: the float32 basis in panels, chunk after chunk; zParts: the chunks' d × l8
  // partial sums of X_cᵀ·Y; B: the d × l8 side after its basis change; gramParts: a slot per chunk or slab.
  const float32s = (length: number) =>
    parallel ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float32Array(length);
  const float64s = (length: number) =>
    parallel ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
  const slabs = featureSlabs(d);
  const W = float32s(d4 * l8);
  const Y = float32s(n * l8);
  const zParts = float64s(chunks.length * d * l8);
  const B = float64s(d * l8);
  const gramParts = float64s(Math.max(chunks.length, slabs.length) * l8 * l8);
  const G = new Float64Array(l8 * l8);
  const gramSize = l8 * l8;
  const gramSlot = (t: number) => gramParts.subarray(t * gramSize, (t + 1) * gramSize);
  // G = Σ of the first `count` Gram slots, in slot order, both triangles
  const sumGrams = (count: number): void => {
    G.fill(0);
    for (let t = 0; t < count; t++) for (let i = 0; i < gramSize; i++) G[i] += gramParts[t * gramSize + i];
    mirror(G, l8);
  };
  // Y = X_c·Ω by row chunks, and G = YᵀY
  const sampleRows = async (): Promise<void> => {
    await runAll<void>(
      chunks.map(([r0, r1], t) => ({
        module: MODULE,
        fn: 'sampleRowsTask',
        args: [slice([r0, r1]), r1 - r0, d, mean, W, l8, Y.subarray(r0 * l8, r1 * l8), gramSlot(t)],
      })),
    );
    sumGrams(chunks.length);
  };
  // the chunks' parts of X_cᵀ·Y
  const sampleColumns = async (): Promise<void> => {
    const size = d * l8;
    await runAll<void>(
      chunks.map(([r0, r1], t) => ({
        module: MODULE,
        fn: 'sampleColumnsTask',
        args: [
          slice([r0, r1]),
          r1 - r0,
          d,
          mean,
          Y.subarray(r0 * l8, r1 * l8),
          l8,
          zParts.subarray(t * size, (t + 1) * size),
        ],
      })),
    );
  };
  // B = (Σ zParts)·M by slabs of features, and G = BᵀB
  const changeBasis = async (M: Float64Array): Promise<void> => {
    await runAll<void>(
      slabs.map(([f0, f1], t) => ({
        module: MODULE,
        fn: 'basisTask',
        args: [zParts, chunks.length, d * l8, l8, f0, f1, M, l8, B, gramSlot(t)],
      })),
    );
    sumGrams(slabs.length);
  };

  panelsInto(gaussian(d, l, l8, options.seed), d4, l8, W);
  for (let it = 0; it < q; it++) {
    await sampleRows();
    await sampleColumns();
    // X_cᵀ·Q for the orthonormal basis Q = Y·T_Y, by linearity: (X_cᵀ·Y)·T_Y; then Ω = orth(that), into W
    await changeBasis(orthonormaliser(G, l, l8));
    const T = orthonormaliser(G, l, l8);
    await runAll<void>(slabs.map(([f0, f1]) => ({ module: MODULE, fn: 'omegaTask', args: [B, d4, l8, f0, f1, T, W] })));
  }
  await sampleRows();
  await sampleColumns();

  // Rayleigh–Ritz on the float32 basis Y the last products used: with H = YᵀY and S = eigenOrthonormaliser(H), the
  // columns of Q = Y·S are orthonormal and Bᵀ = X_cᵀ·Q = (X_cᵀ·Y)·S (d × l). B·Bᵀ (l × l) = U·Σ²·Uᵀ; the right
  // singular vectors of B are the columns of (X_cᵀ·Y)·S·U/σ.
  await changeBasis(eigenOrthonormaliser(G, l, l8));
  const compact = new Float64Array(l * l);
  for (let a = 0; a < l; a++) for (let b = 0; b < l; b++) compact[a * l + b] = G[a * l8 + b];
  const eig = symmetricTopEigen(compact, l, k);
  const k8 = up8(k);
  const U = new Float64Array(l8 * k8);
  for (let c = 0; c < k; c++) for (let i = 0; i < l; i++) U[i * k8 + c] = eig.vectors[c * l + i];
  const V = float64s(d * k8);
  await runAll<void>(
    slabs.map(([f0, f1]) => ({
      module: MODULE,
      fn: 'basisTask',
      args: [B, 1, 0, l8, f0, f1, U, k8, V, null],
    })),
  );
  const components = new Float64Array(k * d);
  const explainedVariance = new Float64Array(k);
  const top = Math.max(eig.values[0], 0);
  const v = new Float64Array(d);
  for (let c = 0; c < k; c++) {
    const value = eig.values[c];
    for (let f = 0; f < d; f++) v[f] = V[f * k8 + c];
    // C·u for a tiny σ² is where B·Bᵀ's rounding (≈ 1e−16·σ₁²) leaves the vector least orthogonal to the others
    if (!(value > 1e-8 * top)) orthogonalise(v, components, c, d);
    let s = 0;
    for (let f = 0; f < d; f++) s += v[f] * v[f];
    if (!(value > 1e-24 * top && s > 0)) {
      // no variance left in the sample (the data has fewer than k directions): any unit vector orthogonal to the rest
      const rng = createRng((options.seed ^ Math.imul(0x9e3779b9, c + 1)) >>> 0);
      for (let f = 0; f < d; f++) v[f] = rng.float() - 0.5;
      orthogonalise(v, components, c, d);
      s = 0;
      for (let f = 0; f < d; f++) s += v[f] * v[f];
    } else {
      explainedVariance[c] = value / (n - 1);
    }
    const inv = 1 / Math.sqrt(s);
    for (let f = 0; f < d; f++) components[c * d + f] = v[f] * inv;
  }
  return { mean, components, explainedVariance, totalVariance, iterations: q, width: l };
}

/** Makes v orthogonal to rows 0..c−1 of the k×d components (modified Gram–Schmidt, twice). */
function orthogonalise(v: Float64Array, components: Float64Array, c: number, d: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let p = 0; p < c; p++) {
      let s = 0;
      for (let f = 0; f < d; f++) s += v[f] * components[p * d + f];
      for (let f = 0; f < d; f++) v[f] -= s * components[p * d + f];
    }
  }
}
