/**
 * Exact nearest neighbours by a k-d tree: built once over the training rows (median splits on the widest feature,
 * bounding boxes on the leading features), searched depth-first per query with box pruning and partial distances.
 */
import type { Matrix } from './matrix.js';
import { emptyNeighbours, finishDistances, insertNeighbour, type Metric, type Neighbours } from './neighbours.js';

/** A k-d tree over the training rows (all arrays in shared memory, so workers read it without copies). */
export interface KdTree {
  /** Features of a row (queries have the same, in their original order). */
  features: number;
  /** Training rows in leaf order, features in `order`. */
  train: Float32Array;
  /** Original index of each stored row. */
  rowIndex: Int32Array;
  /** Feature order: decreasing variance (ties: lower feature first); distances are summed in this order. */
  order: Int32Array;
  /** Per node: split feature (a position in `order`), or −1 for a leaf. */
  dim: Int32Array;
  /** Per node: split value; the left child's rows have values ≤ it, the right child's ≥ it. */
  split: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Per node: its rows, [lo, hi) of `train`. */
  lo: Int32Array;
  hi: Int32Array;
  /** Features (the first in `order`) that node boxes cover. */
  boxDims: number;
  /** Per node: bounding box of its rows on the first boxDims features, node·boxDims + feature. */
  boxLo: Float32Array;
  boxHi: Float32Array;
}

const LEAF_SIZE = 32;
const BOX_DIMS = 8;
/** Rows whose spread chooses a large node's split feature. */
const SPREAD_SAMPLE = 256;

type SharedArray = Int32Array | Float32Array | Float64Array;
type SharedArrayType<T extends SharedArray> = { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number };

/** A zero-filled typed array of `length` values in shared memory. */
function shared<T extends SharedArray>(Type: SharedArrayType<T>, length: number): T {
  return new Type(new SharedArrayBuffer(Math.max(1, length) * Type.BYTES_PER_ELEMENT)).subarray(0, length) as T;
}

/** `values` copied into shared memory. */
function sharedFrom<T extends SharedArray>(Type: SharedArrayType<T>, values: ArrayLike<number>): T {
  const out = shared(Type, values.length);
  out.set(values);
  return out;
}

/**
 * Builds the tree: each node splits its rows at the median of the feature with the widest spread (ties: the lower
 * row index goes left), down to leaves of at most LEAF_SIZE rows. Deterministic.
 */
