import { createCanvas } from '@napi-rs/canvas';
import test from 'ava';
import { deflateSync } from 'node:zlib';
import { canvasAlphaTable, drawn, prepareDecoded, prepareImage } from '../src/data/image.js';
import { NEAR_LIMIT, pixelPasses, TRIM } from '../src/data/photo-passes.js';
import { chunk, decodePng, encodePng, ImageDamage, type Rgba } from '../src/data/png.js';
import { KERNEL_PIXELS } from '../src/data/photo-kernels.js';
import { fashionTestSample, photoOf } from './helpers.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A seeded stream of bytes. */
function bytes(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
}

/**
 * A PNG written as an encoder that filters would: row y filtered with `filters[y % filters.length]` (0 none, 1 Sub,
 * 2 Up, 3 Average, 4 Paeth), so every filter, on the first row and on later ones, is decoded.
 */
function filteredPng(
  width: number,
  height: number,
  pixels: Uint8Array,
  channels: number,
  filters: number[],
  extra: Buffer[] = [],
  colourType = [0, 0, 4, 2, 6][channels],
): Buffer {
  const stride = width * channels;
  const raw = Buffer.alloc(height * (stride + 1));
  const at = (y: number, i: number) => (y < 0 || i < 0 ? 0 : pixels[y * stride + i]);
  for (let y = 0; y < height; y++) {
    const kind = filters[y % filters.length];
    raw[y * (stride + 1)] = kind;
    for (let i = 0; i < stride; i++) {
      const a = at(y, i - channels);
      const b = at(y - 1, i);
      const c = at(y - 1, i - channels);
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][kind];
      raw[y * (stride + 1) + 1 + i] = (pixels[y * stride + i] - predictor) & 255;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = colourType;
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', header),
    ...extra,
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** decodePng's pixels are the canvas's, byte for byte. */
async function sameAsCanvas(t: import('ava').ExecutionContext, png: Buffer, what: string): Promise<void> {
  const ours = decodePng(png, await canvasAlphaTable());
  t.truthy(ours, `${what}: decoded here, not left to the canvas`);
  if (!ours) return;
  // a view of the kernels' memory, which other tests on this thread use while this one awaits the canvas: copied
  const pixels = Buffer.from(ours.rgba);
  const canvas = await drawn(png, what, 1e8);
  t.is(ours.width, canvas.width, what);
  t.is(ours.height, canvas.height, what);
  t.true(pixels.equals(Buffer.from(canvas.rgba)), `${what}: the same RGBA bytes as the canvas`);
}

test('every PNG filter, on the first row and later ones, for grey, grey + alpha, RGB and RGBA: the canvas pixels', async (t) => {
  const next = bytes(7);
  for (const channels of [1, 2, 3, 4]) {
    for (const [width, height] of [
      [1, 1],
      [5, 7],
      [37, 11],
    ]) {
      const pixels = Uint8Array.from({ length: width * height * channels }, next);
      for (const filters of [[0], [1], [2], [3], [4], [4, 3, 2, 1, 0]]) {
        await sameAsCanvas(
          t,
          filteredPng(width, height, pixels, channels, filters),
          `${channels} channels ${width}×${height} filters ${filters}`,
        );
      }
    }
  }
});

test('translucent pixels come back as the canvas rounds them (every value at every alpha)', async (t) => {
  const every = new Uint8Array(256 * 256 * 4);
  const next = bytes(3);
  for (let p = 0; p < 256 * 256; p++) every.set([p & 255, next(), 255 - (p & 255), p >> 8], 4 * p);
  await sameAsCanvas(t, filteredPng(256, 256, every, 4, [4, 1]), 'RGBA, all alphas');
  // and a cut-out drawn and encoded by the canvas itself (its own choice of filters)
  const canvas = createCanvas(90, 70);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = 'rgba(200, 30, 90, 0.4)';
  ctx.fillRect(5, 5, 60, 50);
  ctx.fillStyle = 'rgba(10, 230, 90, 0.7)';
  ctx.beginPath();
  ctx.arc(45, 35, 30, 0, 2 * Math.PI);
  ctx.fill();
  await sameAsCanvas(t, canvas.encodeSync('png'), 'a translucent canvas drawing');
});

test('palette PNGs, with and without transparency, and photos the canvas encoded: the canvas pixels', async (t) => {
  const next = bytes(11);
  const indices = Uint8Array.from({ length: 33 * 9 }, () => next() % 6);
  const palette = chunk('PLTE', Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 200, 200, 200, 90, 80, 70]));
  await sameAsCanvas(t, filteredPng(33, 9, indices, 1, [0, 1, 4], [palette], 3), 'palette');
  const trns = chunk('tRNS', Buffer.from([0, 128, 255, 3]));
  await sameAsCanvas(t, filteredPng(33, 9, indices, 1, [2, 3], [palette, trns], 3), 'palette with transparency');
  await sameAsCanvas(
    t,
    filteredPng(6, 4, Uint8Array.from({ length: 72 }, next), 3, [4], [chunk('sRGB', Buffer.from([0]))]),
    'sRGB chunk',
  );
  const sample = fashionTestSample(12, 5);
  for (let i = 0; i < 12; i++) {
    const photo = photoOf(sample.X.data.subarray(i * 784, (i + 1) * 784), 'png', 2 + (i % 5), [3 * i, 2 * i]);
    await sameAsCanvas(t, photo, `photo ${i}`);
  }
});

