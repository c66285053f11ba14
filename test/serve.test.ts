import test from 'ava';
import { createCanvas } from '@napi-rs/canvas';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { loadCatalogue, type Catalogue } from '../src/app/catalogue.js';
import { obtainModel, type ObtainedModel } from '../src/app/model.js';
import { runPredict } from '../src/app/predict.js';
import { CLASS_NAMES } from '../src/data/fashion-mnist.js';
import { probeImage } from '../src/data/image-size.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { buildServer, classifier } from '../src/serve/server.js';
import { fashionTestSample, nonGarmentPhotos, photoOf, SMALL_PIPELINE, tempDir } from './helpers.js';

test.after.always(() => shutdownPool());

const work = tempDir('fp-serve-');
const sample = fashionTestSample(12, 4);
const photos = Array.from({ length: 12 }, (_, i) =>
  photoOf(sample.X.data.subarray(i * 784, (i + 1) * 784), i % 2 ? 'jpeg' : 'png', 4 + (i % 4)),
);

let model: ObtainedModel;
let catalogue: Catalogue;
let app: FastifyInstance;

test.before(async () => {
  const file = join(work, 'serve-small.yaml');
  writeFileSync(file, SMALL_PIPELINE);
  model = await obtainModel({ model: file, modelsDir: join(work, 'models') });
  const dir = join(work, 'catalogue');
  const shop = fashionTestSample(40, 11);
  await import('node:fs').then((fs) => fs.mkdirSync(dir));
  for (let i = 0; i < 40; i++)
    writeFileSync(
      join(dir, `item-${String(i).padStart(2, '0')}.png`),
      photoOf(shop.X.data.subarray(i * 784, (i + 1) * 784), 'png', 3),
    );
  catalogue = await loadCatalogue(model, { dir, cacheDir: join(work, 'cache') });
  app = await buildServer({ model, catalogue });
});

test.after.always(() => app?.close());

function raw(bytes: Buffer, type = 'image/png', query = '', server: FastifyInstance = app) {
  return server.inject({ method: 'POST', url: `/predict${query}`, headers: { 'content-type': type }, payload: bytes });
}

