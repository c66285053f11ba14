import test from 'ava';
import { readFileSync } from 'node:fs';
import { matrix } from '../src/linalg/matrix.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { ColourHistogram } from '../src/stages/colour-histogram.js';
import { Flip } from '../src/stages/flip.js';
import { Grey } from '../src/stages/grey.js';
import { Hog } from '../src/stages/hog.js';
import { Normalize } from '../src/stages/normalize.js';
import { Knn } from '../src/stages/knn.js';
import { Lbp, lbpSpec } from '../src/stages/lbp.js';
import { circle, lbpCoder, lbpRows } from '../src/stages/lbp-rows.js';
import { unionSpec } from '../src/stages/union.js';

/** test/fixtures/photo-stages/reference.json, written by make.py beside it (scikit-image 0.19, numpy). */
interface Reference {
  images: Array<{ height: number; width: number; pixels: number[] }>;
  grey: number[][];
  hsv_8_4_4: number[][];
  hsv_5_3_7: number[][];
  hog_rgb: Array<{ pixels: number[]; features: number[] }>;
  lbp: Array<{ height: number; width: number; pixels: number[]; points: number; radius: number; codes: number[] }>;
}
const reference = JSON.parse(
  readFileSync(new URL('../../test/fixtures/photo-stages/reference.json', import.meta.url), 'utf8'),
) as Reference;

const one = (pixels: number[]) => matrix(1, pixels.length, Float32Array.from(pixels));

test('grey equals scikit-image rgb2gray (×255) on random and edge-case pixels', async (t) => {
  for (const [i, image] of reference.images.entries()) {
    const X = one(image.pixels);
    const out = await (await new Grey().fit(X, new Uint8Array(1))).transform(X);
    t.is(out.cols, image.height * image.width);
    const worst = Math.max(...Array.from(out.data, (v, j) => Math.abs(v - reference.grey[i][j])));
    t.true(worst < 1e-4, `image ${i}: largest difference ${worst}`);
  }
});

test('colour_histogram equals scikit-image rgb2hsv + numpy histogramdd, bin for bin', async (t) => {
  for (const [key, bins] of [
    ['hsv_8_4_4', [8, 4, 4]],
    ['hsv_5_3_7', [5, 3, 7]],
  ] as const) {
    for (const [i, image] of reference.images.entries()) {
      const X = one(image.pixels);
      const stage = await new ColourHistogram({ bins: [...bins] }).fit(X, new Uint8Array(1));
      const out = await stage.transform(X);
      const pixels = image.height * image.width;
      // counts are compared, so a pixel in a neighbouring bin fails
      t.deepEqual(
        Array.from(out.data, (v) => Math.round(v * pixels)),
        reference[key][i].map((v) => Math.round(v * pixels)),
        `${key}, image ${i}`,
      );
    }
  }
});

test('hog on RGB images equals scikit-image hog(channel_axis=-1): every gradient from the strongest channel', async (t) => {
  for (const [i, { pixels, features }] of reference.hog_rgb.entries()) {
    const X = one(pixels);
    const hog = await new Hog({ size: 16, cell: 4, channels: 3 }).fit(X, new Uint8Array(1));
    const out = await hog.transform(X);
    t.is(out.cols, features.length);
    const worst = Math.max(...Array.from(out.data, (v, j) => Math.abs(v - features[j])));
    t.true(worst < 1e-6, `image ${i}: largest difference ${worst}`);
  }
});

test('lbp codes equal scikit-image local_binary_pattern(uniform), pixel for pixel, on random, smooth and flat images, whole or float32 grey values, up to 32 neighbours', (t) => {
  for (const { height, width, pixels, points, radius, codes } of reference.lbp) {
    const out = new Uint8Array(height * width);
    const code = lbpCoder(height, width, circle(points, radius));
    code(Float32Array.from(pixels), out);
    t.deepEqual(Array.from(out), codes, `P ${points}, R ${radius}`);
    code(Float32Array.from(pixels), out); // its scratch reused: the same codes again
    t.deepEqual(Array.from(out), codes, `P ${points}, R ${radius}, again`);
  }
});

