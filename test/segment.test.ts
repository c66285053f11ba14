import test from 'ava';
import { readFileSync } from 'node:fs';
import { prepareImage } from '../src/data/image.js';
import { encodePng } from '../src/data/png.js';
import { otsu, segmentGarment } from '../src/data/segment.js';

/** test/fixtures/segment/otsu.json, written by make.py beside it (scikit-image's threshold_otsu). */
const reference = JSON.parse(
  readFileSync(new URL('../../test/fixtures/segment/otsu.json', import.meta.url), 'utf8'),
) as Array<{ values: number[]; threshold: number }>;

test("otsu equals scikit-image's threshold_otsu on bimodal, skewed, few-valued and outlying data", (t) => {
  for (const { values, threshold } of reference) {
    t.true(Math.abs(otsu(Float64Array.from(values)) - threshold) <= 1e-9 * Math.max(1, Math.abs(threshold)));
  }
  t.is(otsu(Float64Array.from([3, 3, 3])), 3);
});

/**
 * A W×H photo: a textured light backdrop (a bed), a dark garment rectangle with a backdrop-coloured patch inside it
 * (a print), and a small dark speck apart from it.
 */
function photo(W: number, H: number) {
  const rgba = new Uint8ClampedArray(W * H * 4);
  const garment = (x: number, y: number) => x >= W * 0.3 && x < W * 0.7 && y >= H * 0.2 && y < H * 0.85;
  const patch = (x: number, y: number) => x >= W * 0.45 && x < W * 0.55 && y >= H * 0.45 && y < H * 0.55;
  const speck = (x: number, y: number) => x >= W * 0.05 && x < W * 0.1 && y >= H * 0.05 && y < H * 0.1;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = 4 * (y * W + x);
      const texture = ((x * 7 + y * 13) % 11) - 5;
      const dark = (garment(x, y) && !patch(x, y)) || speck(x, y);
      rgba[o] = dark ? 60 + texture : 225 + texture;
      rgba[o + 1] = dark ? 40 + texture : 215 + texture;
      rgba[o + 2] = dark ? 90 + texture : 200 + texture;
      rgba[o + 3] = 255;
    }
  }
  return { image: { width: W, height: H, rgba }, garment, patch, speck };
}

test('segmentGarment keeps the garment with its print, paints the backdrop and a stray speck the backdrop colour', (t) => {
  for (const [W, H] of [
    [120, 90],
    [400, 533],
  ]) {
    const { image, garment, patch, speck } = photo(W, H);
    const out = segmentGarment(image);
    t.truthy(out);
    const at = (x: number, y: number) => Array.from(out!.rgba.subarray(4 * (y * W + x), 4 * (y * W + x) + 3));
    const original = (x: number, y: number) => Array.from(image.rgba.subarray(4 * (y * W + x), 4 * (y * W + x) + 3));
    const backdrop = at(0, 0);
    // the backdrop: one colour, near the border's
    for (const [x, y] of [
      [W - 1, H - 1],
      [Math.floor(W * 0.15), Math.floor(H * 0.5)],
      [Math.floor(W * 0.07), Math.floor(H * 0.07)], // the speck
    ]) {
      t.deepEqual(at(x, y), backdrop);
    }
    t.true(speck(Math.floor(W * 0.07), Math.floor(H * 0.07)));
    // inside the garment (well inside: the mask is found on a reduced copy), pixels are the photo's own, print included
    const cx = Math.floor(W * 0.5);
    const cy = Math.floor(H * 0.5);
    t.true(patch(cx, cy));
    t.deepEqual(at(cx, cy), original(cx, cy));
    t.true(garment(Math.floor(W * 0.35), Math.floor(H * 0.3)));
    t.deepEqual(at(Math.floor(W * 0.35), Math.floor(H * 0.3)), original(Math.floor(W * 0.35), Math.floor(H * 0.3)));
    t.true(Math.abs(out!.area - 0.4 * 0.65) < 0.03, `area ${out!.area}`);
    // every pixel is either the photo's own or the backdrop's colour, and opaque
    for (let i = 0; i < W * H; i++) {
      t.is(out!.rgba[4 * i + 3], 255);
    }
  }
});

test('segmentGarment leaves a uniform photo and one too small alone (null)', (t) => {
  const W = 50;
  const H = 40;
  const rgba = new Uint8ClampedArray(W * H * 4).fill(200);
  t.is(segmentGarment({ width: W, height: H, rgba }), null);
  t.is(segmentGarment({ width: 3, height: 3, rgba: new Uint8ClampedArray(36) }), null);
  // one dark pixel on white: less than 1 % of the photo
  rgba[4 * (20 * W + 25)] = 0;
  t.is(segmentGarment({ width: W, height: H, rgba }), null);
});

test('segmentGarment draws transparent pixels over white, as the preparation does', (t) => {
  const W = 60;
  const H = 60;
  const rgba = new Uint8ClampedArray(W * H * 4);
  // a transparent backdrop (any colour under alpha 0) and an opaque dark square
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = 4 * (y * W + x);
      const inside = x >= 20 && x < 40 && y >= 20 && y < 40;
      rgba.set(inside ? [10, 20, 30, 255] : [0, 0, 0, 0], o);
    }
  }
  const out = segmentGarment({ width: W, height: H, rgba })!;
  t.deepEqual(Array.from(out.rgba.subarray(0, 4)), [255, 255, 255, 255]);
  t.deepEqual(Array.from(out.rgba.subarray(4 * (30 * W + 30), 4 * (30 * W + 30) + 4)), [10, 20, 30, 255]);
});

test('prepareImage with segment trims to the garment alone: a speck on the bed no longer widens the box', async (t) => {
  const W = 200;
  const H = 160;
  const { image } = photo(W, H);
  const png = encodePng(W, H, Uint8Array.from(image.rgba), 4);
  const plain = await prepareImage(png, 'bed.png');
  const segmented = await prepareImage(png, 'bed.png', 'auto', undefined, true);
  // the speck at 5–10 % of the width and height stands out from the border in both, but is painted out when segmented
  t.true(plain.box[0] <= W * 0.05 + 1 && plain.box[1] <= H * 0.05 + 1, `plain box ${plain.box}`);
  t.true(
    Math.abs(segmented.box[0] - W * 0.3) <= 2 && Math.abs(segmented.box[1] - H * 0.2) <= 2,
    `box ${segmented.box}`,
  );
  t.true(segmented.inverted); // a dark garment on a light bed is negated either way
});