/** A multipart/form-data body with the given files. */
function multipart(files: Array<{ name: string; bytes: Buffer; type?: string }>) {
  const boundary = '----fp-test-boundary';
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="${f.name}"\r\nContent-Type: ${f.type ?? 'image/png'}\r\n\r\n`,
      ),
      f.bytes,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(parts), headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

test('GET /health, /ready, /classes', async (t) => {
  t.deepEqual((await app.inject('/health')).json(), { status: 'ok' });
  const ready = await app.inject('/ready');
  t.is(ready.statusCode, 200);
  t.like(ready.json(), { status: 'ready', model: 'serve-small', catalogue: 'ready' });
  const classes = (await app.inject('/classes')).json();
  t.deepEqual(
    classes.classes.map((c: { class: string }) => c.class),
    CLASS_NAMES,
  );
});

test('GET /model: name, steps with params, training checksums, fit time, the unfamiliar threshold', async (t) => {
  const m = (await app.inject('/model')).json();
  t.is(m.name, 'serve-small');
  t.deepEqual(
    m.steps.map((s: { stage: string }) => s.stage),
    ['normalize', 'pca', 'random_forest'],
  );
  t.is(m.steps[1].params.components, 20);
  t.is(m.training.rows, 2000);
  t.regex(m.training.checksums['train-images'], /^[0-9a-f]{64}$/);
  t.false(Number.isNaN(Date.parse(m.fitted)));
  t.is(m.cv_accuracy, null);
  t.is(m.unfamiliar.method, 'pca-reconstruction');
  t.is(m.unfamiliar.percentile, 99.5);
  t.true(m.unfamiliar.threshold > 1, 'the median scores 1');
  t.deepEqual(m.catalogue, { source: join(work, 'catalogue'), size: 40 });
});

test('POST /predict with raw PNG and JPEG bytes: class, ten probabilities, top-k, flags; the image on request', async (t) => {
  let right = 0;
  for (let i = 0; i < photos.length; i++) {
    const res = await raw(photos[i], i % 2 ? 'image/jpeg' : 'image/png', '?top=4');
    t.is(res.statusCode, 200);
    const body = res.json();
    t.deepEqual(body.model, { name: 'serve-small', id: model.info.fit_key.slice(0, 16) });
    t.true(body.ms >= 0);
    const [image] = body.images;
    t.is(image.class, CLASS_NAMES[image.label]);
    t.is(image.probabilities.length, 10);
    const sum = image.probabilities.reduce((s: number, p: { probability: number }) => s + p.probability, 0);
    t.true(Math.abs(sum - 1) < 1e-4);
    t.is(image.top.length, 4);
    t.is(image.top[0].class, image.class);
    t.true(image.inverted, 'dark garment on a light backdrop');
    t.is(typeof image.unfamiliar, 'boolean');
    t.is(image.image, undefined, 'no picture unless asked for');
    if (image.label === sample.y[i]) right++;
  }
  t.true(right >= 7, `${right} of 12 photos right`);
  const withImage = (await raw(photos[0], 'image/png', '?image=1')).json().images[0];
  t.regex(withImage.image, /^data:image\/png;base64,/);
  const png = Buffer.from(withImage.image.split(',')[1], 'base64');
  t.like(probeImage(png), { format: 'png', width: 28, height: 28 });
});

test('POST /predict multipart with several files answers each, in order and by name', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/predict?top=1',
    ...multipart([
      { name: 'a.png', bytes: photos[0] },
      { name: 'b.jpg', bytes: photos[1], type: 'image/jpeg' },
      { name: 'c.png', bytes: photos[2] },
    ]),
  });
  t.is(res.statusCode, 200);
  const body = res.json();
  t.deepEqual(
    body.images.map((i: { name: string }) => i.name),
    ['a.png', 'b.jpg', 'c.png'],
  );
  const single = (await raw(photos[1], 'image/jpeg')).json().images[0];
  t.is(body.images[1].class, single.class);
  t.is(body.images[0].top.length, 1);
});

test('POST /similar: the nearest catalogue images, nearest first, with class and distance; thumbnails on request', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/similar?n=5&image=1',
    headers: { 'content-type': 'image/png' },
    payload: photos[0],
  });
  t.is(res.statusCode, 200);
  const body = res.json();
  t.is(body.catalogue, join(work, 'catalogue'));
  const items = body.images[0].similar;
  t.is(items.length, 5);
  for (let i = 1; i < items.length; i++) t.true(items[i].distance >= items[i - 1].distance);
  t.regex(items[0].name, /^item-\d\d\.png$/);
  t.is(items[0].class, CLASS_NAMES[items[0].label]);
  t.regex(items[0].image, /^data:image\/png;base64,/);
  const bad = await app.inject({
    method: 'POST',
    url: '/similar?n=0',
    headers: { 'content-type': 'image/png' },
    payload: photos[0],
  });
  t.is(bad.statusCode, 400);
  t.is(bad.json().error.code, 'bad_parameter');
});

test('the catalogue is computed once: a second load reads the cache', async (t) => {
  const cacheDir = join(work, 'cache');
  t.is(readdirSync(cacheDir).length, 1);
  const again = await loadCatalogue(model, { dir: join(work, 'catalogue'), cacheDir });
  t.deepEqual(Array.from(again.features.data), Array.from(catalogue.features.data));
  t.deepEqual(Array.from(again.labels), Array.from(catalogue.labels));
  t.deepEqual(again.names, catalogue.names);
});

test('400: unreadable bytes (same words as predict), a blank image, bad parameters, no image at all', async (t) => {
  const garbage = await raw(Buffer.from('this is not a picture at all'), 'image/png');
  t.is(garbage.statusCode, 400);
  t.deepEqual(garbage.json(), {
    error: { code: 'unreadable_image', message: 'body: not an image this tool can read (PNG, JPEG, WebP, GIF or BMP)' },
  });
  const blankCanvas = createCanvas(50, 50);
  blankCanvas.getContext('2d').fillRect(0, 0, 50, 50);
  const blank = await raw(blankCanvas.encodeSync('png'));
  t.is(blank.statusCode, 400);
  t.regex(blank.json().error.message, /nothing stands out from the background/);
  for (const q of ['?top=11', '?top=x', '?image=maybe']) {
    const res = await raw(photos[0], 'image/png', q);
    t.is(res.statusCode, 400, q);
    t.is(res.json().error.code, 'bad_parameter');
  }
  const empty = await app.inject({ method: 'POST', url: '/predict', ...multipart([]) });
  t.is(empty.statusCode, 400);
  t.is(empty.json().error.code, 'no_image');
});

test('413: a body over the limit, and an image over the pixel limit refused from its header before decoding', async (t) => {
  const strict = await buildServer({ model, limits: { bodyBytes: 20_000, imagePixels: 40_000 } });
  try {
    const heavy = nonGarmentPhotos(1)[0].png; // noise: does not compress
    t.true(heavy.length > 20_000);
    const over = await strict.inject({
      method: 'POST',
      url: '/predict',
      headers: { 'content-type': 'image/png' },
      payload: heavy,
    });
    t.is(over.statusCode, 413);
    t.is(over.json().error.code, 'too_large');
    const overFile = await strict.inject({
      method: 'POST',
      url: '/predict',
      ...multipart([{ name: 'x.png', bytes: heavy }]),
    });
    t.is(overFile.statusCode, 413);
    // a small file that declares 2000×2000 pixels: the header says so before any decoding
    const wide = createCanvas(1000, 1000);
    const light = wide.encodeSync('png');
    t.true(light.length < 20_000, `${light.length} bytes`);
    const pixels = await strict.inject({
      method: 'POST',
      url: '/predict',
      headers: { 'content-type': 'image/png' },
      payload: light,
    });
    t.is(pixels.statusCode, 413);
    t.deepEqual(pixels.json().error, {
      code: 'image_too_large',
      message: 'body: 1000×1000 is 1 megapixels, over the limit of 0.04',
    });
  } finally {
    await strict.close();
  }
});

test('415 for other content types; 404 and 405 (with Allow) in the same error shape', async (t) => {
  for (const type of ['text/plain', 'application/json', 'image/svg+xml']) {
    const res = await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': type }, payload: '{}' });
    t.is(res.statusCode, 415, type);
    t.is(res.json().error.code, 'unsupported_media_type');
  }
  const missing = await app.inject('/nowhere');
  t.is(missing.statusCode, 404);
  t.deepEqual(missing.json(), { error: { code: 'not_found', message: 'no such route: GET /nowhere' } });
  const wrong = await app.inject('/predict');
  t.is(wrong.statusCode, 405);
  t.is(wrong.headers.allow, 'POST');
  t.is(wrong.json().error.code, 'method_not_allowed');
  const wrongPost = await app.inject({ method: 'POST', url: '/model' });
  t.is(wrongPost.statusCode, 405);
});

test('an internal failure is a 500 with no stack trace or message from inside', async (t) => {
  const broken: ObtainedModel = {
    ...model,
    pipeline: Object.create(model.pipeline, {
      transform: {
        value: async () => {
          throw new Error('secret detail at /home/x/file.ts:12');
        },
      },
    }),
  };
  const server = await buildServer({ model: broken });
  try {
    const res = await server.inject({
      method: 'POST',
      url: '/predict',
      headers: { 'content-type': 'image/png' },
      payload: photos[0],
    });
    t.is(res.statusCode, 500);
    t.deepEqual(res.json(), { error: { code: 'internal', message: 'internal error (see the server log)' } });
    t.false(res.body.includes('secret'));
    const similar = await server.inject({
      method: 'POST',
      url: '/similar',
      headers: { 'content-type': 'image/png' },
      payload: photos[0],
    });
    t.is(similar.statusCode, 503, 'no catalogue on this server');
    t.is(similar.json().error.code, 'no_catalogue');
  } finally {
    await server.close();
  }
});

test('GET /metrics: requests, errors by status, latency histogram, images classified (Prometheus text)', async (t) => {
  await raw(photos[0]);
  await app.inject('/nowhere');
  const res = await app.inject('/metrics');
  t.is(res.statusCode, 200);
  t.regex(res.headers['content-type'] as string, /text\/plain/);
  t.regex(res.body, /fashion_http_requests_total\{method="POST",route="\/predict",status="200"\} \d+/);
  t.regex(res.body, /fashion_http_errors_total\{status="404"\} \d+/);
  t.regex(res.body, /fashion_http_request_duration_seconds_bucket\{le="0.1",route="\/predict"\} \d+/);
  t.regex(res.body, /fashion_images_classified_total [1-9]\d*/);
  t.regex(res.body, /fashion_process_resident_memory_bytes/);
});

test('the page, its script and style are served at /', async (t) => {
  const page = await app.inject('/');
  t.is(page.statusCode, 200);
  t.regex(page.headers['content-type'] as string, /text\/html/);
  t.regex(page.body, /<label for="files"/);
  t.is((await app.inject('/page.js')).statusCode, 200);
  t.is((await app.inject('/page.css')).statusCode, 200);
});

test('unfamiliar: garments pass, noise, shapes and text are mostly flagged; older models without a threshold say null', async (t) => {
  const garments = await app.inject({
    method: 'POST',
    url: '/predict',
    ...multipart(
      photos.map((bytes, i) => ({
        name: `g${i}.${i % 2 ? 'jpg' : 'png'}`,
        bytes,
        type: i % 2 ? 'image/jpeg' : 'image/png',
      })),
    ),
  });
  const flaggedGarments = garments.json().images.filter((i: { unfamiliar: boolean }) => i.unfamiliar).length;
  t.true(flaggedGarments <= 2, `${flaggedGarments} of 12 garment photos flagged`);
  let flagged = 0;
  let refused = 0;
  const others = nonGarmentPhotos(16);
  for (const o of others) {
    const res = await raw(o.png);
    if (res.statusCode === 400) refused++;
    else if (res.json().images[0].unfamiliar) flagged++;
  }
  t.log(
    `non-garments: ${flagged} of ${others.length} flagged, ${refused} refused as blank; garments: ${flaggedGarments} of 12`,
  );
  t.true(flagged >= 8, `${flagged} of ${others.length} flagged`);
  const older = await buildServer({ model: { ...model, info: { ...model.info, unfamiliar: undefined } } });
  try {
    const image = (
      await older.inject({
        method: 'POST',
        url: '/predict',
        headers: { 'content-type': 'image/png' },
        payload: photos[0],
      })
    ).json().images[0];
    t.is(image.unfamiliar, null);
    t.is(image.unfamiliar_score, null);
  } finally {
    await older.close();
  }
});

test('probeImage reads PNG, JPEG, WebP, GIF and BMP sizes from their headers', (t) => {
  const canvas = createCanvas(37, 21);
  t.deepEqual(probeImage(canvas.encodeSync('png')), { format: 'png', width: 37, height: 21 });
  t.deepEqual(probeImage(canvas.encodeSync('jpeg', 90)), { format: 'jpeg', width: 37, height: 21 });
  t.deepEqual(probeImage(canvas.encodeSync('webp', 90)), { format: 'webp', width: 37, height: 21 });
  const gif = Buffer.alloc(13);
  gif.write('GIF89a', 0, 'latin1');
  gif.writeUInt16LE(300, 6);
  gif.writeUInt16LE(200, 8);
  t.deepEqual(probeImage(gif), { format: 'gif', width: 300, height: 200 });
  const bmp = Buffer.alloc(54);
  bmp.write('BM', 0, 'latin1');
  bmp.writeUInt32LE(40, 14);
  bmp.writeInt32LE(640, 18);
  bmp.writeInt32LE(-480, 22);
  t.deepEqual(probeImage(bmp), { format: 'bmp', width: 640, height: 480 });
  t.is(probeImage(Buffer.from('hello')), null);
  t.is(probeImage(canvas.encodeSync('png').subarray(0, 10)), null);
});

test('predict shows the unfamiliar flag and, with --similar, the nearest catalogue images', async (t) => {
  const dir = join(work, 'photos');
  await import('node:fs').then((fs) => fs.mkdirSync(dir, { recursive: true }));
  writeFileSync(join(dir, 'a.png'), photos[0]);
  writeFileSync(join(dir, 'stripes.png'), nonGarmentPhotos(4)[3].png);
  const result = await runPredict({
    model: model.path,
    images: [dir],
    similar: 3,
    catalogue: join(work, 'catalogue'),
  });
  t.is(result.predictions.length, 2);
  t.is(result.predictions[0].unfamiliar, false);
  t.is(result.predictions[1].unfamiliar, true);
  t.is(result.predictions[0].similar!.length, 3);
  await t.throwsAsync(runPredict({ model: model.path, images: [dir], similar: 0 }), { message: /--similar must be/ });
});

for (const signal of ['SIGTERM', 'SIGHUP'] as const) {
  test(`the CLI serves, logs one JSON line per request, and stops with exit 0 on ${signal} after the request under way`, async (t) => {
    const bin = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
    t.true(existsSync(bin));
    const child = spawn(
      process.execPath,
      [bin, 'serve', model.path, '--port', '0', '--catalogue', join(work, 'catalogue')],
      { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        const m = /serving serve-small on (http:\/\/[^ ]+?)\/? \(/.exec(stderr);
        if (m) resolve(m[1]);
      });
      child.on('exit', () => reject(new Error(`exited early: ${stderr}`)));
    });
    t.is((await fetch(`${url}/health`)).status, 200);
    // a request under way: its headers and half its body sent, then the signal, then the rest of the body
    const { payload, headers } = multipart(photos.map((bytes, i) => ({ name: `p${i}.png`, bytes })));
    const http = await import('node:http');
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${url}/predict?image=1`,
        { method: 'POST', headers: { ...headers, 'content-length': String(payload.length) } },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write(payload.subarray(0, payload.length >> 1));
      setTimeout(() => {
        child.kill(signal);
        setTimeout(() => req.end(payload.subarray(payload.length >> 1)), 300);
      }, 1000); // time for the server to read the headers, even on a loaded machine
    });
    const res = await answered;
    t.is(res.status, 200, `the request under way is answered: ${res.body.slice(0, 200)}`);
    t.is(JSON.parse(res.body).images.length, 12);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    t.is(code, 0, stderr);
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string; url?: string; status?: number; ms?: number });
    const requests = lines.filter((l) => l.msg === 'request');
    t.deepEqual(
      requests.map((l) => [l.url, l.status]),
      [
        ['/health', 200],
        ['/predict?image=1', 200],
      ],
    );
    t.is(typeof requests[0].ms, 'number');
  });
}

