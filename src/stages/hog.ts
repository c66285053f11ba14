import { z } from 'zod';
import type { Matrix } from '../linalg/matrix.js';
import { needImage } from './flow.js';
import { geometry, hogRows } from './hog-rows.js';
import { transformRows } from './row-tasks.js';
import { ModelError, numberField } from './snapshot.js';
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

export const HogParams = z
  .object({
    /** Side of the square images, in pixels: each row holds size × size pixel values, row-major (any scale). */
    size: z.number().int().min(1).default(28),
    /**
     * Pixels per cell side. When cells do not tile the image (28 with cell 3), the last size mod cell rows and columns
     * are left out of every cell, as scikit-image does (cells per side = floor(size / cell)).
     */
    cell: z.number().int().min(1).default(4),
    /** Orientation bins per cell, equal-width over 0..180° (or 0..360° when signed). */
    orientations: z.number().int().min(1).max(360).default(9),
    /** Cells per block side. */
    block: z.number().int().min(1).default(2),
    /** Cells from one block to the next (scikit-image's hog has 1 only). */
    block_stride: z.number().int().min(1).default(1),
    /**
     * Block normalisation, as scikit-image (eps = 1e-5): l2_hys (l2, clip at 0.2, l2 again), l2, l1, l1_sqrt
     * (square root of l1), none (the cell histograms as they are, block by block).
     */
    norm: z.enum(['l2_hys', 'l2', 'l1', 'l1_sqrt', 'none']).default('l2_hys'),
    /**
     * false: gradient orientation modulo 180° (scikit-image); true: the direction over 0..360° (0° = brighter to the
     * right, 90° = brighter downwards, the row axis), bin i = [i·360/orientations, (i+1)·360/orientations).
     */
    signed: z.boolean().default(false),
    /** Square root of every pixel first (scikit-image's transform_sqrt, power-law compression); pixels must be ≥ 0. */
    sqrt: z.boolean().default(false),
    /**
     * 3: RGB images (channels interleaved), each pixel's gradient taken from the channel where it is largest (scikit-
     * image's channel_axis, Dalal and Triggs' colour HOG). Set from the data when hog receives RGB images; left out: grey.
     */
    channels: z.union([z.literal(1), z.literal(3)]).optional(),
  })
  .strict();
export type HogParams = z.infer<typeof HogParams>;

interface Fitted {
  features: number;
}

/**
 * Histograms of oriented gradients, numerically as scikit-image 0.19's `skimage.feature.hog` (grey images):
 * - optional square root of the pixels (transform_sqrt);
 * - gradients by central differences, d/dcol = x[r][c+1] − x[r][c−1] and d/drow = x[r+1][c] − x[r−1][c], zero on the
 *   image's first and last column (row); magnitude √(gc² + gr²);
 * - each pixel's whole magnitude goes to one bin: the angle atan2(gr, gc) taken modulo 180° (360° when signed) falls in
 *   bin i when i·w ≤ angle < (i+1)·w (no interpolation between bins or cells), w = 180°/orientations (360° signed);
 * - a cell's histogram is summed in float32, in row-major pixel order, and divided by the cell's area (as skimage's
 *   Cython kernel); cells cover the first floor(size/cell)·cell rows and columns;
 * - blocks of block×block cells, every block_stride cells, each normalised on its own (eps 1e-5);
 * - output order: block row, block column, cell row within the block, cell column, orientation — skimage's
 *   feature_vector order for block_stride 1.
 * A pixel's bin is found without its angle: the pseudo-angle of its direction (one division) picks a slot of a lookup
 * table that holds the bin wherever no bin edge is near; near one, cross-product signs against the edges' directions
 * decide exactly; and within 1e-11 of an edge, where skimage's own rounding decides, skimage's arithmetic is repeated
 * with a correctly rounded atan2. That equals skimage on numpy's portable build (tested on 1500 images × 9 param sets);
 * numpy's AVX-512 atan2 is a few ulps off, so on such CPUs skimage itself puts some gradients lying on an edge to the
 * last bit (√3 ratios after sqrt, say) in the other bin.
 */
export class Hog extends BaseStage<HogParams, Fitted> implements Transformer<HogParams> {
  readonly name = 'hog';
  readonly kind = 'transformer' as const;

  constructor(params: Partial<HogParams> = {}) {
    super(HogParams, params);
  }

  /** Checks the params fit the images (size² features, cells and blocks inside them); learns nothing else. */
  async fit(X: Matrix, y: Uint8Array): Promise<this> {
    checkXy(this.name, X, y);
    geometry(this.params, X.cols);
    this.state = { features: X.cols };
    return this;
  }

  /** Rows are independent: blocks of them go to the worker pool (row-tasks.ts). */
  async transform(X: Matrix): Promise<Matrix> {
    checkFeatures(this.name, X, this.state.features);
    return transformRows(X, geometry(this.params, X.cols).features, this.params, hogRows, HOG_TASK);
  }

  protected encode(f: Fitted): Snapshot {
    return { features: f.features };
  }

  protected decode(s: Snapshot): Fitted {
    const features = numberField(s, 'features', true);
    const expected = this.params.size * this.params.size * (this.params.channels ?? 1);
    if (features !== expected)
      throw new ModelError(
        `model file: hog was fitted on ${features} features, but its size ${this.params.size} needs ${expected}`,
      );
    return { features };
  }
}

/** Images per pool task (enough work to outweigh sending it to a worker); smaller inputs are done on the calling thread. */
const HOG_TASK = { module: new URL('./hog-rows.js', import.meta.url).href, fn: 'hogRows', taskRows: 2048 };

export const hogSpec: StageSpec<HogParams> = {
  name: 'hog',
  kind: 'transformer',
  summary:
    'histograms of oriented gradients of size×size grey or RGB images (as scikit-image hog): cells, orientation bins, normalised blocks',
  schema: HogParams,
  savable: alwaysSavable,
  create: (params) => new Hog(params),
  // fit checks the width and keeps it; each row's histograms depend on that row alone
  rowwise: () => true,
  outputFeatures: (params, inputFeatures, shape) => {
    const image = needImage('hog', shape);
    if (image && image.channels !== (params.channels ?? 1)) {
      throw new ParamRangeError(
        'channels',
        `hog.channels is ${params.channels ?? 1}, but its input has ${image.channels}`,
      );
    }
    if (image && image.width !== image.height) {
      throw new ParamRangeError('size', `hog works on square images; its input is ${image.width}×${image.height}`);
    }
    return geometry(params, inputFeatures).features;
  },
  // colour input makes a colour HOG; grey input keeps the params as they were written (no channels key)
  bindShape: (params, shape) => {
    if (shape?.channels === 3) return { ...params, channels: 3 };
    const { channels: _channels, ...grey } = params;
    return shape ? grey : params;
  },
};
