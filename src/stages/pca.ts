import { createRequire } from 'node:module';
import { z } from 'zod';
import { symmetricTopEigen } from '../linalg/eigen.js';
import type { GramPart } from '../linalg/gram.js';
import { matrix, sharedFloats, toNested, type Matrix } from '../linalg/matrix.js';
import { runAll, sharedFloat32, workerCount } from '../runtime/pool.js';
import { pcaProjectTask, projectionWeights } from '../linalg/projection.js';
import { powerIterations, randomizedPca, sampleWidth } from '../linalg/randomized-pca.js';
import { arrayField, numberField } from './snapshot.js';
import {
  BaseStage,
  checkFeatures,
  checkXy,
  ParamRangeError,
  type Snapshot,
  type StageSpec,
  type Transformer,
  alwaysSavable,
} from './stage.js';

export const PcaParams = z
  .object({
    /** Principal components kept (≤ the features it receives and ≤ the rows it is fitted on). */
    components: z.number().int().min(1).default(50),
    /** Divide each component by its standard deviation (as scikit-learn's whiten: unit variance on the fit data). */
    whiten: z.boolean().default(false),
    /** native: our solvers on typed arrays (worker pool), see `solver`; mljs: ml-pca (SVD), for small data. */
    engine: z.enum(['native', 'mljs']).default('native'),
    /**
     * Solver of engine native (engine mljs always runs ml-pca's SVD and ignores it and the three params below). full:
     * the exact covariance (a d×d Gram matrix) and its top eigenvectors by Lanczos. randomized: a randomized SVD
     * (Halko–Martinsson–Tropp, as scikit-learn's svd_solver='randomized'), from products of the data with thin
     * matrices only: for inputs too wide for a d×d covariance, approximate where the spectrum decays slowly. auto:
     * randomized only when its estimated cost is under half the full solver's, or when the full solver's Gram matrices
     * would take more than 2 GB (chooseSolver); else full.
     */
    solver: z.enum(['auto', 'full', 'randomized']).default('auto'),
    /** Power iterations of the randomized solver: auto (7 when components < 0.1·min(rows, features), else 4, as scikit-learn) or a whole number ≥ 0. */
    iterated_power: z.union([z.literal('auto'), z.number().int().min(0).max(100)]).default('auto'),
    /** Random directions the randomized solver samples beyond `components` (scikit-learn's n_oversamples). */
    oversamples: z.number().int().min(0).max(10_000).default(10),
    /** Seed of the randomized solver's Gaussian test matrix: the same seed gives the same components, with any number of workers. */
    seed: z.number().int().min(0).max(0xffffffff).default(0),
  })
  .strict();
export type PcaParams = z.infer<typeof PcaParams>;

interface Fitted {
  features: number;
  /** Column means (Float64, d). */
  mean: Float64Array;
  /** Components, row c = unit eigenvector c (k×d, Float64). */
  components: Float64Array;
  /** The same rounded to float32, transposed for the projection kernel (projectionWeights). */
  weights: Float64Array;
  /** Variance along each component (eigenvalues of the covariance with n − 1). */
  explainedVariance: Float64Array;
  explainedVarianceRatio: Float64Array;
  /** Per-component output scale (1, or 1/√variance when whitening). */
  scale: Float64Array;
}

/**
 * Rows per pool task: about 16 tasks (so 2–4 workers finish together), a function of the row count only, so the
 * partial sums (and so the results) never depend on the number of workers.
 */
function chunkRows(n: number): number {
  return Math.max(1024, Math.ceil(n / 16 / 256) * 256);
}

/** Multiply-adds below which a projection runs on the calling thread (100 rows of 784 × 50: less than a task costs). */
const INLINE_PROJECTION = 4_000_000;

/**
 * Rows per covariance task: each task returns a d×d float64 sum, so wide inputs (HOG features: 2,000–6,000 columns,
 * 46–290 MB a sum) are cut into two chunks instead of 16; inputs up to 1,024 columns keep chunkRows's chunks. A
 * function of the shape only, never of the worker count: the float sums, and so the components, are the same on any
 * machine (a machine with more than two workers uses two of them for a wide covariance).
 */
function gramChunkRows(n: number, d: number): number {
  return d <= 1024 ? chunkRows(n) : Math.max(1024, Math.ceil(n / 2));
}

export class Pca extends BaseStage<PcaParams, Fitted> implements Transformer<PcaParams> {
  readonly name = 'pca';
  readonly kind = 'transformer' as const;

  constructor(params: Partial<PcaParams> = {}) {
    super(PcaParams, params);
  }