test('what the canvas does differently, or this reader does not follow, is left to the canvas (null)', async (t) => {
  const table = await canvasAlphaTable();
  const next = bytes(5);
  const rgb = Uint8Array.from({ length: 8 * 4 * 3 }, next);
  const gamma = Buffer.alloc(4);
  gamma.writeUInt32BE(100000);
  const withGamma = filteredPng(8, 4, rgb, 3, [0], [chunk('gAMA', gamma)]);
  t.is(decodePng(withGamma, table), null, 'gamma');
  const plain = await drawn(filteredPng(8, 4, rgb, 3, [0]), 'plain', 1e8);
  const gammaDrawn = await drawn(withGamma, 'gamma', 1e8);
  t.false(
    Buffer.from(plain.rgba).equals(Buffer.from(gammaDrawn.rgba)),
    'the canvas does apply gAMA (why it is left to it)',
  );
  t.is(decodePng(filteredPng(8, 4, rgb, 3, [0], [chunk('iCCP', Buffer.from('x\0\0'))]), table), null, 'colour profile');
  t.is(
    decodePng(filteredPng(8, 4, rgb, 3, [0], [chunk('tRNS', Buffer.from([0, 1, 0, 2, 0, 3]))]), table),
    null,
    'colour key',
  );
  t.is(
    decodePng(filteredPng(8, 4, rgb, 3, [0], [chunk('AbCD', Buffer.from('?'))]), table),
    null,
    'unknown critical chunk',
  );
  const indices = Uint8Array.from({ length: 8 }, (_, i) => i);
  const twoEntries = chunk('PLTE', Buffer.from([1, 2, 3, 4, 5, 6]));
  t.is(decodePng(filteredPng(8, 1, indices, 1, [0], [twoEntries], 3), table), null, 'a palette index of no entry');
  // 16 bits a channel, interlaced: the header says so
  const sixteen = Buffer.from(filteredPng(8, 4, rgb, 3, [0]));
  sixteen[24] = 16;
  t.is(decodePng(sixteen, table), null, '16-bit');
  const interlaced = Buffer.from(filteredPng(8, 4, rgb, 3, [0]));
  interlaced[28] = 1;
  t.is(decodePng(interlaced, table), null, 'interlaced');
  // rows that inflate to fewer bytes than the header promises, and a filter byte that is none of the five
  const short = filteredPng(8, 4, rgb, 3, [0]);
  short.writeUInt32BE(5, 20); // height 5: one row missing
  t.throws(
    () => decodePng(short, table),
    { instanceOf: ImageDamage, message: /truncated PNG/ },
    'fewer rows than the header says: refused',
  );
  t.is(decodePng(filteredPng(8, 4, rgb, 3, [0, 5 as never]), table), null, 'filter type 5');
});

