/**
 * PCA by the exact covariance (the solver `full` of stages/pca.ts): the d×d Gram matrix of the rows summed by pool
 * tasks over chunks of rows (src/linalg/gram.ts), the covariance from it, and its top eigenvectors by Lanczos
 * (src/linalg/eigen.ts). 8-bit data is summed exactly in integers; other data in float32 blocks summed in float64,
 * with a feature shifted first when its offset would swamp its spread. The chunks are a function of the shape only, so
 * the components never depend on the number of workers.
 */
import { runAll, sharedFloat32, workerCount } from '../runtime/pool.js';
import { symmetricTopEigenPacked, symmetricTopEigenParallel } from './eigen.js';
import type { GramPart } from './gram.js';
import type { Matrix } from './matrix.js';

export interface CovarianceSolution {
  /** Column means (d). */
  mean: Float64Array;
  /** k×d row-major, rows the unit eigenvectors of the covariance, in descending order of variance. */
  components: Float64Array;
  /** Variance along each component (eigenvalues of the covariance with n − 1). */
  explainedVariance: Float64Array;
  /** Trace of the covariance. */
  totalVariance: number;
}

/** Pixel scales tried for the exact integer path: x/255 (normalize minmax), then raw 0..255. */
const GRID_DIVISORS = [255, 1];
const GRAM_MODULE = new URL('./gram.js', import.meta.url).href;

/**
 * Rows per covariance task: each task returns a d×d float64 sum, so wide inputs (HOG features: 2,000–6,000 columns,
 * 46–290 MB a sum) are cut into two chunks; inputs up to 1,024 columns into about 16 chunks (so 2–4 workers finish
 * together: the projection's chunks, stages/pca.ts chunkRows). A function of the shape only, never of the worker count:
 * the float sums, and so the components, are the same on any machine (a machine with more than two workers uses two of
 * them for a wide covariance).
 */
function gramChunkRows(n: number, d: number): number {
  return d <= 1024 ? Math.max(1024, Math.ceil(n / 16 / 256) * 256) : Math.max(1024, Math.ceil(n / 2));
}

/**
 * The top-k principal components of X (n × d float32, row-major) from its exact covariance: mean, components (k × d),
 * their variances and the total variance.
 */
export async function covariancePca(X: Matrix, k: number): Promise<CovarianceSolution> {
  const { rows: n, cols: d, data } = X;
  // Shift a feature (by its mean, estimated on a sample of rows) only when its offset would swamp its spread in
  // Σxxᵀ − n·μμᵀ (float path only; 8-bit data is summed exactly without a shift).
  const stride = Math.max(1, Math.floor(n / 2048));
  const sampleMean = new Float64Array(d);
  const sampleSq = new Float64Array(d);
  let m = 0;
  for (let i = 0; i < n; i += stride, m++) {
    const o = i * d;
    for (let f = 0; f < d; f++) {
      sampleMean[f] += data[o + f];
      sampleSq[f] += data[o + f] * data[o + f];
    }
  }
  const shift = new Float64Array(d);
  for (let f = 0; f < d; f++) {
    const mu = sampleMean[f] / m;
    const spread = Math.max(sampleSq[f] / m - mu * mu, 0);
    if (mu * mu > 1e3 * spread) shift[f] = mu;
  }
  const source = workerCount() > 1 ? sharedFloat32(data) : data;
  // 8-bit data (raw 0..255 or scaled by 1/255) is summed exactly in integers, two chunks per worker (exact sums do not
  // depend on the chunking, and each chunk's d×d sum costs a copy and a merge); other data, or chunks that disagree on
  // the scale, in float32 blocks summed in float64 over gramChunkRows's chunks (src/linalg/gram.ts).
  const tasks = [];
  const step = Math.max(1024, Math.ceil(n / (2 * workerCount())));
  for (let r0 = 0; r0 < n; r0 += step) {
    const r1 = Math.min(n, r0 + step);
    tasks.push({
      module: GRAM_MODULE,
      fn: 'integerGramOfRows',
      args: [source.subarray(r0 * d, r1 * d), r1 - r0, d, GRID_DIVISORS],
    });
  }
  const exact = await runAll<GramPart | null>(tasks);
  const parts = exact.every((p) => p !== null && p.divisor === exact[0]!.divisor)
    ? (exact as GramPart[])
    : [{ divisor: 0, ...(await floatGram(source, n, d, shift)) }];
  const d4 = (d + 3) & ~3;
  const gram = new Float64Array(d4 * d4);
  const sums = new Float64Array(d);
  for (const part of parts) {
    for (let i = 0; i < gram.length; i++) gram[i] += part.gram[i];
    for (let f = 0; f < d; f++) sums[f] += part.sums[f];
  }
  const divisor = parts[0].divisor;
  const mean = new Float64Array(d);
  const cov = new Float64Array(d * d);
  let total = 0;
  if (divisor > 0) {
    // integer sums: n·G − SₐS_b is exact in float64 while n·255 < 2^26.5 (up to 370 000 rows), so each entry is
    // rounded once
    for (let f = 0; f < d; f++) mean[f] = sums[f] / n / divisor;
    const denominator = n * (n - 1) * divisor * divisor;
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) {
        const v = (n * gram[a * d4 + b] - sums[a] * sums[b]) / denominator;
        cov[a * d + b] = v;
        cov[b * d + a] = v;
      }
      total += cov[a * d + a];
    }
  } else {
    // covariance = (Σ(x−s)(x−s)ᵀ − n·(μ−s)(μ−s)ᵀ) / (n − 1)
    const ms = new Float64Array(d);
    for (let f = 0; f < d; f++) {
      ms[f] = sums[f] / n;
      mean[f] = shift[f] + ms[f];
    }
    for (let a = 0; a < d; a++) {
      for (let b = a; b < d; b++) {
        const v = (gram[a * d4 + b] - n * ms[a] * ms[b]) / (n - 1);
        cov[a * d + b] = v;
        cov[b * d + a] = v;
      }
      total += cov[a * d + a];
    }
  }
  return { mean, ...(await pcaOfCovariance(cov, d, k)), totalVariance: total };
}

