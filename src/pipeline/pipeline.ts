import type { Matrix } from '../linalg/matrix.js';
import { registry } from '../stages/registry.js';
import {
  ParamRangeError,
  SnapshotError,
  type Estimator,
  type Snapshot,
  type Stage,
  type Transformer,
} from '../stages/stage.js';
import { digest } from '../util/hash.js';
import { fitShared, sharedPlan, sharedTransformPlan, transformShared, type SharedView } from './shared-fit.js';
import { stepsIdentity, type StepConfig } from './steps.js';

/** Milliseconds spent in each kind of call of one stage, summed over calls. */
export interface StageTiming {
  fit_ms: number;
  transform_ms: number;
  predict_ms: number;
}

/** Collects stage timings; a pipeline adds to it, reports read it. */
export class Timings {
  readonly byStage = new Map<string, StageTiming>();

  add(id: string, kind: keyof StageTiming, ms: number): void {
    const t = this.byStage.get(id) ?? { fit_ms: 0, transform_ms: 0, predict_ms: 0 };
    t[kind] += ms;
    this.byStage.set(id, t);
  }

  toJSON(): Record<string, StageTiming> {
    const out: Record<string, StageTiming> = {};
    for (const [id, t] of this.byStage) {
      out[id] = { fit_ms: round(t.fit_ms), transform_ms: round(t.transform_ms), predict_ms: round(t.predict_ms) };
    }
    return out;
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

export interface Step {
  id: string;
  stage: Stage;
}

/** A param that does not fit the data a step met during fit (e.g. k above the training rows), with the step's place. */
export class StepParamError extends Error {
  constructor(
    readonly stepIndex: number,
    readonly stage: string,
    readonly param: string,
    readonly detail: string,
  ) {
    super(`${stage}.${param}: ${detail}`);
    this.name = 'StepParamError';
  }
}

/** Called after each stage finishes a call; progress bars hang off it. */
export type StepListener = (id: string, what: keyof StageTiming) => void;

/** A transformer prefix's work, remembered: its output and (for fits) the fitted state of each of its stages. */
export interface Remembered {
  output: Matrix;
  /** Snapshots of the prefix's fitted stages, in order (fit entries); null for transform entries. */
  states: Snapshot[] | null;
  /** Time the prefix's last stage took when it was computed. */
  ms: number;
}

/** Where a pipeline remembers transformer-prefix work (the grid's fit cache implements it). */
export interface PrefixStore {
  /** `fit` entries hold fitted prefixes; `transform` entries the outputs of fitted prefixes on other rows. */
  get(key: string, kind: 'fit' | 'transform'): Remembered | null;
  set(key: string, value: Remembered): void;
}

/**
 * The memory option of fit/transform/predict, as scikit-learn's `Pipeline(memory=…)`: fitted transformer prefixes and
 * their outputs are looked up before being computed. `input` names the rows X holds (e.g. data checksums + code +
 * fold + "train"); a key is derived from it and the prefix's steps, so only the same rows through the same steps hit.
 */
export interface Memory {
  store: PrefixStore;
  input: string;
  /**
   * Estimator work shared between candidates (StageSpec.sharedWork, e.g. k-NN's neighbour search), remembered in
   * `store` and computed at `size` at least (the largest any candidate sharing it needs). Only for predict.
   */
  shared?: { store: WorkStore; size: number };
}

/** Where estimators' shared work is remembered (in memory only; the grid's fit cache implements it). */
export interface WorkStore {
  /** false when the store keeps nothing (then no one computes more than it needs). */
  readonly workEnabled: boolean;
  getWork(key: string): unknown;
  setWork(key: string, work: unknown): void;
}

export interface CallOptions {
  timings?: Timings;
  onStep?: StepListener;
  memory?: Memory;
  /**
   * X's rows as rows of a training set whose row-wise features and Gram matrices are shared by every fit on its rows
   * (the folds of a cross-validation and the final fit): a pipeline that starts with a union of row-wise steps and a
   * wide PCA fits and transforms them from there (pipeline/shared-fit.ts). Others ignore it.
   */
  shared?: SharedView;
}

/**
 * Transformers then one estimator. fit() fits each transformer on the output of the ones before it (training data
 * only) and the estimator on the last output; predict() runs the fitted transformers then the estimator.
 */
export class Pipeline {
  /** The memory input the pipeline was fitted on (transform entries are keyed by it too); null without memory. */
  #fittedOn: string | null = null;

  constructor(readonly steps: readonly Step[]) {
    if (steps.length === 0) throw new Error('a pipeline needs at least one stage');
    if (this.estimator.kind !== 'estimator')
      throw new Error(`the last stage must be an estimator, got ${this.estimator.name}`);
  }

  /** Builds unfitted stages from validated step configs. */
  static fromSteps(steps: readonly StepConfig[]): Pipeline {
    return new Pipeline(
      steps.map((s) => {
        const spec = registry.get(s.stage);
        if (!spec) throw new Error(`unknown stage "${s.stage}"`);
        return { id: s.id, stage: spec.create(s.params) };
      }),
    );
  }

  get estimator(): Estimator {
    return this.steps[this.steps.length - 1].stage as Estimator;
  }

  private get transformers(): Array<{ id: string; stage: Transformer }> {
    return this.steps.slice(0, -1) as Array<{ id: string; stage: Transformer }>;
  }

  /** A new, unfitted pipeline with the same params (every fold and the final fit use one). */
  clone(): Pipeline {
    return new Pipeline(this.steps.map((s) => ({ id: s.id, stage: s.stage.clone() })));
  }

  /** The steps as plain data (id, stage, params), the form keys are derived from. */
  get configs(): StepConfig[] {
    return this.steps.map((s) => ({
      id: s.id,
      stage: s.stage.name,
      params: s.stage.params as Record<string, unknown>,
    }));
  }

  /**
   * Fits each transformer on the output of the ones before it (training rows only), then the estimator on the last
   * output. With `memory`, the longest transformer prefix already fitted on the same input is restored instead of
   * refitted, and every prefix fitted here is remembered.
   */
  async fit(X: Matrix, y: Uint8Array, options: CallOptions = {}): Promise<this> {
    const { timings, onStep, memory } = options;
    const transformers = this.transformers;
    let current = X;
    let labels = y;
    // the training sample each row came from, once an augmenter has added rows (null: every row its own)
    let groups: Int32Array | null = null;
    const follow = (stage: Transformer, rows: number) => {
      if (!stage.augmentOrigins) return;
      const before = groups;
      groups = Int32Array.from(stage.augmentOrigins(rows), (o) => (before ? before[o] : o));
    };
    let start = 0;
    if (memory) {
      for (let d = transformers.length; d >= 1; d--) {
        const hit = memory.store.get(this.prefixKey('fit', memory.input, d), 'fit');
        if (!hit?.states) continue;
        hit.states.forEach((state, i) => transformers[i].stage.restore(state));
        current = hit.output;
        // an augmenter's added rows have labels that follow from y alone
        for (const { stage } of transformers.slice(0, d)) {
          if (!stage.augmentLabels) continue;
          follow(stage, labels.length);
          labels = stage.augmentLabels(labels);
        }
        start = d;
        break;
      }
    }
    const shared = options.shared;
    const plan =
      start === 0 && shared
        ? sharedPlan(
            transformers.map((t) => t.stage),
            X.rows,
            X.cols,
          )
        : null;
    if (plan && shared) {
      if (shared.rows.length !== X.rows) throw new Error(`shared rows: ${shared.rows.length} for ${X.rows} rows of X`);
      const stages = transformers.map((t) => t.stage);
      const ids = transformers.map((t) => t.id);
      const t0 = performance.now();
      try {
        current = await fitShared(plan, stages, X, shared, { add: (id, kind, ms) => timings?.add(id, kind, ms) }, ids);
      } catch (err) {
        if (err instanceof ParamRangeError) throw new StepParamError(1, stages[1].name, err.param, err.message);
        throw err;
      }
      start = 2;
      for (const id of ids.slice(0, start)) onStep?.(id, 'fit_ms');
      const states = memory ? snapshots(stages.slice(0, start)) : null;
      if (memory && states) {
        const ms = performance.now() - t0;
        memory.store.set(this.prefixKey('fit', memory.input, start), { output: current, states, ms });
      }
    }
    // the fitted prefix up to step i and its output, for a later fit on the same input
    const remember = (i: number, ms: number) => {
      if (!memory) return;
      const states = snapshots(transformers.slice(0, i + 1).map((t) => t.stage));
      if (states) memory.store.set(this.prefixKey('fit', memory.input, i + 1), { output: current, states, ms });
    };
    for (let i = start; i < transformers.length; i++) {
      const { id, stage } = transformers[i];
      const t0 = performance.now();
      if (stage.fitTransform) {
        // one pass for both (a union's branch outputs): all of it counts as the fit
        current = await fitTransformStep(stage, i, current, labels);
        timings?.add(id, 'fit_ms', performance.now() - t0);
        timings?.add(id, 'transform_ms', 0);
        onStep?.(id, 'fit_ms');
        remember(i, performance.now() - t0);
        continue;
      }
      await fitStep(stage, i, current, labels);
      const t1 = performance.now();
      // training rows only: an augmenter adds its rows here, never in transform
      if (stage.augment && stage.augmentLabels) {
        follow(stage, current.rows);
        current = await stage.augment(current);
        labels = stage.augmentLabels(labels);
      } else current = await stage.transform(current);
      const t2 = performance.now();
      timings?.add(id, 'fit_ms', t1 - t0);
      timings?.add(id, 'transform_ms', t2 - t1);
      onStep?.(id, 'fit_ms');
      remember(i, t2 - t0);
    }
    if (!plan) for (let i = 0; i < start; i++) onStep?.(transformers[i].id, 'fit_ms');
    const last = this.steps[this.steps.length - 1];
    const t0 = performance.now();
    await fitStep(this.estimator, this.steps.length - 1, current, labels, groups);
    timings?.add(last.id, 'fit_ms', performance.now() - t0);
    onStep?.(last.id, 'fit_ms');
    this.#fittedOn = memory?.input ?? null;
    return this;
  }

  /** Runs the fitted transformers over X (with `memory`: outputs remembered per input, prefix and fit). */
  async transform(X: Matrix, options: CallOptions = {}): Promise<Matrix> {
    const { timings, memory } = options;
    const transformers = this.transformers;
    const remember = memory && this.#fittedOn !== null ? memory : null;
    let current = X;
    let start = 0;
    if (remember) {
      for (let d = transformers.length; d >= 1; d--) {
        const hit = remember.store.get(this.prefixKey(`transform|${this.#fittedOn}`, remember.input, d), 'transform');
        if (!hit) continue;
        current = hit.output;
        start = d;
        break;
      }
    }
    const shared = options.shared;
    const plan =
      start === 0 && shared?.rows.length === X.rows ? sharedTransformPlan(transformers.map((t) => t.stage)) : null;
    if (plan && shared?.source.has(plan)) {
      const ids = transformers.map((t) => t.id);
      const t0 = performance.now();
      current = await transformShared(
        transformers.map((t) => t.stage),
        shared,
        { add: (id, kind, ms) => timings?.add(id, kind, ms) },
        ids,
      );
      start = 2;
      remember?.store.set(this.prefixKey(`transform|${this.#fittedOn}`, remember.input, start), {
        output: current,
        states: null,
        ms: performance.now() - t0,
      });
    }
    for (let i = start; i < transformers.length; i++) {
      const { id, stage } = transformers[i];
      const t0 = performance.now();
      current = await stage.transform(current);
      const ms = performance.now() - t0;
      timings?.add(id, 'transform_ms', ms);
      remember?.store.set(this.prefixKey(`transform|${this.#fittedOn}`, remember.input, i + 1), {
        output: current,
        states: null,
        ms,
      });
    }
    return current;
  }

  async predict(X: Matrix, options: CallOptions = {}): Promise<Uint8Array> {
    return this.estimate(await this.transform(X, options), options);
  }

  /**
   * Predicted labels and, when the estimator gives them, class probabilities, from one pass of the transformers
   * (timed as predict: separately computed probabilities are not, since they are for the report's pictures; an
   * estimator that gives both in one pass has them inside its predict time).
   */
  async predictWithProba(X: Matrix, options: CallOptions = {}): Promise<{ labels: Uint8Array; proba: Matrix | null }> {
    return this.labelsAndProba(await this.transform(X, options), options);
  }

  /**
   * The estimator's labels and probabilities (null when it gives none) on transformed features, from one pass when
   * the estimator offers it (the pass is timed as predict).
   */
  async labelsAndProba(
    features: Matrix,
    options: CallOptions = {},
  ): Promise<{ labels: Uint8Array; proba: Matrix | null }> {
    const { timings, onStep } = options;
    const estimator = this.estimator;
    if (!estimator.predictWithProba) {
      const labels = await this.estimate(features, options);
      return { labels, proba: estimator.predictProba ? await estimator.predictProba(features) : null };
    }
    const last = this.steps[this.steps.length - 1];
    const t0 = performance.now();
    const out = await estimator.predictWithProba(features);
    timings?.add(last.id, 'predict_ms', performance.now() - t0);
    onStep?.(last.id, 'predict_ms');
    return out;
  }

  /** The estimator's predict on transformed features, timed. */
  private async estimate(features: Matrix, { timings, onStep, memory }: CallOptions): Promise<Uint8Array> {
    const last = this.steps[this.steps.length - 1];
    const t0 = performance.now();
    const out = await this.predictSharing(features, memory);
    timings?.add(last.id, 'predict_ms', performance.now() - t0);
    onStep?.(last.id, 'predict_ms');
    return out;
  }

  /**
   * The estimator's predict, through work remembered from candidates that share it (same fitted prefix, same rows,
   * the same shared-work identity): the labels are the same as without.
   */
  private async predictSharing(features: Matrix, memory: Memory | undefined): Promise<Uint8Array> {
    const estimator = this.estimator;
    const shared = memory?.shared && this.#fittedOn !== null ? memory.shared : null;
    const work =
      shared && estimator.predictSharing ? registry.get(estimator.name)?.sharedWork?.(estimator.params) : null;
    if (!shared || !work || !estimator.predictSharing) return estimator.predict(features);
    const key = this.prefixKey(
      `work|${this.#fittedOn}|${estimator.name}|${work.key}`,
      memory!.input,
      this.steps.length - 1,
    );
    const out = await estimator.predictSharing(
      features,
      shared.store.getWork(key) ?? null,
      Math.max(work.size, shared.size),
    );
    shared.store.setWork(key, out.work);
    return out.labels;
  }

  /** Key of the first `depth` transformers' work of one kind on one input. */
  private prefixKey(kind: string, input: string, depth: number): string {
    return memoryKey(kind, input, this.configs.slice(0, depth));
  }
}

/** Key of a remembered prefix: `fit` on an input, or `transform|<fit input>` of another input. */
export function memoryKey(kind: string, input: string, prefix: readonly StepConfig[]): string {
  return digest(kind, '|', input, '|', stepsIdentity(prefix));
}

/** The fitted states of stages, or null when one of them has no saved form (an mljs oracle: never remembered). */
function snapshots(stages: Stage[]): Snapshot[] | null {
  try {
    return stages.map((s) => s.snapshot());
  } catch (err) {
    if (err instanceof SnapshotError) return null;
    throw err;
  }
}
/** fitTransform of a transformer at `index`, its param errors named as fitStep names them. */
async function fitTransformStep(stage: Transformer, index: number, X: Matrix, y: Uint8Array): Promise<Matrix> {
  try {
    return await stage.fitTransform!(X, y);
  } catch (err) {
    if (err instanceof ParamRangeError) throw new StepParamError(index, stage.name, err.param, err.message);
    throw err;
  }
}

/** Fits one stage; a param that does not fit the data becomes a StepParamError carrying the step's index. */
export async function fitStep(
  stage: Stage,
  index: number,
  X: Matrix,
  y: Uint8Array,
  groups?: Int32Array | null,
): Promise<void> {
  try {
    await (groups && stage.kind === 'estimator' ? stage.fit(X, y, { groups }) : stage.fit(X, y));
  } catch (err) {
    if (err instanceof ParamRangeError) throw new StepParamError(index, stage.name, err.param, err.message);
    throw err;
  }
}