  /** Share of the total variance carried by each kept component (descending), as scikit-learn's explained_variance_ratio_. */
  get explainedVarianceRatio(): Float64Array {
    return this.state.explainedVarianceRatio.slice();
  }

  /** Variance along each kept component (n − 1 denominator), as scikit-learn's explained_variance_. */
  get explainedVariance(): Float64Array {
    return this.state.explainedVariance.slice();
  }

  /** Components as a k×d matrix (rows are unit vectors; sign: the largest-|value| entry of each is positive). */
  /** The fitted state's identity: a new object after every fit or restore (caches of derived values key on it). */
  get fittedIdentity(): object {
    return this.state;
  }

  get components(): Matrix {
    const f = this.state;
    return matrix(this.params.components, f.features, Float32Array.from(f.components));
  }

  /** Column means subtracted before projecting. */
  get mean(): Float64Array {
    return this.state.mean.slice();
  }

  async fit(X: Matrix, y: Uint8Array): Promise<this> {
    checkXy(this.name, X, y);
    const k = this.params.components;
    const { rows: n, cols: d } = X;
    if (k > d) throw new ParamRangeError('components', componentsMessage(k, d));
    if (k > n) {
      throw new ParamRangeError('components', `components must be ≤ the rows PCA is fitted on: got ${k} for ${n} rows`);
    }
    if (n < 2) throw new Error(`${this.name}: needs at least 2 rows to estimate variance, got ${n}`);
    const p = this.params;
    const solved =
      p.engine === 'mljs'
        ? fitMljs(X, k)
        : chooseSolver(n, d, k, p) === 'randomized'
          ? await randomizedPca(X, k, { oversamples: p.oversamples, iteratedPower: p.iterated_power, seed: p.seed })
          : await fitNative(X, k);
    const { mean, components, explainedVariance, totalVariance } = solved;
    flipSigns(components, k, d);
    const ratio = new Float64Array(k);
    for (let c = 0; c < k; c++) ratio[c] = totalVariance > 0 ? explainedVariance[c] / totalVariance : 0;
    const scale = new Float64Array(k).fill(1);
    if (this.params.whiten) {
      // A component without variance stays 0 rather than dividing by zero.
      const floor = (explainedVariance[0] || 0) * 1e-12;
      for (let c = 0; c < k; c++) scale[c] = explainedVariance[c] > floor ? 1 / Math.sqrt(explainedVariance[c]) : 0;
    }
    this.state = {
      features: d,
      mean,
      components,
      weights: projectionWeights(components, k, d),
      explainedVariance,
      explainedVarianceRatio: ratio,
      scale,
    };
    return this;
  }

  async transform(X: Matrix): Promise<Matrix> {
    const f = this.state;
    checkFeatures(this.name, X, f.features);
    const k = this.params.components;
    const { rows, cols: d } = X;
    // a few rows (a service's request) cost less here than the round trip to a worker; the same kernel either way
    if (rows * d * k <= INLINE_PROJECTION) {
      return matrix(rows, k, pcaProjectTask(X.data, rows, d, f.mean, f.weights, k, f.scale));
    }
    const out = sharedFloats(rows * k);
    // workers read the rows from shared memory (one copy, unless they are shared already)
    const source = workerCount() > 1 ? sharedFloat32(X.data) : X.data;
    const tasks = [];
    const step = chunkRows(rows);
    for (let r0 = 0; r0 < rows; r0 += step) {
      const r1 = Math.min(rows, r0 + step);
      const chunk = source.subarray(r0 * d, r1 * d);
      tasks.push({
        module: PROJECTION_MODULE,
        fn: 'pcaProjectTask',
        args: [chunk, r1 - r0, d, f.mean, f.weights, k, f.scale],
      });
    }
    const parts = await runAll<Float32Array>(tasks);
    parts.forEach((part, t) => out.set(part, t * step * k));
    return matrix(rows, k, out);
  }

  protected encode(f: Fitted): Snapshot {
    const { features, mean, components, explainedVariance, explainedVarianceRatio, scale } = f;
    return { features, mean, components, explainedVariance, explainedVarianceRatio, scale };
  }

  protected decode(s: Snapshot): Fitted {
    const d = numberField(s, 'features', true);
    const k = this.params.components;
    const components = arrayField(s, 'components', Float64Array, k * d);
    return {
      features: d,
      mean: arrayField(s, 'mean', Float64Array, d),
      components,
      weights: projectionWeights(components, k, d),
      explainedVariance: arrayField(s, 'explainedVariance', Float64Array, k),
      explainedVarianceRatio: arrayField(s, 'explainedVarianceRatio', Float64Array, k),
      scale: arrayField(s, 'scale', Float64Array, k),
    };
  }
}

