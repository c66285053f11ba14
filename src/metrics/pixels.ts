/** Pixel statistics per class, as pure numbers (images are rows of height × width × channels values 0..255). */

export interface ClassPixelStats {
  label: number;
  images: number;
  /** Mean pixel value over every pixel of every image of the class (0..255). */
  meanIntensity: number;
  /** Standard deviation of those pixel values (population). */
  stdIntensity: number;
  /** Share of values that are not 0 (on Fashion-MNIST's black canvas, the garment's area). */
  inkShare: number;
  /** Mean value of the non-zero pixels (how bright the garment itself is). */
  meanInk: number;
  /** Mean width and height, in pixels, of the box around an image's non-zero pixels. */
  meanBoxWidth: number;
  meanBoxHeight: number;
  /** The mean image (the images' shape, values 0..255). */
  meanImage: Float64Array;
}

/**
 * Statistics of each class 0..nClasses−1 over images X (rows of the shape's values, 0..255, channels interleaved)
 * with labels y; without a shape the rows are square grey images. A class with no images gets zeros.
 */
export function classPixelStats(
  X: { rows: number; cols: number; data: ArrayLike<number> },
  y: ArrayLike<number>,
  nClasses: number,
  shape?: { height: number; width: number; channels: number },
): ClassPixelStats[] {
  if (X.rows !== y.length) throw new Error(`classPixelStats: ${X.rows} images but ${y.length} labels`);
  const side = Math.round(Math.sqrt(X.cols));
  if (!shape && side * side !== X.cols)
    throw new Error(`classPixelStats: ${X.cols} pixels per row is not a square image`);
  const { width, channels } = shape ?? { width: side, channels: 1 };
  if (shape && shape.height * width * channels !== X.cols)
    throw new Error(`classPixelStats: ${X.cols} values per row are not ${shape.height}×${width}×${channels}`);
  const acc = Array.from({ length: nClasses }, () => ({
    images: 0,
    sum: 0,
    sumSq: 0,
    ink: 0,
    inkSum: 0,
    boxW: 0,
    boxH: 0,
    mean: new Float64Array(X.cols),
  }));
  const { data, cols } = X;
  for (let i = 0; i < X.rows; i++) {
    const a = acc[y[i]];
    if (!a) throw new Error(`classPixelStats: label ${y[i]} at row ${i} outside 0..${nClasses - 1}`);
    a.images++;
    let minR = Infinity,
      maxR = -1,
      minC = Infinity,
      maxC = -1;
    const base = i * cols;
    for (let j = 0; j < cols; j++) {
      const v = data[base + j];
      a.sum += v;
      a.sumSq += v * v;
      a.mean[j] += v;
      if (v > 0) {
        a.ink++;
        a.inkSum += v;
        const p = (j / channels) | 0;
        const r = (p / width) | 0;
        const c = p - r * width;
        if (r < minR) minR = r;
        if (r > maxR) maxR = r;
        if (c < minC) minC = c;
        if (c > maxC) maxC = c;
      }
    }
    if (maxR >= 0) {
      a.boxW += maxC - minC + 1;
      a.boxH += maxR - minR + 1;
    }
  }
  return acc.map((a, label) => {
    const pixels = a.images * cols;
    const mean = pixels > 0 ? a.sum / pixels : 0;
    if (a.images > 0) for (let j = 0; j < cols; j++) a.mean[j] /= a.images;
    return {
      label,
      images: a.images,
      meanIntensity: mean,
      stdIntensity: pixels > 0 ? Math.sqrt(Math.max(0, a.sumSq / pixels - mean * mean)) : 0,
      inkShare: pixels > 0 ? a.ink / pixels : 0,
      meanInk: a.ink > 0 ? a.inkSum / a.ink : 0,
      meanBoxWidth: a.images > 0 ? a.boxW / a.images : 0,
      meanBoxHeight: a.images > 0 ? a.boxH / a.images : 0,
      meanImage: a.mean,
    };
  });
}

/** Images per class 0..nClasses−1. */
export function classCounts(y: ArrayLike<number>, nClasses: number): number[] {
  const counts = new Array<number>(nClasses).fill(0);
  for (let i = 0; i < y.length; i++) counts[y[i]]++;
  return counts;
}