test('slow clients are cut off: header and request timeouts are set (configurable)', async (t) => {
  t.is(app.server.headersTimeout, 10_000);
  t.is(app.server.requestTimeout, 30_000);
  const strict = await buildServer({ model, limits: { headersMs: 500, requestMs: 1000 } });
  try {
    t.is(strict.server.headersTimeout, 500);
    t.is(strict.server.requestTimeout, 1000);
    const address = await strict.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    // a client that sends half a request line and stops
    const net = await import('node:net');
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      const socket = net.connect(Number(port), '127.0.0.1', () =>
        socket.write('POST /predict HTTP/1.1\r\nHost: x\r\n'),
      );
      socket.on('data', (d) => (got += d));
      socket.on('close', () => resolve(got));
    });
    const seconds = (Date.now() - t0) / 1000;
    t.log(
      `the half-sent request was cut off after ${seconds.toFixed(1)} s: ${JSON.stringify(answer.split('\r\n')[0])}`,
    );
    // the client never finishes or closes: the close is the server's (a server that never cut it would hang the test
    // until AVA's timeout)
    t.true(answer === '' || answer.startsWith('HTTP/1.1 408'));
  } finally {
    await strict.close();
  }
});

test('warm-up: photos go through the preparation and the model before the server is returned, outside the request metrics', async (t) => {
  const warmed = await buildServer({ model, warmUp: 24 });
  try {
    const metrics = (await warmed.inject('/metrics')).body;
    t.notRegex(metrics, /fashion_images_classified_total [1-9]/, 'warm-up photos are not counted as classified');
    const res = await raw(photos[0], 'image/png', '', warmed);
    t.is(res.statusCode, 200);
    t.deepEqual(res.json().images[0].probabilities, (await raw(photos[0])).json().images[0].probabilities);
  } finally {
    await warmed.close();
  }
});

