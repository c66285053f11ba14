import test from 'ava';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPredict } from '../src/app/predict.js';
import { runRun } from '../src/app/run.js';
import { UsageError } from '../src/config/errors.js';
import { loadPipelineFile } from '../src/config/load.js';
import { loadData } from '../src/data/load.js';
import { CLASS_NAMES } from '../src/data/fashion-mnist.js';
import { prepareImage } from '../src/data/image.js';
import { toCsv } from '../src/data/csv.js';
import { matrix } from '../src/linalg/matrix.js';
import { accuracy } from '../src/metrics/classification.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { decodeModel, encodeModel, loadModel } from '../src/model/format.js';
import { ModelError } from '../src/stages/snapshot.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { blobs, fashionTestSample, photoOf, tempDir } from './helpers.js';

test.after.always(() => shutdownPool());

const PIPELINE = `name: small-knn
description: a small pipeline for the predict tests
data:
  limit: { train: 3000, test: 500 }
steps:
  - normalize: { method: minmax }
  - pca: { components: 20 }
  - knn: { k: 5, weights: distance }
evaluation:
  folds: 0
  seed: 42
  test: true
`;

/** 30 test images written as photos (PNG and JPEG), with their labels and the images themselves. */
function photoFolder(): { dir: string; labels: number[]; images: Float32Array } {
  const sample = fashionTestSample(30, 9);
  const dir = tempDir('fp-photos-');
  for (let i = 0; i < 30; i++) {
    const format = i % 3 === 0 ? 'jpeg' : 'png';
    writeFileSync(
      join(dir, `photo-${String(i).padStart(2, '0')}.${format === 'jpeg' ? 'jpg' : 'png'}`),
      photoOf(sample.X.data.subarray(i * 784, (i + 1) * 784), format, 5 + (i % 5)),
    );
  }
  writeFileSync(join(dir, 'notes.txt'), 'not an image: folders only contribute image files');
  return { dir, labels: Array.from(sample.y), images: sample.X.data };
}

test.serial(
  'a pipeline file is fitted once and saved; the saved model gives the same answers; photos are classified well',
  async (t) => {
    const work = tempDir();
    const file = join(work, 'small-knn.yaml');
    writeFileSync(file, PIPELINE);
    const modelsDir = join(work, 'models');
    const { dir, labels, images } = photoFolder();

    const first = await runPredict({ model: file, images: [dir], modelsDir });
    t.is(first.origin, 'fitted');
    t.is(first.model, join(modelsDir, 'small-knn.model'));
    t.true(existsSync(first.model));
    t.is(first.predictions.length, 30, 'the .txt file in the folder is skipped');
    t.is(first.info.training.rows, 3000);
    // the photos should be classified about as the original 28×28 images are
    const direct = await loadModel(first.model).pipeline.predict(matrix(30, 784, images));
    const right = first.predictions.filter((p, i) => p.label === labels[i]).length;
    const rightDirect = Array.from(direct).filter((p, i) => p === labels[i]).length;
    const agree = first.predictions.filter((p, i) => p.label === direct[i]).length;
    t.log(`right: ${right} of 30 photos, ${rightDirect} of 30 originals; photo and original agree on ${agree}`);
    t.true(agree >= 24, `photo and original agree on ${agree} of 30`);
    t.true(right >= rightDirect - 4, `${right} photos right, ${rightDirect} originals`);
    for (const p of first.predictions) {
      t.is(p.class, CLASS_NAMES[p.label]);
      t.is(p.top.length, 3);
      t.is(p.top[0].class, p.class, 'the most probable class is the prediction');
      t.true(p.inverted);
    }

    const mtime = statSync(first.model).mtimeMs;
    const second = await runPredict({ model: file, images: [dir], modelsDir });
    t.is(second.origin, 'loaded', 'the saved model is reused');
    t.is(statSync(first.model).mtimeMs, mtime);
    t.deepEqual(second.predictions, first.predictions);

    const third = await runPredict({ model: first.model, images: [join(dir, 'photo-03.jpg')], top: 1 });
    t.deepEqual(third.predictions[0], { ...first.predictions[3], top: first.predictions[3].top.slice(0, 1) });

    // changing the steps, or the training data, fits again
    writeFileSync(file, PIPELINE.replace('k: 5', 'k: 3'));
    const changed = await runPredict({ model: file, images: [join(dir, 'photo-01.png')], modelsDir });
    t.is(changed.origin, 'fitted');
    writeFileSync(file, PIPELINE.replace('k: 5', 'k: 3').replace('train: 3000', 'train: 2000'));
    const otherData = await runPredict({ model: file, images: [join(dir, 'photo-01.png')], modelsDir });
    t.is(otherData.origin, 'fitted');
    t.is(otherData.info.training.rows, 2000);

    // a model written by other code (a stage's numbers may have changed) is fitted again, never served
    const saved = loadModel(otherData.model);
    writeFileSync(
      otherData.model,
      encodeModel(saved.pipeline, saved.steps, { ...saved.info, code: '0123456789abcdef' }),
    );
    const otherCode = await runPredict({ model: file, images: [join(dir, 'photo-01.png')], modelsDir });
    t.is(otherCode.origin, 'fitted');
    t.is(loadModel(otherData.model).info.code, otherCode.info.code);
  },
);

