import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPredict } from '../src/app/predict.js';
import { loadTrainingData, trainingDataSpec } from '../src/app/training-data-spec.js';
import { runRun } from '../src/app/run.js';
import { loadPipelineFile } from '../src/config/load.js';
import { DataError } from '../src/data/errors.js';
import { decodePhotos, listImageFolder } from '../src/data/image-folder.js';
import { loadData, type DataSource } from '../src/data/load.js';
import { loadModel } from '../src/model/format.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { makeShopSplit as makeSplit, shopPhoto as photo, tempDir, withEnv } from './helpers.js';

test.after.always(() => shutdownPool());

const IMAGE = { width: 16, height: 16, channels: 3 as const, fit: 'fill' as const };
const source = (dir: string, extra: Partial<DataSource> = {}): DataSource => ({
  format: 'folder',
  dir,
  image: IMAGE,
  ...extra,
});
const options = (withTest: boolean) => ({ pipelineFile: join(process.cwd(), 'x.yaml'), withTest, seed: 42 });

test.serial(
  'a folder with train/, validation/ and test/: classes in code-point order, train + validation fitted on, test apart',
  async (t) => {
    const root = tempDir();
    await makeSplit(root, 'train', { Zeta: 6, alpha: 5, beta: 4 });
    await makeSplit(root, 'validation', { Zeta: 2, alpha: 2, beta: 1 });
    await makeSplit(root, 'test', { alpha: 3, beta: 2 }); // a class may be missing from test
    writeFileSync(join(root, 'train', 'alpha', 'notes.txt'), 'not a photo');
    const data = await withEnv('FASHION_DATA_CACHE', 'off', () => loadData(source(root), options(true)));
    t.deepEqual([...data.train.classes], ['Zeta', 'alpha', 'beta']);
    t.deepEqual(data.train.shape, { height: 16, width: 16, channels: 3 });
    t.is(data.train.X.rows, 20);
    t.is(data.train.X.cols, 16 * 16 * 3);
    t.deepEqual(Array.from(data.train.y.subarray(0, 6)), [0, 0, 0, 0, 0, 0]);
    t.is(data.test!.X.rows, 5);
    t.deepEqual(Array.from(data.test!.y), [1, 1, 1, 2, 2]);
    t.is(data.info.photos!.ignored_files, 1);
    t.is(data.info.photos!.layout, 'splits');
    // a red photo decodes red: the first pixel of the first Zeta row
    const [r, g, b] = data.train.X.data.subarray(0, 3);
    t.true(r > 150 && g < 90 && b < 90, `${r},${g},${b}`);
    const ignored = await withEnv('FASHION_DATA_CACHE', 'off', () =>
      loadData(source(root, { validation: 'ignore' }), options(false)),
    );
    t.is(ignored.train.X.rows, 15);
    t.is(ignored.test, undefined, 'test photos are not read unless the test is evaluated');
  },
);

test.serial('decoded photos are cached by content: a second load reads the copy and gives the same rows', async (t) => {
  const root = tempDir();
  await makeSplit(root, 'train', { alpha: 3, beta: 3 });
  const cache = tempDir();
  const first = await withEnv('FASHION_DATA_CACHE', cache, () => loadData(source(root), options(false)));
  const second = await withEnv('FASHION_DATA_CACHE', cache, () => loadData(source(root), options(false)));
  t.false(first.info.photos!.decoded_from_cache);
  t.true(second.info.photos!.decoded_from_cache);
  t.deepEqual(Array.from(second.train.X.data), Array.from(first.train.X.data));
  // a changed photo is a different data set: decoded again
  writeFileSync(join(root, 'train', 'alpha', 'train-0.jpg'), await photo('beta', 9));
  const third = await withEnv('FASHION_DATA_CACHE', cache, () => loadData(source(root), options(false)));
  t.false(third.info.photos!.decoded_from_cache);
  t.not(third.info.checksums.train, first.info.checksums.train);
});

