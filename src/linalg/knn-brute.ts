/**
 * Exact nearest neighbours by computing every distance: register-blocked kernels over blocks of queries × training
 * rows (euclidean as ‖q‖² + ‖t‖² − 2·q·t), then a partial selection of the k best per query.
 */
import { dotBlock, manhattanBlock, squaredNorms } from './kernels.js';
import type { Matrix } from './matrix.js';
import { emptyNeighbours, finishDistances, insertNeighbour, type Metric, type Neighbours } from './neighbours.js';
import { sharedFloat32 } from '../runtime/pool.js';

/** The training rows as the search reads them (in shared memory, so workers read them without copies). */
export interface BruteIndex {
  rows: number;
  features: number;
  /** The training rows, as given. */
  train: Float32Array;
  /** Squared norms of the training rows (euclidean; empty for manhattan). */
  norms: Float64Array;
}

/** A private shared copy of X (later changes to X do not leak in), with its squared norms for euclidean. */
export function buildBruteIndex(X: Matrix, metric: Metric): BruteIndex {
  const train = sharedFloat32(X.data.slice());
  let norms: Float64Array = new Float64Array(0);
  if (metric === 'euclidean') {
    norms = new Float64Array(new SharedArrayBuffer(X.rows * 8));
    squaredNorms(train, 0, X.rows, X.cols, norms);
  }
  return { rows: X.rows, features: X.cols, train, norms };
}

/** Training rows per block: a block (at 50–100 features) stays in the L2 cache while query blocks stream over it. */
const TRAIN_BLOCK = 1024;
const QUERY_BLOCK = 16;

/**
 * Pool task: the k nearest training rows of each query row, nearest first, ties to the lower training index.
 * Euclidean distances come from ‖q‖² + ‖t‖² − 2·q·t (blocked dot products), clamped at 0, then square-rooted;
 * a partial selection keeps the k best per query (insertion into a sorted list of k).
 */
export function knnSearchTask(
  index: BruteIndex,
  queries: Float32Array,
  nQuery: number,
  k: number,
  metric: Metric,
): Neighbours {
  const { train, norms, rows: nTrain, features: d } = index;
  const best = emptyNeighbours(nQuery, k);
  const { index: bestI, distance: bestD } = best;
  const qNorms = new Float64Array(nQuery);
  const euclidean = metric === 'euclidean';
  if (euclidean) squaredNorms(queries, 0, nQuery, d, qNorms);
  const tile = new Float64Array(QUERY_BLOCK * TRAIN_BLOCK);
  for (let t0 = 0; t0 < nTrain; t0 += TRAIN_BLOCK) {
    const t1 = Math.min(nTrain, t0 + TRAIN_BLOCK);
    const tn = t1 - t0;
    for (let q0 = 0; q0 < nQuery; q0 += QUERY_BLOCK) {
      const q1 = Math.min(nQuery, q0 + QUERY_BLOCK);
      if (euclidean) dotBlock(queries, q0, q1, train, t0, t1, d, tile, 0, tn);
      else manhattanBlock(queries, q0, q1, train, t0, t1, d, tile, 0, tn);
      for (let q = q0; q < q1; q++) {
        const o = (q - q0) * tn;
        const b = q * k;
        const qn = qNorms[q];
        let worst = bestD[b + k - 1];
        for (let j = 0; j < tn; j++) {
          let dist = tile[o + j];
          if (euclidean) {
            dist = qn + norms[t0 + j] - 2 * dist;
            if (dist < 0) dist = 0;
          }
          // rows come in increasing index order, so an equal distance already listed has the lower index
          if (dist < worst) {
            insertNeighbour(bestI, bestD, b, k, dist, t0 + j);
            worst = bestD[b + k - 1];
          }
        }
      }
    }
  }
  return finishDistances(best, metric);
}
