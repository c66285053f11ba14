import { createCanvas } from '@napi-rs/canvas';
import test from 'ava';
import { readFileSync } from 'node:fs';
import { DataError } from '../src/data/errors.js';
import { prepareImage } from '../src/data/image.js';
import { resizeArea } from '../src/data/photo-passes.js';
import { fashionTestSample, photoOf } from './helpers.js';

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0,
    mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < n; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

test('photos made from Fashion-MNIST images come back close to the originals (PNG and JPEG, negated, off-centre)', async (t) => {
  const sample = fashionTestSample(40, 3);
  const scores: number[] = [];
  for (let i = 0; i < 40; i++) {
    const original = sample.X.data.subarray(i * 784, (i + 1) * 784);
    const photo = photoOf(original, i % 2 ? 'jpeg' : 'png', 6 + (i % 4), [10 + i, 5 + 2 * i]);
    const prepared = await prepareImage(photo, `photo ${i}`);
    t.true(prepared.inverted, 'a light background is negated');
    t.is(prepared.pixels.length, 784);
    t.true(prepared.pixels.every((v) => v >= 0 && v <= 255 && Number.isInteger(v)));
    scores.push(correlation(prepared.pixels, original));
  }
  scores.sort((a, b) => a - b);
  const median = scores[20];
  t.log(`correlations: worst ${scores[0].toFixed(3)}, median ${median.toFixed(3)}, best ${scores[39].toFixed(3)}`);
  t.true(median > 0.9, `median correlation ${median.toFixed(3)}`);
  t.true(scores[0] > 0.75, `worst correlation ${scores[0].toFixed(3)}`);
});

test('an image that is already light on black is kept as it is (auto); forcing negation is refused', async (t) => {
  const sample = fashionTestSample(5, 4);
  const original = sample.X.data.subarray(0, 784);
  const canvas = createCanvas(28, 28);
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let p = 0; p < 784; p++) {
    img.data[4 * p] = img.data[4 * p + 1] = img.data[4 * p + 2] = original[p];
    img.data[4 * p + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  const png = canvas.encodeSync('png');
  const kept = await prepareImage(png, 'fmnist.png');
  t.false(kept.inverted);
  t.true(correlation(kept.pixels, original) > 0.95);
  // forced negation makes the garment dark on light: refused, with the way out
  await t.throwsAsync(() => prepareImage(png, 'fmnist.png', 'always'), {
    instanceOf: DataError,
    message: 'fmnist.png: the garment is darker than its background after negating; try --invert never',
  });
});

test('transparent parts count as a white background (product cut-outs)', async (t) => {
  const canvas = createCanvas(100, 60);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#202020';
  ctx.fillRect(30, 10, 40, 40); // a dark square on a transparent canvas
  const prepared = await prepareImage(canvas.encodeSync('png'), 'cutout.png');
  t.true(prepared.inverted);
  t.deepEqual(prepared.box, [30, 10, 40, 40]);
  // the square fills the 28×28 frame, light on black
  t.is(prepared.pixels[14 * 28 + 14], 255);
  t.is(prepared.pixels[0], 255);
});

test('wrong input: not an image, a blank image', async (t) => {
  await t.throwsAsync(() => prepareImage(Buffer.from('hello'), 'notes.txt'), {
    instanceOf: DataError,
    message: 'notes.txt: not an image this tool can read (PNG, JPEG, WebP, GIF or BMP)',
  });
  const blank = createCanvas(50, 50);
  const ctx = blank.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, 50, 50);
  await t.throwsAsync(() => prepareImage(blank.encodeSync('png'), 'blank.png'), {
    instanceOf: DataError,
    message: /nothing stands out/,
  });
  const photo = photoOf(fashionTestSample(1, 8).X.data, 'png');
  await t.throwsAsync(() => prepareImage(photo, 'dark-on-light.png', 'never'), {
    instanceOf: DataError,
    message: 'dark-on-light.png: the garment is darker than its background without negating; try --invert always',
  });
});

test('resizeArea keeps the mean and maps a constant image to the same constant', (t) => {
  const W = 37,
    H = 23;
  const src = Float32Array.from({ length: W * H }, (_, i) => (i * 7919) % 256);
  const dst = resizeArea(src, W, H, 28, 17);
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  t.true(Math.abs(mean(dst) - mean(src)) < 1.5, `${mean(dst)} vs ${mean(src)}`);
  const flat = resizeArea(new Float32Array(W * H).fill(100), W, H, 5, 9);
  t.true(flat.every((v) => Math.abs(v - 100) < 1e-4));
});

test('phone photos: the EXIF orientation is applied (a 60×30 JPEG tagged "rotate 90°" is read as 30×60)', async (t) => {
  // test/fixtures/exif-rotated.jpg: left half black, right half white, stored 60×30 with orientation 6 (Pillow)
  const prepared = await prepareImage(
    readFileSync(new URL('../../test/fixtures/exif-rotated.jpg', import.meta.url)),
    'exif-rotated.jpg',
    'never',
  );
  t.is(prepared.width, 30);
  t.is(prepared.height, 60);
});
