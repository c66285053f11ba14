/**
 * Hostile photos: a truncated or corrupt PNG or JPEG is an error for that photo (named, with what is wrong), never a
 * confident answer about the part-grey picture a lenient decoder makes of it; `predict` and `serve` say the same.
 */
import test, { type ExecutionContext } from 'ava';
import { createCanvas } from '@napi-rs/canvas';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { ObtainedModel } from '../../src/app/model.js';
import { imageDamage } from '../../src/data/image-size.js';
import { CLASS_NAMES } from '../../src/data/fashion-mnist.js';
import { shutdownPool } from '../../src/runtime/pool.js';
import { createRng } from '../../src/util/rng.js';
import type { ModelInfo } from '../../src/model/provenance.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { buildServer } from '../../src/serve/server.js';
import { fashionSample, fashionTestSample, photoOf, tempDir } from '../helpers.js';
import { assertCleanFailure, cli, listTree, pngChunks } from './harness.js';

test.after.always(() => shutdownPool());

const garment = fashionTestSample(1, 3).X.data;
const PNG = photoOf(garment, 'png');
const JPEG = photoOf(garment, 'jpeg');

/** A k-NN model file on 300 training images, and a folder to work in. */
let work: string;
let modelFile: string;
test.before(() => {
  work = tempDir();
  writeFileSync(
    join(work, 'm.yaml'),
    'name: m\ndata: { limit: { train: 300, test: 50 } }\nsteps: [ { knn: { k: 1 } } ]\nevaluation: { folds: 0 }\n',
  );
  modelFile = join(work, 'm.model');
  const r = cli(['run', 'm.yaml', '--no-pictures', '--out', 'results', '--save-model', 'm.model', '-q'], {
    cwd: work,
  });
  if (r.status !== 0) throw new Error(r.stderr);
});

/** `predict` on one photo with these bytes: a clean exit 1 naming it with `says`. */
function refused(t: ExecutionContext, name: string, bytes: Buffer, says: string | RegExp) {
  const dir = tempDir();
  writeFileSync(join(dir, name), bytes);
  const before = listTree(dir);
  const r = cli(['predict', modelFile, join(dir, name)]);
  assertCleanFailure(t, r, { exit: 1, says: [`${name}: `, says], unchanged: [{ dir, before }] });
  t.is(r.stdout, '', 'no answer for it');
}

test('a PNG cut in its image data: exit 1, "truncated PNG (no IEND chunk …)", no answer', (t) => {
  refused(t, 'shirt.png', PNG.subarray(0, Math.floor(PNG.length * 0.6)), /truncated PNG \(no IEND chunk/);
});

test('a PNG whose last chunk is missing (cut exactly at a chunk boundary): no IEND chunk', (t) => {
  const iend = pngChunks(PNG).find((c) => c.type === 'IEND')!;
  refused(t, 'cut.png', PNG.subarray(0, iend.at), 'truncated PNG (no IEND chunk)');
});

test('a PNG with one flipped byte in its image data: exit 1, CRC mismatch named', (t) => {
  const idat = pngChunks(PNG).find((c) => c.type === 'IDAT')!;
  const bad = Buffer.from(PNG);
  bad[idat.at + 8 + Math.floor(idat.length / 2)] ^= 0x40;
  refused(t, 'flipped.png', bad, /corrupt PNG \(CRC mismatch in the IDAT chunk at byte \d+\)/);
});

test('a JPEG cut in its scan: exit 1, "truncated JPEG (no EOI marker)"', (t) => {
  refused(t, 'boot.jpg', JPEG.subarray(0, Math.floor(JPEG.length * 0.7)), 'truncated JPEG (no EOI marker)');
});

test('a JPEG cut inside a segment header, and one with no scan at all', (t) => {
  refused(
    t,
    'head.jpg',
    JPEG.subarray(0, 40),
    /truncated JPEG \(no EOI marker: the segment at byte \d+ is cut short\)/,
  );
  const noScan = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xd9]);
  refused(t, 'empty.jpg', noScan, 'corrupt JPEG (no SOS segment before EOI)');
});

