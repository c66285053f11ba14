import test from 'ava';
import { prepareImage } from '../src/data/image.js';
import { withRows } from '../src/data/dataset.js';
import type { LoadedData } from '../src/data/load.js';
import { matrix, takeLabels, takeRows } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { calibrateUnfamiliar, describeCalibration, unfamiliarFlags } from '../src/model/unfamiliar.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { fashionSample, fashionTestSample, nonGarmentPhotos } from './helpers.js';

test.after.always(() => shutdownPool());

test('a model without a PCA stage is calibrated on a pixel PCA of its own: test images pass, non-garments are flagged', async (t) => {
  const train = fashionSample(3000, 2);
  const steps = [
    { id: 'normalize', stage: 'normalize', params: { method: 'minmax' } },
    { id: 'random_forest', stage: 'random_forest', params: { trees: 10 } },
  ];
  const pipeline = await Pipeline.fromSteps(steps).fit(train.X, train.y);
  const calibration = (await calibrateUnfamiliar(pipeline, train, 42))!;
  t.is(calibration.method, 'pixel-pca-reconstruction');
  t.is(calibration.step, 'pixels');
  t.is(calibration.pixels!.components, 50);
  // the calibration survives a JSON round trip (it lives in the model file's info) and describes itself compactly
  const stored = JSON.parse(JSON.stringify(calibration));
  t.false('pixels' in describeCalibration(stored));
  t.true(JSON.stringify(describeCalibration(stored)).length < 400);

  const test_ = fashionTestSample(1000, 2);
  const flags = await unfamiliarFlags(pipeline, stored, test_.X);
  const share = flags.filter((f) => f.unfamiliar).length / flags.length;
  t.log(`test images flagged: ${(100 * share).toFixed(1)} %`);
  t.true(share < 0.03, `${share} of test images flagged`);

  const others = nonGarmentPhotos(16);
  const pixels: Float32Array[] = [];
  for (const o of others) {
    try {
      pixels.push((await prepareImage(o.png, o.name)).pixels);
    } catch {
      // a blank picture is refused before it reaches the model
    }
  }
  const X = matrix(pixels.length, 784);
  pixels.forEach((p, i) => X.data.set(p, i * 784));
  const flagged = (await unfamiliarFlags(pipeline, stored, X)).filter((f) => f.unfamiliar).length;
  t.log(`non-garments flagged: ${flagged} of ${pixels.length}`);
  t.true(flagged >= pixels.length / 2, `${flagged} of ${pixels.length} non-garments flagged`);
});

/** The photos part of a data info, as loadData gives it for a photo folder. */
const photoInfo: Pick<LoadedData['info'], 'photos'> = {
  photos: {
    image: { width: 28, height: 28, channels: 1, fit: 'fill' },
    layout: 'splits',
    splits: 'train',
    skipped: [],
    ignored_files: 0,
    decoded_from_cache: false,
  },
};

/** The share of (known, unknown) pairs a score orders right (ties count half): the AUROC. */
function auroc(known: number[], unknown: number[]): number {
  let right = 0;
  for (const u of unknown) for (const k of known) right += u > k ? 1 : u === k ? 0.5 : 0;
  return right / (known.length * unknown.length);
}

for (const [estimator, method] of [
  [{ id: 'svm', stage: 'svm', params: { C: 10 } }, 'decision-margin'],
  [{ id: 'knn', stage: 'knn', params: { k: 10 } }, 'probability'],
] as const) {
  test(`a photo model (${estimator.stage}) is calibrated by its classifier's doubt on a fifth held out: ${method}`, async (t) => {
    // Fashion-MNIST rows stand for photos; bags (8) are held out of training, as a kind of garment a shop never had
    const sample = fashionSample(2500, 3);
    const keep = Array.from(sample.y.keys()).filter((i) => sample.y[i] !== 8);
    const train = withRows(sample, takeRows(sample.X, keep), takeLabels(sample.y, keep));
    const steps = [
      { id: 'normalize', stage: 'normalize', params: { method: 'minmax' } },
      { id: 'pca', stage: 'pca', params: { components: 30 } },
      estimator,
    ];
    const pipeline = await Pipeline.fromSteps(steps).fit(train.X, train.y);
    const calibration = (await calibrateUnfamiliar(pipeline, train, 42, photoInfo))!;
    t.is(calibration.method, method);
    t.is(calibration.step, estimator.id);
    t.is(calibration.percentile, 95);
    t.is(calibration.rows, Math.round(train.X.rows / 5));
    t.is(calibration.scale, undefined);
    const stored = JSON.parse(JSON.stringify(calibration));

    const test_ = fashionTestSample(1500, 4);
    const flags = await unfamiliarFlags(pipeline, stored, test_.X);
    const known = flags.filter((_, i) => test_.y[i] !== 8);
    const unknown = flags.filter((_, i) => test_.y[i] === 8);
    const share = known.filter((f) => f.unfamiliar).length / known.length;
    const separation = auroc(
      known.map((f) => f.score!),
      unknown.map((f) => f.score!),
    );
    t.log(`known flagged ${(100 * share).toFixed(1)} %, AUROC for held-out bags ${separation.toFixed(3)}`);
    // about 5 % of known rows by construction (the held-out fit is a little less sure than the final one)
    t.true(share > 0.01 && share < 0.1, `${share} of known rows flagged`);
    t.true(separation > 0.6, `AUROC ${separation}`);
    // the same scores in one call as row by row, and null flags under a calibration of another method
    const one = await unfamiliarFlags(pipeline, stored, takeRows(test_.X, [7]));
    t.is(one[0].score, flags[7].score);
    const other = { ...stored, method: method === 'probability' ? 'decision-margin' : 'probability' };
    t.is((await unfamiliarFlags(pipeline, other, takeRows(test_.X, [7])))[0].unfamiliar, null);
  });
}