test.serial(
  'run --save-model writes the model fitted for the test evaluation; it predicts as the run did',
  async (t) => {
    const work = tempDir();
    const file = join(work, 'small-knn.yaml');
    writeFileSync(file, PIPELINE);
    const modelPath = join(work, 'models', 'small-knn.model');
    const { result, files } = await runRun({ file, out: join(work, 'results'), pictures: false, saveModel: modelPath });
    t.is(files.model, modelPath);
    const { pipeline, info } = loadModel(modelPath);
    t.is(info.name, 'small-knn');
    t.is(info.test_accuracy, result.test!.accuracy);
    // the saved pipeline reproduces the run's test predictions
    const loaded = await loadData(loadPipelineFile(file).config.data, { pipelineFile: file, withTest: true, seed: 42 });
    const predicted = await pipeline.predict(loaded.test!.X);
    t.deepEqual(Array.from(predicted), result.test!.predictions);
    // predict with the pipeline file finds it: same steps, training data and seed
    const photo = join(work, 'photo.png');
    writeFileSync(photo, photoOf(fashionTestSample(1, 5).X.data, 'png'));
    const reused = await runPredict({ model: file, images: [photo], modelsDir: join(work, 'models') });
    t.is(reused.origin, 'loaded');
  },
);

test('run --save-model refuses an mljs engine before any work', async (t) => {
  const work = tempDir();
  const file = join(work, 'oracle.yaml');
  writeFileSync(file, PIPELINE.replace('knn: { k: 5, weights: distance }', 'knn: { k: 5, engine: mljs }'));
  await t.throwsAsync(() => runRun({ file, out: join(work, 'r'), saveModel: join(work, 'm.model') }), {
    instanceOf: UsageError,
    message: /--save-model: step knn: engine mljs/,
  });
});

const INFO = {
  name: 't',
  source: 't.yaml',
  tool: '0',
  created: '',
  classes: [...CLASS_NAMES],
  training: { rows: 90, data: 'blobs' },
  fit_key: '',
};

