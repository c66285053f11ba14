/**
 * `node dist/bench/zero-shot.js [MODEL] [--photos DIR]`: a Fashion-MNIST model (default models/best.model, made by
 * `pipeline run pipelines/best.yaml --no-cv --save-model`) on the real photos of clothing-dataset-small's test split
 * (default data/clothing-small/test), zero-shot: the six classes that map onto Fashion-MNIST's (t-shirt → T-shirt/top,
 * pants → Trouser, dress → Dress, outwear → Coat, shirt → Shirt, shoes → Sandal, Sneaker or Ankle boot). Accuracy per
 * class and in all, with Fashion-MNIST's preparation alone and with the garment segmented first. Prints markdown.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyPixels, obtainModel, prepareForModel } from '../src/app/model.js';
import { shutdownPool, warmPool } from '../src/runtime/pool.js';
import { COMMON_TASK_MODULES } from '../src/stages/task-modules.js';
import { modelInput } from '../src/model/provenance.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const photosAt = args.indexOf('--photos');
const photos = photosAt >= 0 ? args[photosAt + 1] : join(root, 'data/clothing-small/test');
const modelPath = args.find((a, i) => !a.startsWith('--') && i !== photosAt + 1) ?? join(root, 'models/best.model');

const MAP: Record<string, string[]> = {
  't-shirt': ['T-shirt/top'],
  pants: ['Trouser'],
  dress: ['Dress'],
  outwear: ['Coat'],
  shirt: ['Shirt'],
  shoes: ['Sandal', 'Sneaker', 'Ankle boot'],
};

warmPool(COMMON_TASK_MODULES);
const model = await obtainModel({ model: modelPath });
const rows: string[] = [];
const totals = { photos: 0, plain: 0, segmented: 0 };
for (const folder of Object.keys(MAP)) {
  const files = readdirSync(join(photos, folder)).sort();
  const right = { plain: 0, segmented: 0 };
  let mistaken = '';
  for (const segment of [false, true]) {
    const pixels: Float32Array[] = [];
    for (const f of files) {
      const file = join(photos, folder, f);
      pixels.push((await prepareForModel(modelInput(model.info), readFileSync(file), file, 'auto', segment)).pixels);
    }
    const { classified } = await classifyPixels(model, pixels);
    const hits = classified.filter((c) => MAP[folder].includes(c.class)).length;
    right[segment ? 'segmented' : 'plain'] = hits;
    if (segment) {
      const wrong = new Map<string, number>();
      for (const c of classified) if (!MAP[folder].includes(c.class)) wrong.set(c.class, (wrong.get(c.class) ?? 0) + 1);
      mistaken = [...wrong]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 2)
        .map(([name, n]) => `${name} ${n}`)
        .join(', ');
    }
  }
  totals.photos += files.length;
  totals.plain += right.plain;
  totals.segmented += right.segmented;
  rows.push(`| ${folder} | ${files.length} | ${right.plain} | ${right.segmented} | ${mistaken} |`);
}
const share = (n: number) => (n / totals.photos).toFixed(3);
console.log(`Model \`${relative(root, modelPath)}\`, photos \`${relative(root, photos)}\` (six mappable classes)\n`);
console.log('| class | photos | right, preparation alone | right, segmented first | taken for (segmented) |');
console.log('|:---|---:|---:|---:|:---|');
for (const r of rows) console.log(r);
console.log(
  `| **all** | ${totals.photos} | ${totals.plain} (${share(totals.plain)}) | ${totals.segmented} (${share(totals.segmented)}) | |`,
);
await shutdownPool();