test('the body limit holds for the whole request: files each under it but together over it are 413', async (t) => {
  const strict = await buildServer({ model, limits: { bodyBytes: 500_000 } });
  try {
    const heavy = nonGarmentPhotos(1)[0].png; // noise: does not compress
    t.true(heavy.length > 170_000 && heavy.length < 250_000, `${heavy.length} bytes`);
    const one = await strict.inject({
      method: 'POST',
      url: '/predict',
      ...multipart([{ name: 'a.png', bytes: heavy }]),
    });
    t.is(one.statusCode, 200, one.body);
    const three = await strict.inject({
      method: 'POST',
      url: '/predict',
      ...multipart(['a', 'b', 'c'].map((n) => ({ name: `${n}.png`, bytes: heavy }))),
    });
    t.is(three.statusCode, 413);
    t.deepEqual(three.json().error, {
      code: 'too_large',
      message: "the request's files are over 500000 bytes together",
    });
  } finally {
    await strict.close();
  }
});

test('the pixels being decoded at once are bounded over all requests: 413 for a request over the budget alone, 503 with Retry-After while others decode', async (t) => {
  const strict = await buildServer({ model, limits: { pixelsInFlight: 6_000_000 } });
  try {
    const big = createCanvas(2000, 2000);
    const context = big.getContext('2d');
    context.fillStyle = '#fff';
    context.fillRect(0, 0, 2000, 2000);
    context.fillStyle = '#222';
    context.fillRect(600, 400, 800, 1200);
    const png = big.encodeSync('png');
    const alone = await strict.inject({
      method: 'POST',
      url: '/predict',
      ...multipart([
        { name: 'a.png', bytes: png },
        { name: 'b.png', bytes: png },
      ]),
    });
    t.is(alone.statusCode, 413);
    t.is(alone.json().error.code, 'images_too_large');
    // two requests of 4 megapixels each at once: one decodes, the other is told to come back
    const both = await Promise.all([raw(png, 'image/png', '', strict), raw(png, 'image/png', '', strict)]);
    t.deepEqual(both.map((r) => r.statusCode).sort(), [200, 503], both.map((r) => r.body).join('\n'));
    const busy = both.find((r) => r.statusCode === 503)!;
    t.is(busy.headers['retry-after'], '1');
    t.is(busy.json().error.code, 'busy');
    // and once the first is done, the budget is free again
    t.is((await raw(png, 'image/png', '', strict)).statusCode, 200);
  } finally {
    await strict.close();
  }
});