/** The model file's bytes with its JSON header replaced (and the checksum made right again, unless `stale`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests poke at arbitrary header fields
function withHeader(bytes: Buffer, edit: (header: Record<string, any>) => void, stale = false): Buffer {
  const length = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.toString('utf8', 48, 48 + length));
  edit(header);
  const json = Buffer.from(JSON.stringify(header));
  const pad = Buffer.alloc(((json.length + 7) & ~7) - json.length, 0x20);
  const blob = bytes.subarray(48 + ((length + 7) & ~7));
  const head = Buffer.from(bytes.subarray(0, 48));
  head.writeUInt32LE(json.length, 8);
  if (!stale) createHash('sha256').update(json).update(pad).update(blob).digest().copy(head, 16);
  return Buffer.concat([head, json, pad, blob]);
}

test('model files: damaged arrays or header, a wrong magic, a newer format, bad state are refused with one line', async (t) => {
  const data = blobs(90, 6, 3, 5);
  const steps = [
    { id: 'normalize', stage: 'normalize', params: { method: 'standard' } },
    { id: 'random_forest', stage: 'random_forest', params: { trees: 3, seed: 2 } },
  ];
  const pipeline = await Pipeline.fromSteps(steps).fit(data.X, data.y);
  const bytes = encodeModel(pipeline, steps, INFO);
  const back = decodeModel(bytes);
  t.deepEqual(Array.from(await back.pipeline.predict(data.X)), Array.from(await pipeline.predict(data.X)));
  t.deepEqual(back.info, INFO);

  const damaged = Buffer.from(bytes);
  damaged[damaged.length - 3] ^= 0xff;
  t.throws(() => decodeModel(damaged, 'm.model'), {
    instanceOf: ModelError,
    message: 'm.model: damaged or truncated (its SHA-256 does not match its content)',
  });
  const paramChanged = withHeader(bytes, (h) => (h.steps[1].params.trees = 2), true);
  t.throws(() => decodeModel(paramChanged, 'm.model'), { instanceOf: ModelError, message: /m\.model: damaged/ });
  t.throws(() => decodeModel(Buffer.from('PK\u0003\u0004 a zip file, not a model at all, long enough'), 'x.zip'), {
    instanceOf: ModelError,
    message: /not a fashion-pipeline model/,
  });
  t.throws(
    () =>
      decodeModel(
        withHeader(bytes, (h) => (h.format = 2)),
        'new.model',
      ),
    {
      instanceOf: ModelError,
      message: /model format 2, this version of fashion-pipeline reads format 1/,
    },
  );
  t.throws(
    () =>
      decodeModel(
        withHeader(bytes, (h) => (h.steps[1].stage = 'no_such_stage')),
        'odd.model',
      ),
    {
      instanceOf: ModelError,
      message: /odd\.model: unknown stage "no_such_stage"/,
    },
  );
  t.throws(
    () =>
      decodeModel(
        withHeader(bytes, (h) => (h.stages[0].mean.$array = 'constructor')),
        'odd.model',
      ),
    {
      instanceOf: ModelError,
      message: /odd\.model: damaged array reference/,
    },
  );
  t.throws(
    () =>
      decodeModel(
        withHeader(bytes, (h) => (h.stages[1] = 7)),
        'odd.model',
      ),
    {
      instanceOf: ModelError,
      message: /odd\.model: damaged state for step random_forest/,
    },
  );
  t.throws(
    () =>
      decodeModel(
        withHeader(bytes, (h) => (h.stages[0].features = 5)),
        'odd.model',
      ),
    {
      instanceOf: ModelError,
      message: /odd\.model: step normalize: "mean" has 6 values, expected 5/,
    },
  );
  t.throws(
    () =>
      decodeModel(
        withHeader(bytes, (h) => (h.stages[1].trees = [])),
        'odd.model',
      ),
    {
      instanceOf: ModelError,
      message: /odd\.model: step random_forest: a forest without trees/,
    },
  );
  // a child pointer moved outside its tree: found before any prediction walks it
  const forest = decodeModel(bytes).pipeline.steps[1].stage.snapshot();
  const tree = (forest.trees as Array<Record<string, Int32Array>>)[0];
  tree.left[0] = 0;
  t.throws(() => Pipeline.fromSteps(steps).steps[1].stage.restore(forest), {
    instanceOf: ModelError,
    message: /tree 0 node 0 points outside the tree/,
  });
  t.throws(() => loadModel(join(tempDir(), 'missing.model')), {
    instanceOf: ModelError,
    message: /no such model file/,
  });
});

test('predict: clear errors for a missing image, an empty folder, a file that is not an image', async (t) => {
  const data = blobs(60, 784, 3, 6);
  const steps = [{ id: 'knn', stage: 'knn', params: { k: 3 } }];
  const pipeline = await Pipeline.fromSteps(steps).fit(data.X, data.y);
  const dir = tempDir();
  const model = join(dir, 'm.model');
  writeFileSync(model, encodeModel(pipeline, steps, INFO));
  await t.throwsAsync(() => runPredict({ model, images: [join(dir, 'nope.jpg')] }), {
    message: /nope\.jpg: no such file or folder/,
  });
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await t.throwsAsync(() => runPredict({ model, images: [empty] }), {
    message: /no photos \(\.png, \.jpg, .*\) in this folder or its sub-folders/,
  });
  writeFileSync(join(dir, 'fake.png'), 'text');
  await t.throwsAsync(() => runPredict({ model, images: [join(dir, 'fake.png')] }), {
    message: /fake\.png: not an image/,
  });
  const photo = join(dir, 'p.png');
  writeFileSync(photo, photoOf(fashionTestSample(1, 2).X.data, 'png'));
  const seen = join(dir, 'seen.png');
  const r = await runPredict({ model, images: [photo], top: 2, show: seen });
  t.is(r.predictions.length, 1);
  t.deepEqual([...readFileSync(seen).subarray(1, 4)], [...Buffer.from('PNG')], '--show writes a PNG');
  const direct = await pipeline.predict(matrix(1, 784, (await prepareImage(readFileSync(photo), photo)).pixels));
  t.is(r.predictions[0].label, direct[0]);
});

test('the predict command: one-line errors with exit code 1 (bad input, missing model) or 2 (usage)', (t) => {
  const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
  const dir = tempDir();
  const notImage = join(dir, 'notes.png');
  writeFileSync(notImage, 'plain text');
  const bad = spawnSync(process.execPath, [BIN, 'predict', join(dir, 'm.model'), notImage], { encoding: 'utf8' });
  t.is(bad.status, 1);
  t.is(bad.stderr, `pipeline: ${notImage}: not an image this tool can read (PNG, JPEG, WebP, GIF or BMP)\n`);
  const usage = spawnSync(process.execPath, [BIN, 'predict', join(dir, 'm.model'), notImage, '--invert', 'sometimes'], {
    encoding: 'utf8',
  });
  t.is(usage.status, 2);
  t.is(
    usage.stderr,
    'pipeline: Invalid values: Argument: invert, Given: "sometimes", Choices: "auto", "always", "never" (see: pipeline predict --help)\n',
  );
  const photo = join(dir, 'boot.png');
  writeFileSync(photo, photoOf(fashionTestSample(1, 3).X.data, 'png'));
  const missingModel = spawnSync(process.execPath, [BIN, 'predict', join(dir, 'm.model'), photo], { encoding: 'utf8' });
  t.is(missingModel.status, 1);
  t.is(missingModel.stderr, `pipeline: ${join(dir, 'm.model')}: no such model file\n`);
});

test.serial(
  "--csv classifies the rows of a Kaggle CSV: the pipeline's own predictions, accuracy against the label column",
  async (t) => {
    const work = tempDir();
    const file = join(work, 'small-knn.yaml');
    writeFileSync(file, PIPELINE);
    const sample = fashionTestSample(200, 12);
    const csv = join(work, 'rows.csv');
    writeFileSync(csv, toCsv(sample));
    const modelsDir = join(work, 'models');
    const result = await runPredict({ model: file, images: [], csv, modelsDir });
    const direct = await loadModel(result.model).pipeline.predict(sample.X);
    t.deepEqual(
      result.predictions.map((p) => p.label),
      Array.from(direct),
    );
    t.is(result.accuracy, accuracy(sample.y, direct));
    t.is(result.predictions[0].file, `${csv}:2`);
    t.log(`accuracy on 200 test rows: ${result.accuracy}`);

    const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
    const cli = spawnSync(process.execPath, [BIN, 'predict', file, '--csv', csv, '--models', modelsDir], {
      encoding: 'utf8',
    });
    t.is(cli.status, 0);
    const lines = cli.stdout.trim().split('\n');
    t.is(lines[0], 'line,label,class,probability');
    t.is(lines.length, 201);
    t.is(lines[1].split(',')[1], String(direct[0]));
    t.regex(
      cli.stderr,
      /^small-knn: loaded from .*small-knn\.model\n200 rows of .*rows\.csv: accuracy 0\.\d{4} against its label column\n$/,
    );
    const headerOnly = join(work, 'empty.csv');
    writeFileSync(headerOnly, toCsv({ X: matrix(0, 784), y: new Uint8Array(0) }));
    await t.throwsAsync(() => runPredict({ model: result.model, images: [], csv: headerOnly }), {
      message: /empty\.csv: no rows to classify/,
    });
    await t.throwsAsync(() => runPredict({ model: result.model, images: [csv] }), {
      instanceOf: UsageError,
      message: `${csv} is a CSV file: classify its rows with --csv ${csv}`,
    });
    await t.throwsAsync(() => runPredict({ model: result.model, images: [], csv: work }), {
      instanceOf: UsageError,
      message: /--csv needs a CSV file, got the folder/,
    });
    const both = spawnSync(process.execPath, [BIN, 'predict', file, csv, '--csv', csv], { encoding: 'utf8' });
    t.is(both.status, 2);
    t.is(both.stderr, 'pipeline: give images or --csv, not both\n');
  },
);
