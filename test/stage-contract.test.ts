import test, { type ExecutionContext } from 'ava';
import { shutdownPool } from '../src/runtime/pool.js';
import { matrix, takeRows, type Matrix } from '../src/linalg/matrix.js';
import { createRng } from '../src/util/rng.js';
import { registry } from '../src/stages/registry.js';
import { Svm } from '../src/stages/svm.js';
import {
  NotFittedError,
  ParamRangeError,
  SnapshotError,
  type Estimator,
  type Stage,
  type StageSpec,
  type Transformer,
} from '../src/stages/stage.js';
import { blobs } from './helpers.js';

/**
 * The stage contract (stage.ts, DESIGN.md), checked for every registry entry and each engine variant, in the spirit
 * of scikit-learn's estimator_checks. A stage added to the registry is covered with its default params until it has
 * a row in VARIANTS.
 */

test.after.always(() => shutdownPool());

/**
 * Param variants per stage: each engine and each shape of fitted state, with small params so a fit takes well under a
 * second on the data below. The first variant of each stage is its plain one.
 */
const VARIANTS: Record<string, Array<Record<string, unknown>>> = {
  normalize: [{ method: 'minmax' }, { method: 'standard' }, { method: 'l2' }],
  pca: [{ components: 4 }, { components: 3, whiten: true }, { components: 4, engine: 'mljs' }],
  knn: [
    { k: 3 },
    { k: 3, algorithm: 'brute' },
    { k: 4, algorithm: 'brute', weights: 'distance' },
    { k: 4, weights: 'distance' },
    { k: 2, metric: 'manhattan' },
    { k: 3, engine: 'mljs' },
    { k: 4, engine: 'mljs', weights: 'distance' },
  ],
  svm: [
    { C: 1 },
    { kernel: 'linear', C: 0.5 },
    { kernel: 'poly', degree: 3, coef0: 0.5, gamma: 0.2 },
    { C: 1, engine: 'mljs' },
  ],
  hog: [
    { size: 6, cell: 2, block: 2, orientations: 4 },
    { size: 6, cell: 3, block: 1, norm: 'l1', signed: true },
    { size: 6, cell: 2, block: 2, block_stride: 2, norm: 'l2' },
  ],
  union: [
    {
      scaled: { steps: [{ normalize: { method: 'standard' } }] },
      components: { steps: [{ normalize: {} }, { pca: { components: 1 } }], weight: 0.5 },
    },
    { knn_free: { steps: [{ normalize: { method: 'l2' } }, { normalize: { method: 'standard' } }], weight: 2 } },
  ],
  flip: [{ image: { height: 6, width: 6, channels: 1 } }, { image: { height: 2, width: 6, channels: 3 } }],
  grey: [{ weights: 'bt709' }, { weights: 'bt601' }],
  colour_histogram: [{ bins: [4, 2, 3] }],
  random_forest: [
    { trees: 5, seed: 3 },
    { trees: 3, max_depth: 2, seed: 1 },
    { trees: 5, seed: 3, engine: 'mljs' },
  ],
};

/** Params a one-feature fit needs instead (the others keep theirs). */
const ONE_FEATURE: Record<string, Record<string, unknown>> = {
  hog: { size: 1, cell: 1, block: 1 },
  pca: { components: 1 },
  flip: { image: { height: 1, width: 1, channels: 1 } },
};

/** Stages that take RGB rows only (3 values a pixel): one feature is refused whatever the params, naming the input. */
const RGB_ONLY = new Set(['grey', 'colour_histogram']);

/**
 * Engines whose fitted stages refuse snapshot() and restore() with SnapshotError: the ml-* oracles hold library
 * objects. PCA's mljs engine is not among them: whichever engine solved it, its fitted state is plain arrays.
 */
const UNSAVABLE_ENGINES: Record<string, string[]> = { knn: ['mljs'], svm: ['mljs'], random_forest: ['mljs'] };

function savable(spec: StageSpec, params: Record<string, unknown>): boolean {
  const expected = !(UNSAVABLE_ENGINES[spec.name] ?? []).includes(params.engine as string);
  if ((spec.savable(params as never) === true) !== expected)
    throw new Error(`${spec.name}: savable() disagrees with the table`);
  return expected;
}

