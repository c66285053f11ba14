import type { StepConfig } from '../config/load.js';
import type { Matrix } from '../linalg/matrix.js';
import { registry } from '../stages/registry.js';
import { ParamRangeError, type Estimator, type Stage, type Transformer } from '../stages/stage.js';

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

/**
 * Transformers then one estimator. fit() fits each transformer on the output of the ones before it (training data
 * only) and the estimator on the last output; predict() runs the fitted transformers then the estimator.
 */
export class Pipeline {
  constructor(readonly steps: readonly Step[]) {
    if (steps.length === 0) throw new Error('a pipeline needs at least one stage');
    if (this.estimator.kind !== 'estimator') throw new Error(`the last stage must be an estimator, got ${this.estimator.name}`);
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

  async fit(X: Matrix, y: Uint8Array, timings?: Timings, onStep?: StepListener): Promise<this> {
    let current = X;
    for (const [i, { id, stage }] of this.transformers.entries()) {
      const t0 = performance.now();
      await fitStep(stage, i, current, y);
      const t1 = performance.now();
      current = await stage.transform(current);
      timings?.add(id, 'fit_ms', t1 - t0);
      timings?.add(id, 'transform_ms', performance.now() - t1);
      onStep?.(id, 'fit_ms');
    }
    const last = this.steps[this.steps.length - 1];
    const t0 = performance.now();
    await fitStep(this.estimator, this.steps.length - 1, current, y);
    timings?.add(last.id, 'fit_ms', performance.now() - t0);
    onStep?.(last.id, 'fit_ms');
    return this;
  }

  /** Runs the fitted transformers over X. */
  async transform(X: Matrix, timings?: Timings): Promise<Matrix> {
    let current = X;
    for (const { id, stage } of this.transformers) {
      const t0 = performance.now();
      current = await stage.transform(current);
      timings?.add(id, 'transform_ms', performance.now() - t0);
    }
    return current;
  }

  async predict(X: Matrix, timings?: Timings, onStep?: StepListener): Promise<Uint8Array> {
    return this.estimate(await this.transform(X, timings), timings, onStep);
  }

  /**
   * Predicted labels and, when the estimator gives them, class probabilities, from one pass of the transformers
   * (probabilities are not timed: they are for the report's pictures, not part of predicting).
   */
  async predictWithProba(X: Matrix, timings?: Timings, onStep?: StepListener): Promise<{ labels: Uint8Array; proba: Matrix | null }> {
    const features = await this.transform(X, timings);
    const labels = await this.estimate(features, timings, onStep);
    const proba = this.estimator.predictProba ? await this.estimator.predictProba(features) : null;
    return { labels, proba };
  }

  /** The estimator's predict on transformed features, timed. */
  private async estimate(features: Matrix, timings?: Timings, onStep?: StepListener): Promise<Uint8Array> {
    const last = this.steps[this.steps.length - 1];
    const t0 = performance.now();
    const out = await this.estimator.predict(features);
    timings?.add(last.id, 'predict_ms', performance.now() - t0);
    onStep?.(last.id, 'predict_ms');
    return out;
  }
}

/** Fits one stage; a param that does not fit the data becomes a StepParamError carrying the step's index. */
export async function fitStep(stage: Stage, index: number, X: Matrix, y: Uint8Array): Promise<void> {
  try {
    await stage.fit(X, y);
  } catch (err) {
    if (err instanceof ParamRangeError) throw new StepParamError(index, stage.name, err.param, err.message);
    throw err;
  }
}
