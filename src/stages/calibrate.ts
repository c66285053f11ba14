import { z } from 'zod';
import { isotonicFit, isotonicPredict, type IsotonicFit } from '../linalg/isotonic.js';
import { matrix, takeLabels, takeRows, type Matrix } from '../linalg/matrix.js';
import { sigmoidPredict, sigmoidTrain } from '../linalg/platt.js';
import { foldRows, stratifiedFolds, takeGroups } from './folds.js';
import { arrayField, listField, ModelError, numberField, objectField } from './snapshot.js';
import {
  BaseStage,
  checkXy,
  ParamRangeError,
  type Estimator,
  type FitOptions,
  type Snapshot,
  type SnapshotValue,
  type StageSpec,
} from './stage.js';
import { stages } from './stage-catalogue.js';

/** The classifier calibrated: a stage of the registry that gives probabilities, and its validated params. */
export interface CalibratedEstimator {
  stage: string;
  params: Record<string, unknown>;
}

export interface CalibrateParams {
  /** sigmoid: Platt's sigmoid of each class's probability; isotonic: a non-decreasing step function of it. */
  method: 'sigmoid' | 'isotonic';
  /** Folds of the cross-validation whose held-out probabilities the calibration is fitted on. */
  folds: number;
  estimator: CalibratedEstimator;
}

const CalibrateSchema: z.ZodType<CalibrateParams> = z
  .object({
    method: z.enum(['sigmoid', 'isotonic']).default('sigmoid'),
    folds: z.number().int().min(2).max(10).default(3),
    estimator: z.unknown(),
  })
  .strict()
  .transform((p, ctx) => {
    const item = p.estimator;
    // as written ({stage: params}), or as validated before ({stage, params}: clones, model files)
    const validated =
      item !== null &&
      typeof item === 'object' &&
      Object.keys(item).length === 2 &&
      typeof (item as CalibratedEstimator).stage === 'string' &&
      typeof (item as CalibratedEstimator).params === 'object';
    if (
      !validated &&
      (item === null || typeof item !== 'object' || Array.isArray(item) || Object.keys(item).length !== 1)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['estimator'],
        message: 'estimator is a one-key map {stage: params}, e.g. { knn: { k: 5 } }',
      });
      return z.NEVER;
    }
    const [stage, raw] = validated
      ? [(item as CalibratedEstimator).stage, (item as CalibratedEstimator).params]
      : Object.entries(item as object)[0];
    const spec = stages().get(stage);
    if (!spec || spec.kind !== 'estimator' || stage === 'calibrate') {
      const allowed = stages()
        .names()
        .filter((n) => n !== 'calibrate' && stages().get(n)!.kind === 'estimator');
      ctx.addIssue({
        code: 'custom',
        path: ['estimator', stage],
        message: `unknown estimator "${stage}"; estimators: ${allowed.join(', ')}`,
      });
      return z.NEVER;
    }
    const parsed = spec.schema.safeParse(raw ?? {});
    if (!parsed.success) {
      for (const issue of parsed.error.issues)
        ctx.addIssue({ ...issue, path: ['estimator', stage, ...issue.path] } as never);
      return z.NEVER;
    }
    return { method: p.method, folds: p.folds, estimator: { stage, params: parsed.data as Record<string, unknown> } };
  }) as unknown as z.ZodType<CalibrateParams>;

interface Fitted {
  /** The estimator fitted on every training row. */
  inner: Estimator;
  /** Labels seen in fit, ascending, and the probability columns (largest label + 1). */
  classes: number[];
  cols: number;
  /** sigmoid: per class, P = 1 / (1 + exp(A·p + B)) of the estimator's probability p. */
  A?: Float64Array;
  B?: Float64Array;
  /** isotonic: per class, the fitted step function. */
  isotonic?: IsotonicFit[];
}

/**
 * Calibrated probabilities for any classifier that gives probabilities, as scikit-learn's CalibratedClassifierCV with
 * ensemble=False: the estimator's probabilities on held-out rows of a stratified, seeded cross-validation within the
 * training rows teach one calibrator per class (one-vs-rest: a sigmoid, or an isotonic step function, of that class's
 * probability); the estimator is then fitted on every row, and its probabilities are calibrated class by class and
 * normalised to sum to 1. predict answers the most probable class.
 */
export class Calibrate extends BaseStage<CalibrateParams, Fitted> implements Estimator<CalibrateParams> {
  readonly name = 'calibrate';
  readonly kind = 'estimator' as const;

  constructor(params: Partial<CalibrateParams> = {}) {
    super(CalibrateSchema, params);
  }

