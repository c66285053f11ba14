import { resolveGamma, SvmParams } from './svm-params.js';
import { takeRows, type Matrix } from '../linalg/matrix.js';
import { runAll, sharedFloat32, splitRange, workerCount, type Task } from '../runtime/pool.js';
import {
  restrictToClass,
  svmPredictModel,
  type SvmModelParts,
  type SvmPrediction,
  type SvmPredictModel,
} from '../linalg/svm-predict.js';
import { classProbabilities, fitSigmoids, type InnerFit, type Platt } from './svm-probability.js';
import { arrayField, listField, ModelError, numberField, objectField, stringField } from './snapshot.js';
import {
  BaseStage,
  checkFeatures,
  checkXy,
  ParamRangeError,
  SnapshotError,
  type Estimator,
  type FitOptions,
  type Snapshot,
  type StageSpec,
  savableUnlessMljs,
} from './stage.js';
import type { LibsvmParams, PairModel } from './svm-libsvm.js';
import { buildModelParts, modelText } from './svm-model.js';
import { fitMljs, MLJS_MAX_PAIR_ROWS, mljsSupportCounts, predictMljs, type MljsMachine } from './svm-mljs.js';
import type { NativePairModel } from './svm-native.js';

export { resolveGamma, SvmParams } from './svm-params.js';

/** What a fitted svm reports. */
export interface SvmFittedInfo {
  engine: SvmParams['engine'];
  kernel: SvmParams['kernel'];
  /** The gamma the kernel used ('scale'/'auto' resolved on the training data). */
  gamma: number;
  /** Labels seen in fit, ascending. */
  classes: number[];
  /** Support vectors per class (native, libsvm: rows that are support vectors of any of the class's machines). */
  n_support: number[];
  features: number;
  /** Binary machines (one per pair of classes). */
  machines: number;
}

interface Fitted {
  info: SvmFittedInfo;
  /** native, libsvm: the model's arrays in shared memory, for the native predict (and modelText). */
  native?: SvmPredictModel;
  /** mljs: the binary machines. */
  mljs?: MljsMachine[];
  /** probability: each machine's sigmoid, P(class i | f) = 1 / (1 + exp(A·f + B)). */
  platt?: Platt;
}

/**
 * The solver's tolerance in the probability fit's internal folds (the final fit keeps the params' own): the sigmoids
 * need the held-out decision values' scale, not their last digits, and these fits are most of the probability's cost.
 * libsvm's -b 1 uses the final fit's tolerance there too.
 */
const INNER_TOLERANCE = 0.01;

const LIBSVM_MODULE = new URL('./svm-libsvm.js', import.meta.url).href;
const SMO_MODULE = new URL('./svm-native.js', import.meta.url).href;
const NATIVE_MODULE = new URL('../linalg/svm-predict.js', import.meta.url).href;
/** Test rows per native predict task: several tasks per worker, so a slow core does not hold up the end. */
const PREDICT_CHUNK = 512;

/**
 * C-support-vector classifier, one-vs-one over the classes present in y (as libsvm and scikit-learn's SVC).
 * native and libsvm engines: each pair of classes is a binary machine trained on a worker of the pool (by our SMO
 * solver, svm-native.ts, or by libsvm, svm-libsvm.ts, on the same rows in the same order); the machines are combined
 * into libsvm's multi-class model, so both engines fit the same kind of model and share everything after training. predict computes libsvm's decision values natively (svm-predict.ts: every
 * kernel value once per row, blocked dot products, rows split over the workers) and votes as libsvm does;
 * predictLibsvm runs libsvm's own predict (in WebAssembly) for checking. Results do not depend on the number of
 * workers. With `probability`, predictProba as libsvm's -b 1 (linalg/platt.ts).
 */
export class Svm extends BaseStage<SvmParams, Fitted> implements Estimator<SvmParams> {
  readonly name = 'svm';
  readonly kind = 'estimator' as const;

  /** With `probability`: the class probabilities (libsvm's -b 1). */
  declare predictProba?: (X: Matrix) => Promise<Matrix>;
  declare predictWithProba?: (X: Matrix) => Promise<{ labels: Uint8Array; proba: Matrix }>;

