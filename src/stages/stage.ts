import type { z } from 'zod';
import type { ImageShape } from '../linalg/shape.js';
import type { Matrix } from '../linalg/matrix.js';
import { UserError } from '../util/errors.js';

/**
 * The stage contract, after scikit-learn's base estimator:
 * - the constructor only stores params (validated, defaults filled); it never fits;
 * - fitted state lives apart from params, and fit never rewrites a param;
 * - using an unfitted stage throws NotFittedError;
 * - clone() is a new, unfitted instance from a copy of the params;
 * - snapshot() gives the fitted state as plain data (for model files) and restore() takes it back.
 * Methods are async because the hot paths may run in worker threads or WebAssembly.
 */
export interface StageBase<P> {
  /** Registry name, as written in pipeline files (`pca`, `random_forest`, …). */
  readonly name: string;
  readonly params: Readonly<P>;
  clone(): this;
  /** The fitted state as plain data; throws NotFittedError before fit, SnapshotError where a stage cannot be saved. */
  snapshot(): Snapshot;
  /** Takes a snapshot of a stage with the same params back as this stage's fitted state; returns this. */
  restore(snapshot: Snapshot): this;
}

/** Typed arrays a snapshot may hold. */
export type SnapshotArray = Float32Array | Float64Array | Int32Array | Uint8Array;
/** JSON values and typed arrays, nested: what a model file stores for a stage. */
export type SnapshotValue =
  null | boolean | number | string | SnapshotArray | SnapshotValue[] | { [key: string]: SnapshotValue };
export type Snapshot = { [key: string]: SnapshotValue };

export interface Transformer<P = unknown> extends StageBase<P> {
  readonly kind: 'transformer';
  fit(X: Matrix, y: Uint8Array): Promise<this>;
  transform(X: Matrix): Promise<Matrix>;
  /**
   * Fit, then transform of the same rows, with work shared between the two (scikit-learn's fit_transform): a union
   * fits each branch on its steps' outputs and has them already. The same fitted state and the same output, bit for
   * bit, as fit then transform (the contract suite checks it).
   */
  fitTransform?(X: Matrix, y: Uint8Array): Promise<Matrix>;
  /**
   * Augmenters only (imbalanced-learn's samplers): the training rows this stage passes on during a pipeline's fit,
   * the transformed input rows followed by the rows it adds. transform() never adds rows, so held-out rows are never
   * augmented. The added rows' labels depend on y alone (augmentLabels), so a remembered fit output needs no labels.
   */
  augment?(X: Matrix): Promise<Matrix>;
  /** The labels of augment's rows, given the input rows' labels. */
  augmentLabels?(y: Uint8Array): Uint8Array;
  /** For each of augment's rows, the input row it was made from (given how many input rows there were). */
  augmentOrigins?(rows: number): Int32Array;
}

/** What an estimator's fit may be told beyond X and y. */
export interface FitOptions {
  /**
   * Rows that share a group are one sample and its augmented copies (a flipped photo): a cross-validation inside the
   * fit (svm probabilities, calibrate) keeps each group in one fold, so no copy of a held-out row is trained on.
   */
  groups?: Int32Array;
}

export interface Estimator<P = unknown> extends StageBase<P> {
  readonly kind: 'estimator';
  fit(X: Matrix, y: Uint8Array, options?: FitOptions): Promise<this>;
  /** Predicted label per row. */
  predict(X: Matrix): Promise<Uint8Array>;
  /**
   * Class probabilities, rows × nClasses, where column c is label c and nClasses is (largest label seen in fit) + 1;
   * a label not seen in fit has probability 0, and each row sums to 1 (up to float32 rounding).
   * predict's label has the row's largest probability. When labels tie for it, predict may take any of them by its own
   * rule: knn's distance weights and a forest's summed leaf fractions are compared in float64, and two of them can
   * round to the same float32 probability; the mljs engines break even votes as their library does.
   * Optional: estimators that cannot give probabilities leave it out.
   */
  predictProba?(X: Matrix): Promise<Matrix>;
  /** predict's labels and predictProba's probabilities from one pass, for estimators where both come from it. */
  predictWithProba?(X: Matrix): Promise<{ labels: Uint8Array; proba: Matrix }>;
  /**
   * predict, reusing work remembered from an estimator of the same stage whose params differ only in params that do
   * not change that work (StageSpec.sharedWork): `work` is what such a call returned before on the same rows (null
   * when none), `size` how much to compute when it is missing or too small (the largest size among the candidates
   * that will share it). Gives the same labels as predict, and the work to remember.
   */
  predictSharing?(X: Matrix, work: unknown, size: number): Promise<{ labels: Uint8Array; work: unknown }>;
}

/** Work an estimator's predictions share across params: its identity among them, and the size these params need. */
export interface SharedWork {
  key: string;
  size: number;
}

export type Stage = Transformer | Estimator;

