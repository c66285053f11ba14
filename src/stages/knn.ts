import { createRequire } from 'node:module';
import { z } from 'zod';
import { dotBlock, manhattanBlock, squaredNorms } from '../linalg/kernels.js';
import { labelCount, matrix, toNested, type Matrix } from '../linalg/matrix.js';
import { runAll, sharedFloat32, workerCount } from '../linalg/pool.js';
import { BaseStage, checkFeatures, checkXy, ParamRangeError, type Estimator, type StageSpec } from './stage.js';

export const KnnParams = z
  .object({
    /** Neighbours that vote (≤ the rows it is fitted on). */
    k: z.number().int().min(1).default(5),
    /** uniform: one vote each; distance: votes weigh 1/distance, and exact matches take all the weight (scikit-learn). */
    weights: z.enum(['uniform', 'distance']).default('uniform'),
    metric: z.enum(['euclidean', 'manhattan']).default('euclidean'),
    /**
     * native: our exact search on typed arrays, queries split over the worker pool; mljs: ml-knn (its k-d tree on
     * nested arrays; its own vote tie-breaking with uniform weights), for small data.
     */
    engine: z.enum(['native', 'mljs']).default('native'),
    /**
     * Native search, both exact. kd_tree: k-d tree with bounding boxes and partial distances (fast when a few directions
     * dominate, as after PCA; about 2× faster than brute even on raw pixels); brute: every distance, by register-blocked
     * kernels over blocks of queries × training rows (euclidean as ‖q‖² + ‖t‖² − 2·q·t).
     */
    algorithm: z.enum(['kd_tree', 'brute']).default('kd_tree'),
  })
  .strict();
export type KnnParams = z.infer<typeof KnnParams>;

/** The part of ml-knn we use (it ships no types). */
interface MlKnnModel {
  predict(rows: number[][]): number[];
  kdTree: { nearest(point: number[], k: number): Array<[number[], number]> };
}
type MlKnnClass = new (
  dataset: number[][],
  labels: number[],
  options: { k: number; distance?: (a: number[], b: number[]) => number },
) => MlKnnModel;

interface Fitted {
  features: number;
  rows: number;
  nClasses: number;
  /** brute: the training rows in shared memory, as given (kd_tree keeps its own copy in `tree`). */
  train: Float32Array;
  /** Squared norms of the training rows, in shared memory (brute, euclidean). */
  norms: Float64Array;
  /** kd_tree: the tree (its own copy of the rows). */
  tree: KdTree | null;
  labels: Uint8Array;
  mljs: MlKnnModel | null;
}

/** Nearest neighbours of each query row: k training indices (nearest first) and their distances. */
export interface Neighbours {
  k: number;
  index: Int32Array;
  distance: Float64Array;
}

/** Queries per pool task; any split gives the same answers (each query is searched on its own). */
const QUERY_CHUNK = 512;

export class Knn extends BaseStage<KnnParams, Fitted> implements Estimator<KnnParams> {
  readonly name = 'knn';
  readonly kind = 'estimator' as const;

  constructor(params: Partial<KnnParams> = {}) {
    super(KnnParams, params);
  }

  async fit(X: Matrix, y: Uint8Array): Promise<this> {
    checkXy(this.name, X, y);
    const { k, engine, metric } = this.params;
    if (k > X.rows) throw new ParamRangeError('k', `k must be ≤ the rows kNN is fitted on: got ${k} for ${X.rows} rows`);
    const labels = y.slice();
    const fitted: Fitted = {
      features: X.cols,
      rows: X.rows,
      nClasses: labelCount(labels),
      train: new Float32Array(0),
      norms: new Float64Array(0),
      tree: null,
      labels,
      mljs: null,
    };
    if (engine === 'mljs') {
      const MlKnn = createRequire(import.meta.url)('ml-knn') as MlKnnClass;
      const options: { k: number; distance?: (a: number[], b: number[]) => number } = { k };
      if (metric === 'manhattan') options.distance = manhattan;
      fitted.mljs = new MlKnn(toNested(X), Array.from(labels), options);
    } else if (this.params.algorithm === 'brute') {
      // a private shared copy: workers read it without copies, and later changes to X do not leak in
      fitted.train = sharedFloat32(X.data.slice());
      if (metric === 'euclidean') {
        const norms = new Float64Array(new SharedArrayBuffer(X.rows * 8));
        squaredNorms(fitted.train, 0, X.rows, X.cols, norms);
        fitted.norms = norms;
      }
    } else {
      fitted.tree = buildKdTree(X);
    }
    this.state = fitted;
    return this;
  }

