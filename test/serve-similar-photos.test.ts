import test from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import type { FastifyInstance } from 'fastify';
import { loadCatalogue, type Catalogue } from '../src/app/catalogue.js';
import { classifyPhotos, type ObtainedModel } from '../src/app/model.js';
import { runPredict } from '../src/app/predict.js';
import { decodePhoto } from '../src/data/photo-decode.js';
import type { ProgressSink } from '../src/evaluate/progress.js';
import { modelInput } from '../src/model/provenance.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { buildServer } from '../src/serve/server.js';
import { tempDir } from './helpers.js';
import { copyClothingPhotos, smallPhotoModel } from './photo-fixtures.js';

test.after.always(() => shutdownPool());

interface Item {
  index: number;
  name: string;
  label: number;
  class: string;
  distance: number;
  image?: string;
}

const work = tempDir('fp-similar-photos-');
const cacheDir = join(work, 'cache');
/** A shop's flat folder: shipped validation photos (three of the model's classes and hats), one cut short, a note. */
const flat = join(work, 'flat');
let model: ObtainedModel;
let catalogue: Catalogue;
let app: FastifyInstance;
let url: string;

test.before(async () => {
  model = await smallPhotoModel(work);
  copyClothingPhotos(flat, 'validation', { pants: 6, shoes: 6, 't-shirt': 6, hat: 3 }, { flat: true });
  const jpeg = readFileSync(copyClothingPhotos(join(work, 'spare'), 'validation', { dress: 1 })[0]);
  writeFileSync(join(flat, 'broken.jpg'), jpeg.subarray(0, jpeg.length >> 1));
  writeFileSync(join(flat, 'notes.txt'), 'not a photo');
  catalogue = await loadCatalogue(model, { dir: flat, cacheDir });
  app = await buildServer({ model, catalogue });
  url = await app.listen({ port: 0, host: '127.0.0.1' });
});

test.after.always(() => app?.close());

/** The model's answer for each photo file, as /predict gives it. */
async function predictions(paths: readonly string[]): Promise<string[]> {
  const answers = await classifyPhotos(
    model,
    paths.map((p) => readFileSync(p)),
    { names: paths },
  );
  return answers.map((a) => a.class);
}

async function similar(
  bytes: Buffer,
  query: string,
): Promise<{ status: number; body: { catalogue: string; images: Array<{ similar: Item[] }> } }> {
  const res = await fetch(`${url}/similar${query}`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: bytes,
  });
  return { status: res.status, body: (await res.json()) as never };
}

test('a flat folder: every photo but the one that cannot be decoded, each classed by the model as /predict would', async (t) => {
  const photos = readdirSync(flat)
    .filter((f) => f.endsWith('.jpg') && f !== 'broken.jpg')
    .sort();
  t.is(photos.length, 21);
  t.is(catalogue.size, 21);
  t.deepEqual(catalogue.names, photos, 'in name order; the note is not a photo, the broken one is left out');
  t.is(catalogue.source, flat);
  t.is(catalogue.skipped.length, 1);
  t.is(catalogue.skipped[0].name, 'broken.jpg');
  t.regex(catalogue.skipped[0].reason, /cut short|damaged|truncated/);
  t.deepEqual(
    Array.from(catalogue.labels, (l) => catalogue.classes[l]),
    await predictions(photos.map((f) => join(flat, f))),
  );
  t.deepEqual(catalogue.shape, { height: 32, width: 32, channels: 3 });
});

test('POST /similar over loopback: n items nearest first, the photo itself first at distance 0, with its class', async (t) => {
  for (const index of [0, 7, 20]) {
    const name = catalogue.names[index];
    const { status, body } = await similar(readFileSync(join(flat, name)), '?n=5');
    t.is(status, 200);
    t.is(body.catalogue, flat);
    const items: Item[] = body.images[0].similar;
    t.is(items.length, 5);
    t.is(items[0].name, name, 'a photo of the catalogue finds itself first');
    t.is(items[0].index, index);
    t.true(items[0].distance < 1e-3, `distance ${items[0].distance}`);
    for (let i = 1; i < items.length; i++) t.true(items[i].distance >= items[i - 1].distance, 'nearest first');
    for (const item of items) {
      t.is(item.name, catalogue.names[item.index]);
      t.is(item.label, catalogue.labels[item.index]);
      t.is(item.class, model.info.classes[item.label]);
      t.is(item.image, undefined, 'no picture unless asked for');
    }
  }
  const all = await similar(readFileSync(join(flat, catalogue.names[3])), '?n=100');
  t.is(all.body.images[0].similar.length, 21, 'n beyond the catalogue: every item');
});