/** A d×d covariance in the eigen solver's packed layout (eigen.ts packUpper), with its Frobenius norm and trace. */
export interface PackedCovariance {
  packed: Float64Array;
  norm: number;
  trace: number;
}

/**
 * Σ (x − shift)(x − shift)ᵀ (d4 × d4, d4 = d rounded up to 4, entries a ≤ b filled; with `packed`, its upper triangle
 * packed row by row from the diagonal, d(d + 1)/2 entries) and Σ (x − shift) over the n rows
 * of `data` (row-major, d wide), in float32 blocks summed in float64 by pool tasks over gramChunkRows's chunks, the
 * chunks' sums added in order: a function of the data and the shape only, never of the worker count.
 */
export async function floatGram(
  data: Float32Array,
  n: number,
  d: number,
  shift: Float64Array,
  packed = false,
): Promise<{ gram: Float64Array; sums: Float64Array }> {
  const source = workerCount() > 1 ? sharedFloat32(data) : data;
  const step = gramChunkRows(n, d);
  const tasks = [];
  for (let r0 = 0; r0 < n; r0 += step) {
    const r1 = Math.min(n, r0 + step);
    const chunk = source.subarray(r0 * d, r1 * d);
    tasks.push(
      packed
        ? { module: GRAM_MODULE, fn: 'packedGramOfRows', args: [chunk, r1 - r0, d, shift] }
        : { module: GRAM_MODULE, fn: 'gramOfRows', args: [chunk, r1 - r0, d, shift, []] },
    );
  }
  const parts = await runAll<GramPart>(tasks);
  const gram = parts[0].gram;
  const sums = parts[0].sums;
  for (const part of parts.slice(1)) {
    for (let i = 0; i < gram.length; i++) gram[i] += part.gram[i];
    for (let f = 0; f < d; f++) sums[f] += part.sums[f];
  }
  return { gram, sums };
}

/**
 * The top-k unit eigenvectors (k × d, row-major, descending) of a d × d covariance (row-major, or packed) and their
 * variances (≥ 0); M·q on two
 * threads from PARALLEL_EIGEN features (symmetricTopEigenParallel).
 */
export async function pcaOfCovariance(
  cov: Float64Array | PackedCovariance,
  d: number,
  k: number,
): Promise<{ components: Float64Array; explainedVariance: Float64Array }> {
  const eig =
    cov instanceof Float64Array
      ? await symmetricTopEigenParallel(cov, d, k)
      : await symmetricTopEigenPacked(cov.packed, d, k, cov.norm);
  const explainedVariance = new Float64Array(k);
  for (let c = 0; c < k; c++) explainedVariance[c] = Math.max(eig.values[c], 0);
  return { components: eig.vectors, explainedVariance };
}
