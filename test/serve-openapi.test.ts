import test, { type ExecutionContext } from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv } from 'ajv';
import Fastify, { type FastifyInstance } from 'fastify';
import { loadCatalogue } from '../src/app/catalogue.js';
import { obtainModel, type ObtainedModel } from '../src/app/model.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { buildServer, classifier, ERROR_CODES } from '../src/serve/server.js';
import { fashionTestSample, photoOf, SMALL_PIPELINE, tempDir } from './helpers.js';
import { copyClothingPhotos, smallPhotoModel } from './photo-fixtures.js';

test.after.always(() => shutdownPool());

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: { content: Record<string, unknown> };
}
type Document = {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
};

const work = tempDir();
const photo = photoOf(fashionTestSample(1, 5).X.data.subarray(0, 784), 'png', 4);
let model: ObtainedModel;
let app: FastifyInstance;
let doc: Document;

test.before(async () => {
  const file = join(work, 'openapi-small.yaml');
  writeFileSync(file, SMALL_PIPELINE);
  model = await obtainModel({ model: file, modelsDir: join(work, 'models') });
  const dir = join(work, 'catalogue');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir);
  const shop = fashionTestSample(6, 2);
  for (let i = 0; i < 6; i++)
    writeFileSync(join(dir, `item-${i}.png`), photoOf(shop.X.data.subarray(i * 784, (i + 1) * 784), 'png', 3));
  app = await buildServer({ model, catalogue: await loadCatalogue(model, { dir, cacheDir: join(work, 'cache') }) });
  const res = await app.inject('/openapi.json');
  doc = res.json();
});

test.after.always(() => app?.close());

/** Every route a classifier registers (method and path under its prefix), from fastify's own onRoute hook. */
async function registeredRoutes(prefix: string): Promise<{ documented: string[]; hidden: string[] }> {
  const outer = Fastify();
  const documented: string[] = [];
  const hidden: string[] = [];
  outer.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue; // fastify's own HEAD for each GET
      (route.schema?.hide ? hidden : documented).push(`${method} ${route.url}`);
    }
  });
  await outer.register(classifier, { model, prefix });
  await outer.ready();
  await outer.close();
  return { documented: documented.sort(), hidden: hidden.sort() };
}

function operations(document: Document): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

test('/openapi.json is a valid OpenAPI 3 document listing every route, and only those', async (t) => {
  t.regex(doc.openapi, /^3\./);
  await t.notThrowsAsync(SwaggerParser.validate(structuredClone(doc) as never));
  const { documented, hidden } = await registeredRoutes('');
  t.deepEqual(operations(doc), documented);
  t.deepEqual(documented, [
    'GET /classes',
    'GET /health',
    'GET /metrics',
    'GET /model',
    'GET /ready',
    'POST /predict',
    'POST /similar',
  ]);
  // not in the document: the document itself and the page's files
  t.true(hidden.includes('GET /openapi.json'));
  t.true(hidden.includes('GET /'));
  // the image bodies and query parameters the routes take
  for (const path of ['/predict', '/similar']) {
    const post = doc.paths[path].post;
    t.deepEqual(Object.keys(post.requestBody!.content).sort(), [
      'image/bmp',
      'image/gif',
      'image/jpeg',
      'image/png',
      'image/webp',
      'multipart/form-data',
    ]);
  }
  t.deepEqual(
    doc.paths['/predict'].post.parameters!.map((p) => `${p.in}:${p.name}`),
    ['query:top', 'query:image'],
  );
});

test('under a prefix, the plugin documents its routes under it', async (t) => {
  const outer = Fastify();
  await outer.register(classifier, { model, prefix: '/clothes' });
  const under = (await outer.inject('/clothes/openapi.json')).json() as Document;
  await outer.close();
  t.deepEqual(operations(under), (await registeredRoutes('/clothes')).documented);
  t.true(Object.keys(under.paths).every((path) => path.startsWith('/clothes/')));
});

test('the error codes in the document are the table the server answers with', (t) => {
  const error = Object.values(doc.components.schemas).find((s) => (s as { title?: string }).title === 'error');
  t.truthy(error, 'the error shape is a component of its own');
  const codes = (error as { properties: { error: { properties: { code: { enum: string[] } } } } }).properties.error
    .properties.code.enum;
  t.deepEqual(codes, Object.keys(ERROR_CODES));
});