test('a malformed multipart body (no closing boundary, no boundary at all) is 400 in the error shape, not 500', async (t) => {
  const { payload, headers } = multipart([{ name: 'a.png', bytes: photos[0] }]);
  const cut = payload.subarray(0, payload.length - 40);
  const unfinished = await app.inject({ method: 'POST', url: '/predict', headers, payload: cut });
  t.is(unfinished.statusCode, 400, unfinished.body);
  t.is(unfinished.json().error.code, 'bad_multipart');
  const noBoundary = await app.inject({
    method: 'POST',
    url: '/predict',
    headers: { 'content-type': 'multipart/form-data' },
    payload,
  });
  t.true([400, 415].includes(noBoundary.statusCode), noBoundary.body);
  t.truthy(noBoundary.json().error.code);
  t.not(noBoundary.json().error.code, 'internal');
});

test('a client trickling its headers (a byte every 200 ms, never idle) is cut off at the header timeout, not 30 s later', async (t) => {
  const strict = await buildServer({ model, limits: { headersMs: 1000, requestMs: 3000 } });
  try {
    const address = await strict.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const net = await import('node:net');
    const HEADER_BYTES = 241;
    let sent = 0;
    const t0 = Date.now();
    const seconds = await new Promise<number>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      const line = 'POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(HEADER_BYTES - 41);
      let at = 0;
      const drip = setInterval(() => {
        if (socket.writable && at < line.length) socket.write(line[at++]);
      }, 200);
      socket.on('error', () => {});
      socket.on('close', () => {
        clearInterval(drip);
        sent = at;
        resolve((Date.now() - t0) / 1000);
      });
    });
    t.log(`cut off after ${seconds.toFixed(1)} s, ${sent} of ${HEADER_BYTES} header bytes sent`);
    // never idle, so only the header timeout can end it, and not before it; cut long before the headers were whole
    // (Node's default 30 s check would have let about 150 of them through)
    t.true(seconds >= 0.9, `${seconds} s`);
    t.true(sent < HEADER_BYTES / 2, `${sent} header bytes sent before the cut`);
  } finally {
    await strict.close();
  }
});

