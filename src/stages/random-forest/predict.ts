/** Prediction with the fitted trees: sums of leaf class fractions (soft voting), on the calling thread. */
import type { TreeArrays } from './grow.js';

/** Rows predicted together: their values stay in cache while every tree is walked. */
const PREDICT_BLOCK = 128;

/**
 * A tree's nodes packed for walking, 16 bytes each: the threshold (float64), then the feature (-1 for a leaf) and the
 * right child (for a leaf: its row in leafValue). The left child is the next node: trees are grown depth first, left
 * subtree first (grow.ts), so a step to the left usually stays in the same cache line, and a node is one cache line
 * read instead of one in each of four arrays — the walk is bound by those reads.
 */
interface PackedTree {
  threshold: Float64Array;
  links: Int32Array;
}

const packedTrees = new WeakMap<TreeArrays, PackedTree | null>();

/** The tree packed (made once and kept with it), or null when a left child is not its parent's next node. */
function packed(tree: TreeArrays): PackedTree | null {
  let p = packedTrees.get(tree);
  if (p !== undefined) return p;
  const { feature, threshold, left, right } = tree;
  const n = feature.length;
  const buffer = new ArrayBuffer(16 * n);
  p = { threshold: new Float64Array(buffer), links: new Int32Array(buffer) };
  for (let i = 0; i < n; i++) {
    if (feature[i] >= 0 && left[i] !== i + 1) {
      p = null;
      break;
    }
    p.threshold[2 * i] = threshold[i];
    p.links[4 * i + 2] = feature[i];
    p.links[4 * i + 3] = feature[i] >= 0 ? right[i] : left[i];
  }
  packedTrees.set(tree, p);
  return p;
}

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
  const packs = trees.map(packed);
  for (let b0 = r0; b0 < r1; b0 += PREDICT_BLOCK) {
    const b1 = Math.min(r1, b0 + PREDICT_BLOCK);
    for (let t = 0; t < trees.length; t++) {
      const { leafValue } = trees[t];
      const pack = packs[t];
      for (let r = b0; r < b1; r++) {
        const off = r * features;
        const leaf = (pack ? packedLeaf(pack, X, off) : leafOf(trees[t], X, off)) * classes;
        const o = (r - r0) * classes;
        for (let c = 0; c < classes; c++) out[o + c] += leafValue[leaf + c];
      }
    }
  }
  return out;
}

/** The leaf (its row in leafValue) a packed tree sends the row at X[off…] to. */
function packedLeaf({ threshold, links }: PackedTree, X: Float32Array, off: number): number {
  let node = 0;
  let f = links[2];
  while (f >= 0) {
    node = X[off + f] <= threshold[2 * node] ? node + 1 : links[4 * node + 3];
    f = links[4 * node + 2];
  }
  return links[4 * node + 3];
}

/** The same from the tree's own arrays. */
function leafOf({ feature, threshold, left, right }: TreeArrays, X: Float32Array, off: number): number {
  let node = 0;
  let f = feature[0];
  while (f >= 0) {
    node = X[off + f] <= threshold[node] ? left[node] : right[node];
    f = feature[node];
  }
  return left[node];
}