test.serial('a bad photo is refused by name, or skipped and listed; never a row with a wrong label', async (t) => {
  const root = tempDir();
  await makeSplit(root, 'train', { alpha: 3, beta: 3 });
  writeFileSync(join(root, 'train', 'beta', 'broken.jpg'), (await photo('beta', 1)).subarray(0, 200));
  writeFileSync(join(root, 'train', 'beta', 'text.png'), 'hello, not a PNG');
  const err = await t.throwsAsync(
    withEnv('FASHION_DATA_CACHE', 'off', () => loadData(source(root), options(false))),
    { instanceOf: DataError },
  );
  t.regex(err!.message, /^train\/beta\/(broken\.jpg: damaged or truncated|text\.png: not a photo that can be read)/);
  const skipped = await withEnv('FASHION_DATA_CACHE', 'off', () =>
    loadData(source(root, { bad_photos: 'skip' }), options(false)),
  );
  t.is(skipped.train.X.rows, 6);
  t.deepEqual(
    skipped.info.photos!.skipped.map((s) => s.name),
    ['train/beta/broken.jpg', 'train/beta/text.png'],
  );
  t.deepEqual(Array.from(skipped.train.y), [0, 0, 0, 1, 1, 1]);
});

test.serial(
  'folder mistakes are one clear DataError: an empty class, a class only in test, one class, no folder',
  async (t) => {
    const root = tempDir();
    await makeSplit(root, 'train', { alpha: 3, beta: 2 });
    mkdirSync(join(root, 'train', 'gamma'));
    await t.throwsAsync(loadData(source(root), options(false)), {
      instanceOf: DataError,
      message: /no photos of class "gamma"/,
    });
    const other = tempDir();
    await makeSplit(other, 'train', { alpha: 3, beta: 2 });
    await makeSplit(other, 'test', { alpha: 1, Zeta: 1 });
    await t.throwsAsync(loadData(source(other), options(true)), {
      instanceOf: DataError,
      message: /test\/Zeta: a class with no train\/ folder/,
    });
    const single = tempDir();
    await makeSplit(single, '.', { alpha: 3 });
    await t.throwsAsync(loadData(source(single), options(false)), {
      instanceOf: DataError,
      message: /1 class folder; a classifier needs at least 2/,
    });
    await t.throwsAsync(loadData(source(join(single, 'nowhere')), options(false)), {
      instanceOf: DataError,
      message: /no such folder/,
    });
  },
);

test.serial('a flat folder of class folders is split for the test: stratified, seeded, every photo once', async (t) => {
  const root = tempDir();
  await makeSplit(root, '.', { alpha: 10, beta: 5 });
  const data = await withEnv('FASHION_DATA_CACHE', 'off', () =>
    loadData(source(root, { test_fraction: 0.2 }), options(true)),
  );
  t.is(data.info.photos!.layout, 'flat');
  t.deepEqual([data.train.X.rows, data.test!.X.rows], [12, 3]);
  t.deepEqual(Array.from(data.test!.y), [0, 0, 1]);
});

test.serial(
  'a folder-trained model: run, save, load, predict a folder of class folders with accuracy per class',
  async (t) => {
    const root = tempDir();
    await makeSplit(root, 'train', { Zeta: 8, alpha: 8, beta: 8 });
    await makeSplit(root, 'test', { Zeta: 3, alpha: 3, beta: 2 });
    const work = tempDir();
    const file = join(work, 'shop.yaml');
    writeFileSync(
      file,
      `name: shop
data:
  format: folder
  dir: ${root}
  image: { width: 16, height: 16, channels: 3 }
steps:
  - flip: {}
  - union:
      colour:
        steps:
          - colour_histogram: { bins: [6, 2, 2] }
      shape:
        steps:
          - grey: {}
          - hog: { size: 16, cell: 4 }
  - normalize: { method: standard }
  - knn: { k: 1 }
evaluation:
  folds: 3
  seed: 42
`,
    );
    const model = join(work, 'shop.model');
    const run = await runRun({ file, out: join(work, 'results'), saveModel: model });
    t.deepEqual(run.result.test!.class_names, ['Zeta', 'alpha', 'beta']);
    t.is(run.result.test!.accuracy, 1, 'three colours are told apart');
    const saved = loadModel(model);
    t.deepEqual(saved.info.classes, ['Zeta', 'alpha', 'beta']);
    t.deepEqual(saved.info.input, { kind: 'photo', image: { width: 16, height: 16, channels: 3, fit: 'fill' } });
    const predicted = await runPredict({ model, images: [join(root, 'test')] });
    t.is(predicted.predictions.length, 8);
    t.deepEqual(
      predicted.predictions.map((p) => p.label),
      run.result.test!.predictions,
      'the saved model, preparing photos by itself, predicts as the run did',
    );
    t.is(predicted.accuracy, 1);
    // photo models are flagged by their classifier's doubt, calibrated on a fifth of the training photos held out
    t.like(saved.info.unfamiliar, { method: 'probability', step: 'knn', percentile: 95, rows: 5 });
    t.true(
      predicted.predictions.every((p) => p.unfamiliar === false),
      'a 1-NN is sure of every photo it knows',
    );
    t.deepEqual(predicted.per_class, [
      { class: 'Zeta', photos: 3, correct: 3 },
      { class: 'alpha', photos: 3, correct: 3 },
      { class: 'beta', photos: 2, correct: 2 },
    ]);
    const single = await runPredict({ model, images: [join(root, 'test', 'beta', 'test-0.jpg')] });
    t.is(single.predictions[0].class, 'beta');
    t.is(single.per_class, undefined);
  },
);

