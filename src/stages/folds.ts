import { createRng } from '../util/rng.js';

/**
 * Each row's fold of `folds` for a cross-validation inside a stage's fit: every class's samples shuffled (seeded, so a
 * refit gives the same model) and dealt out in turn, so each fold holds each class. Classes are taken in label order,
 * so labels relabelled in the same order get the same folds. With `groups` (a sample and its augmented copies share
 * one), a sample is a group: all its rows go to the same fold, under the label of its first row.
 */
export function stratifiedFolds(y: Uint8Array, folds: number, seed: number, groups?: Int32Array): Int32Array {
  const group = groups ?? Int32Array.from(y.keys());
  const rng = createRng(seed);
  const byClass = new Map<number, number[]>();
  const seen = new Set<number>();
  y.forEach((label, i) => {
    if (seen.has(group[i])) return;
    seen.add(group[i]);
    const samples = byClass.get(label);
    if (samples) samples.push(group[i]);
    else byClass.set(label, [group[i]]);
  });
  const foldOf = new Map<number, number>();
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const samples = rng.shuffle(Int32Array.from(byClass.get(label)!));
    samples.forEach((sample, t) => foldOf.set(sample, t % folds));
  }
  return Int32Array.from(group, (g) => foldOf.get(g)!);
}

/** The groups of the rows `rows` (undefined stays undefined). */
export function takeGroups(groups: Int32Array | undefined, rows: readonly number[]): Int32Array | undefined {
  return groups && Int32Array.from(rows, (r) => groups[r]);
}

/** The rows in fold `f` and the others. */
export function foldRows(fold: Int32Array, f: number): { train: number[]; held: number[] } {
  const train: number[] = [];
  const held: number[] = [];
  for (let i = 0; i < fold.length; i++) (fold[i] === f ? held : train).push(i);
  return { train, held };
}