  #newInner(): Estimator {
    const { stage, params } = this.params.estimator;
    const inner = stages()
      .get(stage)!
      .create(params as never) as Estimator;
    if (!inner.predictProba)
      throw new ParamRangeError(
        'estimator',
        `calibrate: ${stage} with these params gives no probabilities to calibrate (an svm needs probability: true)`,
      );
    return inner;
  }

  async fit(X: Matrix, y: Uint8Array, options: FitOptions = {}): Promise<this> {
    checkXy(this.name, X, y);
    const { folds, method } = this.params;
    const counts = new Map<number, number>();
    for (const label of y) counts.set(label, (counts.get(label) ?? 0) + 1);
    const classes = [...counts.keys()].sort((a, b) => a - b);
    for (const c of classes) {
      if (counts.get(c)! < folds)
        throw new ParamRangeError(
          'folds',
          `calibrate: class ${c} has ${counts.get(c)} training rows, fewer than the ${folds} folds`,
        );
    }
    const cols = classes[classes.length - 1] + 1;
    this.state = null;
    // the estimator's probabilities on held-out rows
    const heldOut = new Float64Array(y.length * cols);
    const { groups } = options;
    const fold = stratifiedFolds(y, folds, 0, groups);
    for (let f = 0; f < folds; f++) {
      const { train, held } = foldRows(fold, f);
      const trainGroups = takeGroups(groups, train);
      const inner = await this.#newInner().fit(
        takeRows(X, train),
        takeLabels(y, train),
        trainGroups ? { groups: trainGroups } : {},
      );
      const p = await inner.predictProba!(takeRows(X, held));
      held.forEach((row, t) => {
        for (let c = 0; c < Math.min(p.cols, cols); c++) heldOut[row * cols + c] = p.data[t * p.cols + c];
      });
    }
    const fitted: Fitted = { inner: await this.#newInner().fit(X, y, options), classes, cols };
    const scores = (c: number) => Float64Array.from({ length: y.length }, (_, i) => heldOut[i * cols + c]);
    const isClass = (c: number) => Uint8Array.from(y, (label) => (label === c ? 1 : 0));
    if (method === 'sigmoid') {
      fitted.A = new Float64Array(classes.length);
      fitted.B = new Float64Array(classes.length);
      classes.forEach((c, k) => ({ A: fitted.A![k], B: fitted.B![k] } = sigmoidTrain(scores(c), isClass(c))));
    } else {
      fitted.isotonic = classes.map((c) => isotonicFit(scores(c), isClass(c)));
    }
    this.state = fitted;
    return this;
  }

  async predictWithProba(X: Matrix): Promise<{ labels: Uint8Array; proba: Matrix }> {
    const { inner, classes, cols, A, B, isotonic } = this.state;
    const p = await inner.predictProba!(X);
    const proba = matrix(X.rows, cols);
    const labels = new Uint8Array(X.rows);
    const q = new Float64Array(classes.length);
    for (let row = 0; row < X.rows; row++) {
      let sum = 0;
      classes.forEach((c, k) => {
        const v = c < p.cols ? p.data[row * p.cols + c] : 0;
        q[k] = A ? sigmoidPredict(v, A[k], B![k]) : isotonicPredict(isotonic![k], v);
        sum += q[k];
      });
      let best = 0;
      classes.forEach((c, k) => {
        // all calibrated to 0: no preference, as scikit-learn (uniform)
        const value = sum > 0 ? q[k] / sum : 1 / classes.length;
        proba.data[row * cols + c] = value;
        if (value > proba.data[row * cols + classes[best]]) best = k;
      });
      labels[row] = classes[best];
    }
    return { labels, proba };
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    return (await this.predictWithProba(X)).proba;
  }

  async predict(X: Matrix): Promise<Uint8Array> {
    return (await this.predictWithProba(X)).labels;
  }

  protected encode(f: Fitted): Snapshot {
    return {
      inner: f.inner.snapshot(),
      classes: [...f.classes],
      cols: f.cols,
      ...(f.A ? { A: f.A, B: f.B! } : {}),
      ...(f.isotonic ? { isotonic: f.isotonic.map((fit): SnapshotValue => ({ x: fit.x, y: fit.y })) } : {}),
    };
  }

  protected decode(s: Snapshot): Fitted {
    const classes = listField(s, 'classes', (v) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255)
        throw new ModelError('model file: calibrate classes should be labels 0..255');
      return v;
    });
    const cols = numberField(s, 'cols', true);
    const inner = this.#newInner().restore(objectField(s, 'inner'));
    const fitted: Fitted = { inner, classes, cols };
    if (this.params.method === 'sigmoid') {
      fitted.A = arrayField(s, 'A', Float64Array, classes.length);
      fitted.B = arrayField(s, 'B', Float64Array, classes.length);
    } else {
      fitted.isotonic = listField(s, 'isotonic', (v) => {
        const o = v as Snapshot;
        const x = arrayField(o, 'x', Float64Array);
        return { x, y: arrayField(o, 'y', Float64Array, x.length) };
      });
      if (fitted.isotonic.length !== classes.length)
        throw new ModelError('model file: calibrate needs one isotonic fit per class');
    }
    return fitted;
  }
}

export const calibrateSpec: StageSpec<CalibrateParams> = {
  name: 'calibrate',
  kind: 'estimator',
  summary:
    "calibrated probabilities for a classifier (scikit-learn's CalibratedClassifierCV): sigmoid or isotonic, fitted on held-out folds",
  schema: CalibrateSchema,
  savable: (params) => {
    const answer = stages()
      .get(params.estimator.stage)!
      .savable(params.estimator.params as never);
    return answer === true ? true : `its estimator: ${answer}`;
  },
  create: (params) => new Calibrate(params),
  setParam: (params, path, value) => {
    const [stage, param, ...rest] = path;
    if ((stage === 'method' || stage === 'folds') && param === undefined) return { ...params, [stage]: value };
    if (stage === params.estimator.stage && param !== undefined && rest.length === 0)
      return { ...params, estimator: { stage, params: { ...params.estimator.params, [param]: value } } };
    throw new Error(`expected calibrate.method, calibrate.folds or calibrate.${params.estimator.stage}.<param>`);
  },
};
