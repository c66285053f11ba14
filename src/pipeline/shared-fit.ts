/**
 * Fits shared across folds. A pipeline that starts with a union of row-wise steps (HOG, pixel scalings) whose branches
 * end in `normalize: standard`, then a PCA with the full solver on wide features, spends most of a cross-validation
 * computing the same things again on every fold: the row-wise features of the same images, and the d×d Gram matrix of
 * mostly the same rows (each training fold shares 3/4 of its rows with every other). Here both are computed once:
 *
 * - the union's row-wise part runs once over every training row (its output for a row depends on that row alone:
 *   StageSpec.rowwise), stored in fold order;
 * - the Gram matrix Σ(u − c)(u − c)ᵀ of that output, about the overall mean c, is summed once per fold block;
 * - each fit (a fold's training rows, or all rows) adds its blocks' sums: the count, means and covariance of its own
 *   rows, nothing of the held-out ones. The standard steps fit from the means and variances (Normalize.fitMoments); the
 *   union's output is (u − α)·β column by column, so its covariance is β_a·β_b·cov(u)_ab, from which the PCA takes its
 *   eigenvectors (Pca.fitCovariance) as from the covariance it sums itself.
 *
 * The fitted union and PCA are the same stages as after Pipeline.fit (saved, restored and served as such); the numbers
 * differ from a fit on the rows only by float rounding (the Gram of u rather than of the standardized rows). Only
 * wide inputs take this path (SHARED_MIN_FEATURES): there the Gram matrices are most of a run's time; narrower ones stay
 * bit for bit as they were.
 */
import { floatGram, type PackedCovariance } from '../linalg/covariance-pca.js';
import { packedUpperLength } from '../linalg/eigen.js';
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { Pca } from '../stages/pca.js';
import { chooseSolver } from '../stages/pca-solver.js';
import type { Transformer } from '../stages/stage.js';
import { Union, unionSpec, type UnionParams } from '../stages/union.js';
import { splitRowwise } from '../stages/union-rowwise.js';
import { canonical } from '../util/hash.js';

/** Union outputs wider than this take the shared path (up to it, a fold's own Gram costs little). */
export const SHARED_MIN_FEATURES = 1024;

/** Rows per block when a fit's rows are taken from the shared row-wise output and transformed. */
const BLOCK_ROWS = 8192;

/** What a pipeline shares: its first step's row-wise part (its identity keys the shared rows). */
export interface SharedPlan {
  rowwise: UnionParams;
  key: string;
}

/**
 * The shared plan of a pipeline's transformers fitted on `rows` rows of `inputCols` features, or null: the first step a
 * union whose branches are row-wise steps then standard steps, the second a PCA that would take the full solver
 * (engine native) on more than SHARED_MIN_FEATURES features.
 */
export function sharedPlan(transformers: readonly Transformer[], rows: number, inputCols: number): SharedPlan | null {
  const [union, pca] = transformers;
  if (!(union instanceof Union) || !(pca instanceof Pca)) return null;
  const split = splitRowwise(union.params);
  if (!split) return null;
  const d = unionSpec.outputFeatures!(union.params, inputCols);
  const k = pca.params.components;
  if (d <= SHARED_MIN_FEATURES || k > d || k > rows || pca.params.engine !== 'native') return null;
  if (chooseSolver(rows, d, k, pca.params) !== 'full') return null;
  return { rowwise: split.rowwise, key: canonical(split.rowwise) };
}

/** The plan of fitted transformers for a transform from the shared rows (any PCA: the values are transform's). */
export function sharedTransformPlan(transformers: readonly Transformer[]): SharedPlan | null {
  const [union, pca] = transformers;
  if (!(union instanceof Union) || !(pca instanceof Pca)) return null;
  const split = splitRowwise(union.params);
  return split ? { rowwise: split.rowwise, key: canonical(split.rowwise) } : null;
}

/** Moments of one block of rows of the row-wise output: count, Σ(u − c) and the packed upper triangle of Σ(u − c)(u − c)ᵀ. */
interface BlockMoments {
  rows: number;
  sums: Float64Array;
  gram: Float64Array;
}

interface Computed {
  key: string;
  /** Row-wise output of every training row, in block order. */
  U: Matrix;
  /** The overall mean the Gram matrices are summed about (c). */
  shift: Float64Array;
  blocks: BlockMoments[] | null;
}

/**
 * The row-wise output and per-block moments of one training set, computed on first use and kept for every fit on its
 * rows (one plan at a time: a search whose candidates share the row-wise part reuses it). `blocks` are disjoint sets of
 * row indices covering every row (the folds' held-out rows).
 */
export class SharedRows {
  /** Row i of the training set is row position[i] of the shared output. */
  private readonly position: Int32Array;
  private readonly order: Int32Array;
  private readonly starts: number[];
  private computed: Computed | null = null;
  /** true once a fit has taken the shared path (reports say so: the first fold's fit carries the shared work). */
  used = false;

