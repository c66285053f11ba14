/**
 * Exact nearest neighbours by a k-d tree: built here once over the training rows (median splits on the widest feature,
 * bounding boxes on the leading features); searched by kd-search.ts.
 */
import { randomUUID } from 'node:crypto';
import { matrix, type Matrix } from './matrix.js';

/** A k-d tree over the training rows (all arrays in shared memory, so workers read it without copies). */
export interface KdTree {
  /** Names this tree in a worker's kernel memory (where it is copied once, then searched by task after task). */
  id: string;
  /** Features of a row (queries have the same, in their original order). */
  features: number;
  /** Original index of each stored row (rows are stored leaf by leaf). */
  rowIndex: Int32Array;
  /** Feature order: decreasing variance (ties: lower feature first); distances are summed in this order. */
  order: Int32Array;
  /** Per node: split feature (a position in `order`), or −1 for a leaf. */
  dim: Int32Array;
  /** Per node: split value; the left child's rows have values ≤ it, the right child's ≥ it. */
  split: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Per node: its rows, [lo, hi) of `rowIndex`. */
  lo: Int32Array;
  hi: Int32Array;
  /**
   * Per leaf: where its rows start in `leafData`, stored feature-major: feature j (in `order`) of the leaf's row r at
   * leafAt + j·c8 + r, c8 = its row count rounded up to 8 (padding rows hold PAD). −1 for inner nodes.
   */
  leafAt: Int32Array;
  leafData: Float32Array;
  /** Features (the first in `order`) that node boxes cover. */
  boxDims: number;
  /** Per node: bounding box of its rows on the first boxDims features, node·boxDims + feature. */
  boxLo: Float32Array;
  boxHi: Float32Array;
}