/** Checks an answer against the schema `document` gives for its route and status. */
function answerChecker(t: ExecutionContext, document: Document) {
  const ajv = new Ajv({ strict: false, allErrors: true });
  for (const [name, schema] of Object.entries(document.components.schemas))
    ajv.addSchema(schema, `#/components/schemas/${name}`);
  return (method: string, path: string, status: number, body: unknown, label: string) => {
    const responses = document.paths[path][method].responses;
    const response = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
    t.truthy(response, `${label}: ${status} is documented`);
    const schema = response.content?.['application/json']?.schema;
    t.truthy(schema, `${label}: a JSON schema for ${status}`);
    const validate = ajv.compile(resolveRefs(schema!, document));
    t.true(validate(body), `${label}: ${ajv.errorsText(validate.errors)}`);
  };
}

test('answers match the document: each route called, 200s and errors validated against its schemas', async (t) => {
  const check = answerChecker(t, doc);
  const calls: Array<[string, string, string, Buffer | undefined, number]> = [
    ['post', '/predict', '/predict?top=2&image=1', photo, 200],
    ['post', '/predict', '/predict', photo, 200],
    ['post', '/predict', '/predict?top=99', photo, 400],
    ['post', '/predict', '/predict', Buffer.from('not an image'), 400],
    ['post', '/similar', '/similar?n=3&image=true', photo, 200],
    ['post', '/similar', '/similar?n=0', photo, 400],
    ['get', '/model', '/model', undefined, 200],
    ['get', '/classes', '/classes', undefined, 200],
    ['get', '/health', '/health', undefined, 200],
    ['get', '/ready', '/ready', undefined, 200],
  ];
  for (const [method, path, url, payload, status] of calls) {
    const res = await app.inject({
      method: method.toUpperCase() as 'GET' | 'POST',
      url,
      ...(payload ? { payload, headers: { 'content-type': 'image/png' } } : {}),
    });
    t.is(res.statusCode, status, url);
    check(method, path, res.statusCode, res.json(), `${method} ${url}`);
  }
  const metrics = await app.inject('/metrics');
  t.is(metrics.statusCode, 200);
  t.truthy(doc.paths['/metrics'].get.responses['200'].content?.['text/plain']);
  t.regex(metrics.headers['content-type'] as string, /^text\/plain/);
});

test("a photo model's answers match the document too: /similar with colour thumbnails, /model, and 503 no_catalogue", async (t) => {
  const root = tempDir('fp-openapi-photos-');
  const photoModel = await smallPhotoModel(root);
  const shop = join(root, 'shop');
  const [sent] = copyClothingPhotos(shop, 'validation', { pants: 3, shoes: 3, hat: 2 });
  const catalogue = await loadCatalogue(photoModel, { dir: shop, cacheDir: join(root, 'cache') });
  const withCatalogue = await buildServer({ model: photoModel, catalogue });
  const without = await buildServer({ model: photoModel });
  try {
    const document: Document = (await withCatalogue.inject('/openapi.json')).json();
    const check = answerChecker(t, document);
    const calls: Array<[FastifyInstance, string, string, number]> = [
      [withCatalogue, '/similar', '/similar?n=4&image=1', 200],
      [withCatalogue, '/similar', '/similar', 200],
      [withCatalogue, '/predict', '/predict?image=1', 200],
      [without, '/similar', '/similar?image=1', 503],
    ];
    for (const [server, path, url, status] of calls) {
      const res = await server.inject({
        method: 'POST',
        url,
        payload: readFileSync(sent),
        headers: { 'content-type': 'image/jpeg' },
      });
      t.is(res.statusCode, status, url);
      check('post', path, res.statusCode, res.json(), `POST ${url}`);
    }
    const info = await withCatalogue.inject('/model');
    check('get', '/model', info.statusCode, info.json(), 'GET /model');
    t.like(info.json().catalogue, { source: shop, size: 8 });
  } finally {
    await withCatalogue.close();
    await without.close();
  }
});

/** The schema with its `$ref`s to components replaced by what they name (ajv then needs no document around it). */
function resolveRefs(schema: object, document: Document): object {
  return JSON.parse(JSON.stringify(schema), (_key, value: unknown) => {
    if (value && typeof value === 'object' && '$ref' in value) {
      const ref = String((value as { $ref: string }).$ref);
      const name = ref.replace('#/components/schemas/', '');
      return document.components.schemas[name];
    }
    return value;
  }) as object;
}