/** Pixel scales tried for the exact integer path: x/255 (normalize minmax), then raw 0..255. */
const GRID_DIVISORS = [255, 1];
const gramModule = new URL('../linalg/gram.js', import.meta.url).href;
const PROJECTION_MODULE = new URL('../linalg/projection.js', import.meta.url).href;

function componentsMessage(k: number, features: number): string {
  return `components must be ≤ the ${features} features it receives, got ${k}`;
}

/** The most bytes the full solver's Gram matrices may take before solver auto turns to the randomized one. */
export const GRAM_MEMORY_LIMIT = 2 * 2 ** 30;
/**
 * The full solver's d×d float64 matrices counted by solver auto: two workers' partial Gram matrices, their sum and the
 * covariance (as on a 2-core machine; more workers hold more, but the choice must not depend on the machine).
 */
const GRAM_COPIES = 4;

/**
 * Estimated flops below which solver auto keeps the full solver whatever the estimates say (about half a second here):
 * on small inputs the exact answer costs next to nothing.
 */
const SMALL_FIT = 2e10;

/**
 * Weights of solver auto's estimates: flops of a Gram matrix (float32 SIMD on every worker, ~43 GFLOP/s on this
 * 2-core machine) count 1, and the randomized solver's products with X as much (measured a little faster); float64 work
 * costs more: the Lanczos solve on one thread (memory-bound matrix-vector products: measured ~4.9 GFLOP/s, weight 8),
 * the randomized solver's basis changes on the d×l side on the workers (~2 × 14 GFLOP/s, weight 1.5) and its l×l
 * factorisations on one thread (weight 8). Each round of pool tasks costs about a millisecond (5e7).
 */
const EIGEN_WEIGHT = 8;
const BASIS_WEIGHT = 1.5;
const ROUND_COST = 5e7;

/**
 * Which native solver fits n rows of d features to k components: `params.solver` unless it is auto. Auto takes the
 * randomized solver only when the full solver's Gram matrices ((d rounded up to 4)² float64: GRAM_COPIES of them)
 * would take more than GRAM_MEMORY_LIMIT, or when its estimated cost is under half the full solver's (and the full fit
 * is not small):
 *
 * - full: the Gram matrix, n·d² flops (its upper triangle, as bench/roofline.ts counts it), plus the Lanczos solve,
 *   about s = 2.5·k + 10 steps (measured 2.5k–3k) of a d×d matrix-vector product and two Gram–Schmidt passes,
 *   2·s·d² + 4·s²·d flops;
 * - randomized: 2q + 2 products of X with d×l or n×l matrices (l = k + oversamples, q power iterations), 2·n·d·l flops
 *   each, plus per power iteration three d×l·l×l products (6·d·l² flops), the Gram matrix of the n×l basis (n·l²)
 *   and two l×l Cholesky factorisations, and 4q + 3 rounds of pool tasks.
 *
 * Not scikit-learn's shape rule: its full solver is a LAPACK SVD of X, far dearer than our Gram matrix, which is why
 * its rule prefers the randomized solver so often. Every shipped pipeline keeps full (test/randomized-pca.test.ts).
 * The choice depends on the shape and the params only, never on the machine (its worker count), so a pipeline gives
 * the same figures everywhere.
 */
export function chooseSolver(
  n: number,
  d: number,
  k: number,
  params: Pick<PcaParams, 'solver' | 'iterated_power' | 'oversamples'>,
): 'full' | 'randomized' {
  if (params.solver !== 'auto') return params.solver;
  const d4 = (d + 3) & ~3;
  if (d4 * d4 * 8 * GRAM_COPIES > GRAM_MEMORY_LIMIT) return 'randomized';
  const full = fullCost(n, d, k);
  return full > SMALL_FIT && randomizedCost(n, d, k, params) < 0.5 * full ? 'randomized' : 'full';
}

/** The full solver's estimated cost in Gram-matrix flops (chooseSolver). */
export function fullCost(n: number, d: number, k: number): number {
  const d4 = (d + 3) & ~3;
  const s = Math.min(d, 2.5 * k + 10);
  return n * d4 * (d4 + 1) + EIGEN_WEIGHT * (2 * s * d * d + 4 * s * s * d);
}

