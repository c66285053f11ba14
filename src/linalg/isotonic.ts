/**
 * Isotonic regression as scikit-learn's IsotonicRegression (increasing, clipped outside the data): the points sorted
 * by x, equal x merged into their mean (weighted by count), pooled adjacent violators until the fitted values never
 * decrease, then predictions by linear interpolation between the fitted points.
 */
export interface IsotonicFit {
  /** The distinct x values, ascending. */
  x: Float64Array;
  /** The fitted, non-decreasing value at each. */
  y: Float64Array;
}

export function isotonicFit(x: ArrayLike<number>, y: ArrayLike<number>): IsotonicFit {
  const n = x.length;
  if (n === 0) throw new Error('isotonic: no points');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => x[a] - x[b] || a - b);
  // equal x merged
  const xs: number[] = [];
  const sums: number[] = [];
  const weights: number[] = [];
  for (const i of order) {
    const last = xs.length - 1;
    if (last >= 0 && xs[last] === x[i]) {
      sums[last] += y[i];
      weights[last]++;
    } else {
      xs.push(x[i]);
      sums.push(y[i]);
      weights.push(1);
    }
  }
  // pool adjacent violators over blocks of (mean, weight, count of points)
  const mean: number[] = [];
  const weight: number[] = [];
  const size: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    mean.push(sums[i] / weights[i]);
    weight.push(weights[i]);
    size.push(1);
    while (mean.length > 1 && mean[mean.length - 2] > mean[mean.length - 1]) {
      const w = weight[weight.length - 2] + weight[weight.length - 1];
      const m =
        (mean[mean.length - 2] * weight[weight.length - 2] + mean[mean.length - 1] * weight[weight.length - 1]) / w;
      const s = size[size.length - 2] + size[size.length - 1];
      mean.length -= 1;
      weight.length -= 1;
      size.length -= 1;
      mean[mean.length - 1] = m;
      weight[weight.length - 1] = w;
      size[size.length - 1] = s;
    }
  }
  const fitted = new Float64Array(xs.length);
  let at = 0;
  mean.forEach((m, b) => {
    fitted.fill(m, at, at + size[b]);
    at += size[b];
  });
  return { x: Float64Array.from(xs), y: fitted };
}

/** The fitted function at `v`: linear between the fitted points, the end values beyond them. */
export function isotonicPredict(fit: IsotonicFit, v: number): number {
  const { x, y } = fit;
  const last = x.length - 1;
  if (!(v > x[0])) return y[0];
  if (v >= x[last]) return y[last];
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= v) lo = mid;
    else hi = mid;
  }
  return y[lo] + ((y[hi] - y[lo]) * (v - x[lo])) / (x[hi] - x[lo]);
}
