import { z } from 'zod';
import type { Matrix } from '../linalg/matrix.js';
import { colourRows } from './colour-rows.js';
import { needImage } from './flow.js';
import { transformRows } from './row-tasks.js';
import { alwaysSavable, ParamRangeError, type StageSpec } from './stage.js';
import { WidthOnlyTransformer } from './width-only.js';

export const ColourHistogramParams = z
  .object({
    /** Equal-width bins over hue, saturation and value (each 0..1): a joint histogram of h × s × v cells. */
    bins: z.tuple([z.int().min(1).max(64), z.int().min(1).max(64), z.int().min(1).max(64)]).default([8, 4, 4]),
  })
  .strict();
export type ColourHistogramParams = z.infer<typeof ColourHistogramParams>;

/**
 * The colours of a photo, wherever they are: each pixel's hue, saturation and value as scikit-image 0.19's rgb2hsv
 * (in float64, from values/255), counted in a joint h × s × v histogram as numpy's histogramdd over [0, 1] (a value on
 * an inner edge goes to the bin above it, 1 to the last bin), divided by the pixel count. Rows are RGB images.
 */
export class ColourHistogram extends WidthOnlyTransformer<ColourHistogramParams> {
  readonly name = 'colour_histogram';

  constructor(params: Partial<ColourHistogramParams> = {}) {
    super(ColourHistogramParams, params);
  }

  protected checkInput(features: number): void {
    rgbPixels(features);
  }

  /** Rows are independent: blocks of them go to the worker pool (row-tasks.ts). */
  async transform(X: Matrix): Promise<Matrix> {
    this.fittedWidth(X);
    const [bh, bs, bv] = this.params.bins;
    return transformRows(X, bh * bs * bv, { bins: this.params.bins }, colourRows, COLOUR_TASK);
  }
}

/** Photos per pool task: a 64×64 photo costs ~0.1 ms, so 1,024 of them outweigh sending them to a worker. */
const COLOUR_TASK = {
  module: new URL('./colour-rows.js', import.meta.url).href,
  fn: 'colourRows',
  taskRows: 1024,
};

function rgbPixels(inputFeatures: number): number {
  if (inputFeatures % 3 !== 0) {
    throw new ParamRangeError(
      'input',
      `colour_histogram takes RGB rows (3 values a pixel); ${inputFeatures} values are not`,
    );
  }
  return inputFeatures / 3;
}

export const colourHistogramSpec: StageSpec<ColourHistogramParams> = {
  name: 'colour_histogram',
  kind: 'transformer',
  summary: 'joint hue × saturation × value histogram of RGB photos (as scikit-image rgb2hsv + numpy histogramdd)',
  schema: ColourHistogramParams,
  savable: alwaysSavable,
  create: (params) => new ColourHistogram(params),
  rowwise: () => true,
  outputFeatures: (params, inputFeatures, shape) => {
    const image = needImage('colour_histogram', shape, 'RGB images');
    if (image && image.channels !== 3) {
      throw new ParamRangeError(
        'input',
        'colour_histogram takes RGB images; its input is grey (set data.image.channels: 3)',
      );
    }
    rgbPixels(inputFeatures);
    return params.bins[0] * params.bins[1] * params.bins[2];
  },
};