test('prepareImage reads a PNG through the decoder here, with the same result as through the canvas', async (t) => {
  const sample = fashionTestSample(6, 9);
  for (let i = 0; i < 6; i++) {
    const png = photoOf(sample.X.data.subarray(i * 784, (i + 1) * 784), 'png', 3 + i, [5 * i, 7]);
    t.truthy(decodePng(png, await canvasAlphaTable()), 'decoded here');
    t.deepEqual(await prepareImage(png, `photo ${i}`), prepareDecoded(await drawn(png, 'photo', 1e8), `photo ${i}`));
  }
});

test('the photo kernels prepare exactly as the JavaScript statement of the passes: pixels, box, negation and refusals', async (t) => {
  const next = bytes(21);
  const images: Array<{ what: string; image: Rgba }> = [];
  const sample = fashionTestSample(10, 13);
  for (let i = 0; i < 10; i++) {
    const photo = photoOf(sample.X.data.subarray(i * 784, (i + 1) * 784), i % 2 ? 'jpeg' : 'png', 2 + (i % 4));
    images.push({ what: `photo ${i}`, image: await drawn(photo, 'photo', 1e8) });
  }
  // noise, translucent noise, a blank sheet, one pixel
  const noise = (w: number, h: number, alpha: boolean) =>
    Uint8ClampedArray.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 && !alpha ? 255 : next()));
  images.push({ what: 'noise', image: { width: 31, height: 17, rgba: noise(31, 17, false) } });
  images.push({ what: 'translucent noise', image: { width: 19, height: 23, rgba: noise(19, 23, true) } });
  // long thin photos: the resize's coverage tables at their most uneven (300 → 28 one way, 3 → 1 the other)
  for (const [width, height] of [
    [300, 3],
    [3, 300],
    [57, 29],
  ]) {
    const rgba = new Uint8ClampedArray(width * height * 4).fill(250);
    for (let p = 0; p < width * height; p++) {
      const x = p % width;
      const y = Math.floor(p / width);
      if (x > 0 && y > 0 && x < width - 1 && y < height - 1) rgba.fill(next() % 200, 4 * p, 4 * p + 3);
      rgba[4 * p + 3] = 255;
    }
    images.push({ what: `${width}×${height}`, image: { width, height, rgba } });
  }
  images.push({ what: 'blank', image: { width: 8, height: 8, rgba: new Uint8ClampedArray(256).fill(255) } });
  images.push({ what: 'one pixel', image: { width: 1, height: 1, rgba: Uint8ClampedArray.from([9, 9, 9, 255]) } });
  // colours whose grey lies within NEAR_LIMIT of TRIM from a uniform border of 200: the rare negated-box pass
  const grey = (r: number, g: number, b: number) => Math.fround(0.299 * r + 0.587 * g + 0.114 * b);
  const near: number[][] = [];
  for (let r = 0; r < 256 && near.length < 40; r++) {
    for (let g = 150; g < 256; g++) {
      for (let b = 0; b < 256; b++) {
        if (Math.abs(Math.abs(grey(r, g, b) - grey(200, 200, 200)) - TRIM) < NEAR_LIMIT) near.push([r, g, b]);
      }
    }
  }
  t.true(near.length > 0, 'colours at the limit exist');
  for (let k = 0; k < 6; k++) {
    const rgba = new Uint8ClampedArray(12 * 10 * 4).fill(200);
    for (let p = 3; p < rgba.length; p += 4) rgba[p] = 255;
    for (let y = 1; y < 9; y++) {
      for (let x = 1; x < 11; x++) {
        const pick = next() % 3;
        const colour = pick === 0 ? near[next() % near.length] : pick === 1 ? [40, 40, 40] : [200, 200, 200];
        rgba.set(colour, 4 * (12 * y + x));
      }
    }
    images.push({ what: `at the limit ${k}`, image: { width: 12, height: 10, rgba } });
  }
  let negatedBoxes = 0;
  for (const { what, image } of images) {
    for (const invert of ['auto', 'always', 'never'] as const) {
      const outcome = (reference: boolean) => {
        try {
          return prepareDecoded(image, what, invert, reference);
        } catch (err) {
          return (err as Error).message;
        }
      };
      t.deepEqual(outcome(false), outcome(true), `${what}, invert ${invert}`);
    }
    const stats = pixelPasses(image).stats();
    t.deepEqual(stats, pixelPasses(image, true).stats(), `${what}: the statistics`);
    if (stats.nearLimit) negatedBoxes++;
  }
  t.true(negatedBoxes >= 3, `pixels at the limit were seen in ${negatedBoxes} images`);
});

