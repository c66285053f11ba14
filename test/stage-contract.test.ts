import test from 'ava';
import { shutdownPool } from '../src/runtime/pool.js';
import { matrix, type Matrix } from '../src/linalg/matrix.js';
import { Normalize } from '../src/stages/normalize.js';
import { checkStage, stageChecks } from '../src/stages/contract.js';
import { contractData } from '../src/stages/contract-data.js';
import { registry } from '../src/stages/registry.js';
import { Svm } from '../src/stages/svm.js';
import { ParamRangeError, type StageSpec } from '../src/stages/stage.js';

/**
 * The stage contract (stages/contract.ts, the library's checkStage), run for every registry entry and each engine
 * variant, in the spirit of scikit-learn's estimator_checks; and what only this repository's stages promise beyond it
 * (which engines can be saved, which param a one-feature refusal names). A stage added to the registry is covered
 * with its default params until it has a row in VARIANTS.
 */

test.after.always(() => shutdownPool());

/**
 * Param variants per stage: each engine and each shape of fitted state, with small params so a fit takes well under a
 * second on the contract's data (36 features: hog reads them as 6×6 images). The first variant is the plain one.
 */
const VARIANTS: Record<string, Array<Record<string, unknown>>> = {
  normalize: [{ method: 'minmax' }, { method: 'standard' }, { method: 'l2' }],
  pca: [
    { components: 4 },
    { components: 3, whiten: true },
    { components: 4, engine: 'mljs' },
    { components: 4, solver: 'randomized' },
  ],
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
    { C: 1, probability: true },
    { C: 1, probability: true, probability_held_out: 'one' },
    { kernel: 'linear', C: 0.5, probability: true, probability_folds: 3, probability_held_out: 'all' },
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
    {
      nested: {
        steps: [
          {
            union: {
              inner: { steps: [{ normalize: { method: 'minmax' } }] },
              pca: { steps: [{ pca: { components: 1 } }] },
            },
          },
          { normalize: { method: 'standard' } },
        ],
        weight: 3,
      },
      plain: { steps: [{ normalize: { method: 'l2' } }] },
    },
  ],
  flip: [{ image: { height: 6, width: 6, channels: 1 } }, { image: { height: 2, width: 6, channels: 3 } }],
  grey: [{ weights: 'bt709' }, { weights: 'bt601' }],
  lbp: [
    { cell: 3, image: { height: 6, width: 6, channels: 1 } },
    { points: 4, radius: 1.5, cell: 2, image: { height: 2, width: 6, channels: 3 } },
  ],
  colour_histogram: [{ bins: [4, 2, 3] }],
  calibrate: [
    { estimator: { knn: { k: 5 } } },
    { method: 'isotonic', folds: 2, estimator: { random_forest: { trees: 5, seed: 3 } } },
  ],
  random_forest: [
    { trees: 5, seed: 3 },
    { trees: 3, max_depth: 2, seed: 1 },
    { trees: 5, seed: 3, engine: 'mljs' },
  ],
};

/** The param a one-feature refusal names, for params that cannot work on one feature. */
const ONE_FEATURE: Record<string, Record<string, unknown>> = {
  hog: { size: 1, cell: 1, block: 1 },
  pca: { components: 1 },
  flip: { image: { height: 1, width: 1, channels: 1 } },
  lbp: { image: { height: 1, width: 1, channels: 1 }, cell: 1 },
};

/** Stages that take RGB rows only (3 values a pixel): one feature is refused whatever the params, naming the input. */
const RGB_ONLY = new Set(['grey', 'colour_histogram']);

/**
 * Engines whose fitted stages cannot be saved: the ml-* oracles hold library objects. PCA's mljs engine is not among
 * them: whichever engine solved it, its fitted state is plain arrays.
 */
const UNSAVABLE_ENGINES: Record<string, string[]> = { knn: ['mljs'], svm: ['mljs'], random_forest: ['mljs'] };

const data = contractData();
const title = (spec: StageSpec, variant: Record<string, unknown>) => `${spec.name} ${JSON.stringify(variant)}`;

for (const spec of registry.values()) {
  for (const variant of VARIANTS[spec.name] ?? [{}]) {
    const name = title(spec, variant);
    for (const check of stageChecks(spec, variant, data)) {
      test(`${name}: ${check.name}`, async (t) => {
        await t.notThrowsAsync(check.run());
      });
    }

    const params = spec.schema.parse(variant) as Record<string, unknown>;
    test(`${name}: savable() as the engine table says; one-feature refusals name their param`, async (t) => {
      const savable = !(UNSAVABLE_ENGINES[spec.name] ?? []).includes(params.engine as string);
      t.is(spec.savable(params as never) === true, savable);
      const X = matrix(data.train.X.rows, 1, Float32Array.from(data.train.X.data.filter((_, i) => i % 36 === 0)));
      const override = ONE_FEATURE[spec.name];
      const refused = RGB_ONLY.has(spec.name)
        ? 'input'
        : override && Object.entries(override).some(([k, v]) => params[k] !== v)
          ? Object.keys(override)[0]
          : null;
      if (refused === null) {
        await t.notThrowsAsync(spec.create(params).fit(X, data.train.y));
        return;
      }
      t.throws(() => spec.outputFeatures!(params as never, 1), { instanceOf: ParamRangeError });
      const err = await t.throwsAsync(() => spec.create(params).fit(X, data.train.y), { instanceOf: ParamRangeError });
      t.is((err as ParamRangeError).param, refused);
      if (override && !RGB_ONLY.has(spec.name)) {
        // with the params that can work, it fits
        const one = spec.schema.parse({ ...variant, ...override });
        await t.notThrowsAsync(spec.create(one).fit(X, data.train.y));
      }
    });
  }
}

test('a restored SVM rebuilds the libsvm model text exactly', async (t) => {
  const spec = registry.get('svm')!;
  const stage = (await spec.create(spec.schema.parse({ C: 1 })).fit(data.train.X, data.train.y)) as Svm;
  t.is((stage.clone().restore(stage.snapshot()) as Svm).modelText(), stage.modelText());
});

test('checkStage reports a stage that breaks the contract, naming the check and why', async (t) => {
  // a transformer whose output depends on the batch it comes in: each row minus the batch's first row
  class Leaky extends Normalize {
    override async transform(X: Matrix): Promise<Matrix> {
      const out = await super.transform(X);
      const first = out.data.slice(0, out.cols);
      return matrix(
        out.rows,
        out.cols,
        out.data.map((v, i) => v - first[i % out.cols]),
      );
    }
  }
  const normalize = registry.get('normalize')!;
  const leaky: StageSpec = { ...normalize, create: (params) => new Leaky(params as never) };
  const [good] = await checkStage(normalize);
  t.true(good.passed, JSON.stringify(good.results.filter((r) => !r.passed)));
  const [bad] = await checkStage(leaky);
  t.false(bad.passed);
  const failed = bad.results.filter((r) => !r.passed).map((r) => r.check);
  t.true(
    failed.includes("a subset of rows in another order (with a repeat) gives exactly the batch's rows"),
    String(failed),
  );
  t.regex(bad.results.find((r) => !r.passed)!.message!, /./);
});
