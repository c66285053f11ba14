import test from 'ava';
import { DataError } from '../src/data/errors.js';
import { prepareImage, prepareImagesTask } from '../src/data/image.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { preparePhoto } from '../src/serve/work.js';
import { fashionTestSample, photoOf, withEnv } from './helpers.js';

test.after.always(() => shutdownPool());

const sample = fashionTestSample(12, 4);
const photos = Array.from({ length: 12 }, (_, i) =>
  photoOf(sample.X.data.subarray(i * 784, (i + 1) * 784), i % 2 ? 'jpeg' : 'png', 2 + (i % 3)),
);
const blank = photoOf(new Float32Array(784), 'png', 2); // nothing stands out: refused

test("one task of several photos answers each on its own: a refusal or a failure is that photo's alone", async (t) => {
  const out = await prepareImagesTask(
    [photos[0], blank, 42 as unknown as Uint8Array, photos[1]],
    ['a', 'blank', 'odd', 'b'],
    'auto',
  );
  t.deepEqual(out[0], await prepareImage(photos[0], 'a'));
  t.regex((out[1] as { refused: string }).refused, /^blank: nothing stands out/);
  t.true('failed' in out[2], 'a photo that throws something other than a refusal fails alone');
  t.deepEqual(out[3], await prepareImage(photos[1], 'b'));
});

test("photos arriving together are prepared on the workers in shared tasks, each answer its own photo's", async (t) => {
  await withEnv('FASHION_WORKERS', '2', async () => {
    const results = await Promise.allSettled([
      ...photos.map((p, i) => preparePhoto(p, `photo ${i}`)),
      preparePhoto(blank, 'blank'),
    ]);
    for (let i = 0; i < photos.length; i++) {
      const r = results[i];
      t.is(r.status, 'fulfilled');
      if (r.status === 'fulfilled') t.deepEqual(r.value, await prepareImage(photos[i], `photo ${i}`));
    }
    const refused = results[photos.length];
    t.is(refused.status, 'rejected');
    if (refused.status === 'rejected') {
      t.true(refused.reason instanceof DataError, 'a refusal is a DataError, as in predict');
      t.regex((refused.reason as Error).message, /^blank: nothing stands out/);
    }
  });
});