test('a big photo (a generated 2000×2000 PNG, several MB) cut short is refused by name, from its chunks alone', (t) => {
  const canvas = createCanvas(2000, 2000);
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(2000, 2000);
  const rng = createRng(7);
  for (let i = 0; i < img.data.length; i++) img.data[i] = i % 4 === 3 ? 255 : rng.int(256);
  ctx.putImageData(img, 0, 0);
  const big = canvas.encodeSync('png');
  t.true(big.length > 4 * 2 ** 20, `${big.length} bytes`);
  const cut = big.subarray(0, big.length - 5000);
  // the check walks the chunks (their lengths and CRCs) to where the cut falls, and names that chunk
  const chunks = pngChunks(big);
  const broken = chunks.find((c) => c.at + 12 + c.length > cut.length)!;
  t.is(imageDamage(cut), `truncated PNG (no IEND chunk: the ${broken.type} chunk at byte ${broken.at} is cut short)`);
  t.is(imageDamage(big), null);
  // and it decodes nothing, so its cost is one pass over the bytes: image data that is not even zlib, in chunks that
  // are whole and carry their CRCs, passes it (the decoder is what refuses such a file)
  const undecodable = Buffer.from(big);
  for (const c of chunks.filter((c) => c.type === 'IDAT')) {
    undecodable.fill(0, c.at + 8, c.at + 8 + c.length);
    undecodable.writeUInt32BE(crc32(undecodable.subarray(c.at + 4, c.at + 8 + c.length)), c.at + 8 + c.length);
  }
  t.is(imageDamage(undecodable), null);
  refused(t, 'big.png', cut, /truncated PNG/);
});

test('the check passes every shipped photo and every fresh encoding, and fails every cut of them', (t) => {
  const shipped = new URL('../../../data/photos/', import.meta.url);
  const files = readdirSync(shipped).filter((f) => /\.(png|jpg)$/.test(f));
  t.true(files.length >= 10);
  const all = [...files.map((f) => readFileSync(new URL(f, shipped))), PNG, JPEG];
  all.push(readFileSync(new URL('../../../test/fixtures/exif-rotated.jpg', import.meta.url)));
  for (const bytes of all) {
    t.is(imageDamage(bytes), null);
    for (const cut of [1, 2, 7, 13, 64, Math.floor(bytes.length / 3), Math.floor(bytes.length / 2)])
      t.not(imageDamage(bytes.subarray(0, bytes.length - cut)), null, `cut ${cut} of ${bytes.length}`);
  }
});

test('serve answers a truncated photo with its 400 error shape, in the words predict uses', async (t) => {
  const train = fashionSample(100, 2);
  const steps = [{ id: 'knn', stage: 'knn', params: { k: 1 } }];
  const info = {
    name: 'm',
    source: 'm.yaml',
    tool: '0',
    created: '',
    classes: [...CLASS_NAMES],
    training: { rows: 100, data: 'sample' },
    fit_key: '0'.repeat(16),
  } as ModelInfo;
  const model: ObtainedModel = {
    pipeline: await Pipeline.fromSteps(steps).fit(train.X, train.y),
    info,
    path: 'm.model',
    origin: 'loaded',
    fitSeconds: null,
  };
  const app = await buildServer({ model });
  t.teardown(() => app.close());
  const raw = await app.inject({
    method: 'POST',
    url: '/predict',
    headers: { 'content-type': 'image/png' },
    payload: PNG.subarray(0, PNG.length - 100),
  });
  t.is(raw.statusCode, 400);
  t.is(raw.json().error.code, 'unreadable_image');
  t.regex(raw.json().error.message, /^body: truncated PNG \(no IEND chunk/);
  const whole = await app.inject({
    method: 'POST',
    url: '/predict',
    headers: { 'content-type': 'image/jpeg' },
    payload: JPEG,
  });
  t.is(whole.statusCode, 200, 'the whole photo is answered');
  const cut = await app.inject({
    method: 'POST',
    url: '/predict',
    headers: { 'content-type': 'image/jpeg' },
    payload: JPEG.subarray(0, JPEG.length - 2),
  });
  t.deepEqual(cut.json(), { error: { code: 'unreadable_image', message: 'body: truncated JPEG (no EOI marker)' } });
});
