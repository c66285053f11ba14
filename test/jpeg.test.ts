import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { canvasSrgbProfile, drawn, prepareDecoded, prepareImage } from '../src/data/image.js';
import { decodeJpeg } from '../src/data/jpeg.js';
import { ImageDamage } from '../src/data/png.js';
import { decodePhoto } from '../src/data/photo-decode.js';
import { DataError } from '../src/data/errors.js';
import { fashionTestSample, photoOf } from './helpers.js';

/** test/fixtures/jpeg/: files from another encoder (Pillow), written by make.py there; `left-*` must go to the canvas. */
const FIXTURES = new URL('../../test/fixtures/jpeg/', import.meta.url);
const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.jpg'))
  .map((name) => ({ name, bytes: readFileSync(new URL(name, FIXTURES)) }));

/** decodeJpeg's pixels are the canvas's, byte for byte (copied at once: a view of the kernels' memory). */
async function sameAsCanvas(t: import('ava').ExecutionContext, jpeg: Buffer, what: string): Promise<void> {
  const ours = decodeJpeg(jpeg, canvasSrgbProfile());
  t.truthy(ours, `${what}: decoded here, not left to the canvas`);
  if (!ours) return;
  const pixels = Buffer.from(ours.rgba);
  const canvas = await drawn(jpeg, what, 1e8);
  t.deepEqual([ours.width, ours.height], [canvas.width, canvas.height], what);
  t.true(pixels.equals(Buffer.from(canvas.rgba)), `${what}: the same RGBA bytes as the canvas`);
}

test('JPEGs from another encoder: 4:4:4, 4:2:2 and 4:2:0 at two qualities, greyscale, odd and tiny sizes, upright EXIF', async (t) => {
  const decoded = fixtures.filter((f) => !f.name.startsWith('left-'));
  t.true(decoded.length >= 9);
  for (const { name, bytes } of decoded) await sameAsCanvas(t, bytes, name);
});

test("the canvas's own JPEGs (its sRGB profile inside) at several sizes, and the preparation through either path", async (t) => {
  const sample = fashionTestSample(6, 11);
  for (let i = 0; i < 6; i++) {
    const jpeg = photoOf(sample.X.data.subarray(i * 784, (i + 1) * 784), 'jpeg', 2 + i, [3 * i, 5 + i]);
    await sameAsCanvas(t, jpeg, `photo ${i}`);
    t.deepEqual(await prepareImage(jpeg, `photo ${i}`), prepareDecoded(await drawn(jpeg, 'photo', 1e8), `photo ${i}`));
  }
});

test("progressive files, colour profiles other than the canvas's, turned EXIF, restart markers: left to the canvas", async (t) => {
  const left = fixtures.filter((f) => f.name.startsWith('left-'));
  t.true(left.length >= 3);
  for (const { name, bytes } of left) t.is(decodeJpeg(bytes, canvasSrgbProfile()), null, name);
  // a restart interval (DRI) spliced in after SOI
  const plain = fixtures.find((f) => f.name === 'rgb-420-q95.jpg')!.bytes;
  const withRestart = Buffer.concat([plain.subarray(0, 2), Buffer.from([0xff, 0xdd, 0, 4, 0, 2]), plain.subarray(2)]);
  t.is(decodeJpeg(withRestart, canvasSrgbProfile()), null, 'restart markers');
  // not a JPEG at all, and one cut short before its scan
  t.is(decodeJpeg(Buffer.from('not a jpeg'), canvasSrgbProfile()), null);
  t.is(decodeJpeg(plain.subarray(0, 200), canvasSrgbProfile()), null);
});

test('damaged segments (a table or restart field cut short, a scan naming no component) are left to the canvas', async (t) => {
  const plain = fixtures.find((f) => f.name === 'rgb-444-q95.jpg')!.bytes;
  const after = (segment: number[]) => Buffer.concat([plain.subarray(0, 2), Buffer.from(segment), plain.subarray(2)]);
  t.is(decodeJpeg(after([0xff, 0xdd, 0, 2]), canvasSrgbProfile()), null, 'DRI without its interval');
  t.is(decodeJpeg(after([0xff, 0xdb, 0, 3, 0]), canvasSrgbProfile()), null, 'a quantization table cut short');
  t.is(decodeJpeg(after([0xff, 0xc4, 0, 5, 0, 1, 2]), canvasSrgbProfile()), null, 'a Huffman table cut short');
  // the same file's frame with a component count the scan does not match
  const frameAt = plain.indexOf(Buffer.from([0xff, 0xc0]));
  const oneComponent = Buffer.from(plain);
  oneComponent[frameAt + 9] = 1;
  t.is(decodeJpeg(oneComponent, canvasSrgbProfile()), null, 'a frame of one component, a scan of three');
});

test('damaged and crafted files (fixtures/jpeg/hostile): left to the canvas or its own pixels, and the same outcome', async (t) => {
  const HOSTILE = new URL('hostile/', FIXTURES);
  const files = readdirSync(HOSTILE).filter((f) => f.endsWith('.jpg'));
  t.true(files.length >= 20);
  const outcome = async (run: () => Promise<unknown>) => {
    try {
      return await run();
    } catch (err) {
      return (err as Error).message;
    }
  };
  const refused: string[] = [];
  for (const name of files) {
    const bytes = readFileSync(new URL(name, HOSTILE));
    let ours: ReturnType<typeof decodeJpeg>;
    try {
      ours = decodeJpeg(bytes, canvasSrgbProfile());
    } catch (err) {
      // cut short and closed with EOI: the canvas would fill the rest grey; refused instead, by name
      t.true(err instanceof ImageDamage, `${name}: ${(err as Error).message}`);
      t.is(await outcome(() => prepareImage(bytes, name)), `${name}: ${(err as Error).message}`);
      refused.push(name);
      continue;
    }
    const pixels = ours && Buffer.from(ours.rgba);
    const canvas = await outcome(() => drawn(bytes, name, 1e8));
    if (pixels) {
      t.true(typeof canvas !== 'string', `${name}: decoded here, and the canvas reads it too`);
      if (typeof canvas !== 'string')
        t.true(pixels.equals(Buffer.from((canvas as { rgba: Uint8ClampedArray }).rgba)), name);
    }
    t.deepEqual(
      await outcome(() => prepareImage(bytes, name)),
      await outcome(async () => prepareDecoded(await drawn(bytes, name, 1e8), name)),
      `${name}: prepareImage as through the canvas`,
    );
  }
  t.log(`refused as cut short: ${refused.join(', ')}`);
  t.true(
    refused.every((name) => /^c[56]-/.test(name)),
    'only the files cut short and closed with EOI',
  );
});

test("a photo model's decoding (sharp) refuses a JPEG cut in its scan and closed with EOI, which libjpeg only warns about", async (t) => {
  const { default: sharp } = await import('sharp');
  const raw = Buffer.from(Array.from({ length: 160 * 120 * 3 }, (_, i) => (i * 37) % 251));
  const jpeg = await sharp(raw, { raw: { width: 160, height: 120, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
  const spec = { width: 32, height: 32, channels: 3 as const, fit: 'fill' as const };
  t.is((await decodePhoto(jpeg, spec, 'whole.jpg')).length, 32 * 32 * 3);
  const cut = Buffer.concat([jpeg.subarray(0, jpeg.length >> 1), Buffer.from([0xff, 0xd9])]);
  await t.throwsAsync(decodePhoto(cut, spec, 'cut.jpg'), {
    instanceOf: DataError,
    message: 'cut.jpg: truncated JPEG (its scan data ends before the image does)',
  });
});