test('chunks out of order, or a palette where none belongs, are left to the canvas; a suggested palette is ignored', async (t) => {
  const table = await canvasAlphaTable();
  const next = bytes(17);
  const rgb = Uint8Array.from({ length: 6 * 5 * 3 }, next);
  const rgba = Uint8Array.from({ length: 6 * 5 * 4 }, next);
  const suggested = chunk('PLTE', Buffer.from(Array.from({ length: 768 }, (_, i) => i % 256)));
  // an RGB or RGBA file may carry a palette as a suggestion: decoded as the canvas does, by ignoring it
  await sameAsCanvas(t, filteredPng(6, 5, rgb, 3, [4], [suggested]), 'RGB with a suggested palette');
  await sameAsCanvas(t, filteredPng(6, 5, rgba, 4, [1], [suggested]), 'RGBA with a suggested palette');
  const grey = Uint8Array.from({ length: 30 }, next);
  t.is(decodePng(filteredPng(6, 5, grey, 1, [0], [suggested]), table), null, 'a palette in a grey file');
  const indices = Uint8Array.from({ length: 30 }, () => next() % 4);
  const palette = chunk('PLTE', Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]));
  const trns = chunk('tRNS', Buffer.from([0, 128]));
  const paletted = (extra: Buffer[]) => filteredPng(6, 5, indices, 1, [0], extra, 3);
  await sameAsCanvas(t, paletted([palette, trns]), 'palette then transparency');
  t.is(decodePng(paletted([trns, palette]), table), null, 'transparency before the palette');
  t.is(decodePng(paletted([palette, palette]), table), null, 'two palettes');
  t.is(decodePng(paletted([palette, chunk('tRNS', Buffer.alloc(5, 7))]), table), null, 'more alphas than entries');
  // chunks after the image data: spliced in before IEND
  const late = (png: Buffer, extra: Buffer) =>
    Buffer.concat([png.subarray(0, png.length - 12), extra, png.subarray(-12)]);
  t.is(decodePng(late(paletted([]), palette), table), null, 'the palette after the image data');
  t.is(decodePng(late(paletted([palette]), trns), table), null, 'transparency after the image data');
});

test.serial(
  'compressed data that inflates past the rows the header promises is never inflated whole (a PNG bomb)',
  async (t) => {
    const header = Buffer.alloc(13);
    header.writeUInt32BE(100, 0);
    header.writeUInt32BE(100, 4);
    header[8] = 8;
    header[9] = 2; // RGB: 30,100 bytes of rows
    const bomb = Buffer.concat([
      SIGNATURE,
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(Buffer.alloc(64 * 1024 * 1024))),
      chunk('IEND', Buffer.alloc(0)),
    ]);
    const before = process.memoryUsage().arrayBuffers;
    t.is(decodePng(bomb, await canvasAlphaTable()), null);
    t.true(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024, 'no 64 MB buffer was made');
  },
);

test("photos over the kernels' size go through the canvas and the JavaScript passes, with the same preparation", async (t) => {
  const [width, height] = [2100, 1950]; // 4.1 MP: over KERNEL_PIXELS
  t.true(width * height > KERNEL_PIXELS);
  const pixels = new Uint8Array(width * height * 3).fill(236);
  for (let y = 400; y < 1500; y++) pixels.fill(40, 3 * (y * width + 700), 3 * (y * width + 1500));
  const png = encodePng(width, height, pixels, 3);
  t.is(decodePng(png, await canvasAlphaTable()), null);
  const prepared = await prepareImage(png, 'large');
  t.deepEqual(prepared.box, [700, 400, 800, 1100]);
  t.true(prepared.inverted);
  t.deepEqual(prepared, prepareDecoded(await drawn(png, 'large', 1e8), 'large', 'auto', true));
});
