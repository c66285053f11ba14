import { z } from 'zod';
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { boundImage, checkImageWidth, ImageShapeParam, needImage } from './flow.js';
import { alwaysSavable, type StageSpec } from './stage.js';
import { WidthOnlyTransformer } from './width-only.js';

export const FlipParams = z
  .object({
    /** The input's image shape (flow.ts). */
    image: ImageShapeParam.nullable().default(null),
  })
  .strict();
export type FlipParams = z.infer<typeof FlipParams>;

/**
 * Augmentation for fitting: the training rows, then each image mirrored left to right with the same label (twice the
 * rows). Held-out rows, test rows and photos to classify pass through unchanged: transform never adds or alters a row.
 */
export class Flip extends WidthOnlyTransformer<FlipParams> {
  readonly name = 'flip';

  constructor(params: Partial<FlipParams> = {}) {
    super(FlipParams, params);
  }

  protected checkInput(features: number): void {
    boundImage('flip', this.params.image, features);
  }

  async transform(X: Matrix): Promise<Matrix> {
    this.fittedWidth(X);
    return X;
  }

  async augment(X: Matrix): Promise<Matrix> {
    this.fittedWidth(X);
    const { width, channels } = this.params.image!;
    const { rows, cols } = X;
    const out = sharedFloats(2 * rows * cols);
    out.set(X.data);
    const lines = (rows * cols) / (width * channels);
    for (let l = 0; l < lines; l++) {
      const at = l * width * channels;
      const to = rows * cols + at;
      for (let x = 0; x < width; x++) {
        const from = at + (width - 1 - x) * channels;
        for (let c = 0; c < channels; c++) out[to + x * channels + c] = X.data[from + c];
      }
    }
    return matrix(2 * rows, cols, out);
  }

  augmentOrigins(rows: number): Int32Array {
    return Int32Array.from({ length: 2 * rows }, (_, i) => i % rows);
  }

  augmentLabels(y: Uint8Array): Uint8Array {
    const out = new Uint8Array(2 * y.length);
    out.set(y);
    out.set(y, y.length);
    return out;
  }
}

export const flipSpec: StageSpec<FlipParams> = {
  name: 'flip',
  kind: 'transformer',
  summary: 'augmentation while fitting: adds every training image mirrored left to right (held-out rows untouched)',
  schema: FlipParams,
  savable: alwaysSavable,
  create: (params) => new Flip(params),
  outputFeatures: (params, inputFeatures, shape) => {
    needImage('flip', shape);
    if (params.image) checkImageWidth(params.image, inputFeatures);
    return inputFeatures;
  },
  outputShape: (_params, shape) => shape,
  bindShape: (params, shape) => ({ ...params, image: shape && { ...shape } }),
  augments: true,
};