const CLASSES = 3;
const TRAIN_ROWS = 150;
/**
 * 1300 query rows: more than one query chunk of knn and svm (512 rows) and of PCA's projection (1024 rows), so the
 * subset checks below split the work differently from the whole batch. The first TRAIN_ROWS rows are the training
 * data (blobs with one seed share their centres whatever their size), so queries include exact matches. The blobs
 * overlap and their values are whole numbers, as pixels are: distances tie, and votes and tree shares come out even
 * on some rows, which the tie rules must handle.
 */
const queries = blobs(1300, 36, CLASSES, 11, 3); // 36 features: hog reads them as 6×6 images
queries.X.data.forEach((v, i) => (queries.X.data[i] = Math.round(v)));
const train = { X: takeRows(queries.X, range(TRAIN_ROWS)), y: queries.y.slice(0, TRAIN_ROWS) };

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Labels relabelled 0 → 0, 1 → 3, 2 → 7 (order kept): labels that are not 0..k−1. */
const SPARSE_LABELS = [0, 3, 7];

type Output = Matrix | Uint8Array;

function output(stage: Stage, X: Matrix): Promise<Output> {
  return stage.kind === 'transformer' ? (stage as Transformer).transform(X) : (stage as Estimator).predict(X);
}

function proba(stage: Stage): Estimator['predictProba'] | undefined {
  return stage.kind === 'estimator' ? (stage as Estimator).predictProba?.bind(stage) : undefined;
}

/** Output row i (a label, or a transformed row) as plain numbers. */
function outputRow(o: Output, i: number): number[] {
  if (o instanceof Uint8Array) return [o[i]];
  return Array.from(o.data.subarray(i * o.cols, (i + 1) * o.cols));
}

function values(o: Output): number[] {
  return Array.from(o instanceof Uint8Array ? o : o.data);
}

/** The rows `indices` of a whole-batch output, in that order. */
function pick(o: Output, indices: readonly number[]): number[] {
  return indices.flatMap((i) => outputRow(o, i));
}

const title = (spec: StageSpec, variant: Record<string, unknown>) => `${spec.name} ${JSON.stringify(variant)}`;

/** One fit per stage variant on the training rows, with its outputs on every query row, shared by the checks that only read it. */
const fits = new Map<string, Promise<{ stage: Stage; out: Output; probs: Matrix | null }>>();
function fitted(spec: StageSpec, params: Record<string, unknown>) {
  const key = `${spec.name} ${JSON.stringify(params)}`;
  let fit = fits.get(key);
  if (!fit) {
    fit = (async () => {
      const stage = await spec.create(params).fit(train.X, train.y);
      const probs = (await proba(stage)?.(queries.X)) ?? null;
      return { stage, out: await output(stage, queries.X), probs };
    })();
    fits.set(key, fit);
  }
  return fit;
}

/**
 * Probability rows sum to 1 and predict's label carries the largest probability. Where two labels tie for it (equal
 * up to float32 rounding: knn's distance-weighted votes, a forest's tree shares) predict may take either, by the
 * engine's own tie rule (stage.ts, Estimator.predictProba); where one label leads clearly, predict gives that label.
 */
function checkProbabilities(t: ExecutionContext, probs: Matrix, predicted: Uint8Array, what: string): void {
  // two probabilities that differ only by float32 rounding (≤ 2^-24 relative) count as tied
  const tie = 1e-6;
  for (let i = 0; i < probs.rows; i++) {
    const p = probs.data.subarray(i * probs.cols, (i + 1) * probs.cols);
    // each float32 entry is off by at most 2^-24 relative, so a row of ≤ 8 sums to 1 within 5e-7
    const sum = p.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-5) return void t.fail(`${what}: row ${i} sums to ${sum}`);
    if (p.some((v) => !(v >= 0))) return void t.fail(`${what}: row ${i} has a negative or NaN probability`);
    const top = Math.max(...p);
    const leaders = p.reduce<number[]>((acc, v, c) => (v >= top - tie ? [...acc, c] : acc), []);
    if (!leaders.includes(predicted[i])) {
      return void t.fail(
        `${what}: row ${i} predicted ${predicted[i]} but the largest probabilities are at ${leaders} (${Array.from(p)})`,
      );
    }
  }
  t.pass();
}

