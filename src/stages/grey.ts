import { z } from 'zod';
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { needImage } from './flow.js';
import { greyPixels } from './grey-rows.js';
import { alwaysSavable, ParamRangeError, type StageSpec } from './stage.js';
import { WidthOnlyTransformer } from './width-only.js';

export const GreyParams = z
  .object({
    /**
     * bt709: 0.2125 R + 0.7154 G + 0.0721 B (scikit-image's rgb2gray); bt601: 0.299 R + 0.587 G + 0.114 B (Pillow's
     * convert('L'), before its rounding).
     */
    weights: z.enum(['bt709', 'bt601']).default('bt709'),
  })
  .strict();
export type GreyParams = z.infer<typeof GreyParams>;

/** RGB rows (channels interleaved) to grey rows of the same height and width: a weighted sum per pixel, in float64. */
export class Grey extends WidthOnlyTransformer<GreyParams> {
  readonly name = 'grey';

  constructor(params: Partial<GreyParams> = {}) {
    super(GreyParams, params);
  }

  protected checkInput(features: number): void {
    greyFeatures(features);
  }

  async transform(X: Matrix): Promise<Matrix> {
    this.fittedWidth(X);
    const out = greyPixels(X.data, sharedFloats(X.rows * (X.cols / 3)), this.params.weights);
    return matrix(X.rows, X.cols / 3, out);
  }
}

function greyFeatures(inputFeatures: number): number {
  if (inputFeatures % 3 !== 0) {
    throw new ParamRangeError('input', `grey takes RGB rows (3 values a pixel); ${inputFeatures} values are not`);
  }
  return inputFeatures / 3;
}

export const greySpec: StageSpec<GreyParams> = {
  name: 'grey',
  kind: 'transformer',
  summary: 'colour photos to grey (luma, as scikit-image rgb2gray): height × width × 3 values to height × width',
  schema: GreyParams,
  savable: alwaysSavable,
  create: (params) => new Grey(params),
  outputFeatures: (_params, inputFeatures, shape) => {
    const image = needImage('grey', shape, 'RGB images');
    if (image && image.channels !== 3)
      throw new ParamRangeError('input', 'grey takes RGB images; its input is grey already');
    return greyFeatures(inputFeatures);
  },
  outputShape: (_params, shape) => shape && { ...shape, channels: 1 },
};
