import { createRng } from '../util/rng.js';

/**
 * Each row's fold of `folds` for a cross-validation inside a stage's fit: every class's rows shuffled (seeded, so a
 * refit gives the same model) and dealt out in turn, so each fold holds each class. Classes are taken in label order,
 * so labels relabelled in the same order get the same folds.
 */
export function stratifiedFolds(y: Uint8Array, folds: number, seed: number): Int32Array {
  const fold = new Int32Array(y.length);
  const rng = createRng(seed);
  const byClass = new Map<number, number[]>();
  y.forEach((label, i) => {
    const rows = byClass.get(label);
    if (rows) rows.push(i);
    else byClass.set(label, [i]);
  });
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const rows = rng.shuffle(Int32Array.from(byClass.get(label)!));
    rows.forEach((row, t) => (fold[row] = t % folds));
  }
  return fold;
}

/** The rows in fold `f` and the others. */
export function foldRows(fold: Int32Array, f: number): { train: number[]; held: number[] } {
  const train: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < fold.length; i++) (fold[i] === f ? held : train).push(i);
  return { train, held };
}