test("?image=1: each item is an RGB PNG of the model's 32×32, the photo exactly as the model prepared it", async (t) => {
  const { body } = await similar(readFileSync(join(flat, catalogue.names[2])), '?n=4&image=1');
  const spec = modelInput(model.info);
  if (spec.kind !== 'photo') return t.fail('a photo model');
  for (const item of body.images[0].similar as Item[]) {
    t.regex(item.image!, /^data:image\/png;base64,/);
    const png = Buffer.from(item.image!.split(',')[1], 'base64');
    const meta = await sharp(png).metadata();
    t.like(meta, { format: 'png', width: 32, height: 32, channels: 3, hasAlpha: false });
    const raw = await sharp(png).raw().toBuffer();
    const prepared = await decodePhoto(readFileSync(join(flat, item.name)), spec.image, item.name);
    t.true(Buffer.from(prepared).equals(raw), `${item.name}: the thumbnail is the prepared photo`);
  }
  // /predict's picture of what the model saw is the same kind of PNG
  const seen = await fetch(`${url}/predict?image=1`, {
    method: 'POST',
    headers: { 'content-type': 'image/jpeg' },
    body: readFileSync(join(flat, catalogue.names[2])),
  });
  const image = ((await seen.json()) as { images: Array<{ image: string }> }).images[0].image;
  t.like(await sharp(Buffer.from(image.split(',')[1], 'base64')).metadata(), { width: 32, height: 32, channels: 3 });
});

test("a folder of class folders: a photo's class is its folder's when the model has that class, else the model's answer", async (t) => {
  const shop = join(work, 'shop');
  copyClothingPhotos(shop, 'validation', { pants: 3, shoes: 3, hat: 3 }, { skip: 10 });
  copyClothingPhotos(join(shop, 'sale'), 'validation', { 't-shirt': 2 }, { skip: 10 });
  const [loose] = copyClothingPhotos(join(work, 'loose'), 'validation', { 't-shirt': 1 }, { skip: 20 });
  writeFileSync(join(shop, 'loose.jpg'), readFileSync(loose));
  const shopCatalogue = await loadCatalogue(model, { dir: shop, cacheDir });
  t.is(shopCatalogue.size, 12);
  t.deepEqual(shopCatalogue.skipped, []);
  const predicted = await predictions(shopCatalogue.names.map((n) => join(shop, n)));
  shopCatalogue.names.forEach((name, i) => {
    const folder = /^(?:sale\/)?(pants|shoes|t-shirt)\//.exec(name)?.[1];
    const expected = folder ?? predicted[i]; // hat/ is no class of this model; loose.jpg is in no class folder
    t.is(shopCatalogue.classes[shopCatalogue.labels[i]], expected, name);
  });
  t.deepEqual(
    shopCatalogue.names.filter((n) => !n.includes('/')),
    ['loose.jpg'],
  );
  t.true(shopCatalogue.names.some((n) => n.startsWith('sale/t-shirt/')));
  // the same answers over HTTP: the nearest item of a photo of the catalogue is that photo, with its folder's class
  const server = await buildServer({ model, catalogue: shopCatalogue });
  try {
    const name = shopCatalogue.names.find((n) => n.startsWith('shoes/'))!;
    const res = await server.inject({
      method: 'POST',
      url: '/similar?n=3',
      headers: { 'content-type': 'image/jpeg' },
      payload: readFileSync(join(shop, name)),
    });
    t.like(res.json().images[0].similar[0], { name, class: 'shoes' });
  } finally {
    await server.close();
  }
});

test('the cache: a second start reads it (nothing decoded or transformed again); a changed photo is computed again', async (t) => {
  const dir = join(work, 'again');
  copyClothingPhotos(dir, 'validation', { pants: 2, shoes: 2 }, { flat: true, skip: 30 });
  writeFileSync(join(dir, 'empty.jpg'), '');
  const own = join(work, 'cache-again');
  const first = await loadCatalogue(model, { dir, cacheDir: own });
  t.is(readdirSync(own).length, 1);
  t.deepEqual(first.skipped, [{ name: 'empty.jpg', reason: 'an empty file' }]);
  // a second start: a pipeline that fails if used, and progress that fails if begun
  const untouchable = new Proxy({} as ObtainedModel['pipeline'], {
    get: () => {
      throw new Error('the pipeline was used: the catalogue was computed again');
    },
  });
  const silent: ProgressSink = {
    begin: () => t.fail('progress began: the catalogue was computed again'),
    advance: () => undefined,
    end: () => undefined,
  };
  const again = await loadCatalogue(
    { pipeline: untouchable, info: model.info },
    { dir, cacheDir: own, progress: silent },
  );
  t.deepEqual(Array.from(again.features.data), Array.from(first.features.data));
  t.deepEqual(Array.from(again.labels), Array.from(first.labels));
  t.deepEqual(again.names, first.names);
  t.deepEqual(again.skipped, first.skipped, 'the photos left out are known from the cache too');
  t.deepEqual(again.shape, first.shape);
  t.true(Buffer.from(again.pixels).equals(Buffer.from(first.pixels)), 'the thumbnails too');
  // a photo touched: the folder's names, sizes and times differ, so it is computed again
  const name = first.names[1];
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(dir, name), later, later);
  await t.throwsAsync(loadCatalogue({ pipeline: untouchable, info: model.info }, { dir, cacheDir: own }), {
    message: /the pipeline was used/,
  });
  const recomputed = await loadCatalogue(model, { dir, cacheDir: own });
  t.deepEqual(Array.from(recomputed.features.data), Array.from(first.features.data));
  t.is(readdirSync(own).length, 2);
});

