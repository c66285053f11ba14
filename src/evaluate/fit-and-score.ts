import { withRows, type Dataset } from '../data/dataset.js';
import { stratifiedKFold, type Fold } from '../data/split.js';
import { takeLabels, takeRows } from '../linalg/matrix.js';
import { classificationReport, confusionMatrix } from '../metrics/classification.js';
import {
  Pipeline,
  Timings,
  type PrefixStore,
  type StageTiming,
  type StepListener,
  type WorkStore,
} from '../pipeline/pipeline.js';
import { SharedRows, type SharedView } from '../pipeline/shared-fit.js';
import { stepsIdentity, type StepConfig } from '../pipeline/steps.js';
import { registry } from '../stages/registry.js';
import { codeVersion } from '../util/code-version.js';
import { canonical, digest } from '../util/hash.js';
import { TimingHistory } from './timing-history.js';

/** Scores of one pipeline on one fold. */
export interface FoldResult {
  fold: number;
  train_rows: number;
  test_rows: number;
  accuracy: number;
  macro_f1: number;
  fit_ms: number;
  predict_ms: number;
}

/** The identity of a fold assignment: stratified k-fold of the training labels with a seed, and its digest. */
export interface FoldsIdentity {
  k: number;
  seed: number;
  /** foldsId() of the assignment: a worker with other data or other code gets another id and refuses the job. */
  id: string;
}

/**
 * One unit of work, as plain data (serialisable; a queue worker receives exactly this): fit `steps` on the training
 * rows of fold `fold` (1-based) and score on its held-out rows. Everything a result depends on is named, so its key
 * (jobKey) can never serve a result computed from other data, folds or code.
 */
export interface FitJob {
  steps: StepConfig[];
  fold: number;
  folds: FoldsIdentity;
  /** dataKey() of the training data. */
  data: string;
  /** codeVersion() of the code that will compute it. */
  code: string;
}

/** Identifies the training data: its files' checksums, the rows used, and the subset limit that chose them. */
export function dataKey(info: { checksums: Record<string, string>; train_rows: number }, limit: unknown): string {
  return canonical({ checksums: info.checksums, rows: info.train_rows, limit: limit ?? null });
}

/** Identifies a fold assignment (the fold count, each fold's size and test indices), so runs can tell they share folds. */
export function foldsId(folds: readonly Fold[]): string {
  // each fold's size goes in before its indices, so two partitions of the same rows never hash alike
  return digest(`k=${folds.length};`, ...folds.flatMap((fold) => [`n=${fold.test.length};`, fold.test]));
}

/** Key of a whole search or run's folds: code, data and fold assignment (the checkpoint's plan id). */
export function planKey(code: string, data: string, folds: FoldsIdentity): string {
  return digest(code, '|', data, '|', folds.id, '|', String(folds.k), '|', String(folds.seed));
}

/** Key of one job (checkpoint lines and queue job ids). */
export function jobKey(job: FitJob): string {
  return digest(planKey(job.code, job.data, job.folds), '|', String(job.fold), '|', stepsIdentity(job.steps));
}

/** The memory input naming one fold's training or held-out rows under a plan. */
export function foldInput(plan: string, fold: number, part: 'train' | 'test'): string {
  return `${plan}|fold ${fold}|${part}`;
}

/** The rows of one fold, taken out of the training set once and shared by every candidate scored on it. */
export interface FoldData {
  train: Dataset;
  test: Dataset;
}

/**
 * The folds of a training set, materialised one at a time (the last one is kept: candidates on the same fold reuse
 * its rows without another copy).
 */
export class FoldSource {
  readonly folds: Fold[];
  readonly identity: FoldsIdentity;
  private current: { index: number; data: FoldData } | null = null;
  #shared: SharedRows | null = null;

  constructor(
    readonly data: Dataset,
    k: number,
    seed: number,
  ) {
    this.folds = stratifiedKFold(data.y, k, seed);
    this.identity = { k, seed, id: foldsId(this.folds) };
  }

  /** The rows of fold `fold` (1-based). */
  get(fold: number): FoldData {
    if (this.current?.index !== fold) {
      const { train, test } = this.folds[fold - 1];
      const { X, y } = this.data;
      this.current = null; // let the previous fold's rows go before taking the next
      this.current = {
        index: fold,
        data: {
          train: withRows(this.data, takeRows(X, train), takeLabels(y, train)),
          test: withRows(this.data, takeRows(X, test), takeLabels(y, test)),
        },
      };
    }
    return this.current.data;
  }

  /** true once a fit took the shared path (shared(): the first fit on these folds carried the shared work). */
  get sharedUsed(): boolean {
    return this.#shared?.used === true;
  }

