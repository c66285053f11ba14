import { createRng } from '../util/rng.js';

export interface Fold {
  train: Int32Array;
  test: Int32Array;
}

/** Row indices of each label, in ascending order. */
function indicesByClass(y: ArrayLike<number>): number[][] {
  const byClass: number[][] = [];
  for (let i = 0; i < y.length; i++) (byClass[y[i]] ??= []).push(i);
  return byClass.filter((rows) => rows !== undefined);
}

/** The smallest number of rows any present class has (folds may not exceed it). */
export function smallestClassCount(y: ArrayLike<number>): number {
  return Math.min(...indicesByClass(y).map((rows) => rows.length));
}

/**
 * Stratified k-fold: each class's rows are shuffled with the seed and dealt round-robin to the folds, continuing the
 * rotation from class to class so fold sizes differ by at most one. Every row lands in exactly one test fold.
 * Index arrays are sorted ascending.
 */
export function stratifiedKFold(y: ArrayLike<number>, k: number, seed: number): Fold[] {
  if (!Number.isInteger(k) || k < 2) throw new Error(`stratifiedKFold: folds must be an integer ≥ 2, got ${k}`);
  const smallest = smallestClassCount(y);
  if (k > smallest) throw new Error(`stratifiedKFold: ${k} folds but the smallest class has only ${smallest} rows`);
  const rng = createRng(seed);
  const assignment = new Int32Array(y.length);
  let next = 0;
  for (const rows of indicesByClass(y)) {
    rng.shuffle(rows);
    for (const r of rows) {
      assignment[r] = next;
      next = (next + 1) % k;
    }
  }
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const test: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < y.length; i++) (assignment[i] === f ? test : train).push(i);
    folds.push({ train: Int32Array.from(train), test: Int32Array.from(test) });
  }
  return folds;
}

/**
 * A stratified subset of `size` rows (class proportions kept; largest remainders settle rounding), chosen with the
 * seed and returned in ascending order. `size` ≥ the row count returns every row.
 */
export function stratifiedSubset(y: ArrayLike<number>, size: number, seed: number): Int32Array {
  if (size >= y.length) return Int32Array.from({ length: y.length }, (_, i) => i);
  const byClass = indicesByClass(y);
  const exact = byClass.map((rows) => (rows.length * size) / y.length);
  const take = exact.map(Math.floor);
  let missing = size - take.reduce((a, b) => a + b, 0);
  const order = exact.map((e, c) => ({ c, rem: e - Math.floor(e) })).sort((a, b) => b.rem - a.rem || a.c - b.c);
  for (const { c } of order) {
    if (missing === 0) break;
    if (take[c] < byClass[c].length) {
      take[c]++;
      missing--;
    }
  }
  const rng = createRng(seed);
  const chosen: number[] = [];
  byClass.forEach((rows, c) => {
    const copy = rows.slice();
    rng.shuffle(copy);
    chosen.push(...copy.slice(0, take[c]));
  });
  return Int32Array.from(chosen.sort((a, b) => a - b));
}
