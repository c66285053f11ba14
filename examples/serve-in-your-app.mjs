// The classifier as part of your own fastify app: buildServer returns a fastify instance with the service's routes
// (POST /predict, GET /model, /classes, /health, /metrics, the page at /), to listen on or to inject requests into.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildServer, obtainModel, shutdownPool } from 'fashion-pipeline';

const root = dirname(createRequire(import.meta.url).resolve('fashion-pipeline/package.json'));
const model = await obtainModel({ model: join(root, 'pipelines', 'quick.yaml') });
const app = await buildServer({ model, limits: { bodyBytes: 2 * 1024 * 1024 } });
const photo = readFileSync(join(root, 'data', 'photos', 'sneaker.jpg'));
const reply = await app.inject({
  method: 'POST',
  url: '/predict',
  headers: { 'content-type': 'image/jpeg' },
  payload: photo,
});
console.log(`${reply.statusCode} ${reply.json().images[0].class}`);
await app.close();
await shutdownPool();
