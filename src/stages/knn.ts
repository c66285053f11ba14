import { createRequire } from 'node:module';
import { z } from 'zod';
import { buildKdTree, leafOrder, treeRows, type KdTree } from '../linalg/kd-tree.js';
import { buildBruteIndex, type BruteIndex } from '../linalg/knn-brute.js';
import { labelCount, matrix, takeRows, toNested, type Matrix } from '../linalg/matrix.js';
import type { Neighbours } from '../linalg/neighbours.js';
import { runAll, sharedFloat32, workerCount, type Task } from '../runtime/pool.js';
import { arrayField, ModelError, numberField } from './snapshot.js';
import {
  BaseStage,
  checkFeatures,
  checkXy,
  ParamRangeError,
  SnapshotError,
  type Estimator,
  type Snapshot,
  type StageSpec,
  savableUnlessMljs,
} from './stage.js';

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
     * dominate, as after PCA; faster than brute even on raw pixels); brute: every distance, by register-blocked
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
  nClasses: number;
  /** brute: the training rows (and norms) in shared memory. */
  brute: BruteIndex | null;
  /** kd_tree: the tree (its own copy of the rows). */
  tree: KdTree | null;
  /**
   * The training rows (a private copy) until the first search builds the index from them: candidates of a grid whose
   * predictions come from a shared search (predictSharing) never build one.
   */
  pending: Matrix | null;
  labels: Uint8Array;
  mljs: MlKnnModel | null;
}

export type { Neighbours };