export function buildKdTree(X: Matrix, leafSize = LEAF_SIZE, boxDims = BOX_DIMS, spreadSample = SPREAD_SAMPLE): KdTree {
  const { rows: n, cols: d, data } = X;
  const bd = Math.min(d, boxDims);
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) mean[f] += data[i * d + f];
  for (let f = 0; f < d; f++) mean[f] /= n;
  for (let i = 0; i < n; i++) {
    for (let f = 0; f < d; f++) {
      const v = data[i * d + f] - mean[f];
      m2[f] += v * v;
    }
  }
  const order = sharedFrom(
    Int32Array,
    Array.from({ length: d }, (_, f) => f).sort((a, b) => m2[b] - m2[a] || a - b),
  );
  // features reordered, rows as given
  const P = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) P[i * d + j] = data[i * d + order[j]];
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const dim: number[] = [];
  const split: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const lo: number[] = [];
  const hi: number[] = [];
  const boxes: Float32Array[] = [];
  const min = new Float64Array(d);
  const max = new Float64Array(d);
  const less = (a: number, b: number, s: number): boolean => {
    const va = P[a * d + s];
    const vb = P[b * d + s];
    return va < vb || (va === vb && a < b);
  };
  // puts the row of rank `kth` (by (value on s, row)) at perm[kth], smaller ones before, larger after
  const select = (from: number, to: number, kth: number, s: number): void => {
    let l = from;
    let r = to - 1;
    while (r > l) {
      const m = (l + r) >>> 1;
      // median of three: order a ≤ b, then a c below b makes the median max(a, c)
      let a = perm[l];
      let b = perm[m];
      const c = perm[r];
      if (less(b, a, s)) [a, b] = [b, a];
      if (less(c, b, s)) b = less(c, a, s) ? a : c;
      const pivot = b;
      let i = l;
      let j = r;
      while (i <= j) {
        while (less(perm[i], pivot, s)) i++;
        while (less(pivot, perm[j], s)) j--;
        if (i <= j) {
          const t = perm[i];
          perm[i] = perm[j];
          perm[j] = t;
          i++;
          j--;
        }
      }
      if (kth <= j) r = j;
      else if (kth >= i) l = i;
      else return;
    }
  };
  /** min/max of rows [from, to): the first bd features over every row, the others over every stride-th row. */
  const spread = (from: number, to: number, stride: number): void => {
    min.fill(Infinity);
    max.fill(-Infinity);
    for (let t = from; t < to; t++) {
      const o = perm[t] * d;
      const width = (t - from) % stride === 0 ? d : bd;
      for (let j = 0; j < width; j++) {
        const v = P[o + j];
        if (v < min[j]) min[j] = v;
        if (v > max[j]) max[j] = v;
      }
    }
  };
  const build = (from: number, to: number): number => {
    const id = dim.length;
    dim.push(-1);
    split.push(0);
    left.push(-1);
    right.push(-1);
    lo.push(from);
    hi.push(to);
    // the box (first bd features) from every row; the spread of the other features, which only chooses the split,
    // from every stride-th row of a large node (about SPREAD_SAMPLE of them: the build was a full scan per level)
    const stride = Math.max(1, Math.floor((to - from) / spreadSample));
    spread(from, to, stride);
    const box = new Float32Array(2 * bd);
    box.set(min.subarray(0, bd));
    box.set(max.subarray(0, bd), bd);
    boxes.push(box);
    if (to - from <= leafSize) return id;
    let s = 0;
    for (let j = 1; j < d; j++) if (max[j] - min[j] > max[s] - min[s]) s = j;
    if (!(max[s] - min[s] > 0) && stride > 1) {
      spread(from, to, 1); // the sample saw no spread: look at every row before making a leaf of them
      for (let j = 1; j < d; j++) if (max[j] - min[j] > max[s] - min[s]) s = j;
    }
    if (!(max[s] - min[s] > 0)) return id; // all rows equal: one leaf
    const mid = (from + to) >>> 1;
    select(from, to, mid, s);
    dim[id] = s;
    split[id] = P[perm[mid] * d + s];
    left[id] = build(from, mid);
    right[id] = build(mid, to);
    return id;
  };
  build(0, n);
  const train = shared(Float32Array, n * d);
  for (let i = 0; i < n; i++) train.set(P.subarray(perm[i] * d, perm[i] * d + d), i * d);
  const nodes = dim.length;
  const boxLo = shared(Float32Array, nodes * bd);
  const boxHi = shared(Float32Array, nodes * bd);
  boxes.forEach((box, id) => {
    boxLo.set(box.subarray(0, bd), id * bd);
    boxHi.set(box.subarray(bd), id * bd);
  });
  return {
    features: d,
    train,
    rowIndex: sharedFrom(Int32Array, perm),
    order,
    dim: sharedFrom(Int32Array, dim),
    split: sharedFrom(Float64Array, split),
    left: sharedFrom(Int32Array, left),
    right: sharedFrom(Int32Array, right),
    lo: sharedFrom(Int32Array, lo),
    hi: sharedFrom(Int32Array, hi),
    boxDims: bd,
    boxLo,
    boxHi,
  };
}

/** The rows of X in the order of the leaves they fall in (descending by split values; ties keep row order). */
export function leafOrder(tree: KdTree, X: Matrix): number[] {
  const { dim, split, left, right, order } = tree;
  const d = X.cols;
  const leaf = new Int32Array(X.rows);
  for (let i = 0; i < X.rows; i++) {
    let node = 0;
    while (dim[node] >= 0) node = X.data[i * d + order[dim[node]]] < split[node] ? left[node] : right[node];
    leaf[i] = node;
  }
  return Array.from({ length: X.rows }, (_, i) => i).sort((a, b) => leaf[a] - leaf[b] || a - b);
}

