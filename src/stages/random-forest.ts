import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { labelCount, matrix, toNested, type Matrix } from '../linalg/matrix.js';
import { runAll, sharedFloat32, splitRange, workerCount, type Task } from '../runtime/pool.js';
import { deriveSeed } from '../util/rng.js';
import { MAX_BINS, type BinnedData } from './random-forest/bins.js';
import type { TreeArrays, TreeOptions } from './random-forest/grow.js';
import { accumulateLeaves } from './random-forest/predict.js';
import { arrayField, listField, ModelError, numberField } from './snapshot.js';
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

const MAX_FEATURES_MESSAGE = 'max_features must be "sqrt", "log2", a fraction in (0, 1] or a whole number ≥ 1';

export const RandomForestParams = z
  .object({
    /** Number of trees (scikit-learn's n_estimators); bounded so a typo (1e9) is an error, not an out-of-memory crash. */
    trees: z.number().int().min(1).max(10_000, 'at most 10000 trees (each is kept in memory)').default(100),
    /** Depth limit (root = depth 0, so 1 gives stumps); null grows every tree until its leaves are pure. */
    max_depth: z.number().int().min(1).nullable().default(null),
    /**
     * Features examined at each split, drawn afresh at every node: 'sqrt' or 'log2' of the feature count, a fraction
     * of it in (0, 1], or a count ≥ 2. The number 1 is read as the fraction 1.0 (all features: plain bagged trees),
     * since pipeline files cannot tell 1 from 1.0.
     */
    max_features: z
      .union(
        [
          z.enum(['sqrt', 'log2']),
          z.number().refine((v) => (v > 0 && v <= 1) || (Number.isInteger(v) && v >= 1), MAX_FEATURES_MESSAGE),
        ],
        { error: MAX_FEATURES_MESSAGE },
      )
      .default('sqrt'),
    /** Fewest training samples (distinct rows of the bootstrap sample) a leaf may hold. */
    min_samples_leaf: z.number().int().min(1).default(1),
    /** Fit each tree on a bootstrap sample (drawn with replacement, as many rows as the data). */
    bootstrap: z.boolean().default(true),
    /** Tree t uses deriveSeed(seed, t): results do not depend on the number of workers. */
    seed: z.number().int().min(0).max(0xffffffff).default(0),
    /** native: our histogram CART on worker threads; mljs: ml-random-forest (slow, features drawn per tree). */
    engine: z.enum(['native', 'mljs']).default('native'),
  })
  .strict();
export type RandomForestParams = z.infer<typeof RandomForestParams>;

/** Features examined per split for these params and this many features; throws ParamRangeError when impossible. */
export function resolveMaxFeatures(maxFeatures: RandomForestParams['max_features'], features: number): number {
  if (maxFeatures === 'sqrt') return Math.max(1, Math.floor(Math.sqrt(features)));
  if (maxFeatures === 'log2') return Math.max(1, Math.floor(Math.log2(features)));
  if (maxFeatures <= 1) return Math.max(1, Math.floor(maxFeatures * features));
  if (maxFeatures > features) {
    throw new ParamRangeError(
      'max_features',
      `random_forest: max_features is ${maxFeatures}, but the data has only ${features} features (use at most ${features}, or a fraction such as 0.5)`,
    );
  }
  return maxFeatures;
}

/** The pool tasks (binFeatures, growTree). */
const WORKER_MODULE = new URL('./random-forest-worker.js', import.meta.url).href;

interface NativeModel {
  engine: 'native';
  trees: TreeArrays[];
}

interface MljsModel {
  engine: 'mljs';
  forest: MlForest;
}

interface Fitted {
  features: number;
  classes: number;
  model: NativeModel | MljsModel;
}

/** The parts of ml-random-forest's classifier we use (its bundled typings do not resolve under NodeNext). */
interface MlForest {
  train(X: number[][], y: number[]): void;
  predict(X: number[][]): number[];
  predictionValues(X: number[][]): { rows: number; columns: number; get(i: number, j: number): number };
}

export class RandomForest extends BaseStage<RandomForestParams, Fitted> implements Estimator<RandomForestParams> {
  readonly name = 'random_forest';
  readonly kind = 'estimator' as const;

  constructor(params: Partial<RandomForestParams> = {}) {
    super(RandomForestParams, params);
  }

  /** Nodes of each fitted tree (native engine), for tests and reports. */
  treeSizes(): number[] {
    return this.trees().map((t) => t.feature.length);
  }

