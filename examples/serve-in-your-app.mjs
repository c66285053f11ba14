// The classifier inside your own fastify app, as a plugin under a prefix of your choice: POST /clothes/predict,
// GET /clothes/model, /clothes/classes, /clothes/health, /clothes/metrics and the page at /clothes/, next to your routes.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Fastify from 'fastify';
import { classifier, obtainModel, shutdownPool } from 'fashion-pipeline';

const root = dirname(createRequire(import.meta.url).resolve('fashion-pipeline/package.json'));
const model = await obtainModel({ model: join(root, 'pipelines', 'quick.yaml') });
const app = Fastify();
app.get('/', async () => ({ shop: 'open' })); // a route of your own
await app.register(classifier, { model, prefix: '/clothes', limits: { bodyBytes: 2 * 1024 * 1024 } });
const photo = readFileSync(join(root, 'data', 'photos', 'sneaker.jpg'));
const reply = await app.inject({
  method: 'POST',
  url: '/clothes/predict',
  headers: { 'content-type': 'image/jpeg' },
  payload: photo,
});
console.log(`${reply.statusCode} ${reply.json().images[0].class}`);
await app.close();
await shutdownPool();