for (const spec of registry.values()) {
  for (const variant of VARIANTS[spec.name] ?? [{}]) {
    const params = spec.schema.parse(variant) as Record<string, unknown>;
    const name = title(spec, variant);

    test(`${name}: clone, params untouched by fit, refit reproducible, unfitted use throws, output shape`, async (t) => {
      const stage = spec.create(params);
      t.is(stage.name, spec.name);
      t.is(stage.kind, spec.kind);
      const before = JSON.stringify(stage.params);

      await t.throwsAsync(() => output(stage, train.X), { instanceOf: NotFittedError });
      const copy = stage.clone();
      t.not(copy, stage);
      t.deepEqual(copy.params, stage.params);

      await stage.fit(train.X, train.y);
      t.is(JSON.stringify(stage.params), before, 'fit must not rewrite params');
      await t.throwsAsync(() => output(copy, train.X), { instanceOf: NotFittedError }, 'a clone is unfitted');

      const first = await output(stage, train.X);
      const again = await output(await stage.clone().fit(train.X, train.y), train.X);
      t.deepEqual(values(again), values(first), 'same params and data give the same output');
      if (first instanceof Uint8Array) {
        t.is(first.length, train.X.rows);
        t.true(first.every((v) => v < CLASSES));
      } else {
        t.is(first.rows, train.X.rows);
        t.is(first.cols, spec.outputFeatures!(params as never, train.X.cols));
      }
      const wrong = matrix(2, train.X.cols + 1, new Float32Array(2 * (train.X.cols + 1)));
      await t.throwsAsync(() => output(stage, wrong), undefined, 'a different feature count is refused');
    });

    // Each output row depends on its input row alone, computed in a fixed order over the features (PCA's kernel is
    // bit-identical per row, whichever block or task holds it), so even transformers must agree exactly, not just
    // within a tolerance: a difference means rows leak into each other across chunk or block boundaries.
    test(`${name}: a subset of rows in another order (with a repeat) gives exactly the batch's rows`, async (t) => {
      const { stage, out, probs } = await fitted(spec, params);
      const order = Array.from(createRng(5).shuffle(Int32Array.from(range(queries.X.rows))));
      const subset = [...order.slice(0, 700), order[0]];
      const part = await output(stage, takeRows(queries.X, subset));
      t.deepEqual(values(part), pick(out, subset));
      if (probs) {
        const partProbs = await proba(stage)!(takeRows(queries.X, subset));
        t.deepEqual(Array.from(partProbs.data), pick(probs, subset), 'predictProba');
      }
    });

    test(`${name}: a single row gives that row's batch output`, async (t) => {
      const { stage, out, probs } = await fitted(spec, params);
      for (const i of [0, 777, queries.X.rows - 1]) {
        const one = await output(stage, takeRows(queries.X, [i]));
        t.deepEqual(values(one), outputRow(out, i), `row ${i}`);
        if (probs)
          t.deepEqual(
            Array.from((await proba(stage)!(takeRows(queries.X, [i]))).data),
            outputRow(probs, i),
            `row ${i} predictProba`,
          );
      }
    });

    test(`${name}: fit, ${spec.kind === 'transformer' ? 'transform' : 'predict and predictProba'} leave X and y unchanged`, async (t) => {
      const X = matrix(train.X.rows, train.X.cols, Float32Array.from(train.X.data));
      const y = train.y.slice();
      const Q = takeRows(queries.X, range(300)); // in shared memory, which the pool's tasks read in place
      const copies = [Float32Array.from(X.data), y.slice(), Float32Array.from(Q.data)];
      const stage = await spec.create(params).fit(X, y);
      await output(stage, Q);
      await output(stage, X);
      await proba(stage)?.(Q);
      t.deepEqual([X.data, y, Q.data], copies);
    });

    if (spec.kind === 'estimator') {
      test(`${name}: labels {0, 3, 7}: predictions are seen labels${proba(spec.create(params)) ? '; predictProba has 8 columns, 0 for unseen labels' : ''}`, async (t) => {
        const y = train.y.map((l) => SPARSE_LABELS[l]);
        const stage = (await spec.create(params).fit(train.X, y)) as Estimator;
        const predicted = await stage.predict(queries.X);
        t.true(
          predicted.every((l) => SPARSE_LABELS.includes(l)),
          `predicted ${[...new Set(predicted)]}`,
        );
        // a monotone relabelling changes no distance, vote, split or pair order: the same predictions, relabelled
        const { out } = await fitted(spec, params);
        t.deepEqual(
          Array.from(predicted),
          Array.from(out as Uint8Array, (l) => SPARSE_LABELS[l]),
        );
        if (stage.predictProba) {
          const probs = await stage.predictProba(queries.X);
          t.is(probs.cols, Math.max(...SPARSE_LABELS) + 1, 'columns up to the largest label seen');
          for (let c = 0; c < probs.cols; c++) {
            if (SPARSE_LABELS.includes(c)) continue;
            t.true(
              range(probs.rows).every((i) => probs.data[i * probs.cols + c] === 0),
              `column ${c} (unseen label) is all 0`,
            );
          }
          checkProbabilities(t, probs, predicted, 'labels {0, 3, 7}');
        }
      });

      if (proba(spec.create(params))) {
        test(`${name}: predictProba rows sum to 1 and predict's label has the largest probability`, async (t) => {
          const { out, probs } = await fitted(spec, params);
          t.is(probs!.rows, queries.X.rows);
          t.is(probs!.cols, CLASSES);
          checkProbabilities(t, probs!, out as Uint8Array, 'predictProba');
        });
      }

      if ((spec.create(params) as Estimator).predictWithProba) {
        test(`${name}: predictWithProba gives predict's labels and predictProba's probabilities`, async (t) => {
          const { stage, out, probs } = await fitted(spec, params);
          const both = await (stage as Estimator).predictWithProba!(queries.X);
          t.deepEqual(Array.from(both.labels), Array.from(out as Uint8Array));
          t.deepEqual(Array.from(both.proba.data), Array.from(probs!.data));
        });
      }
    }

    test(`${name}: one feature: fits and gives consistent output, or refuses the params with ParamRangeError`, async (t) => {
      const X = matrix(
        train.X.rows,
        1,
        Float32Array.from(range(train.X.rows), (i) => train.X.data[i * train.X.cols]),
      );
      const Q = matrix(
        queries.X.rows,
        1,
        Float32Array.from(range(queries.X.rows), (i) => queries.X.data[i * queries.X.cols]),
      );
      if (RGB_ONLY.has(spec.name)) {
        t.throws(() => spec.outputFeatures!(params as never, 1), { instanceOf: ParamRangeError });
        const err = await t.throwsAsync(() => spec.create(params).fit(X, train.y), { instanceOf: ParamRangeError });
        t.is((err as ParamRangeError).param, 'input');
        return;
      }
      let oneFeature = params;
      const override = ONE_FEATURE[spec.name];
      if (override && Object.entries(override).some(([k, v]) => params[k] !== v)) {
        // these params cannot work on one feature: both the spec and fit say so, naming the param
        const [param] = Object.keys(override);
        t.throws(() => spec.outputFeatures!(params as never, 1), { instanceOf: ParamRangeError });
        const err = await t.throwsAsync(() => spec.create(params).fit(X, train.y), { instanceOf: ParamRangeError });
        t.is((err as ParamRangeError).param, param);
        oneFeature = spec.schema.parse({ ...variant, ...override }) as Record<string, unknown>;
      }
      const stage = await spec.create(oneFeature).fit(X, train.y);
      const out = await output(stage, Q);
      if (out instanceof Uint8Array) {
        t.true(out.every((l) => l < CLASSES));
        const probs = await proba(stage)?.(Q);
        if (probs) checkProbabilities(t, probs, out, 'one feature');
      } else {
        t.is(out.cols, spec.outputFeatures!(oneFeature as never, 1));
        t.true(out.data.every(Number.isFinite));
      }
      const subset = [9, 1200, 3, 600];
      t.deepEqual(
        values(await output(stage, takeRows(Q, subset))),
        pick(out, subset),
        'a subset agrees with the batch',
      );
    });

    if (savable(spec, params)) {
      test(`${name}: snapshot → restore into a clone gives identical outputs`, async (t) => {
        const { stage, out, probs } = await fitted(spec, params);
        t.throws(() => stage.clone().snapshot(), { instanceOf: NotFittedError });
        const restored = stage.clone().restore(stage.snapshot());
        t.deepEqual(values(await output(restored, queries.X)), values(out));
        if (probs)
          t.deepEqual(Array.from((await proba(restored)!(queries.X)).data), Array.from(probs.data), 'predictProba');
        if (stage instanceof Svm)
          t.is((restored as Svm).modelText(), stage.modelText(), 'libsvm model text rebuilt exactly');
      });
    } else {
      test(`${name}: snapshot and restore refuse with SnapshotError`, async (t) => {
        const { stage } = await fitted(spec, params);
        t.throws(() => stage.snapshot(), { instanceOf: SnapshotError });
        const native = await fitted(spec, spec.schema.parse(VARIANTS[spec.name][0]) as Record<string, unknown>);
        t.throws(
          () => stage.clone().restore(native.stage.snapshot()),
          { instanceOf: SnapshotError },
          'an mljs stage takes no saved state',
        );
      });
    }
  }
}