test("errors before a route runs answer in the one error shape: the HTTP parser's, an undecodable URL, CONNECT", async (t) => {
  const server = await buildServer({ model });
  t.teardown(() => server.close());
  const address = await server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = new URL(address);
  const net = await import('node:net');
  const send = (text: string) =>
    new Promise<{ status: string; body: unknown }>((resolve) => {
      let got = '';
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(text));
      socket.on('data', (d) => (got += d));
      socket.on('error', () => {});
      socket.on('close', () => {
        const [head, body] = got.split('\r\n\r\n');
        resolve({ status: head.split('\r\n')[0], body: body ? JSON.parse(body) : null });
      });
    });
  const malformed = { error: { code: 'bad_request', message: 'malformed HTTP request' } };
  for (const request of [
    'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
  ]) {
    t.deepEqual(await send(request), { status: 'HTTP/1.1 400 Bad Request', body: malformed }, JSON.stringify(request));
  }
  const url = await send('GET /%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  t.is(url.status, 'HTTP/1.1 400 Bad Request');
  t.deepEqual(url.body, { error: { code: 'bad_request', message: 'the URL cannot be decoded' } });
  const connect = await send('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  t.is(connect.status, 'HTTP/1.1 405 Method Not Allowed');
  t.deepEqual(connect.body, {
    error: { code: 'method_not_allowed', message: 'CONNECT is not allowed: this is no proxy' },
  });
});

test("the classifier as a plugin in someone's fastify app, under a prefix: its routes, 404/405 and limits there, the app's own routes and parsers untouched", async (t) => {
  const Fastify = (await import('fastify')).default;
  const shop = Fastify();
  shop.post('/orders', async (request) => ({ received: request.body })); // the app's own JSON route
  await shop.register(classifier, { model, prefix: '/clothes', limits: { bodyBytes: 200_000 } });
  t.teardown(() => shop.close());
  const answer = await shop.inject({
    method: 'POST',
    url: '/clothes/predict',
    headers: { 'content-type': 'image/png' },
    payload: photos[0],
  });
  t.is(answer.statusCode, 200, answer.body);
  t.is(answer.json().images[0].class, (await raw(photos[0])).json().images[0].class);
  t.is((await shop.inject('/clothes/health')).json().status, 'ok');
  const wrongMethod = await shop.inject('/clothes/predict');
  t.is(wrongMethod.statusCode, 405);
  t.is(wrongMethod.headers.allow, 'POST');
  t.is(wrongMethod.json().error.code, 'method_not_allowed');
  t.is((await shop.inject('/clothes/nothing')).json().error.code, 'not_found');
  const tooBig = await shop.inject({
    method: 'POST',
    url: '/clothes/predict',
    headers: { 'content-type': 'image/png' },
    payload: nonGarmentPhotos(2)
      .map((p) => p.png)
      .reduce((a, b) => Buffer.concat([a, b])),
  });
  t.is(tooBig.statusCode, 413);
  const page = await shop.inject('/clothes/');
  t.is(page.statusCode, 200);
  t.regex(page.headers['content-type'] as string, /text\/html/);
  // the app's JSON route still parses JSON: the plugin's parsers are its own
  const order = await shop.inject({ method: 'POST', url: '/orders', payload: { item: 'coat' } });
  t.deepEqual(order.json(), { received: { item: 'coat' } });
});

test('a client that sends a whole oversized body before reading gets its 413 (the rest of the body is read, within a bound)', async (t) => {
  const strict = await buildServer({ model, limits: { bodyBytes: 1_000_000 } });
  t.teardown(() => strict.close());
  const address = await strict.listen({ port: 0, host: '127.0.0.1' });
  const { port } = new URL(address);
  const net = await import('node:net');
  const body = Buffer.alloc(20_000_000, 1);
  const result = await new Promise<{ written: string; answer: string }>((resolve) => {
    let answer = '';
    let written = 'pending';
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(
        `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body, (err) => (written = err ? ((err as NodeJS.ErrnoException).code ?? 'error') : 'all'));
    });
    socket.on('data', (d) => (answer += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ written, answer }));
  });
  t.is(result.written, 'all', 'the whole body was taken');
  t.regex(result.answer, /^HTTP\/1\.1 413 /);
  t.regex(result.answer, /"code":"too_large"/);
});
