import { createRng } from '../../util/rng.js';

/** Which images the pictures show: pure choices over labels, predictions and confidences (row indices out). */

/** Up to `perClass` row indices of each class 0..nClasses−1, drawn at random with `seed` (order of drawing kept). */
export function sampleByClass(y: ArrayLike<number>, nClasses: number, perClass: number, seed: number): number[][] {
  const byClass: number[][] = Array.from({ length: nClasses }, () => []);
  for (let i = 0; i < y.length; i++) if (y[i] < nClasses) byClass[y[i]].push(i);
  const rng = createRng(seed);
  return byClass.map((rows) => {
    const pick = Int32Array.from(rows);
    // Partial Fisher–Yates: the first `perClass` entries are a uniform sample.
    const n = Math.min(perClass, pick.length);
    for (let i = 0; i < n; i++) {
      const j = i + rng.int(pick.length - i);
      const tmp = pick[i];
      pick[i] = pick[j];
      pick[j] = tmp;
    }
    return Array.from(pick.subarray(0, n));
  });
}

export interface ConfusionCell {
  /** True class. */
  true: number;
  /** Predicted class. */
  predicted: number;
  count: number;
}

/** The `n` largest off-diagonal cells of a confusion matrix, largest first (ties: lower true, then predicted class). */
export function largestConfusions(cm: number[][], n: number): ConfusionCell[] {
  const cells: ConfusionCell[] = [];
  cm.forEach((row, t) =>
    row.forEach((count, p) => {
      if (t !== p && count > 0) cells.push({ true: t, predicted: p, count });
    }),
  );
  cells.sort((a, b) => b.count - a.count || a.true - b.true || a.predicted - b.predicted);
  return cells.slice(0, n);
}

/**
 * Rows whose true class is `trueClass` and prediction `predicted` (a mistake when they differ, a hit when equal),
 * most confident first when confidences are known (ties in row order), else the first ones in row order.
 */
export function rowsOfCell(
  labels: ArrayLike<number>,
  predictions: ArrayLike<number>,
  confidence: ArrayLike<number> | null,
  trueClass: number,
  predicted: number,
  n: number,
): number[] {
  const rows: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === trueClass && predictions[i] === predicted) rows.push(i);
  if (confidence) rows.sort((a, b) => confidence[b] - confidence[a] || a - b);
  return rows.slice(0, n);
}
