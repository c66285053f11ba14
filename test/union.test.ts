import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandGrid } from '../src/config/param-grid.js';
import { loadPipelineFile, parsePipeline } from '../src/config/load.js';
import { ConfigError } from '../src/config/errors.js';
import { matrix, sharedFloats } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { decodeModel, encodeModel } from '../src/model/format.js';
import { modelInfo } from '../src/model/provenance.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { Normalize } from '../src/stages/normalize.js';
import { ParamRangeError } from '../src/stages/stage.js';
import { Union } from '../src/stages/union.js';
import { UserError } from '../src/util/errors.js';
import { blobs, fashionSample, tempDir } from './helpers.js';

test.after.always(() => shutdownPool());

const data = blobs(90, 16, 3, 5);

test('union: branches side by side in the order written, each times its weight', async (t) => {
  const union = await new Union({
    a: { steps: [{ id: 'normalize', stage: 'normalize', params: { method: 'standard' } }], weight: 2 },
    b: { steps: [{ id: 'normalize', stage: 'normalize', params: { method: 'l2' } }], weight: 1 },
  }).fit(data.X, data.y);
  const out = await union.transform(data.X);
  const standard = await (await new Normalize({ method: 'standard' }).fit(data.X, data.y)).transform(data.X);
  const l2 = await (await new Normalize({ method: 'l2' }).fit(data.X, data.y)).transform(data.X);
  t.is(out.cols, 32);
  for (const i of [0, 41, 89]) {
    for (let j = 0; j < 16; j++) {
      t.is(out.data[i * 32 + j], Math.fround(standard.data[i * 16 + j] * 2));
      t.is(out.data[i * 32 + 16 + j], l2.data[i * 16 + j]);
    }
  }
});

test('union: a nested param that cannot fit names its branch and step; params are validated inside branches', async (t) => {
  const union = new Union({ only: { steps: [{ id: 'pca', stage: 'pca', params: { components: 40 } }], weight: 1 } });
  const err = await t.throwsAsync(() => union.fit(data.X, data.y), { instanceOf: ParamRangeError });
  t.is(err!.param, 'only.pca.components');
  const bad = `name: u\nsteps:\n  - union:\n      a:\n        steps: [ { hog: { cell: 0 } } ]\n  - knn: {}\n`;
  const e = t.throws(() => parsePipeline('u.yaml', bad), { instanceOf: ConfigError });
  t.regex(e!.message, /^u\.yaml:5:/);
  const estimator = `name: u\nsteps:\n  - union:\n      a:\n        steps: [ { knn: {} } ]\n  - knn: {}\n`;
  t.throws(() => parsePipeline('u.yaml', estimator), { message: /unknown transformer "knn"/ });
});

const FILE = `name: u
data:
  limit: { train: 600, test: 200 }
steps:
  - union:
      fine:
        steps: [ { hog: { cell: 4 } } ]
      pixels:
        steps: [ { normalize: { method: sqrt } }, { normalize: { method: standard } } ]
        weight: 0.5
  - pca: { components: 20 }
  - knn: { k: 3 }
grid:
  union.fine.hog.cell: [4, 7]
  union.pixels.weight: [0.5, 2]
`;

test('union: grid keys route into branches (union.<branch>.<step>.<param>, union.<branch>.weight)', (t) => {
  const path = join(tempDir(), 'u.yaml');
  writeFileSync(path, FILE);
  const loaded = loadPipelineFile(path);
  const candidates = expandGrid(loaded.grid, loaded.config.steps, loaded.source, loaded.shape);
  t.is(candidates.length, 4);
  const seen = candidates.map((c) => {
    const params = c.steps[0].params as Record<
      string,
      { steps: Array<{ params: Record<string, unknown> }>; weight: number }
    >;
    return [params.fine.steps[0].params.cell, params.pixels.weight];
  });
  t.deepEqual(seen, [
    [4, 0.5],
    [4, 2],
    [7, 0.5],
    [7, 2],
  ]);
  const wrong = FILE.replace('union.pixels.weight', 'union.pixels.hog.cell');
  writeFileSync(path, wrong);
  t.throws(() => loadPipelineFile(path), {
    message: /union\.pixels\.<step>\.<param> with a step of the branch: normalize-1, normalize-2/,
  });
});