/** The value of a leaf's padding rows: far from any query, so their eight-row group stops early (never reported). */
const PAD = 1e15;
const LEAF_SIZE = 128;
const BOX_DIMS = 8;
/** Rows whose spread chooses a large node's split feature. */
const SPREAD_SAMPLE = 256;
const EMPTY_BOX = new Float32Array(0);

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
  // the split feature's value of each row being selected, kept beside perm: the partitioning then reads two arrays in
  // order instead of rows all over P (cache misses would otherwise dominate the build)
  const keys = new Float64Array(n);
  // puts the row of rank `kth` (by (value on s, row)) at perm[kth], smaller ones before, larger after
  const select = (from: number, to: number, kth: number, s: number): void => {
    for (let t = from; t < to; t++) keys[t] = P[perm[t] * d + s];
    const before = (x: number, y: number): boolean => keys[x] < keys[y] || (keys[x] === keys[y] && perm[x] < perm[y]);
    let l = from;
    let r = to - 1;
    while (r > l) {
      // median of three: order a ≤ b, then a c below b makes the median max(a, c)
      let a = l;
      let b = (l + r) >>> 1;
      const c = r;
      if (before(b, a)) [a, b] = [b, a];
      if (before(c, b)) b = before(c, a) ? a : c;
      const pv = keys[b];
      const pi = perm[b];
      let i = l;
      let j = r;
      while (i <= j) {
        while (keys[i] < pv || (keys[i] === pv && perm[i] < pi)) i++;
        while (pv < keys[j] || (pv === keys[j] && pi < perm[j])) j--;
        if (i <= j) {
          const tk = keys[i];
          keys[i] = keys[j];
          keys[j] = tk;
          const tp = perm[i];
          perm[i] = perm[j];
          perm[j] = tp;
          i++;
          j--;
        }
      }
      if (kth <= j) r = j;
      else if (kth >= i) l = i;
      else return;
    }
  };
  /** min/max of every feature over every stride-th row of [from, to). */
  const spread = (from: number, to: number, stride: number): void => {
    min.fill(Infinity);
    max.fill(-Infinity);
    for (let t = from; t < to; t += stride) {
      const o = perm[t] * d;
      for (let j = 0; j < d; j++) {
        const v = P[o + j];
        if (v < min[j]) min[j] = v;
        if (v > max[j]) max[j] = v;
      }
    }
  };
  /** The bounding box of a leaf's rows on the first bd features (lows, then highs). */
  const leafBox = (from: number, to: number): Float32Array => {
    const box = new Float32Array(2 * bd).fill(Infinity);
    box.fill(-Infinity, bd);
    for (let t = from; t < to; t++) {
      const o = perm[t] * d;
      for (let j = 0; j < bd; j++) {
        const v = P[o + j];
        if (v < box[j]) box[j] = v;
        if (v > box[bd + j]) box[bd + j] = v;
      }
    }
    return box;
  };
  const build = (from: number, to: number): number => {
    const id = dim.length;
    dim.push(-1);
    split.push(0);
    left.push(-1);
    right.push(-1);
    lo.push(from);
    hi.push(to);
    boxes.push(EMPTY_BOX);
    if (to - from <= leafSize) {
      boxes[id] = leafBox(from, to);
      return id;
    }
    // the split feature: the widest spread over about SPREAD_SAMPLE of the node's rows
    const stride = Math.max(1, Math.floor((to - from) / spreadSample));
    spread(from, to, stride);
    let s = 0;
    for (let j = 1; j < d; j++) if (max[j] - min[j] > max[s] - min[s]) s = j;
    if (!(max[s] - min[s] > 0) && stride > 1) {
      spread(from, to, 1); // the sample saw no spread: look at every row before making a leaf of them
      for (let j = 1; j < d; j++) if (max[j] - min[j] > max[s] - min[s]) s = j;
    }
    if (!(max[s] - min[s] > 0)) {
      boxes[id] = leafBox(from, to); // all rows equal: one leaf
      return id;
    }
    const mid = (from + to) >>> 1;
    select(from, to, mid, s);
    dim[id] = s;
    split[id] = P[perm[mid] * d + s];
    left[id] = build(from, mid);
    right[id] = build(mid, to);
    // an inner node's box is the union of its children's
    const box = new Float32Array(2 * bd);
    const [bl, br] = [boxes[left[id]], boxes[right[id]]];
    for (let j = 0; j < bd; j++) {
      box[j] = Math.min(bl[j], br[j]);
      box[bd + j] = Math.max(bl[bd + j], br[bd + j]);
    }
    boxes[id] = box;
    return id;
  };
  build(0, n);
  const nodes = dim.length;
  const leafAt = shared(Int32Array, nodes).fill(-1);
  let floats = 0;
  for (let id = 0; id < nodes; id++) {
    if (dim[id] >= 0) continue;
    leafAt[id] = floats;
    floats += ((hi[id] - lo[id] + 7) & ~7) * d;
  }
  const leafData = shared(Float32Array, floats).fill(PAD);
  for (let id = 0; id < nodes; id++) {
    if (dim[id] >= 0) continue;
    const c8 = (hi[id] - lo[id] + 7) & ~7;
    for (let r = lo[id]; r < hi[id]; r++) {
      const o = perm[r] * d;
      const at = leafAt[id] + r - lo[id];
      for (let j = 0; j < d; j++) leafData[at + j * c8] = P[o + j];
    }
  }
  const boxLo = shared(Float32Array, nodes * bd);
  const boxHi = shared(Float32Array, nodes * bd);
  boxes.forEach((box, id) => {
    boxLo.set(box.subarray(0, bd), id * bd);
    boxHi.set(box.subarray(bd), id * bd);
  });
  return {
    id: randomUUID(),
    features: d,
    rowIndex: sharedFrom(Int32Array, perm),
    order,
    dim: sharedFrom(Int32Array, dim),
    split: sharedFrom(Float64Array, split),
    left: sharedFrom(Int32Array, left),
    right: sharedFrom(Int32Array, right),
    lo: sharedFrom(Int32Array, lo),
    hi: sharedFrom(Int32Array, hi),
    leafAt,
    leafData,
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

/** The training rows in their original order and feature order, read back from the tree. */
export function treeRows(tree: KdTree): Matrix {
  const { features: d, dim, lo, hi, leafAt, leafData, rowIndex, order } = tree;
  const X = matrix(rowIndex.length, d);
  for (let id = 0; id < dim.length; id++) {
    if (dim[id] >= 0) continue;
    const c8 = (hi[id] - lo[id] + 7) & ~7;
    for (let r = lo[id]; r < hi[id]; r++) {
      const o = rowIndex[r] * d;
      const at = leafAt[id] + r - lo[id];
      for (let j = 0; j < d; j++) X.data[o + order[j]] = leafData[at + j * c8];
    }
  }
  return X;
}