  constructor(
    readonly X: Matrix,
    blocks: readonly Int32Array[],
  ) {
    this.order = new Int32Array(X.rows);
    this.position = new Int32Array(X.rows).fill(-1);
    this.starts = [];
    let at = 0;
    for (const block of blocks) {
      this.starts.push(at);
      for (const i of block) {
        if (this.position[i] !== -1) throw new Error(`shared rows: row ${i} is in two blocks`);
        this.position[i] = at;
        this.order[at++] = i;
      }
    }
    this.starts.push(at);
    if (at !== X.rows) throw new Error(`shared rows: the blocks cover ${at} of ${X.rows} rows`);
  }

  /** The training rows `rows` (indices, in the order a fit sees them), whose moments are those of `blocks` (or none). */
  view(rows: Int32Array, blocks: number[] | null): SharedView {
    return { source: this, rows, blocks };
  }

  /** The row-wise output of every training row for a plan (computed on first use). */
  async rowwise(plan: SharedPlan): Promise<Matrix> {
    this.used = true;
    if (this.computed?.key !== plan.key) {
      this.computed = null; // the previous plan's rows go before the next are computed
      const union = new Union(plan.rowwise);
      const ordered = matrix(this.X.rows, this.X.cols, new Float32Array(this.X.rows * this.X.cols));
      for (let r = 0; r < this.X.rows; r++) {
        const src = this.order[r] * this.X.cols;
        ordered.data.set(this.X.data.subarray(src, src + this.X.cols), r * this.X.cols);
      }
      await union.fit(matrix(1, this.X.cols, ordered.data.slice(0, this.X.cols)), new Uint8Array(1));
      const U = await union.transform(ordered);
      const shift = new Float64Array(U.cols);
      for (let r = 0; r < U.rows; r++) {
        const o = r * U.cols;
        for (let j = 0; j < U.cols; j++) shift[j] += U.data[o + j];
      }
      for (let j = 0; j < U.cols; j++) shift[j] /= U.rows;
      this.computed = { key: plan.key, U, shift, blocks: null };
    }
    return this.computed.U;
  }

  /**
   * Moments of the row-wise output over the rows of `blocks`, from the blocks' Gram matrices (each summed once, on
   * first use), added in the order given.
   */
  async moments(plan: SharedPlan, blocks: number[]): Promise<Moments> {
    await this.rowwise(plan);
    const c = this.computed!;
    const d = c.U.cols;
    if (!c.blocks) {
      const parts: BlockMoments[] = [];
      for (let b = 0; b + 1 < this.starts.length; b++) {
        const [r0, r1] = [this.starts[b], this.starts[b + 1]];
        // packed by the workers: half the memory handed back and kept
        const { gram, sums } = await floatGram(c.U.data.subarray(r0 * d, r1 * d), r1 - r0, d, c.shift, true);
        parts.push({ rows: r1 - r0, sums, gram });
      }
      c.blocks = parts;
    }
    let rows = 0;
    const sums = new Float64Array(d);
    const gram = new Float64Array((d * (d + 1)) / 2);
    for (const b of blocks) {
      const part = c.blocks[b];
      rows += part.rows;
      for (let j = 0; j < d; j++) sums[j] += part.sums[j];
      for (let i = 0; i < gram.length; i++) gram[i] += part.gram[i];
    }
    const offset = new Float64Array(d);
    const mean = new Float64Array(d);
    const m2 = new Float64Array(d);
    for (let j = 0, p = 0; j < d; p += d - j, j++) {
      offset[j] = sums[j] / rows;
      mean[j] = c.shift[j] + offset[j];
      m2[j] = gram[p] - rows * offset[j] * offset[j];
    }
    return { rows, mean, m2, covariance: (scale) => scaledCovariance(gram, offset, rows, scale) };
  }

  /** The shared output and the positions in it of the training rows `rows` (the plan's output must be computed). */
  rowsOf(rows: Int32Array): { U: Matrix; positions: Int32Array } {
    if (!this.computed) throw new Error('shared rows: nothing computed yet');
    return { U: this.computed.U, positions: Int32Array.from(rows, (i) => this.position[i]) };
  }

  /** true when the row-wise output of this plan is computed (a transform can take it). */
  has(plan: SharedPlan): boolean {
    return this.computed?.key === plan.key;
  }
}

/** Moments of the row-wise output over some training rows. */
export interface Moments {
  rows: number;
  /** Column means. */
  mean: Float64Array;
  /** Σ(u − mean)² per column. */
  m2: Float64Array;
  /** The covariance (n − 1) of the columns each times scale[j], scale_a·scale_b·cov(u)_ab, packed for the eigen solver. */
  covariance(scale: Float64Array): PackedCovariance;
}