/** What the registry knows about a stage before any instance exists: used by config validation and the CLI help. */
export interface StageSpec<P extends object = object> {
  readonly name: string;
  readonly kind: 'transformer' | 'estimator';
  /** One line for `--help` and error messages. */
  readonly summary: string;
  /** Strict schema: unknown keys are errors; defaults are filled in. */
  readonly schema: z.ZodType<P>;
  /** A new unfitted instance. */
  create(params: P): Stage;
  /**
   * Features out, given features in (transformers) and their image shape (null: not images; left out at run time,
   * where it is not known). Throws ParamRangeError naming the param when the params cannot work with that input (e.g.
   * more PCA components than features, HOG on colour images).
   */
  outputFeatures?(params: P, inputFeatures: number, shape?: ImageShape | null): number;
  /**
   * The image shape of the output, given the input's (null: the rows are not images, e.g. after PCA). Stages without
   * it output rows that are not images.
   */
  outputShape?(params: P, shape: ImageShape | null): ImageShape | null;
  /**
   * Stages that need their input's image shape at run time (a flip needs the width): the params with it filled in, from
   * the data the pipeline reads. Called when a pipeline file is loaded; the bound params are what the model file keeps.
   */
  bindShape?(params: P, shape: ImageShape | null): P;
  /**
   * true when, with these params, fit learns nothing from the rows but their width and transform maps each row by a
   * fixed function of that row alone (HOG, a pixel scaling): the output for a row is the same whatever rows it is fitted
   * or transformed with, so it can be computed once for every fold (pipeline/shared-fit.ts).
   */
  rowwise?(params: P): boolean;
  /** Augmenters (Transformer.augment): allowed in a pipeline's own steps, not inside a union's branches. */
  readonly augments?: boolean;
  /** true when a fitted instance with these params can be written to a model file; otherwise why not. */
  savable(params: P): true | string;
  /**
   * Stages with nested params (union): params with the value at a dotted path below the stage's id set, for grid keys
   * such as `union.fine.hog.cell`; throws an Error saying what paths exist. The result is validated by the schema.
   */
  setParam?(params: P, path: string[], value: unknown): P;
  /**
   * Estimators whose prediction has an expensive part that other params share (k-NN: one neighbour search serves
   * every k up to its own and both weightings): its identity and size for these params, or null when not shared.
   */
  sharedWork?(params: P): SharedWork | null;
}

/** savable() of stages whose every engine can be saved. */
export const alwaysSavable = (): true => true;

/** savable() of stages whose `engine: mljs` (an ml-* test oracle) has no saved form. */
export function savableUnlessMljs(params: { engine: string }): true | string {
  return params.engine === 'mljs' ? 'engine mljs (a test oracle) has no saved form; use the default engine' : true;
}

/**
 * What every stage shares, keeping the contract above: params parsed by the schema and frozen in the constructor,
 * fitted state in a private slot that only `fit` sets (never the params), reading it before fit throws
 * NotFittedError, and clone() is a new, unfitted instance of the same class from a copy of the params.
 * Subclasses take `(params: Partial<P> = {})` as their constructor and pass their schema up.
 */
export abstract class BaseStage<P extends object, F> implements StageBase<P> {
  abstract readonly name: string;
  readonly params: Readonly<P>;
  #fitted: F | null = null;

  constructor(schema: z.ZodType<P>, params: Partial<P>) {
    this.params = Object.freeze(schema.parse(params));
  }

  clone(): this {
    const Stage = this.constructor as new (params: Partial<P>) => this;
    return new Stage({ ...this.params });
  }

  /** The fitted state; throws NotFittedError before fit. */
  protected get state(): F {
    if (this.#fitted === null) throw new NotFittedError(this.name);
    return this.#fitted;
  }

  /** Set by fit (null: back to unfitted). */
  protected set state(fitted: F | null) {
    this.#fitted = fitted;
  }

  snapshot(): Snapshot {
    return this.encode(this.state);
  }

  restore(snapshot: Snapshot): this {
    this.state = this.decode(snapshot);
    return this;
  }

  /** The fitted state as plain data. */
  protected abstract encode(fitted: F): Snapshot;
  /** The fitted state from encode's output (read with the typed getters of stages/snapshot.ts, which check shapes). */
  protected abstract decode(snapshot: Snapshot): F;
}

/** A fitted stage that cannot be written to a model file (the ml-* engines, kept as test oracles). */
export class SnapshotError extends UserError {
  constructor(stage: string, why: string) {
    super(`${stage}: cannot be saved in a model file: ${why}`, 1);
  }
}

/** Thrown when a stage is used before fit. */
export class NotFittedError extends Error {
  constructor(stage: string) {
    super(`${stage} is not fitted yet: call fit(X, y) before using it`);
    this.name = 'NotFittedError';
  }
}

/** A param value that is valid alone but not for the data it meets (reported at the param's position in the file). */
export class ParamRangeError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'ParamRangeError';
  }
}

/** Checks X and y agree; every fit calls it. */
export function checkXy(stage: string, X: Matrix, y: Uint8Array): void {
  if (X.rows !== y.length) throw new Error(`${stage}: X has ${X.rows} rows but y has ${y.length} labels`);
  if (X.rows === 0) throw new Error(`${stage}: cannot fit on 0 rows`);
}

/** Checks a matrix has the number of features the stage was fitted on. */
export function checkFeatures(stage: string, X: Matrix, expected: number): void {
  if (X.cols !== expected)
    throw new Error(`${stage}: X has ${X.cols} features, but the stage was fitted on ${expected}`);
}
