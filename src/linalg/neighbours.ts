/**
 * k-best lists of the exact nearest-neighbour searches (knn-brute.ts, kd-tree.ts): per query, k (distance, training
 * index) pairs in increasing order, ties to the lower training index.
 */

export type Metric = 'euclidean' | 'manhattan';

/** Nearest neighbours of each query row: k training indices (nearest first) and their distances, query q at q·k. */
export interface Neighbours {
  k: number;
  index: Int32Array;
  distance: Float64Array;
}

/** Empty lists for n queries: every distance Infinity, every index −1. */
export function emptyNeighbours(n: number, k: number): Neighbours {
  return { k, index: new Int32Array(n * k).fill(-1), distance: new Float64Array(n * k).fill(Infinity) };
}

/**
 * Inserts (d, i) into the sorted list at [at, at + k), dropping its last pair. The caller checks first that (d, i)
 * comes before that last pair (smaller distance, or equal distance and lower index).
 */
export function insertNeighbour(
  index: Int32Array,
  distance: Float64Array,
  at: number,
  k: number,
  d: number,
  i: number,
): void {
  let p = at + k - 1;
  while (p > at && (distance[p - 1] > d || (distance[p - 1] === d && index[p - 1] > i))) {
    distance[p] = distance[p - 1];
    index[p] = index[p - 1];
    p--;
  }
  distance[p] = d;
  index[p] = i;
}

/** The searches keep squared euclidean distances; this takes their roots once the lists are final. */
export function finishDistances(nb: Neighbours, metric: Metric): Neighbours {
  if (metric === 'euclidean') for (let i = 0; i < nb.distance.length; i++) nb.distance[i] = Math.sqrt(nb.distance[i]);
  return nb;
}