  /**
   * Fold `fold`'s training or held-out rows (fold 0: every training row, for the final fit) as rows of the training
   * set's shared row-wise features and per-fold Gram matrices (pipeline/shared-fit.ts), computed on first use by a
   * pipeline that can take them and kept for every fit on these rows.
   */
  shared(fold: number, part: 'train' | 'test'): SharedView {
    this.#shared ??= new SharedRows(
      this.data.X,
      this.folds.map((f) => Int32Array.from(f.test)),
    );
    if (fold === 0) {
      if (part === 'test') throw new Error('fold 0 (every training row) has no held-out rows');
      return this.#shared.view(
        Int32Array.from({ length: this.data.X.rows }, (_, i) => i),
        this.folds.map((_, b) => b),
      );
    }
    const { train, test } = this.folds[fold - 1];
    return part === 'train'
      ? this.#shared.view(
          Int32Array.from(train),
          this.folds.flatMap((_, b) => (b === fold - 1 ? [] : [b])),
        )
      : this.#shared.view(Int32Array.from(test), null);
  }
}

/** What a job gives back: its scores and where the time went. */
export interface JobResult extends FoldResult {
  timings_ms: Record<string, StageTiming>;
}

export interface UnitOptions {
  /** The pipelines' memory (fit cache); none refits every prefix. */
  cache?: PrefixStore | null;
  onStep?: StepListener;
  /** Fit times by stage and shape, for later --dry-run estimates. */
  history?: TimingHistory;
  /**
   * The largest size of the estimator's shared work among the candidates that share it (k-NN: the largest k), so the
   * first of them computes enough for all (with a cache only; see Memory.shared). Never changes a result.
   */
  sharedSize?: number;
}

/** Thrown when a job was made for other data, folds or code than the process that received it has. */
export class JobMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JobMismatchError';
  }
}

/**
 * The one unit of evaluation (scikit-learn's `_fit_and_score`): fits the job's pipeline on its fold's training rows
 * (transformer prefixes through the cache) and scores it on the held-out rows. No terminal, no file positions, no
 * report: run, grid and a queue worker all call this.
 */
export async function fitAndScore(job: FitJob, source: FoldSource, options: UnitOptions = {}): Promise<JobResult> {
  if (job.code !== codeVersion())
    throw new JobMismatchError(`job made by other code (${job.code}; this is ${codeVersion()})`);
  if (job.folds.id !== source.identity.id) {
    throw new JobMismatchError(
      `job folds ${job.folds.id} differ from this data's folds ${source.identity.id} (other data or another fold split)`,
    );
  }
  const { train, test } = source.get(job.fold);
  const plan = planKey(job.code, job.data, job.folds);
  const cache = options.cache;
  const memory = (part: 'train' | 'test') =>
    cache ? { store: cache, input: foldInput(plan, job.fold, part) } : undefined;
  // only where the work can be kept (a disabled cache keeps nothing: computing for the largest k would be wasted)
  const shared =
    cache && isWorkStore(cache) && cache.workEnabled ? { store: cache, size: options.sharedSize ?? 0 } : undefined;
  const pipeline = Pipeline.fromSteps(job.steps);
  const timings = new Timings();
  const t0 = performance.now();
  await pipeline.fit(train.X, train.y, {
    timings,
    onStep: options.onStep,
    memory: memory('train'),
    shared: source.shared(job.fold, 'train'),
  });
  const t1 = performance.now();
  const predicted = await pipeline.predict(test.X, {
    timings,
    onStep: options.onStep,
    memory: shared ? { ...memory('test')!, shared } : memory('test'),
    shared: source.shared(job.fold, 'test'),
  });
  const t2 = performance.now();
  if (options.history) recordHistory(options.history, job.steps, timings, train.X.rows, train.X.cols);
  return {
    fold: job.fold,
    train_rows: train.y.length,
    test_rows: test.y.length,
    ...foldScores(test.y, predicted, source.data.classes.length),
    fit_ms: Math.round(t1 - t0),
    predict_ms: Math.round(t2 - t1),
    timings_ms: timings.toJSON(),
  };
}

function isWorkStore(store: PrefixStore): store is PrefixStore & WorkStore {
  return 'getWork' in store && 'setWork' in store;
}

/** Accuracy and macro-F1 of one fold's predictions. */
export function foldScores(
  yTrue: Uint8Array,
  yPred: Uint8Array,
  classes: number,
): { accuracy: number; macro_f1: number } {
  const report = classificationReport(confusionMatrix(yTrue, yPred, classes));
  return { accuracy: report.accuracy, macro_f1: report.macroAvg.f1 };
}

/** Records each step's fit time (fit + transform for transformers; fit + predict for the estimator) by input shape. */
function recordHistory(
  history: TimingHistory,
  steps: readonly StepConfig[],
  timings: Timings,
  rows: number,
  inputCols: number,
): void {
  let cols = inputCols;
  for (const step of steps) {
    const t = timings.byStage.get(step.id);
    if (t && t.fit_ms > 0)
      history.record(TimingHistory.key(step.stage, step.params, rows, cols), t.fit_ms + t.transform_ms + t.predict_ms);
    const spec = registry.get(step.stage);
    cols = spec?.outputFeatures ? spec.outputFeatures(step.params as never, cols) : cols;
  }
}
