import { z } from 'zod';
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { needImage } from './flow.js';
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

  async transform(X: Matrix): Promise<Matrix> {
    this.fittedWidth(X);
    const [bh, bs, bv] = this.params.bins;
    const cells = bh * bs * bv;
    const pixels = X.cols / 3;
    const out = sharedFloats(X.rows * cells);
    const [eh, es, ev] = [edges(bh), edges(bs), edges(bv)];
    const counts = new Uint32Array(cells);
    for (let r = 0; r < X.rows; r++) {
      counts.fill(0);
      const row = X.data.subarray(r * X.cols, (r + 1) * X.cols);
      for (let p = 0; p < pixels; p++) {
        const [h, s, v] = hsv(row[3 * p] / 255, row[3 * p + 1] / 255, row[3 * p + 2] / 255);
        counts[(bin(eh, h) * bs + bin(es, s)) * bv + bin(ev, v)]++;
      }
      for (let c = 0; c < cells; c++) out[r * cells + c] = counts[c] / pixels;
    }
    return matrix(X.rows, cells, out);
  }
}

/** Bin edges as numpy's linspace(0, 1, bins + 1): i · (1 / bins), the last exactly 1. */
function edges(bins: number): Float64Array {
  const step = 1 / bins;
  const e = Float64Array.from({ length: bins + 1 }, (_, i) => i * step);
  e[bins] = 1;
  return e;
}

/** histogramdd's bin: the last inner edge ≤ x (searchsorted right − 1), with 1 in the last bin. */
function bin(e: Float64Array, x: number): number {
  let b = 0;
  while (b < e.length - 2 && e[b + 1] <= x) b++;
  return b;
}

/** scikit-image 0.19's rgb2hsv of one pixel (values 0..1): later maxima (green, then blue) win ties. */
export function hsv(r: number, g: number, b: number): [number, number, number] {
  const v = Math.max(r, g, b);
  const delta = v - Math.min(r, g, b);
  if (delta === 0) return [0, 0, v];
  const s = delta / v;
  let h: number;
  if (b === v) h = 4 + (r - g) / delta;
  else if (g === v) h = 2 + (b - r) / delta;
  else h = (g - b) / delta;
  h /= 6;
  // numpy's float remainder: the sign of the divisor (a tiny negative hue rounds up to 1)
  let m = h % 1;
  if (m < 0) m += 1;
  return [m, s, v];
}

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
