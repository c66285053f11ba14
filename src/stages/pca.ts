import { createRequire } from 'node:module';
import { z } from 'zod';
import { symmetricTopEigen } from '../linalg/eigen.js';
import type { GramPart } from '../linalg/gram.js';
import { matrix, sharedFloats, toNested, type Matrix } from '../linalg/matrix.js';
import { runAll, sharedFloat32, workerCount } from '../runtime/pool.js';
import { pcaProjectTask, projectionWeights } from '../linalg/projection.js';
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
    /** native: our covariance + Lanczos solver on typed arrays (worker pool); mljs: ml-pca (SVD), for small data. */
    engine: z.enum(['native', 'mljs']).default('native'),
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
 * 46–290 MB a sum) are cut into one chunk per worker instead of 16; inputs up to 1,024 columns keep chunkRows's
 * chunks, and with them their summation order.
 */
function gramChunkRows(n: number, d: number): number {
  return d <= 1024 ? chunkRows(n) : Math.max(1024, Math.ceil(n / workerCount()));
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
    const solved = this.params.engine === 'mljs' ? fitMljs(X, k) : await fitNative(X, k);
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
