// Classify photos held in memory with a model: here the package's quick pipeline, fitted on first use and kept in
// models/quick.model; a model file saved by `pipeline run FILE --save-model` loads the same way.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { classifyPhotos, obtainModel, shutdownPool } from 'fashion-pipeline';

const root = dirname(createRequire(import.meta.url).resolve('fashion-pipeline/package.json'));
const model = await obtainModel({ model: join(root, 'pipelines', 'quick.yaml') });
const names = ['coat.png', 'sneaker.jpg', 'trouser.jpg'];
const photos = names.map((name) => readFileSync(join(root, 'data', 'photos', name)));
const answers = await classifyPhotos(model, photos, { names, top: 2 });
for (const [i, a] of answers.entries()) console.log(`${names[i]}: ${a.class} (${a.confidence?.toFixed(2)})`);
await shutdownPool();