/** The pool modules of the two native searches (see kneighbors). */
const BRUTE_MODULE = new URL('../linalg/knn-brute.js', import.meta.url).href;
const KD_TREE_MODULE = new URL('../linalg/kd-search.js', import.meta.url).href;

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
    if (k > X.rows)
      throw new ParamRangeError('k', `k must be ≤ the rows kNN is fitted on: got ${k} for ${X.rows} rows`);
    const labels = y.slice();
    const fitted: Fitted = {
      features: X.cols,
      nClasses: labelCount(labels),
      brute: null,
      tree: null,
      pending: null,
      labels,
      mljs: null,
    };
    if (engine === 'mljs') {
      const MlKnn = createRequire(import.meta.url)('ml-knn') as MlKnnClass;
      const options: { k: number; distance?: (a: number[], b: number[]) => number } = { k };
      if (metric === 'manhattan') options.distance = manhattan;
      fitted.mljs = new MlKnn(toNested(X), Array.from(labels), options);
    } else {
      fitted.pending = matrix(X.rows, X.cols, X.data.slice());
    }
    this.state = fitted;
    return this;
  }

  /** The search index, built from the pending rows on first use. */
  #index(fitted: Fitted): BruteIndex | KdTree {
    if (fitted.pending) {
      if (this.params.algorithm === 'brute') fitted.brute = buildBruteIndex(fitted.pending, this.params.metric);
      else fitted.tree = buildKdTree(fitted.pending);
      fitted.pending = null;
    }
    return (fitted.brute ?? fitted.tree)!;
  }

  /** The training rows in their original order (read back from the index). */
  #trainingRows(f: Fitted): Matrix {
    const d = f.features;
    if (f.pending) return matrix(f.pending.rows, d, f.pending.data.slice());
    if (f.brute) return matrix(f.brute.rows, d, f.brute.train.slice());
    return treeRows(f.tree!);
  }

  protected encode(f: Fitted): Snapshot {
    if (f.mljs)
      throw new SnapshotError(
        this.name,
        "engine mljs (ml-knn, the test oracle) has no saved form; use engine 'native'",
      );
    return { features: f.features, classes: f.nClasses, labels: f.labels, rows: this.#trainingRows(f).data };
  }

  protected decode(s: Snapshot): Fitted {
    if (this.params.engine === 'mljs')
      throw new SnapshotError(this.name, "engine mljs cannot be restored; use engine 'native'");
    const features = numberField(s, 'features', true);
    const labels = arrayField(s, 'labels', Uint8Array);
    const rows = arrayField(s, 'rows', Float32Array, labels.length * features);
    const nClasses = numberField(s, 'classes', true);
    if (this.params.k > labels.length)
      throw new ModelError(`model file: k = ${this.params.k} but only ${labels.length} training rows`);
    if (labels.some((l) => l >= nClasses)) throw new ModelError('model file: a label is outside the classes');
    return {
      features,
      nClasses,
      brute: null,
      tree: null,
      pending: matrix(labels.length, features, rows),
      labels,
      mljs: null,
    };
  }

  /** The k nearest training rows of each row of X (ties: lower training index first). */
  async kneighbors(X: Matrix): Promise<Neighbours> {
    return this.#search(X, this.params.k);
  }

  /** The k nearest training rows of each row of X, for any k ≤ the training rows. */
  async #search(X: Matrix, k: number): Promise<Neighbours> {
    const f = this.state;
    checkFeatures(this.name, X, f.features);
    const { metric } = this.params;
    if (f.mljs)
      throw new Error(`${this.name}: kneighbors needs engine 'native' (ml-knn does not report training indices)`);
    const index = new Int32Array(X.rows * k);
    const distance = new Float64Array(X.rows * k);
    // k-d tree: queries searched in the order of the leaves they fall in, so neighbouring searches walk the same
    // nodes and rows while they are in cache; each query's answer does not depend on order
    this.#index(f);
    const order = f.tree ? leafOrder(f.tree, X) : null;
    const rows = order ? takeRows(X, order) : X;
    const source = workerCount() > 1 ? sharedFloat32(rows.data) : rows.data;
    // both searches take (their index, a chunk of query rows, its row count, k, metric)
    const [module, fn, searchIndex] = f.brute
      ? [BRUTE_MODULE, 'knnSearchTask', f.brute]
      : [KD_TREE_MODULE, 'knnTreeTask', f.tree];
    const tasks: Task[] = [];
    for (let q0 = 0; q0 < X.rows; q0 += QUERY_CHUNK) {
      const q1 = Math.min(X.rows, q0 + QUERY_CHUNK);
      tasks.push({ module, fn, args: [searchIndex, source.subarray(q0 * X.cols, q1 * X.cols), q1 - q0, k, metric] });
    }
    const parts = await runAll<Neighbours>(tasks);
    parts.forEach((part, t) => {
      index.set(part.index, t * QUERY_CHUNK * k);
      distance.set(part.distance, t * QUERY_CHUNK * k);
    });
    if (!order) return { k, index, distance };
    const back = { k, index: new Int32Array(X.rows * k), distance: new Float64Array(X.rows * k) };
    order.forEach((row, at) => {
      back.index.set(index.subarray(at * k, (at + 1) * k), row * k);
      back.distance.set(distance.subarray(at * k, (at + 1) * k), row * k);
    });
    return back;
  }

  async predict(X: Matrix): Promise<Uint8Array> {
    const f = this.state;
    checkFeatures(this.name, X, f.features);
    if (f.mljs && this.params.weights === 'uniform') return Uint8Array.from(f.mljs.predict(toNested(X)));
    return this.#decide(await this.#votes(X), X.rows);
  }

  /**
   * predict from a neighbour search remembered from another k-NN of the same index (knnSpec.sharedWork): the first k
   * of each row's K ≥ k nearest are its k nearest (the lists are ordered by distance, then training index), so the
   * labels are predict's. Searches again, for max(k, size) neighbours, when there is no such list.
   */
  async predictSharing(X: Matrix, work: unknown, size: number): Promise<{ labels: Uint8Array; work: unknown }> {
    const f = this.state;
    checkFeatures(this.name, X, f.features);
    if (f.mljs) return { labels: await this.predict(X), work: null };
    const remembered = work as Neighbours | null;
    const nb =
      remembered && remembered.k >= this.params.k && remembered.index.length === X.rows * remembered.k
        ? remembered
        : await this.#search(X, Math.min(f.labels.length, Math.max(this.params.k, size)));
    return { labels: this.#decide(this.#votesFrom(nb, X.rows), X.rows), work: nb };
  }

  /** The label with the most votes per row (ties: the lower label). */
  #decide(votes: Float64Array, rows: number): Uint8Array {
    const c = this.state.nClasses;
    const out = new Uint8Array(rows);
    for (let i = 0; i < rows; i++) {
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
    return this.#votesFrom(await this.kneighbors(X), X.rows);
  }

  /** Votes from the first k of each row's neighbour list (lists of nb.k ≥ k). */
  #votesFrom(nb: Neighbours, rows: number): Float64Array {
    const f = this.state;
    const c = f.nClasses;
    const k = this.params.k;
    const K = nb.k;
    const votes = new Float64Array(rows * c);
    const dist = new Array<number>(k);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < k; j++) dist[j] = nb.distance[i * K + j];
      const w = voteWeights(dist, this.params.weights);
      for (let j = 0; j < k; j++) votes[i * c + f.labels[nb.index[i * K + j]]] += w[j];
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

export const knnSpec: StageSpec<KnnParams> = {
  name: 'knn',
  kind: 'estimator',
  summary: 'k-nearest neighbours: majority (or 1/distance-weighted) vote of the k closest training rows',
  schema: KnnParams,
  savable: savableUnlessMljs,
  create: (params) => new Knn(params),
  // one native search serves every k up to its own and both weightings; ml-knn's search is not shared
  sharedWork: (params) => {
    const p = KnnParams.parse(params);
    return p.engine === 'native' ? { key: `${p.metric}|${p.algorithm}`, size: p.k } : null;
  },
};
