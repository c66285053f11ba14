import { z } from 'zod';
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import type { ImageShape } from '../linalg/shape.js';
import { checkImageWidth, ImageShapeParam, needImage } from './flow.js';
import { lbpRows, type LbpKernel } from './lbp-rows.js';
import { runAll, sharedFloat32, workerCount } from '../runtime/pool.js';
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
    const image = this.params.image;
    if (!image)
      throw new ParamRangeError('image', 'lbp needs its input image shape (set from the data of a pipeline file)');
    checkImageWidth(image, features);
    lbpFeatures(this.params, image);
  }

  /** Rows are independent: blocks of them go to the worker pool, each writing its part of the shared output. */
  async transform(X: Matrix): Promise<Matrix> {
    this.fittedWidth(X);
    const { rows, cols } = X;
    const features = lbpFeatures(this.params, this.params.image!);
    const out = sharedFloats(rows * features);
    const kernel: LbpKernel = {
      ...this.params.image!,
      points: this.params.points,
      radius: this.params.radius,
      cell: this.params.cell,
    };
    if (rows <= TASK_ROWS || workerCount() <= 1) {
      lbpRows(X.data, rows, kernel, out);
    } else {
      const source = sharedFloat32(X.data);
      const tasks = [];
      for (let r0 = 0; r0 < rows; r0 += TASK_ROWS) {
        const r1 = Math.min(rows, r0 + TASK_ROWS);
        const args = [
          source.subarray(r0 * cols, r1 * cols),
          r1 - r0,
          kernel,
          out.subarray(r0 * features, r1 * features),
        ];
        tasks.push({ module: ROWS_MODULE, fn: 'lbpRows', args });
      }
      await runAll(tasks);
    }
    return matrix(rows, features, out);
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

/** Images per pool task (as hog's); smaller inputs are done on the calling thread. */
const TASK_ROWS = 512;
const ROWS_MODULE = new URL('./lbp-rows.js', import.meta.url).href;

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