  /** The fitted trees as flat arrays (native engine). */
  trees(): readonly TreeArrays[] {
    const { model } = this.state;
    return model.engine === 'native' ? model.trees : [];
  }

  async fit(X: Matrix, y: Uint8Array): Promise<this> {
    checkXy(this.name, X, y);
    const maxFeatures = resolveMaxFeatures(this.params.max_features, X.cols);
    const classes = labelCount(y);
    const model =
      this.params.engine === 'mljs'
        ? this.#fitMljs(X, y, maxFeatures)
        : await this.#fitNative(X, y, classes, maxFeatures);
    this.state = { features: X.cols, classes, model };
    return this;
  }

  async #fitNative(X: Matrix, y: Uint8Array, classes: number, maxFeatures: number): Promise<NativeModel> {
    const { rows, cols } = X;
    const workers = workerCount();
    const parallel = workers > 1;
    const alloc = (bytes: number): ArrayBufferLike =>
      parallel ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes);

    const data: BinnedData = {
      id: randomUUID(),
      rows,
      features: cols,
      classes,
      codes: new Uint8Array(alloc(rows * cols)),
      codesByRow: new Uint8Array(alloc(rows * cols)),
      y: new Uint8Array(alloc(rows)),
      binLo: new Float32Array(alloc(cols * MAX_BINS * 4)),
      binHi: new Float32Array(alloc(cols * MAX_BINS * 4)),
    };
    data.y.set(y);

    const Xdata = parallel ? sharedFloat32(X.data) : X.data;
    const binTasks: Task[] = splitRange(cols, workers).map(([f0, f1]) => ({
      module: WORKER_MODULE,
      fn: 'binFeatures',
      args: [Xdata, rows, cols, f0, f1, data.codes, data.codesByRow, data.binLo, data.binHi],
    }));
    await runAll(binTasks);

    const opts: TreeOptions = {
      maxDepth: this.params.max_depth ?? Infinity,
      maxFeatures,
      minSamplesLeaf: this.params.min_samples_leaf,
      bootstrap: this.params.bootstrap,
    };
    const treeTasks: Task[] = [];
    for (let t = 0; t < this.params.trees; t++) {
      treeTasks.push({ module: WORKER_MODULE, fn: 'growTree', args: [data, opts, deriveSeed(this.params.seed, t)] });
    }
    const trees = await runAll<TreeArrays>(treeTasks);
    return { engine: 'native', trees };
  }

  #fitMljs(X: Matrix, y: Uint8Array, maxFeatures: number): MljsModel {
    const { params } = this;
    // ml-random-forest reads a maxFeatures in (0, 1] as a fraction (so 1 means all features): ask for one feature
    // with a fraction that floors to 1.
    const mlMaxFeatures = maxFeatures === 1 && X.cols > 1 ? 1.5 / X.cols : maxFeatures;
    // A fresh options object on every fit: the library keeps (and fills in) what it is given.
    // loaded here, not at the top: only the oracle engine reads the library
    const { RandomForestClassifier: MlRandomForest } = createRequire(import.meta.url)(
      'ml-random-forest',
    ) as typeof import('ml-random-forest');
    const forest = new MlRandomForest({
      nEstimators: params.trees,
      maxFeatures: mlMaxFeatures,
      replacement: false,
      seed: params.seed,
      useSampleBagging: params.bootstrap,
      noOOB: true,
      treeOptions: {
        maxDepth: params.max_depth ?? Infinity,
        // ml-cart makes a leaf of any node with at most minNumSamples rows; a split needs 2 × min_samples_leaf.
        minNumSamples: 2 * params.min_samples_leaf - 1,
        gainThreshold: 0,
      },
    }) as unknown as MlForest;
    forest.train(toNested(X), Array.from(y));
    return { engine: 'mljs', forest };
  }

  /** predict and predictProba from one pass over the trees (a service asks for both). */
  async predictWithProba(X: Matrix): Promise<{ labels: Uint8Array; proba: Matrix }> {
    const fitted = this.#check(X);
    const { classes, model } = fitted;
    if (model.engine === 'mljs') return { labels: await this.predict(X), proba: await this.predictProba(X) };
    const sums = accumulateLeaves(model.trees, X.data, X.cols, classes, 0, X.rows);
    return { labels: argmaxRows(sums, X.rows, classes), proba: averaged(sums, X.rows, classes, model.trees.length) };
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    const fitted = this.#check(X);
    const { classes, model } = fitted;
    const out = new Float32Array(X.rows * classes);
    if (model.engine === 'native') {
      return averaged(
        accumulateLeaves(model.trees, X.data, X.cols, classes, 0, X.rows),
        X.rows,
        classes,
        model.trees.length,
      );
    } else {
      // Share of the trees voting for each label.
      const votes = model.forest.predictionValues(toNested(X));
      const inv = 1 / votes.columns;
      for (let i = 0; i < votes.rows; i++) {
        for (let t = 0; t < votes.columns; t++) {
          const label = votes.get(i, t);
          if (label >= 0 && label < classes) out[i * classes + label] += inv;
        }
      }
    }
    return matrix(X.rows, classes, out);
  }

  async predict(X: Matrix): Promise<Uint8Array> {
    const fitted = this.#check(X);
    const { classes, model } = fitted;
    if (model.engine === 'mljs') return Uint8Array.from(model.forest.predict(toNested(X)));
    return argmaxRows(accumulateLeaves(model.trees, X.data, X.cols, classes, 0, X.rows), X.rows, classes);
  }

  #check(X: Matrix): Fitted {
    const fitted = this.state;
    checkFeatures(this.name, X, fitted.features);
    return fitted;
  }

  protected encode(f: Fitted): Snapshot {
    if (f.model.engine === 'mljs') {
      throw new SnapshotError(
        this.name,
        "engine mljs (ml-random-forest, the test oracle) has no saved form; use engine 'native'",
      );
    }
    const trees = f.model.trees.map((t) => ({ ...t }));
    return { features: f.features, classes: f.classes, trees };
  }

  protected decode(s: Snapshot): Fitted {
    if (this.params.engine === 'mljs')
      throw new SnapshotError(this.name, "engine mljs cannot be restored; use engine 'native'");
    const features = numberField(s, 'features', true);
    const classes = numberField(s, 'classes', true);
    if (classes < 1) throw new ModelError('model file: a forest needs at least one class');
    const trees = listField(s, 'trees', (v, i): TreeArrays => {
      if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
        throw new ModelError(`model file: tree ${i} should be an object`);
      }
      const t = v as Snapshot;
      const feature = arrayField(t, 'feature', Int32Array);
      const m = feature.length;
      const tree = {
        feature,
        threshold: arrayField(t, 'threshold', Float64Array, m),
        left: arrayField(t, 'left', Int32Array, m),
        right: arrayField(t, 'right', Int32Array, m),
        leafValue: arrayField(t, 'leafValue', Float32Array),
      };
      // children come after their parent, and a leaf's `left` is its row in leafValue: prediction cannot loop or overrun
      const leaves = tree.leafValue.length / classes;
      if (m === 0 || !Number.isInteger(leaves))
        throw new ModelError(`model file: tree ${i} is empty or its leaves do not match the classes`);
      for (let n = 0; n < m; n++) {
        const { left, right } = tree;
        const ok =
          feature[n] < 0
            ? left[n] >= 0 && left[n] < leaves
            : feature[n] < features && left[n] > n && left[n] < m && right[n] > n && right[n] < m;
        if (!ok) throw new ModelError(`model file: tree ${i} node ${n} points outside the tree`);
      }
      return tree;
    });
    if (trees.length === 0) throw new ModelError('model file: a forest without trees');
    return { features, classes, model: { engine: 'native', trees } };
  }
}

/** Soft voting: argmax of the summed leaf class fractions (first label on ties, as numpy's argmax). */
function argmaxRows(sums: Float64Array, rows: number, classes: number): Uint8Array {
  const out = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    const off = i * classes;
    let best = 0;
    for (let c = 1; c < classes; c++) if (sums[off + c] > sums[off + best]) best = c;
    out[i] = best;
  }
  return out;
}

/** The summed leaf fractions over the trees, as probabilities. */
function averaged(sums: Float64Array, rows: number, classes: number, trees: number): Matrix {
  const out = new Float32Array(rows * classes);
  const inv = 1 / trees;
  for (let i = 0; i < sums.length; i++) out[i] = sums[i] * inv;
  return matrix(rows, classes, out);
}

export const randomForestSpec: StageSpec<RandomForestParams> = {
  name: 'random_forest',
  kind: 'estimator',
  summary:
    'random forest of Gini CART trees (bootstrap, max_features drawn at each split, soft voting), as scikit-learn',
  schema: RandomForestParams,
  savable: savableUnlessMljs,
  create: (params) => new RandomForest(params),
};