  /** The k nearest training rows of each row of X (ties: lower training index first). */
  async kneighbors(X: Matrix): Promise<Neighbours> {
    const f = this.state;
    checkFeatures(this.name, X, f.features);
    const { k, metric } = this.params;
    if (f.mljs) throw new Error(`${this.name}: kneighbors needs engine 'native' (ml-knn does not report training indices)`);
    const index = new Int32Array(X.rows * k);
    const distance = new Float64Array(X.rows * k);
    const source = workerCount() > 1 ? sharedFloat32(X.data) : X.data;
    const tasks = [];
    for (let q0 = 0; q0 < X.rows; q0 += QUERY_CHUNK) {
      const q1 = Math.min(X.rows, q0 + QUERY_CHUNK);
      const chunk = source.subarray(q0 * X.cols, q1 * X.cols);
      tasks.push(
        this.params.algorithm === 'brute'
          ? {
              module: import.meta.url,
              fn: 'knnSearchTask',
              args: [f.train, f.norms, f.rows, f.features, chunk, q1 - q0, k, metric],
            }
          : {
              module: import.meta.url,
              fn: 'knnTreeTask',
              args: [f.tree, f.features, chunk, q1 - q0, k, metric],
            },
      );
    }
    const parts = await runAll<{ index: Int32Array; distance: Float64Array }>(tasks);
    parts.forEach((part, t) => {
      index.set(part.index, t * QUERY_CHUNK * k);
      distance.set(part.distance, t * QUERY_CHUNK * k);
    });
    return { k, index, distance };
  }

  async predict(X: Matrix): Promise<Uint8Array> {
    const f = this.state;
    checkFeatures(this.name, X, f.features);
    if (f.mljs && this.params.weights === 'uniform') return Uint8Array.from(f.mljs.predict(toNested(X)));
    const votes = await this.#votes(X);
    const c = f.nClasses;
    const out = new Uint8Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let best = 0;
      for (let l = 1; l < c; l++) if (votes[i * c + l] > votes[i * c + best]) best = l;
      out[i] = best;
    }
    return out;
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    const f = this.state;
    checkFeatures(this.name, X, f.features);
    const votes = await this.#votes(X);
    const c = f.nClasses;
    const out = new Float32Array(X.rows * c);
    for (let i = 0; i < X.rows; i++) {
      let sum = 0;
      for (let l = 0; l < c; l++) sum += votes[i * c + l];
      for (let l = 0; l < c; l++) out[i * c + l] = votes[i * c + l] / sum;
    }
    return matrix(X.rows, c, out);
  }

  /** Weighted votes per row and label (rows × nClasses). */
  async #votes(X: Matrix): Promise<Float64Array> {
    const f = this.state;
    const c = f.nClasses;
    const k = this.params.k;
    const votes = new Float64Array(X.rows * c);
    if (f.mljs) {
      // ml-knn keeps the label as the last coordinate of each stored point
      for (let i = 0; i < X.rows; i++) {
        const found = f.mljs.kdTree.nearest(Array.from(X.data.subarray(i * X.cols, (i + 1) * X.cols)), k);
        const dist = found.map((p) => p[1]);
        const w = voteWeights(dist, this.params.weights);
        found.forEach((p, j) => (votes[i * c + p[0][f.features]] += w[j]));
      }
      return votes;
    }
    const nb = await this.kneighbors(X);
    const dist = new Array<number>(k);
    for (let i = 0; i < X.rows; i++) {
      for (let j = 0; j < k; j++) dist[j] = nb.distance[i * k + j];
      const w = voteWeights(dist, this.params.weights);
      for (let j = 0; j < k; j++) votes[i * c + f.labels[nb.index[i * k + j]]] += w[j];
    }
    return votes;
  }
}

/** Vote weights for one row's neighbour distances, as scikit-learn: 1/d, or all weight on exact matches. */
function voteWeights(dist: number[], weights: KnnParams['weights']): number[] {
  if (weights === 'uniform') return dist.map(() => 1);
  if (dist.some((d) => d === 0)) return dist.map((d) => (d === 0 ? 1 : 0));
  return dist.map((d) => 1 / d);
}

function manhattan(a: number[], b: number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s;
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
  train: Float32Array,
  norms: Float64Array,
  nTrain: number,
  d: number,
  queries: Float32Array,
  nQuery: number,
  k: number,
  metric: KnnParams['metric'],
): { index: Int32Array; distance: Float64Array } {
  const bestD = new Float64Array(nQuery * k).fill(Infinity);
  const bestI = new Int32Array(nQuery * k).fill(-1);
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
          if (dist < worst) {
            // insert after any equal distances (they have lower training indices)
            let p = k - 1;
            while (p > 0 && bestD[b + p - 1] > dist) {
              bestD[b + p] = bestD[b + p - 1];
              bestI[b + p] = bestI[b + p - 1];
              p--;
            }
            bestD[b + p] = dist;
            bestI[b + p] = t0 + j;
            worst = bestD[b + k - 1];
          }
        }
      }
    }
  }
  if (euclidean) for (let i = 0; i < bestD.length; i++) bestD[i] = Math.sqrt(bestD[i]);
  return { index: bestI, distance: bestD };
}

