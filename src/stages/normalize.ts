import { z } from 'zod';
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { runTask, sharedFloat32, splitRange, workerCount } from '../runtime/pool.js';
import { normalizeRows } from './normalize-rows.js';
import { arrayField, numberField } from './snapshot.js';
import {
  BaseStage,
  checkFeatures,
  checkXy,
  type Snapshot,
  type StageSpec,
  type Transformer,
  alwaysSavable,
} from './stage.js';

export const NormalizeParams = z
  .object({
    /**
     * minmax: pixel range 0..255 to 0..1 (x / 255, as the scikit-learn references do);
     * sqrt: √(x / 255), a power-law compression of pixel intensities (negative values are refused);
     * standard: per-feature zero mean and unit variance (StandardScaler; constant features stay 0);
     * l2: each row scaled to unit Euclidean length.
     */
    method: z.enum(['minmax', 'sqrt', 'standard', 'l2']).default('minmax'),
  })
  .strict();
export type NormalizeParams = z.infer<typeof NormalizeParams>;

interface Fitted {
  features: number;
  mean?: Float64Array;
  scale?: Float64Array;
}

export class Normalize extends BaseStage<NormalizeParams, Fitted> implements Transformer<NormalizeParams> {
  readonly name = 'normalize';
  readonly kind = 'transformer' as const;

  constructor(params: Partial<NormalizeParams> = {}) {
    super(NormalizeParams, params);
  }

  async fit(X: Matrix, y: Uint8Array): Promise<this> {
    checkXy(this.name, X, y);
    const fitted: Fitted = { features: X.cols };
    if (this.params.method === 'standard') {
      const { rows, cols, data } = X;
      const mean = new Float64Array(cols);
      const m2 = new Float64Array(cols);
      for (let i = 0; i < rows; i++) {
        const off = i * cols;
        for (let j = 0; j < cols; j++) mean[j] += data[off + j];
      }
      for (let j = 0; j < cols; j++) mean[j] /= rows;
      for (let i = 0; i < rows; i++) {
        const off = i * cols;
        for (let j = 0; j < cols; j++) {
          const d = data[off + j] - mean[j];
          m2[j] += d * d;
        }
      }
      return this.fitMoments(rows, mean, m2);
    }
    this.state = fitted;
    return this;
  }

  /**
   * Method standard's fit from sufficient statistics of the training rows (their count, column means and Σ(x − mean)²
   * per column) rather than the rows: what fit computes from them, by the same rule. Moments summed once per fold block
   * serve every fold this way (pipeline/shared-fit.ts).
   */
  fitMoments(rows: number, mean: Float64Array, m2: Float64Array): this {
    if (this.params.method !== 'standard') throw new Error(`${this.name}: only method standard fits from moments`);
    if (rows < 1) throw new Error(`${this.name}: cannot fit on 0 rows`);
    const cols = mean.length;
    const scale = new Float64Array(cols);
    for (let j = 0; j < cols; j++) {
      const std = Math.sqrt(m2[j] / rows);
      scale[j] = std > 1e-12 ? 1 / std : 1;
    }
    this.state = { features: cols, mean, scale };
    return this;
  }

  /** Method standard's fitted means and scales (x ↦ (x − mean)·scale). */
  get affine(): { mean: Float64Array; scale: Float64Array } {
    const { mean, scale } = this.state;
    if (!mean || !scale) throw new Error(`${this.name}: method ${this.params.method} is not an affine map`);
    return { mean: mean.slice(), scale: scale.slice() };
  }

  async transform(X: Matrix): Promise<Matrix> {
    const fitted = this.state;
    checkFeatures(this.name, X, fitted.features);
    const { rows, cols, data } = X;
    const out = sharedFloats(rows * cols);
    const { method } = this.params;
    if (rows * cols < PARALLEL_VALUES || workerCount() < 2) {
      normalizeRows(data, out, 0, rows, cols, method, fitted.mean, fitted.scale);
      return matrix(rows, cols, out);
    }
    // large inputs: row ranges on the workers, each writing its part of the shared output (the same values)
    const source = sharedFloat32(data);
    const settled = await Promise.allSettled(
      splitRange(rows, workerCount()).map(([r0, r1]) =>
        runTask({
          module: ROWS_MODULE,
          fn: 'normalizeRows',
          args: [source, out, r0, r1, cols, method, fitted.mean, fitted.scale],
        }),
      ),
    );
    // a refusal names the first bad row, as on one thread
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return matrix(rows, cols, out);
  }

  protected encode(f: Fitted): Snapshot {
    return { features: f.features, mean: f.mean ?? null, scale: f.scale ?? null };
  }

  protected decode(s: Snapshot): Fitted {
    const features = numberField(s, 'features', true);
    const fitted: Fitted = { features };
    if (this.params.method === 'standard') {
      fitted.mean = arrayField(s, 'mean', Float64Array, features);
      fitted.scale = arrayField(s, 'scale', Float64Array, features);
    }
    return fitted; // minmax, sqrt and l2 learn nothing
  }
}

/** Values from which a transform is split over the workers (below, the round trip costs more than it saves). */
const PARALLEL_VALUES = 1 << 20;

const ROWS_MODULE = new URL('./normalize-rows.js', import.meta.url).href;

export const normalizeSpec: StageSpec<NormalizeParams> = {
  name: 'normalize',
  kind: 'transformer',
  summary:
    'rescale features: minmax (x/255), sqrt (√(x/255)), standard (zero mean, unit variance) or l2 (unit-length rows)',
  schema: NormalizeParams,
  savable: alwaysSavable,
  create: (params) => new Normalize(params),
  outputFeatures: (_params, inputFeatures) => inputFeatures,
  rowwise: (params) => params.method !== 'standard',
  // every method maps each value in place: the rows keep their image layout
  outputShape: (_params, shape) => shape,
};
