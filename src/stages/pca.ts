import { createRequire } from 'node:module';
import { z } from 'zod';
import { covariancePca, pcaOfCovariance, type PackedCovariance } from '../linalg/covariance-pca.js';
import { matrix, sharedFloats, toNested, type Matrix } from '../linalg/matrix.js';
import { runAll, sharedFloat32, workerCount } from '../runtime/pool.js';
import { pcaProjectTask, projectionWeights } from '../linalg/projection.js';
import { randomizedPca } from '../linalg/randomized-pca.js';
import { chooseSolver } from './pca-solver.js';
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
 * Rows per projection task: about 16 tasks (so 2–4 workers finish together), a function of the row count only (as the
 * covariance's chunks, linalg/covariance-pca.ts), so the results never depend on the number of workers.
 */
function chunkRows(n: number): number {
  return Math.max(1024, Math.ceil(n / 16 / 256) * 256);
}

/** Multiply-adds below which a projection runs on the calling thread (100 rows of 784 × 50: less than a task costs). */
const INLINE_PROJECTION = 4_000_000;

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
          : await covariancePca(X, k);
    return this.solved(solved, d);
  }

  /**
   * The full solver's fit from the training rows' count, column means and d×d covariance (n − 1 denominator; row-major,
   * or packed for the eigen solver with its norm and trace) rather than from the rows: its eigenvectors, as fit takes
   * them from the covariance it sums itself. A covariance summed once per fold block serves every fold this way
   * (pipeline/shared-fit.ts).
   */
  async fitCovariance(rows: number, mean: Float64Array, cov: Float64Array | PackedCovariance): Promise<this> {
    const k = this.params.components;
    const d = mean.length;
    if (cov instanceof Float64Array && cov.length !== d * d)
      throw new Error(`${this.name}: covariance of ${cov.length} entries for ${d} features`);
    if (k > d) throw new ParamRangeError('components', componentsMessage(k, d));
    if (k > rows) {
      throw new ParamRangeError(
        'components',
        `components must be ≤ the rows PCA is fitted on: got ${k} for ${rows} rows`,
      );
    }
    if (rows < 2) throw new Error(`${this.name}: needs at least 2 rows to estimate variance, got ${rows}`);
    let total = 0;
    if (cov instanceof Float64Array) for (let f = 0; f < d; f++) total += cov[f * d + f];
    else total = cov.trace;
    return this.solved({ mean, ...(await pcaOfCovariance(cov, d, k)), totalVariance: total }, d);
  }

  /** Sets the fitted state from a solver's answer (signs flipped as scikit-learn's, ratios and whitening scales). */
  private solved(solved: Solved, d: number): this {
    const k = this.params.components;
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

const PROJECTION_MODULE = new URL('../linalg/projection.js', import.meta.url).href;

function componentsMessage(k: number, features: number): string {
  return `components must be ≤ the ${features} features it receives, got ${k}`;
}

/** What a solver returns: the mean, the components (k × d) and their variances, and the total variance. */
interface Solved {
  mean: Float64Array;
  components: Float64Array;
  explainedVariance: Float64Array;
  totalVariance: number;
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