/** A k-d tree over the training rows (all arrays in shared memory, so workers read it without copies). */
export interface KdTree {
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

function sharedInt32(values: ArrayLike<number>): Int32Array {
  const out = new Int32Array(new SharedArrayBuffer(Math.max(1, values.length) * 4)).subarray(0, values.length);
  out.set(values);
  return out;
}

/**
 * Builds the tree: each node splits its rows at the median of the feature with the widest spread (ties: the lower
 * row index goes left), down to leaves of at most LEAF_SIZE rows. Deterministic.
 */
export function buildKdTree(X: Matrix, leafSize = LEAF_SIZE, boxDims = BOX_DIMS): KdTree {
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
  const order = sharedInt32(Array.from({ length: d }, (_, f) => f).sort((a, b) => m2[b] - m2[a] || a - b));
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
      let a = perm[l], b = perm[m], c = perm[r];
      if (less(b, a, s)) [a, b] = [b, a];
      if (less(c, b, s)) [b, c] = [c, b];
      if (less(b, a, s)) [a, b] = [b, a];
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
  const build = (from: number, to: number): number => {
    const id = dim.length;
    dim.push(-1);
    split.push(0);
    left.push(-1);
    right.push(-1);
    lo.push(from);
    hi.push(to);
    min.fill(Infinity);
    max.fill(-Infinity);
    for (let t = from; t < to; t++) {
      const o = perm[t] * d;
      for (let j = 0; j < d; j++) {
        const v = P[o + j];
        if (v < min[j]) min[j] = v;
        if (v > max[j]) max[j] = v;
      }
    }
    const box = new Float32Array(2 * bd);
    box.set(min.subarray(0, bd));
    box.set(max.subarray(0, bd), bd);
    boxes.push(box);
    if (to - from <= leafSize) return id;
    let s = 0;
    for (let j = 1; j < d; j++) if (max[j] - min[j] > max[s] - min[s]) s = j;
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
  const train = new Float32Array(new SharedArrayBuffer(Math.max(1, n * d) * 4)).subarray(0, n * d);
  for (let i = 0; i < n; i++) train.set(P.subarray(perm[i] * d, perm[i] * d + d), i * d);
  const nodes = dim.length;
  const boxLo = new Float32Array(new SharedArrayBuffer(Math.max(1, nodes * bd) * 4)).subarray(0, nodes * bd);
  const boxHi = new Float32Array(new SharedArrayBuffer(Math.max(1, nodes * bd) * 4)).subarray(0, nodes * bd);
  boxes.forEach((box, id) => {
    boxLo.set(box.subarray(0, bd), id * bd);
    boxHi.set(box.subarray(bd), id * bd);
  });
  const splitShared = new Float64Array(new SharedArrayBuffer(Math.max(1, split.length) * 8)).subarray(0, split.length);
  splitShared.set(split);
  return {
    train,
    rowIndex: sharedInt32(perm),
    order,
    dim: sharedInt32(dim),
    split: splitShared,
    left: sharedInt32(left),
    right: sharedInt32(right),
    lo: sharedInt32(lo),
    hi: sharedInt32(hi),
    boxDims: bd,
    boxLo,
    boxHi,
  };
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
  d: number,
  queries: Float32Array,
  nQuery: number,
  k: number,
  metric: KnnParams['metric'],
): { index: Int32Array; distance: Float64Array } {
  const { train, rowIndex, order, dim, split, left, right, lo, hi, boxLo, boxHi, boxDims: bd } = tree;
  const euclidean = metric === 'euclidean';
  const bestD = new Float64Array(nQuery * k);
  const bestI = new Int32Array(nQuery * k);
  const q = new Float64Array(d);
  const dk = new Float64Array(k);
  const ik = new Int32Array(k);
  const stack = new Int32Array(Math.max(64, 2 * dim.length)); // depth-first: at most one pending sibling per level
  for (let qi = 0; qi < nQuery; qi++) {
    for (let j = 0; j < d; j++) q[j] = queries[qi * d + order[j]];
    dk.fill(Infinity);
    ik.fill(-1);
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
        // insert (acc, idx) into the sorted k best
        let p = k - 1;
        while (p > 0 && (dk[p - 1] > acc || (dk[p - 1] === acc && ik[p - 1] > idx))) {
          dk[p] = dk[p - 1];
          ik[p] = ik[p - 1];
          p--;
        }
        dk[p] = acc;
        ik[p] = idx;
        tau = dk[k - 1];
        tauIdx = ik[k - 1];
      }
    }
    for (let j = 0; j < k; j++) {
      bestD[qi * k + j] = euclidean ? Math.sqrt(dk[j]) : dk[j];
      bestI[qi * k + j] = ik[j];
    }
  }
  return { index: bestI, distance: bestD };
}

export const knnSpec: StageSpec<KnnParams> = {
  name: 'knn',
  kind: 'estimator',
  summary: 'k-nearest neighbours: majority (or 1/distance-weighted) vote of the k closest training rows',
  schema: KnnParams,
  create: (params) => new Knn(params),
};