test("by default the model's own training photos (test/ left out, classes from their folders); once they are gone, 503 no_catalogue", async (t) => {
  const photos = join(work, 'photos');
  t.is(model.info.training.data, `folder ${photos}`);
  const training = await loadCatalogue(model, { cacheDir });
  t.is(training.source, `${photos} (training photos)`);
  t.is(training.size, 30);
  t.true(training.names.every((n) => n.startsWith('train/')));
  training.names.forEach((name, i) => t.is(training.classes[training.labels[i]], name.split('/')[1], name));
  renameSync(photos, join(work, 'photos-moved'));
  const missing = loadCatalogue(model, { cacheDir });
  await t.throwsAsync(missing, { message: /trained on are not there.*--catalogue DIR/ });
  const server = await buildServer({ model, catalogue: missing });
  try {
    const res = await server.inject({
      method: 'POST',
      url: '/similar',
      headers: { 'content-type': 'image/jpeg' },
      payload: readFileSync(join(flat, catalogue.names[0])),
    });
    t.is(res.statusCode, 503);
    t.is(res.json().error.code, 'no_catalogue');
    t.true(
      res
        .json()
        .error.message.startsWith(`no catalogue: the photos this model was trained on are not there (${photos})`),
      res.json().error.message,
    );
    t.like((await server.inject('/ready')).json(), { catalogue: 'failed' });
  } finally {
    await server.close();
    renameSync(join(work, 'photos-moved'), photos);
  }
});

test('pipeline serve --catalogue: the photo left out is named once in the log, and /similar answers', async (t) => {
  const bin = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [bin, 'serve', model.path, '--port', '0', '--warm-up', '0', '--catalogue', flat],
    { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  try {
    const address = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /serving small-photos on (http:\/\/[^ ]+?)\/? \(/.exec(stderr);
        if (m) resolve(m[1]);
      });
      child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
    });
    for (let i = 0; i < 300; i++) {
      const ready = (await (await fetch(`${address}/ready`)).json()) as { catalogue: string };
      if (ready.catalogue !== 'loading') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const res = await fetch(`${address}/similar?n=2`, {
      method: 'POST',
      headers: { 'content-type': 'image/jpeg' },
      body: readFileSync(join(flat, catalogue.names[5])),
    });
    t.is(res.status, 200);
    t.is(((await res.json()) as { images: Array<{ similar: Item[] }> }).images[0].similar[0].name, catalogue.names[5]);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string; skipped?: number; size?: number });
    const naming = lines.filter((l) => l.msg.includes('broken.jpg'));
    t.is(naming.length, 1, 'named once');
    t.like(naming[0], { level: 40, size: 21, skipped: 1 });
    t.regex(naming[0].msg, /^catalogue ready; 1 photo left out \(they could not be read or decoded\): broken\.jpg \(/);
    t.is(readdirSync(join(work, '.cache', 'fashion-pipeline', 'catalogue')).length, 1, 'cached in the working folder');
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('exit', r));
  }
});

test('pipeline predict --similar with a photo model: the nearest photos of the catalogue, as /similar finds them', async (t) => {
  const names = [catalogue.names[2], catalogue.names[9]];
  const result = await runPredict({
    model: model.path,
    images: names.map((n) => join(flat, n)),
    similar: 3,
    catalogue: flat,
  });
  for (const [i, prediction] of result.predictions.entries()) {
    const items = prediction.similar!;
    t.is(items.length, 3);
    t.is(items[0].name, names[i], 'a photo of the catalogue finds itself first');
    const { body } = await similar(readFileSync(join(flat, names[i])), '?n=3');
    t.deepEqual(
      items.map((item) => [item.name, item.class]),
      body.images[0].similar.map((item: Item) => [item.name, item.class]),
    );
  }
});
