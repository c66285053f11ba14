/** Prediction with the fitted trees: sums of leaf class fractions (soft voting), on the calling thread. */
import type { TreeArrays } from './grow.js';

/** Rows predicted together: their values stay in cache while every tree is walked. */
const PREDICT_BLOCK = 128;

/** Sums each tree's leaf class fractions for rows [r0, r1) of X (row-major, `features` wide): (r1 - r0) × classes. */
export function accumulateLeaves(
  trees: readonly TreeArrays[],
  X: Float32Array,
  features: number,
  classes: number,
  r0: number,
  r1: number,
): Float64Array {
  const out = new Float64Array((r1 - r0) * classes);
  for (let b0 = r0; b0 < r1; b0 += PREDICT_BLOCK) {
    const b1 = Math.min(r1, b0 + PREDICT_BLOCK);
    for (const tree of trees) {
      const { feature, threshold, left, right, leafValue } = tree;
      for (let r = b0; r < b1; r++) {
        const off = r * features;
        let node = 0;
        let f = feature[0];
        while (f >= 0) {
          node = X[off + f] <= threshold[node] ? left[node] : right[node];
          f = feature[node];
        }
        const leaf = left[node] * classes;
        const o = (r - r0) * classes;
        for (let c = 0; c < classes; c++) out[o + c] += leafValue[leaf + c];
      }
    }
  }
  return out;
}