/**
 * Pool task: exact k nearest training rows of each query, nearest first, ties to the lower training index.
 * Depth-first k-d tree search (near child first); a node is skipped when the distance to its rows' bounding box
 * exceeds the current k-th best distance, and in a leaf a row's distance stops being summed once the partial sum
 * exceeds it. Sums of non-negative terms never decrease in floating point, so no row that belongs in the k best is
 * skipped, and the result is the k smallest (distance, training index) pairs, whatever the visiting order.
 * Distances: Σ(q − t)² (returned square-rooted) or Σ|q − t|, summed over features in the tree's order.
 */
export function knnTreeTask(
  tree: KdTree,
  queries: Float32Array,
  nQuery: number,
  k: number,
  metric: Metric,
): Neighbours {
  const { features: d, train, rowIndex, order, dim, split, left, right, lo, hi, boxLo, boxHi, boxDims: bd } = tree;
  const euclidean = metric === 'euclidean';
  const best = emptyNeighbours(nQuery, k);
  const { index: bestI, distance: bestD } = best;
  const q = new Float64Array(d);
  const stack = new Int32Array(Math.max(64, 2 * dim.length)); // depth-first: at most one pending sibling per level
  for (let qi = 0; qi < nQuery; qi++) {
    for (let j = 0; j < d; j++) q[j] = queries[qi * d + order[j]];
    const at = qi * k; // this query's list in bestI/bestD
    let tau = Infinity; // k-th best distance so far (squared for euclidean), and its training index
    let tauIdx = -1;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const node = stack[--sp];
      // Lower bound of the distance to any row in the node's box, summed in the rows' feature order: each term is
      // ≤ the row's term, so (rounding being monotone) it never exceeds a row's computed distance.
      const o = node * bd;
      let bound = 0;
      let pruned = false;
      for (let j = 0; j < bd; j++) {
        const v = q[j];
        const l = boxLo[o + j];
        let g = 0;
        if (v < l) g = l - v;
        else {
          const h = boxHi[o + j];
          if (v > h) g = v - h;
        }
        if (g !== 0) {
          bound += euclidean ? g * g : g;
          if (bound > tau) {
            pruned = true;
            break;
          }
        }
      }
      if (pruned) continue;
      const s = dim[node];
      if (s >= 0) {
        // near child on top of the stack, so it is searched first
        if (q[s] < split[node]) {
          stack[sp++] = right[node];
          stack[sp++] = left[node];
        } else {
          stack[sp++] = left[node];
          stack[sp++] = right[node];
        }
        continue;
      }
      const to = hi[node];
      for (let r = lo[node]; r < to; r++) {
        const t = r * d;
        let acc = 0;
        let j = 0;
        if (euclidean) {
          for (; j + 3 < d; j += 4) {
            const a = q[j] - train[t + j];
            const b = q[j + 1] - train[t + j + 1];
            const c = q[j + 2] - train[t + j + 2];
            const e = q[j + 3] - train[t + j + 3];
            acc += a * a;
            acc += b * b;
            acc += c * c;
            acc += e * e;
            if (acc > tau) break;
          }
          if (!(acc > tau)) {
            for (; j < d; j++) {
              const a = q[j] - train[t + j];
              acc += a * a;
            }
          }
        } else {
          for (; j + 3 < d; j += 4) {
            acc += Math.abs(q[j] - train[t + j]);
            acc += Math.abs(q[j + 1] - train[t + j + 1]);
            acc += Math.abs(q[j + 2] - train[t + j + 2]);
            acc += Math.abs(q[j + 3] - train[t + j + 3]);
            if (acc > tau) break;
          }
          if (!(acc > tau)) for (; j < d; j++) acc += Math.abs(q[j] - train[t + j]);
        }
        if (acc > tau) continue;
        const idx = rowIndex[r];
        if (acc === tau && idx > tauIdx) continue;
        insertNeighbour(bestI, bestD, at, k, acc, idx);
        tau = bestD[at + k - 1];
        tauIdx = bestI[at + k - 1];
      }
    }
  }
  return finishDistances(best, metric);
}