/** The randomized solver's estimated cost in Gram-matrix flops (chooseSolver). */
export function randomizedCost(
  n: number,
  d: number,
  k: number,
  params: Pick<PcaParams, 'iterated_power' | 'oversamples'>,
): number {
  const q = powerIterations(n, d, k, params.iterated_power);
  const l = sampleWidth(n, d, k, params.oversamples);
  const products = (2 * q + 2) * 2 * n * d * l;
  const bases = q * (BASIS_WEIGHT * 6 * d * l * l + n * l * l + (EIGEN_WEIGHT * (2 * l * l * l)) / 3);
  return products + bases + (4 * q + 3) * ROUND_COST;
}

interface Solved {
  mean: Float64Array;
  components: Float64Array;
  explainedVariance: Float64Array;
  totalVariance: number;
}

async function fitNative(X: Matrix, k: number): Promise<Solved> {
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
  // gramOfRows (chunk, rows, d, shift, divisors) or integerGramOfRows (chunk, rows, d, divisors) over chunks of `step`
  const gramParts = <T>(fn: 'gramOfRows' | 'integerGramOfRows', step: number, divisors: number[]): Promise<T[]> => {
    const tasks = [];
    for (let r0 = 0; r0 < n; r0 += step) {
      const r1 = Math.min(n, r0 + step);
      const chunk = source.subarray(r0 * d, r1 * d);
      const args = fn === 'gramOfRows' ? [chunk, r1 - r0, d, shift, divisors] : [chunk, r1 - r0, d, divisors];
      tasks.push({ module: gramModule, fn, args });
    }
    return runAll<T>(tasks);
  };
  // 8-bit data (raw 0..255 or scaled by 1/255) is summed exactly in integers, two chunks per worker (exact sums do not
  // depend on the chunking, and each chunk's d×d sum costs a copy and a merge); other data, or chunks that disagree on
  // the scale, in float32 blocks summed in float64 over gramChunkRows's chunks (src/linalg/gram.ts).
  const exact = await gramParts<GramPart | null>(
    'integerGramOfRows',
    Math.max(1024, Math.ceil(n / (2 * workerCount()))),
    GRID_DIVISORS,
  );
  const parts = exact.every((p) => p !== null && p.divisor === exact[0]!.divisor)
    ? (exact as GramPart[])
    : await gramParts<GramPart>('gramOfRows', gramChunkRows(n, d), []);
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
  const eig = symmetricTopEigen(cov, d, k);
  const explainedVariance = new Float64Array(k);
  for (let c = 0; c < k; c++) explainedVariance[c] = Math.max(eig.values[c], 0);
  return { mean, components: eig.vectors, explainedVariance, totalVariance: total };
}

function fitMljs(X: Matrix, k: number): Solved {
  const { rows: n, cols: d } = X;
  // loaded here, not at the top: the oracle engine's library (and ml-matrix) is not read by every command and worker
  const { PCA: MlPca } = createRequire(import.meta.url)('ml-pca') as typeof import('ml-pca');
  const model = new MlPca(toNested(X), { center: true, scale: false });
  const U = model.getEigenvectors(); // d × r, columns are components
  const eigen = model.getEigenvalues(); // variances, n − 1 denominator
  const json = model.toJSON() as { means: number[] };
  const mean = Float64Array.from(json.means);
  const components = new Float64Array(k * d);
  const explainedVariance = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    for (let f = 0; f < d; f++) components[c * d + f] = c < U.columns ? U.get(f, c) : 0;
    explainedVariance[c] = c < eigen.length ? Math.max(eigen[c], 0) : 0;
  }
  // total variance = trace of the covariance (eigenvalues beyond min(n, d) are 0)
  let total = 0;
  for (let f = 0; f < d; f++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      const v = X.data[i * d + f] - mean[f];
      s += v * v;
    }
    total += s / (n - 1);
  }
  return { mean, components, explainedVariance, totalVariance: total };
}

/** Makes the largest-|value| entry of each component positive (first such entry on ties), as scikit-learn's svd_flip. */
function flipSigns(components: Float64Array, k: number, d: number): void {
  for (let c = 0; c < k; c++) {
    const o = c * d;
    let best = 0;
    for (let f = 1; f < d; f++) if (Math.abs(components[o + f]) > Math.abs(components[o + best])) best = f;
    if (components[o + best] < 0) for (let f = 0; f < d; f++) components[o + f] = -components[o + f];
  }
}

export const pcaSpec: StageSpec<PcaParams> = {
  name: 'pca',
  kind: 'transformer',
  summary:
    'principal component analysis: project onto the top `components` directions of variance (optionally whitened)',
  schema: PcaParams,
  savable: alwaysSavable,
  create: (params) => new Pca(params),
  outputFeatures: (params, inputFeatures) => {
    if (params.components > inputFeatures) {
      throw new ParamRangeError('components', componentsMessage(params.components, inputFeatures));
    }
    return params.components;
  },
};
