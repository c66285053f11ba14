/**
 * Growing one CART tree (Gini, best split, max_features drawn afresh at each node as scikit-learn's BestSplitter does,
 * skipping features found constant) over the binned data, returned as flat typed arrays. A pure function of its
 * arguments: the same inputs give the same tree on any thread (growTree is a pool task of random-forest-worker.ts).
 */
import { Arena } from '../../runtime/wasm.js';
import { MAX_BINS, type BinnedData } from './bins.js';

export interface TreeOptions {
  /** Depth limit; Infinity for fully grown trees. */
  maxDepth: number;
  /** Features to examine per split (already resolved against the feature count). */
  maxFeatures: number;
  minSamplesLeaf: number;
  bootstrap: boolean;
}

/**
 * A fitted tree as flat arrays. Node 0 is the root. For a split node: x[feature] <= threshold goes to `left`, else to
 * `right`. For a leaf: feature = -1 and left is the leaf's row in `leafValue` (leaves × classes, class fractions).
 */
export interface TreeArrays {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  leafValue: Float32Array;
}

/** Int32 fields of the tree header (src/wasm/forest.ts names them). */
const TREE_HEADER_FIELDS = 19;
const H = {
  rows: 0,
  features: 1,
  classes: 2,
  codes: 3,
  codesByRow: 4,
  y: 5,
  maxDepth: 6,
  maxFeatures: 7,
  minLeaf: 8,
  bootstrap: 9,
  scratch: 10,
  nodes: 11,
  leaves: 12,
  feature: 13,
  left: 14,
  right: 15,
  lastLeft: 16,
  firstRight: 17,
  leafValue: 18,
} as const;

/**
 * Grows one tree on the binned data; `seed` drives the bootstrap and every feature draw. The tree is grown by the
 * WebAssembly kernel growTree (src/wasm/forest.ts) in this thread's kernel memory, where the codes are copied once
 * per fit (data.id) and stay for the thread's later trees.
 */
export function growTree(data: BinnedData, opts: TreeOptions, seed: number): TreeArrays {
  const { rows: n, features: p, classes: C } = data;
  const { arena, loaded } = Arena.resident(data.id);
  const codesAt = arena.reserve(n * p);
  const byRowAt = arena.reserve(n * p);
  const yAt = arena.reserve(n);
  if (!loaded) {
    arena.u8(codesAt, n * p).set(data.codes);
    arena.u8(byRowAt, n * p).set(data.codesByRow);
    arena.u8(yAt, n).set(data.y);
    Arena.markResident(data.id);
  }
  const kernels = arena.kernels;
  const headerAt = arena.reserve(TREE_HEADER_FIELDS * 4);
  const scratchAt = arena.reserve(kernels.treeScratchBytes(n, p, C));
  const header = arena.i32(headerAt, TREE_HEADER_FIELDS);
  header[H.rows] = n;
  header[H.features] = p;
  header[H.classes] = C;
  header[H.codes] = codesAt;
  header[H.codesByRow] = byRowAt;
  header[H.y] = yAt;
  header[H.maxDepth] = Math.min(opts.maxDepth, 0x7fffffff);
  header[H.maxFeatures] = opts.maxFeatures;
  // more than the rows is the same as the rows (every node a leaf), and keeps the int32 field and 2·msl from overflowing
  header[H.minLeaf] = Math.min(opts.minSamplesLeaf, n);
  header[H.bootstrap] = opts.bootstrap ? 1 : 0;
  header[H.scratch] = scratchAt;
  kernels.growTree(headerAt, seed >>> 0);

  // fresh views (the kernel allocates nothing, so `header` is still valid: this only keeps the reads independent of that)
  const out = arena.i32(headerAt, TREE_HEADER_FIELDS);
  const nodes = out[H.nodes];
  const leaves = out[H.leaves];
  const feature = arena.i32(out[H.feature] >>> 0, nodes).slice();
  const lastLeft = arena.i32(out[H.lastLeft] >>> 0, nodes);
  const firstRight = arena.i32(out[H.firstRight] >>> 0, nodes);
  // Threshold halfway between the training values on either side (scikit-learn's midpoint rule).
  const threshold = new Float64Array(nodes);
  for (let id = 0; id < nodes; id++) {
    const f = feature[id];
    if (f >= 0)
      threshold[id] = (data.binHi[f * MAX_BINS + lastLeft[id]] + data.binLo[f * MAX_BINS + firstRight[id]]) / 2;
  }
  return {
    feature,
    threshold,
    left: arena.i32(out[H.left] >>> 0, nodes).slice(),
    right: arena.i32(out[H.right] >>> 0, nodes).slice(),
    leafValue: arena.f32(out[H.leafValue] >>> 0, leaves * C).slice(),
  };
}