test('lbp: a histogram of the codes per cell, over the cells that fit; RGB rows made grey as the grey stage does', async (t) => {
  const { height, width, pixels, codes } = reference.lbp.find((r) => r.points === 8)!;
  const image = { height, width, channels: 1 as const };
  const X = one(pixels);
  const lbp = await new Lbp({ points: 8, radius: 1, cell: 4, image }).fit(X, new Uint8Array(1));
  const out = await lbp.transform(X);
  // 13×10 in 4-pixel cells: 3 × 2 cells of 10 bins; the last row and the last two columns are in no cell
  t.is(out.cols, 3 * 2 * 10);
  t.is(lbpSpec.outputFeatures!(lbp.params, height * width, image), 60);
  const expected = new Array<number>(60).fill(0);
  for (let y = 0; y < 12; y++)
    for (let x = 0; x < 8; x++)
      expected[(Math.floor(y / 4) * 2 + Math.floor(x / 4)) * 10 + codes[y * width + x]] += 1 / 16;
  t.deepEqual(Array.from(out.data), expected.map(Math.fround));
  // colour: the same features as grey → lbp
  const rgb = one(Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 97) % 256));
  const colour = await new Lbp({ cell: 4, image: { height: 8, width: 8, channels: 3 } }).fit(rgb, new Uint8Array(1));
  const grey = await new Grey().fit(rgb, new Uint8Array(1));
  const greyRows = await grey.transform(rgb);
  const viaGrey = await new Lbp({ cell: 4, image: { height: 8, width: 8, channels: 1 } }).fit(
    greyRows,
    new Uint8Array(1),
  );
  t.deepEqual(Array.from((await colour.transform(rgb)).data), Array.from((await viaGrey.transform(greyRows)).data));
  // many rows go to the worker pool in blocks: the same as one thread
  const many = matrix(
    700,
    8 * 8 * 3,
    Float32Array.from({ length: 700 * 8 * 8 * 3 }, (_, i) => (i * 2654435761) >>> 24),
  );
  const kernel = { height: 8, width: 8, channels: 3 as const, points: 8, radius: 1, cell: 4 };
  const single = new Float32Array(700 * 40);
  lbpRows(many.data, 700, kernel, single);
  t.deepEqual(Array.from((await colour.transform(many)).data), Array.from(single));
  t.throws(() => lbpSpec.outputFeatures!({ ...lbp.params, cell: 11 }, height * width, image), {
    message: /lbp.cell 11 is larger than its 10×13 images/,
  });
});

test('flip adds mirrored copies while fitting and never touches rows it transforms', async (t) => {
  const image = { height: 2, width: 3, channels: 3 as const };
  // pixel (r, c) has channels [r, c, 10·r + c]
  const pixels = Array.from({ length: 6 }, (_, p) => [
    Math.floor(p / 3),
    p % 3,
    10 * Math.floor(p / 3) + (p % 3),
  ]).flat();
  const X = one(pixels);
  const flip = await new Flip({ image }).fit(X, Uint8Array.of(4));
  const augmented = await flip.augment(X);
  t.is(augmented.rows, 2);
  t.deepEqual(Array.from(augmented.data.subarray(0, 18)), pixels, 'the original rows come first, unchanged');
  const mirrored = Array.from({ length: 6 }, (_, p) => {
    const [r, c] = [Math.floor(p / 3), 2 - (p % 3)];
    return [r, c, 10 * r + c];
  }).flat();
  t.deepEqual(Array.from(augmented.data.subarray(18)), mirrored);
  t.deepEqual(Array.from(flip.augmentLabels(Uint8Array.of(4))), [4, 4]);
  const held = await flip.transform(X);
  t.is(held.rows, 1);
  t.deepEqual(Array.from(held.data), pixels);
});

test('augmentation reaches training rows only: the estimator is fitted on twice the rows, held-out rows pass as they are', async (t) => {
  const image = { height: 2, width: 2, channels: 1 as const };
  // left-bright rows are class 0, right-bright class 1: mirrored copies carry the other side's look with the same label
  const rows = [
    [9, 0, 9, 0],
    [0, 9, 0, 9],
    [8, 1, 8, 1],
    [1, 8, 1, 8],
  ];
  const X = matrix(4, 4, Float32Array.from(rows.flat()));
  const y = Uint8Array.of(0, 1, 0, 1);
  const seen: number[] = [];
  const knn = new Knn({ k: 1, algorithm: 'brute' });
  const fit = knn.fit.bind(knn);
  knn.fit = async (Xf, yf) => {
    seen.push(Xf.rows, yf.length);
    return fit(Xf, yf);
  };
  const pipeline = new Pipeline([
    { id: 'flip', stage: new Flip({ image }) },
    { id: 'normalize', stage: new Normalize({ method: 'minmax' }) },
    { id: 'knn', stage: knn },
  ]);
  await pipeline.fit(X, y);
  t.deepEqual(seen, [8, 8], 'fitted on the 4 rows and their 4 mirrored copies, with labels for each');
  const transformed = await pipeline.transform(X);
  t.is(transformed.rows, 4, 'transform (held-out, test and new photos) adds no row');
  t.deepEqual(Array.from(transformed.data), Array.from(Float32Array.from(X.data, (v) => v / 255)));
});

test('a union of photo stages reports its width at run time, where the image shape is not known', (t) => {
  const params = unionSpec.schema.parse({
    shape: { steps: [{ hog: { size: 16, cell: 4, channels: 3 } }] },
    colour: { steps: [{ colour_histogram: { bins: [4, 2, 2] } }] },
  });
  t.is(unionSpec.outputFeatures!(params, 16 * 16 * 3), 3 * 3 * 36 + 16);
  t.is(unionSpec.outputFeatures!(params, 16 * 16 * 3, { height: 16, width: 16, channels: 3 }), 3 * 3 * 36 + 16);
  t.throws(() => unionSpec.outputFeatures!(params, 16 * 16 * 3, null), { message: /no longer an image/ });
});