/**
 * scale_a·scale_b·(Σ(u−c)(u−c)ᵀ − n·(μ−c)(μ−c)ᵀ)_ab / (n − 1) from the packed upper triangle of the Gram matrix (as
 * covariancePca takes the covariance), written straight into the eigen solver's packed layout (packUpper's: row a
 * from column a rounded down to even) in shared memory, with its Frobenius norm and trace: no d×d matrix.
 */
function scaledCovariance(
  gram: Float64Array,
  offset: Float64Array,
  rows: number,
  scale: Float64Array,
): PackedCovariance {
  const d = offset.length;
  const packed = new Float64Array(new SharedArrayBuffer(packedUpperLength(d) * 8));
  const value = (a: number, b: number, g: number) =>
    (gram[g] - rows * offset[a] * offset[b]) * (scale[a] / (rows - 1)) * scale[b];
  let squares = 0;
  let trace = 0;
  let at = 0;
  let previous = 0; // where the Gram matrix's row a − 1 starts
  for (let a = 0, g = 0; a < d; previous = g, g += d - a, a++) {
    const c0 = a & ~1;
    let pos = at;
    // an odd row starts one column left of the diagonal: (a, a − 1) = (a − 1, a)
    if (c0 < a) packed[pos++] = value(a - 1, a, previous + 1);
    const diagonal = value(a, a, g);
    packed[pos++] = diagonal;
    trace += diagonal;
    squares += diagonal * diagonal;
    for (let b = a + 1; b < d; b++) {
      const v = value(a, b, g + b - a);
      packed[pos++] = v;
      squares += 2 * v * v;
    }
    at += (d - c0 + 1) & ~1;
  }
  return { packed, norm: Math.sqrt(squares), trace };
}

/** The rows one fit or transform call works on, as rows of a SharedRows, and the blocks its moments sum (fit only). */
export interface SharedView {
  source: SharedRows;
  rows: Int32Array;
  blocks: number[] | null;
}

/** Timings and progress of the shared path, by step id (as Pipeline.fit reports them). */
export interface SharedReport {
  add(id: string, kind: 'fit_ms' | 'transform_ms', ms: number): void;
}

/**
 * Fits the first two transformers (union, PCA) from the shared rows' moments over the view's rows, and returns the
 * PCA's output on those rows. X is the call's input (the union's row-wise steps take its width from its first row).
 */
export async function fitShared(
  plan: SharedPlan,
  transformers: readonly Transformer[],
  X: Matrix,
  view: SharedView,
  report: SharedReport,
  ids: readonly string[],
): Promise<Matrix> {
  const union = transformers[0] as Union;
  const pca = transformers[1] as Pca;
  if (!view.blocks) throw new Error('shared fit: a fit needs the blocks its rows are made of');
  let t = performance.now();
  const lap = (id: string, kind: 'fit_ms' | 'transform_ms') => {
    const now = performance.now();
    report.add(id, kind, now - t);
    t = now;
  };
  await view.source.rowwise(plan);
  lap(ids[0], 'fit_ms');
  const { rows, mean, m2, covariance } = await view.source.moments(plan, view.blocks);
  lap(ids[1], 'fit_ms');
  const d = mean.length;
  const { alpha, beta } = await union.fitMoments(X, rows, mean, m2);
  lap(ids[0], 'fit_ms');
  // the union's output (u − α)·β: its means and covariance
  const zMean = new Float64Array(d);
  for (let j = 0; j < d; j++) zMean[j] = (mean[j] - alpha[j]) * beta[j];
  const cov = covariance(beta);
  await pca.fitCovariance(rows, zMean, cov);
  lap(ids[1], 'fit_ms');
  return transformShared(transformers, view, report, ids);
}

/** The fitted union's then PCA's output on the view's rows, block by block from the shared row-wise output. */
export async function transformShared(
  transformers: readonly Transformer[],
  view: SharedView,
  report: SharedReport,
  ids: readonly string[],
): Promise<Matrix> {
  const union = transformers[0] as Union;
  const pca = transformers[1] as Pca;
  const n = view.rows.length;
  const k = pca.params.components;
  const { U, positions } = view.source.rowsOf(view.rows);
  const out = sharedFloats(n * k);
  // one block of the union's output, reused block after block (each is 197 MB at 6,004 features: new ones were
  // garbage the collector freed late, and the run's peak memory moved by 1.5 GB with its timing)
  const block = sharedFloats(Math.min(n, BLOCK_ROWS) * U.cols);
  for (let r0 = 0; r0 < n; r0 += BLOCK_ROWS) {
    const r1 = Math.min(n, r0 + BLOCK_ROWS);
    let t = performance.now();
    const Z = await union.transformRowwise(U, positions.subarray(r0, r1), block.subarray(0, (r1 - r0) * U.cols));
    report.add(ids[0], 'transform_ms', performance.now() - t);
    t = performance.now();
    const P = await pca.transform(Z);
    report.add(ids[1], 'transform_ms', performance.now() - t);
    out.set(P.data, r0 * k);
  }
  return matrix(n, k, out);
}
