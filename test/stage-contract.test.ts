import test from 'ava';
import type { Dataset } from '../src/data/dataset.js';
import { shutdownPool } from '../src/linalg/pool.js';
import type { Matrix } from '../src/linalg/matrix.js';
import { registry } from '../src/stages/registry.js';
import { Svm } from '../src/stages/svm.js';
import { NotFittedError, SnapshotError, type Estimator, type Stage, type Transformer } from '../src/stages/stage.js';
import { blobs } from './helpers.js';

test.after.always(() => shutdownPool());

/** Small params so every stage fits in well under a second on tiny data. */
const SMALL: Record<string, Record<string, unknown>> = {
  pca: { components: 4 },
  knn: { k: 3 },
  random_forest: { trees: 5, seed: 3 },
  svm: { C: 1 },
  hog: { size: 6, cell: 2, block: 2, orientations: 4 },
};

const blobData = blobs(120, 8, 3, 11);
/** Stages that read something other than 8 plain features: hog wants square images (6×6 here). */
const DATA: Record<string, Dataset> = {
  hog: blobs(120, 36, 3, 11),
};
const dataFor = (stage: string): Dataset => DATA[stage] ?? blobData;

function output(stage: Stage, X: Matrix): Promise<Matrix | Uint8Array> {
  return stage.kind === 'transformer' ? (stage as Transformer).transform(X) : (stage as Estimator).predict(X);
}

for (const spec of registry.values()) {
  test(`${spec.name}: contract — clone, params untouched by fit, refit reproducible, unfitted use throws, shapes`, async (t) => {
    const data = dataFor(spec.name);
    const params = spec.schema.parse(SMALL[spec.name] ?? {}) as Record<string, unknown>;
    const stage = spec.create(params);
    t.is(stage.name, spec.name);
    t.is(stage.kind, spec.kind);
    const before = JSON.stringify(stage.params);

    await t.throwsAsync(() => output(stage, data.X), { instanceOf: NotFittedError });

    const copy = stage.clone();
    t.not(copy, stage);
    t.deepEqual(copy.params, stage.params);

    await stage.fit(data.X, data.y);
    t.is(JSON.stringify(stage.params), before, 'fit must not rewrite params');
    await t.throwsAsync(() => output(copy, data.X), { instanceOf: NotFittedError }, 'a clone is unfitted');

    const first = await output(stage, data.X);
    const again = await output(await stage.clone().fit(data.X, data.y), data.X);
    if (spec.kind === 'transformer') {
      const m = first as Matrix;
      const m2 = again as Matrix;
      t.is(m.rows, data.X.rows);
      t.is(m.cols, spec.outputFeatures!(params, data.X.cols));
      t.deepEqual(Array.from(m2.data), Array.from(m.data), 'same params and data give the same output');
    } else {
      const p = first as Uint8Array;
      t.is(p.length, data.X.rows);
      t.deepEqual(Array.from(again as Uint8Array), Array.from(p), 'same params and data give the same predictions');
      t.true(p.every((v) => v < 3));
    }

    const wrong = { rows: 2, cols: data.X.cols + 1, data: new Float32Array(2 * (data.X.cols + 1)) };
    await t.throwsAsync(() => output(stage, wrong), undefined, 'a different feature count is refused');
  });
}

/** Param variants whose fitted state differs in shape (snapshots must cover each). */
const VARIANTS: Record<string, Array<Record<string, unknown>>> = {
  normalize: [{ method: 'minmax' }, { method: 'standard' }, { method: 'l2' }],
  pca: [{ components: 4 }, { components: 3, whiten: true }],
  knn: [{ k: 3 }, { k: 4, algorithm: 'brute', weights: 'distance' }, { k: 2, metric: 'manhattan' }],
  random_forest: [{ trees: 5, seed: 3 }, { trees: 3, max_depth: 2, seed: 1 }],
  svm: [{ C: 1 }, { kernel: 'linear', C: 0.5 }, { kernel: 'poly', degree: 3, coef0: 0.5, gamma: 0.2 }],
  hog: [{ size: 6, cell: 2, block: 2 }, { size: 6, cell: 3, block: 1, norm: 'l1', signed: true }],
};

for (const spec of registry.values()) {
  test(`${spec.name}: snapshot → restore gives the same outputs; engine mljs refuses to be saved`, async (t) => {
    const data = dataFor(spec.name);
    for (const variant of VARIANTS[spec.name] ?? [{}]) {
      const params = spec.schema.parse(variant) as Record<string, unknown>;
      const stage = await spec.create(params).fit(data.X, data.y);
      t.throws(() => spec.create(params).snapshot(), { instanceOf: NotFittedError });
      const restored = spec.create(params).restore(stage.snapshot());
      const a = await output(stage, data.X);
      const b = await output(restored, data.X);
      const values = (o: Matrix | Uint8Array) => Array.from(o instanceof Uint8Array ? o : o.data);
      t.deepEqual(values(b), values(a), `${JSON.stringify(variant)}: restored output`);
      if (stage instanceof Svm) t.is((restored as Svm).modelText(), stage.modelText(), 'libsvm model text rebuilt exactly');
      if (spec.kind === 'estimator' && (stage as Estimator).predictProba) {
        const pa = await (stage as Estimator).predictProba!(data.X);
        const pb = await (restored as Estimator).predictProba!(data.X);
        t.deepEqual(Array.from(pb.data), Array.from(pa.data), `${JSON.stringify(variant)}: restored probabilities`);
      }
    }
    const withOracle = spec.schema.safeParse({ ...(SMALL[spec.name] ?? {}), engine: 'mljs' });
    if (withOracle.success) {
      const oracle = await spec.create(withOracle.data as never).fit(data.X, data.y);
      if (spec.name === 'pca') t.notThrows(() => oracle.snapshot(), 'PCA keeps plain arrays whichever engine solved it');
      else t.throws(() => oracle.snapshot(), { instanceOf: SnapshotError });
    }
  });
}
