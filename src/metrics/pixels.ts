/** Pixel statistics per class, as pure numbers (images are rows of side×side values 0..255, row-major). */

export interface ClassPixelStats {
  label: number;
  images: number;
  /** Mean pixel value over every pixel of every image of the class (0..255). */
  meanIntensity: number;
  /** Standard deviation of those pixel values (population). */
  stdIntensity: number;
  /** Share of pixels that are not 0 (the garment's area on the 28×28 canvas). */
  inkShare: number;
  /** Mean value of the non-zero pixels (how bright the garment itself is). */
  meanInk: number;
  /** Mean width and height, in pixels, of the box around an image's non-zero pixels. */
  meanBoxWidth: number;
  meanBoxHeight: number;
  /** The mean image (side×side values 0..255). */
  meanImage: Float64Array;
}

/**
 * Statistics of each class 0..nClasses−1 over images X (rows × side², values 0..255) with labels y. A class with no
 * images gets zeros.
 */
export function classPixelStats(
  X: { rows: number; cols: number; data: ArrayLike<number> },
  y: ArrayLike<number>,
  nClasses: number,
): ClassPixelStats[] {
  if (X.rows !== y.length) throw new Error(`classPixelStats: ${X.rows} images but ${y.length} labels`);
  const side = Math.round(Math.sqrt(X.cols));
  if (side * side !== X.cols) throw new Error(`classPixelStats: ${X.cols} pixels per row is not a square image`);
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
    let minR = side,
      maxR = -1,
      minC = side,
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
        const r = (j / side) | 0;
        const c = j - r * side;
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