test('union pipeline: save → load gives identical predictions; normalize sqrt is √(x/255)', async (t) => {
  const path = join(tempDir(), 'u.yaml');
  writeFileSync(path, FILE);
  const { config } = loadPipelineFile(path);
  const train = fashionSample(600, 3);
  const pipeline = await Pipeline.fromSteps(config.steps).fit(train.X, train.y);
  const info = modelInfo({
    name: 'u',
    source: path,
    classes: train.classes,
    steps: config.steps,
    data: {
      format: 'idx',
      location: 'x',
      checksums: {},
      verified: true,
      train_rows: 600,
      test_rows: null,
      train_rows_available: 600,
      test_rows_available: null,
    },
    seed: 1,
  });
  const restored = decodeModel(encodeModel(pipeline, config.steps, info)).pipeline;
  const queries = fashionSample(200, 9);
  t.deepEqual(Array.from(await restored.predict(queries.X)), Array.from(await pipeline.predict(queries.X)));
  const sqrt = await (
    await new Normalize({ method: 'sqrt' }).fit(matrix(1, 3, Float32Array.of(0, 255, 63.75)), new Uint8Array(1))
  ).transform(matrix(1, 3, Float32Array.of(0, 255, 63.75)));
  t.deepEqual(Array.from(sqrt.data), [0, 1, 0.5]);
  const negative = matrix(1, 1, Float32Array.of(-1));
  const fitted = await new Normalize({ method: 'sqrt' }).fit(negative, new Uint8Array(1));
  await t.throwsAsync(() => fitted.transform(negative), { message: /method sqrt needs values ≥ 0/ });
});

test('pipelines/best.yaml on a small subset: save → load gives identical predictions', async (t) => {
  const { config } = loadPipelineFile(fileURLToPath(new URL('../../pipelines/best.yaml', import.meta.url)));
  const train = fashionSample(1500, 5);
  const pipeline = await Pipeline.fromSteps(config.steps).fit(train.X, train.y);
  const info = modelInfo({
    name: 'best',
    source: 'pipelines/best.yaml',
    classes: train.classes,
    steps: config.steps,
    data: {
      format: 'idx',
      location: 'x',
      checksums: {},
      verified: true,
      train_rows: 1500,
      test_rows: null,
      train_rows_available: 1500,
      test_rows_available: null,
    },
    seed: 1,
  });
  const restored = decodeModel(encodeModel(pipeline, config.steps, info)).pipeline;
  const queries = fashionSample(300, 8);
  const predicted = await pipeline.predict(queries.X);
  t.deepEqual(Array.from(await restored.predict(queries.X)), Array.from(predicted));
  t.true(predicted.filter((p, i) => p === queries.y[i]).length / 300 > 0.6, 'it learned something');
});

test('an output too large for one array (a union of hundreds of wide branches) is a one-line UserError, not a RangeError', (t) => {
  const error = t.throws(() => sharedFloats(60_000 * 784 * 300));
  t.true(error instanceof UserError);
  t.regex(
    error!.message,
    /a step's output of 1\.41e\+10 values \(53 GB\) is over the 8 GB one array may take: use fewer rows/,
  );
  t.is(sharedFloats(4).length, 4);
});

test('union: fitTransform over more rows than a transform block (8,192) gives fit then transform, bit for bit', async (t) => {
  const big = blobs(9000, 6, 3, 11);
  const params = {
    a: { steps: [{ id: 'normalize', stage: 'normalize', params: { method: 'standard' } }], weight: 2 },
    b: {
      steps: [
        { id: 'normalize-1', stage: 'normalize', params: { method: 'minmax' } },
        { id: 'normalize-2', stage: 'normalize', params: { method: 'l2' } },
      ],
      weight: 1,
    },
  };
  const both = await new Union(params).fitTransform(big.X, big.y);
  const apart = await new Union(params).fit(big.X, big.y);
  const out = await apart.transform(big.X);
  t.is(both.rows, 9000);
  t.is(both.cols, 12);
  t.deepEqual(Array.from(both.data), Array.from(out.data));
});
