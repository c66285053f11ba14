import { z } from 'zod';
import type { Matrix } from '../linalg/matrix.js';
import type { ImageShape } from '../linalg/shape.js';
import { boundImage, checkImageWidth, ImageShapeParam, needImage } from './flow.js';
import { lbpRows, type LbpKernel } from './lbp-rows.js';
import { transformRows } from './row-tasks.js';
import { alwaysSavable, ParamRangeError, type StageSpec } from './stage.js';
import { WidthOnlyTransformer } from './width-only.js';

export const LbpParams = z
  .object({
    /** Neighbours sampled on the circle around each pixel (scikit-image's P). */
    points: z.int().min(2).max(32).default(8),
    /** Radius of that circle in pixels (scikit-image's R, which it keeps in single precision). */
    radius: z.number().positive().max(32).default(1),
    /** Pixels per side of the square cells whose code histograms make the features (floor(height / cell) rows of them). */
    cell: z.int().min(1).default(16),
    /** The input's image shape (flow.ts): grey, or RGB made grey first as the grey stage does (bt709). */
    image: ImageShapeParam.nullable().default(null),
  })
  .strict();
export type LbpParams = z.infer<typeof LbpParams>;

/**
 * Texture: each pixel's uniform local binary pattern as scikit-image 0.19's `local_binary_pattern(image, P, R,
 * 'uniform')` — the P neighbours on a circle of radius R (bilinear, 0 outside the image), each 1 when at least the centre,
 * the pattern's code the count of ones when it changes between 0 and 1 at most twice along the circle (read from the
 * first neighbour to the last, as scikit-image does) and P + 1 otherwise — counted per cell into P + 2 bins and divided by
 * the cell's pixels. Rows are images of `image`'s shape.
 */
export class Lbp extends WidthOnlyTransformer<LbpParams> {
  readonly name = 'lbp';

  constructor(params: Partial<LbpParams> = {}) {
    super(LbpParams, params);
  }

  protected checkInput(features: number): void {
    lbpFeatures(this.params, boundImage('lbp', this.params.image, features));
  }

  /** Rows are independent: blocks of them go to the worker pool (row-tasks.ts). */
  async transform(X: Matrix): Promise<Matrix> {
    this.fittedWidth(X);
    const { points, radius, cell } = this.params;
    const kernel: LbpKernel = { ...this.params.image!, points, radius, cell };
    return transformRows(X, lbpFeatures(this.params, this.params.image!), kernel, lbpRows, LBP_TASK);
  }
}

/** Features of these params on images of this shape, or a ParamRangeError naming `cell`. */
function lbpFeatures(params: Pick<LbpParams, 'points' | 'cell'>, image: ImageShape): number {
  if (params.cell > Math.min(image.height, image.width)) {
    throw new ParamRangeError(
      'cell',
      `lbp.cell ${params.cell} is larger than its ${image.width}×${image.height} images`,
    );
  }
  return Math.floor(image.height / params.cell) * Math.floor(image.width / params.cell) * (params.points + 2);
}

/** Images per pool task: a 64×64 photo costs ~0.4–0.6 ms, so 512 of them outweigh sending them to a worker. */
const LBP_TASK = { module: new URL('./lbp-rows.js', import.meta.url).href, fn: 'lbpRows', taskRows: 512 };

export const lbpSpec: StageSpec<LbpParams> = {
  name: 'lbp',
  kind: 'transformer',
  summary:
    'texture: uniform local binary patterns of grey or RGB images (as scikit-image local_binary_pattern), a histogram per cell',
  schema: LbpParams,
  savable: alwaysSavable,
  create: (params) => new Lbp(params),
  rowwise: () => true,
  outputFeatures: (params, inputFeatures, shape) => {
    needImage('lbp', shape);
    const image = params.image ?? shape;
    if (!image) return inputFeatures;
    checkImageWidth(image, inputFeatures);
    return lbpFeatures(params, image);
  },
  bindShape: (params, shape) => ({ ...params, image: shape && { ...shape } }),
};
