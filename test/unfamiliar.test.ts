import test from 'ava';
import { prepareImage } from '../src/data/image.js';
import { matrix } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/linalg/pool.js';
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
  const calibration = (await calibrateUnfamiliar(pipeline, train.X))!;
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
