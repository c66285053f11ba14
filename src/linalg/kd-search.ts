/**
 * The k-d tree search (a pool task): each worker copies the tree (kd-tree.ts) into its kernel memory once and searches
 * it with the WebAssembly kernel kdSearch (src/wasm/kd-search.ts): depth-first with box pruning and partial distances.
 */
import type { KdTree } from './kd-tree.js';
import { finishDistances, type Metric, type Neighbours } from './neighbours.js';
import { Arena } from '../runtime/wasm.js';

/** Queries per call of the search kernel (see knnTreeTask). */
const SEARCH_SLICE = 32;

/** Header fields of the tree in kernel memory (the order src/wasm/kd-search.ts reads them in). */
const HEADER_FIELDS = 15;

/**
 * Lays the tree out in kernel memory (the same regions in the same order every time) and copies it there unless this
 * thread's memory still holds it from an earlier task. Returns the arena (for the task's own regions) and the header.
 */
function residentTree(tree: KdTree): { arena: Arena; header: number } {
  const { arena, loaded } = Arena.resident(tree.id);
  const nodes = tree.dim.length;
  const header = arena.reserve(HEADER_FIELDS * 4);
  const regions = [
    arena.reserve(nodes * 4), // dim
    arena.reserve(nodes * 8), // split
    arena.reserve(nodes * 4), // left
    arena.reserve(nodes * 4), // right
    arena.reserve(nodes * 4), // leafAt
    arena.reserve(nodes * 4), // lo
    arena.reserve(nodes * 4), // row count
    arena.reserve(tree.boxLo.length * 4),
    arena.reserve(tree.boxHi.length * 4),
    arena.reserve(tree.rowIndex.length * 4),
    arena.reserve(tree.order.length * 4),
    arena.reserve(tree.leafData.length * 4),
  ];
  if (!loaded) {
    const [dimAt, splitAt, leftAt, rightAt, leafAtAt, loAt, countAt, boxLoAt, boxHiAt, rowAt, orderAt, dataAt] =
      regions;
    arena.i32(header, HEADER_FIELDS).set([tree.features, tree.boxDims, nodes, ...regions]);
    arena.i32(dimAt, nodes).set(tree.dim);
    arena.f64(splitAt, nodes).set(tree.split);
    arena.i32(leftAt, nodes).set(tree.left);
    arena.i32(rightAt, nodes).set(tree.right);
    arena.i32(leafAtAt, nodes).set(tree.leafAt);
    arena.i32(loAt, nodes).set(tree.lo);
    const count = arena.i32(countAt, nodes);
    for (let id = 0; id < nodes; id++) count[id] = tree.hi[id] - tree.lo[id];
    arena.f32(boxLoAt, tree.boxLo.length).set(tree.boxLo);
    arena.f32(boxHiAt, tree.boxHi.length).set(tree.boxHi);
    arena.i32(rowAt, tree.rowIndex.length).set(tree.rowIndex);
    arena.i32(orderAt, tree.order.length).set(tree.order);
    arena.f32(dataAt, tree.leafData.length).set(tree.leafData);
    Arena.markResident(tree.id);
  }
  return { arena, header };
}

/**
 * Pool task: exact k nearest training rows of each query, nearest first, ties to the lower training index.
 * Depth-first k-d tree search (near child first); a node is skipped when the distance to its rows' bounding box
 * exceeds the current k-th best distance, and in a leaf eight rows stop being summed once each partial sum exceeds it.
 * Sums of non-negative terms never decrease in floating point, so no row that belongs in the k best is skipped, and
 * the result is the k smallest (distance, training index) pairs, whatever the visiting order. Distances: Σ(q − t)²
 * (returned square-rooted) or Σ|q − t|, each summed in float64 over features in the tree's order.
 */
export function knnTreeTask(
  tree: KdTree,
  queries: Float32Array,
  nQuery: number,
  k: number,
  metric: Metric,
): Neighbours {
  const { arena, header } = residentTree(tree);
  const d = tree.features;
  const queriesAt = arena.reserve(nQuery * d * 4);
  const indexAt = arena.reserve(nQuery * k * 4);
  const distanceAt = arena.reserve(nQuery * k * 8);
  const scratch = arena.reserve(d * 32 + 64 + (2 * tree.dim.length + 64) * 4);
  arena.f32(queriesAt, nQuery * d).set(queries.subarray(0, nQuery * d));
  // in slices: a WebAssembly function runs its first calls in V8's baseline code, so one long first call would run
  // the whole task there (about half the speed); short calls let the optimized code take over after a few
  for (let q0 = 0; q0 < nQuery; q0 += SEARCH_SLICE) {
    const rows = Math.min(SEARCH_SLICE, nQuery - q0);
    arena.kernels.kdSearch(
      header,
      queriesAt + q0 * d * 4,
      rows,
      k,
      metric === 'manhattan' ? 1 : 0,
      indexAt + q0 * k * 4,
      distanceAt + q0 * k * 8,
      scratch,
    );
  }
  return finishDistances(
    { k, index: arena.i32(indexAt, nQuery * k).slice(), distance: arena.f64(distanceAt, nQuery * k).slice() },
    metric,
  );
}