  constructor(params: Partial<SvmParams> = {}) {
    super(SvmParams, params);
    if (this.params.probability) {
      this.predictWithProba = (X) => this.#probabilities(X);
      this.predictProba = async (X) => (await this.#probabilities(X)).proba;
    }
  }

  /** Gamma, classes and support-vector counts of the fitted model. */
  get fitted(): Readonly<SvmFittedInfo> {
    return this.state.info;
  }

  /** The fitted model in libsvm's model-file format (native and libsvm engines). */
  modelText(): string {
    return Buffer.from(this.#libsvmModel()).toString('latin1');
  }

  /** The fitted model in libsvm's file format, written on first use and kept with the fit it belongs to. */
  #text: { of: Fitted; bytes: Uint8Array } | null = null;

  /**
   * The fitted model's text (ASCII, in shared memory so workers read it without a copy), for modelText and the libsvm
   * check only: predictions never need it, and writing it takes seconds for a large model (60,000 rows: 20,000 support
   * vectors of 256 values).
   */
  #libsvmModel(): Uint8Array {
    const fitted = this.state;
    const m = fitted.native;
    if (!m) throw new Error('svm: engine mljs has no libsvm model');
    if (this.#text?.of !== fitted) {
      const { kernel, classes: labels, n_support: nSupport, features } = fitted.info;
      const text = modelText({ ...m, kernel, labels, nSupport, features });
      const bytes = new Uint8Array(new SharedArrayBuffer(text.length));
      bytes.set(Buffer.from(text, 'latin1'));
      this.#text = { of: fitted, bytes };
    }
    return this.#text.bytes;
  }

  async fit(X: Matrix, y: Uint8Array, options: FitOptions = {}): Promise<this> {
    checkXy(this.name, X, y);
    checkFinite(X);
    const counts = new Map<number, number>();
    for (let i = 0; i < y.length; i++) counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
    const classes = [...counts.keys()].sort((u, v) => u - v);
    if (classes.length < 2) throw new Error(`svm: needs at least 2 classes to fit, got only class ${classes[0]}`);
    const p = this.params;
    const gamma = resolveGamma(p.gamma, X);
    const pairs: Array<[number, number]> = [];
    for (let i = 0; i < classes.length; i++)
      for (let j = i + 1; j < classes.length; j++) pairs.push([classes[i], classes[j]]);
    this.state = null;

    if (p.max_iter !== undefined && p.engine !== 'native')
      throw new ParamRangeError('max_iter', `svm: max_iter bounds our solver (engine native), not ${p.engine}`);
    if (p.engine === 'mljs') {
      if (p.probability)
        throw new ParamRangeError('probability', 'svm engine mljs gives no probabilities; use engine: native');
      const largest = Math.max(...pairs.map(([a, b]) => counts.get(a)! + counts.get(b)!));
      if (largest > MLJS_MAX_PAIR_ROWS) {
        throw new ParamRangeError(
          'engine',
          `svm engine mljs keeps a full kernel matrix per pair of classes and is meant for small data: a pair has ` +
            `${largest} rows, more than ${MLJS_MAX_PAIR_ROWS}; use engine: native`,
        );
      }
      const machines = fitMljs(X, y, classes, { ...p, gamma });
      this.state = {
        info: this.#info('mljs', gamma, classes, mljsSupportCounts(machines, classes, y), X.cols, machines.length),
        mljs: machines,
      };
      return this;
    }

    const lp: LibsvmParams = {
      kernel: p.kernel,
      C: p.C,
      gamma,
      degree: p.degree,
      coef0: p.coef0,
      tolerance: p.tolerance,
      cacheMb: p.cache_mb,
      ...(p.max_iter !== undefined ? { maxIterations: p.max_iter } : {}),
    };
    const Xs = sharedFloat32(X.data);
    const ys = new Uint8Array(new SharedArrayBuffer(y.length));
    ys.set(y);
    // Larger pairs first, so the last tasks to finish are short ones.
    const order = [...pairs].sort(
      (u, v) => counts.get(v[0])! + counts.get(v[1])! - (counts.get(u[0])! + counts.get(u[1])!),
    );
    const machines = await runAll<PairModel>(
      order.map(([a, b]): Task =>
        p.engine === 'native'
          ? { module: SMO_MODULE, fn: 'trainPairNative', args: [Xs, X.cols, ys, a, b, lp] }
          : { module: LIBSVM_MODULE, fn: 'trainPair', args: [Xs, X.cols, ys, a, b, lp] },
      ),
    );
    // libsvm's iteration bound reached (C or gamma far too large, the problem degenerate): said, as libsvm says it
    const stuck = machines.filter((m) => (m as Partial<NativePairModel>).converged === false).length;
    if (stuck > 0) {
      process.emitWarning(
        `svm: ${stuck} of ${machines.length} binary machines stopped at the solver's iteration limit` +
          `${p.max_iter !== undefined ? ` (max_iter ${p.max_iter})` : ''} without converging ` +
          `(C = ${p.C}, gamma = ${gamma}); the model may be poor: try a smaller C or gamma`,
        'FashionPipelineWarning',
      );
    }
    const { nSupport, parts } = buildModelParts(X.data, X.cols, classes, machines, lp);
    const platt = p.probability ? await this.#fitPlatt(X, y, classes, counts, options.groups) : undefined;
    this.state = {
      info: this.#info(p.engine, gamma, classes, nSupport, X.cols, machines.length),
      native: svmPredictModel(parts),
      ...(platt ? { platt } : {}),
    };
    return this;
  }

  /** Each machine's sigmoid, from an svm of the same params fitted within the training rows (svm-probability.ts). */
  #fitPlatt(
    X: Matrix,
    y: Uint8Array,
    classes: number[],
    counts: Map<number, number>,
    groups: Int32Array | undefined,
  ): Promise<Platt> {
    const folds = this.params.probability_folds ?? 2;
    const fitInner: InnerFit = async (Xf, yf) => {
      const inner = new Svm({
        ...this.params,
        probability: false,
        tolerance: Math.max(this.params.tolerance, INNER_TOLERANCE),
      });
      await inner.fit(Xf, yf);
      return (rows, labels) => inner.#ownClassDecisions(rows, labels);
    };
    return fitSigmoids(X, y, classes, counts, folds, fitInner, groups, this.params.probability_held_out ?? 'auto');
  }