test.serial(
  'a queued job names no photo folder: its data spec carries how photos are decoded, the worker its own --data',
  async (t) => {
    const root = tempDir();
    await makeSplit(root, 'train', { alpha: 3, beta: 3 });
    const work = tempDir();
    const file = join(work, 'shop.yaml');
    writeFileSync(
      file,
      `name: shop\ndata: { format: folder, dir: ${root}, image: { width: 16, height: 16 } }\nsteps:\n  - knn: { k: 1 }\nevaluation: { folds: 2, test: false }\n`,
    );
    const loaded = loadPipelineFile(file);
    const data = await withEnv('FASHION_DATA_CACHE', 'off', () =>
      loadData(loaded.config.data, { ...options(false), pipelineFile: file }),
    );
    const spec = trainingDataSpec(loaded, data);
    t.deepEqual(spec.source, { format: 'folder', image: { width: 16, height: 16, channels: 3, fit: 'fill' } });
    t.deepEqual(Object.keys(spec.checksums), ['train']);
    await t.throwsAsync(loadTrainingData(spec), { message: /needs data\.dir \(or --data\)/ });
    const worker = await withEnv('FASHION_DATA_CACHE', 'off', () => loadTrainingData(spec, { data: root }));
    t.deepEqual(worker.info.checksums, spec.checksums, 'the worker reads the same photos from its own --data');
  },
);

test.serial('a photo that is a link to a FIFO or a device is refused at once, never read', async (t) => {
  const root = tempDir();
  await makeSplit(root, 'train', { alpha: 2, beta: 2 });
  const fifo = join(tempDir(), 'pipe');
  execFileSync('mkfifo', [fifo]);
  for (const [name, target] of [
    ['fifo.jpg', fifo],
    ['zero.jpg', '/dev/zero'],
  ]) {
    const link = join(root, 'train', 'beta', name);
    symlinkSync(target, link);
    const t0 = performance.now();
    await t.throwsAsync(
      withEnv('FASHION_DATA_CACHE', 'off', () => loadData(source(root), options(false))),
      { instanceOf: DataError, message: `train/beta/${name}: not a regular file (a device, a pipe or a socket)` },
    );
    t.log(`${name}: refused in ${(performance.now() - t0).toFixed(0)} ms`);
    unlinkSync(link);
  }
});

test.serial('photos decode the same whether their bytes are kept from the checksum pass or read again', async (t) => {
  const root = tempDir();
  await makeSplit(root, 'train', { alpha: 3, beta: 4 });
  const listing = listImageFolder(root);
  const photos = listing.photos.train!;
  const spec = { width: 16, height: 16, channels: 3 as const, fit: 'fill' as const };
  const decode = (heldBytes?: number) =>
    withEnv('FASHION_DATA_CACHE', 'off', () =>
      decodePhotos(root, photos, listing.classes, spec, { badPhotos: 'refuse', heldBytes }),
    );
  const kept = await decode();
  const reread = await decode(0);
  const some = await decode(3000);
  t.is(kept.data.X.rows, 7);
  t.is(reread.checksum, kept.checksum);
  t.deepEqual(Array.from(reread.data.X.data), Array.from(kept.data.X.data));
  t.deepEqual(Array.from(some.data.X.data), Array.from(kept.data.X.data));
});
