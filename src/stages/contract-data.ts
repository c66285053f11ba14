import { matrix, takeRows, type Matrix } from '../linalg/matrix.js';
import { createRng } from '../util/rng.js';

/** The data the checks use: overlapping blobs of whole numbers (distances and votes tie, as pixels do). */
export interface ContractData {
  /** Training rows (the first rows of `queries`, so queries include exact matches). */
  train: { X: Matrix; y: Uint8Array };
  /** Rows to transform or predict: more than one 512- or 1024-row chunk, so batches are split differently. */
  queries: Matrix;
  classes: number;
}

/** 1,300 rows of 36 whole-number features (a 6×6 image each) in 3 overlapping blobs; the first 150 train. */
export function contractData(seed = 11): ContractData {
  const rows = 1300;
  const features = 36;
  const classes = 3;
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
  const centres = Array.from({ length: classes }, () => Array.from({ length: features }, () => gauss() * 5));
  const X = new Float32Array(rows * features);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    y[i] = i % classes;
    for (let j = 0; j < features; j++) X[i * features + j] = Math.round(centres[y[i]][j] + gauss() * 3);
  }
  const queries = matrix(rows, features, X);
  const train = 150;
  return { train: { X: takeRows(queries, range(train)), y: y.slice(0, train) }, queries, classes };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