  /** Class probabilities (columns up to the largest class seen) and the most probable class of each row. */
  async #probabilities(X: Matrix): Promise<{ labels: Uint8Array; proba: Matrix }> {
    const { info, platt } = this.state;
    if (!platt) throw new Error('svm: fitted without probability');
    return classProbabilities(await this.decisionValues(X), X.rows, info.classes, platt);
  }

  #info(
    engine: SvmFittedInfo['engine'],
    gamma: number,
    classes: number[],
    nSupport: number[],
    features: number,
    machines: number,
  ): SvmFittedInfo {
    return Object.freeze({
      engine,
      kernel: this.params.kernel,
      gamma,
      classes,
      n_support: nSupport,
      features,
      machines,
    });
  }

  async predict(X: Matrix): Promise<Uint8Array> {
    const fitted = this.state;
    checkFeatures(this.name, X, fitted.info.features);
    checkFinite(X);
    if (fitted.mljs) return predictMljs(fitted.mljs, fitted.info.classes, X);
    if (fitted.platt) return (await this.#probabilities(X)).labels;
    return (await this.#native(X, false)).labels;
  }

  /**
   * native and libsvm engines: the decision value of every binary machine for every row, rows × machines, machines (i, j), i < j
   * over fitted.classes in libsvm's order (> 0 votes for class i). Computed natively, as predict computes them.
   */
  async decisionValues(X: Matrix): Promise<Float64Array> {
    const fitted = this.state;
    checkFeatures(this.name, X, fitted.info.features);
    checkFinite(X);
    return (await this.#native(X, true)).decision!;
  }

  /**
   * Decision values (rows × machines) of rows whose labels are known, valid for the machines of each row's own class:
   * each class's rows go through the support vectors its machines use (restrictToClass), the same values as
   * decisionValues there.
   */
  async #ownClassDecisions(X: Matrix, labels: Uint8Array): Promise<Float64Array> {
    const { info, native } = this.state;
    const machines = info.machines;
    const decision = new Float64Array(X.rows * machines);
    for (let c = 0; c < info.classes.length; c++) {
      const rows: number[] = [];
      labels.forEach((label, r) => {
        if (label === info.classes[c]) rows.push(r);
      });
      if (rows.length === 0) continue;
      const part = await this.#native(takeRows(X, rows), true, restrictToClass(native!, c));
      rows.forEach((r, t) => decision.set(part.decision!.subarray(t * machines, (t + 1) * machines), r * machines));
    }
    return decision;
  }

  async #native(X: Matrix, withDecision: boolean, model = this.state.native): Promise<SvmPrediction> {
    if (!model) throw new Error('svm: engine mljs has no decision values');
    const pairs = this.state.info.machines;
    const labels = new Uint8Array(X.rows);
    const decision = withDecision ? new Float64Array(X.rows * pairs) : null;
    if (X.rows === 0) return { labels, decision };
    const source = workerCount() > 1 ? sharedFloat32(X.data) : X.data;
    const ranges: Array<[number, number]> = [];
    for (let r = 0; r < X.rows; r += PREDICT_CHUNK) ranges.push([r, Math.min(X.rows, r + PREDICT_CHUNK)]);
    const parts = await runAll<SvmPrediction>(
      ranges.map(([start, end]): Task => ({
        module: NATIVE_MODULE,
        fn: 'svmPredictTask',
        args: [model, source, start, end, withDecision],
      })),
    );
    parts.forEach((part, t) => {
      const [start] = ranges[t];
      labels.set(part.labels, start);
      if (decision) decision.set(part.decision!, start * pairs);
    });
    return { labels, decision };
  }

  /**
   * native and libsvm engines: predictions by libsvm's own svm_predict (WebAssembly, rows split over the workers) from
   * the fitted model, for checking.
   */
  async predictLibsvm(X: Matrix): Promise<Uint8Array> {
    const fitted = this.state;
    checkFeatures(this.name, X, fitted.info.features);
    checkFinite(X);
    const model = this.#libsvmModel();
    if (X.rows === 0) return new Uint8Array(0);
    const Xs = sharedFloat32(X.data);
    const parts = await runAll<Uint8Array>(
      splitRange(X.rows, workerCount()).map(([start, end]): Task => ({
        module: LIBSVM_MODULE,
        fn: 'predictRows',
        args: [model, Xs, X.cols, start, end],
      })),
    );
    const out = new Uint8Array(X.rows);
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  protected encode(f: Fitted): Snapshot {
    if (!f.native) {
      throw new SnapshotError(
        this.name,
        "engine mljs (ml-svm, the test oracle) has no saved form; use engine 'native' or 'libsvm'",
      );
    }
    const { info, native: m } = f;
    return {
      // the arrays only: libsvm's text model is written from them when asked for (modelText)
      info: { ...info, classes: [...info.classes], n_support: [...info.n_support] },
      native: { gamma: m.gamma, coef0: m.coef0, degree: m.degree, sv: m.sv, coef: m.coef, rho: m.rho },
      ...(f.platt ? { platt: { A: f.platt.A, B: f.platt.B } } : {}),
    };
  }

  protected decode(s: Snapshot): Fitted {
    if (this.params.engine === 'mljs')
      throw new SnapshotError(this.name, "engine mljs cannot be restored; use engine 'native' or 'libsvm'");
    const i = objectField(s, 'info');
    const whole = (v: unknown): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new ModelError('model file: svm counts and classes should be whole numbers');
      return v;
    };
    const classes = listField(i, 'classes', whole);
    const kernel = stringField(i, 'kernel');
    if (!SvmParams.shape.kernel.safeParse(kernel).success)
      throw new ModelError(`model file: unknown svm kernel "${kernel}"`);
    // files written before the native engine existed have no engine in their info: libsvm fitted them
    const engine = i.engine === undefined ? 'libsvm' : stringField(i, 'engine');
    if (engine !== 'native' && engine !== 'libsvm') throw new ModelError(`model file: unknown svm engine "${engine}"`);
    const info: SvmFittedInfo = Object.freeze({
      engine,
      kernel: kernel as SvmFittedInfo['kernel'],
      gamma: numberField(i, 'gamma'),
      classes,
      n_support: listField(i, 'n_support', whole),
      features: numberField(i, 'features', true),
      machines: numberField(i, 'machines', true),
    });
    const k = classes.length;
    if (k < 2 || classes.some((c) => c > 255) || info.n_support.length !== k || info.machines !== (k * (k - 1)) / 2) {
      throw new ModelError('model file: svm classes, support counts and machines do not agree');
    }
    const n = objectField(s, 'native');
    const parts: SvmModelParts = {
      kernel: info.kernel,
      gamma: numberField(n, 'gamma'),
      coef0: numberField(n, 'coef0'),
      degree: numberField(n, 'degree'),
      features: info.features,
      labels: classes,
      nSupport: info.n_support,
      sv: arrayField(n, 'sv', Float32Array),
      coef: arrayField(n, 'coef', Float64Array),
      rho: arrayField(n, 'rho', Float64Array),
    };
    let native: SvmPredictModel;
    try {
      native = svmPredictModel(parts);
    } catch (err) {
      throw new ModelError(`model file: ${(err as Error).message}`);
    }
    if (!this.params.probability) return { info, native };
    const pl = objectField(s, 'platt');
    const platt = {
      A: arrayField(pl, 'A', Float64Array, info.machines),
      B: arrayField(pl, 'B', Float64Array, info.machines),
    };
    return { info, native, platt };
  }
}

function checkFinite(X: Matrix): void {
  const { data, cols } = X;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new Error(`svm: X has a non-finite value (${data[i]}) at row ${Math.floor(i / cols)}, feature ${i % cols}`);
    }
  }
}

export const svmSpec: StageSpec<SvmParams> = {
  name: 'svm',
  kind: 'estimator',
  summary:
    'support-vector classifier (C-SVC, one-vs-one; linear, rbf or poly kernel): our SMO solver, libsvm, or ml-svm for small data',
  schema: SvmParams,
  savable: savableUnlessMljs,
  create: (params) => new Svm(params),
};
