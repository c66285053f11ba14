/**
 * `node dist/bench/serve-quality.js [MODEL|PIPELINE.yaml] [--similar-queries N]`: what `pipeline serve` promises,
 * measured on a model (default pipelines/pca-rf.yaml, fitted once into models/ as `serve` does):
 * - the unfamiliar flag: the share of the 10,000 test images flagged (≈ 0.5 % expected: the threshold is the training
 *   set's 99.5th percentile), and the share of 48 generated non-garment pictures (noise, shapes, text, stripes,
 *   checkerboards, gradients, faces, scribbles) flagged, per kind, after the same photo preparation as /predict;
 * - similar items: for N test images (default 1,000, stratified), the share of the 8 nearest training images in the
 *   model's feature space that share the test image's class, and the time per query.
 */
import { loadCatalogue } from '../src/app/catalogue.js';
import { classifyPixels, obtainModel } from '../src/app/model.js';
import { loadSplit, PIXELS, resolveDataDir } from '../src/data/fashion-mnist.js';
import { prepareImage } from '../src/data/image.js';
import { stratifiedSubset } from '../src/data/split.js';
import { matrix, takeLabels, takeRows } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { unfamiliarFlags } from '../src/model/unfamiliar.js';
import { nonGarmentPhotos } from '../test/helpers.js';

const args = process.argv.slice(2);
const at = args.indexOf('--similar-queries');
const queries = at >= 0 ? Number(args[at + 1]) : 1000;
const source =
  args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--similar-queries') ?? 'pipelines/pca-rf.yaml';

const model = await obtainModel({ model: source });
console.log(`model: ${model.path} (${model.info.name}, ${model.origin})`);
if (!model.info.unfamiliar) console.log('this model file carries no unfamiliar threshold: flags are null');
else console.log(`unfamiliar threshold: ${JSON.stringify(model.info.unfamiliar)}`);

const test = loadSplit(resolveDataDir(), 'test');
const flags = await unfamiliarFlags(model.pipeline, model.info.unfamiliar, test.X);
const flaggedTest = flags.filter((f) => f.unfamiliar).length;
console.log(
  `test images flagged: ${flaggedTest} of ${test.y.length} (${((100 * flaggedTest) / test.y.length).toFixed(2)} %)`,
);

const others = nonGarmentPhotos(48);
const perKind = new Map<string, { flagged: number; total: number; refused: number }>();
let flagged = 0;
let refused = 0;
for (const o of others) {
  const kind = o.name.replace(/-\d+$/, '');
  const row = perKind.get(kind) ?? { flagged: 0, total: 0, refused: 0 };
  row.total++;
  try {
    const prepared = await prepareImage(o.png, o.name);
    const { classified } = await classifyPixels(model, [prepared.pixels]);
    if (classified[0].unfamiliar) {
      row.flagged++;
      flagged++;
    }
  } catch {
    row.refused++;
    refused++;
  }
  perKind.set(kind, row);
}
console.log(
  `non-garment pictures flagged: ${flagged} of ${others.length} (${((100 * flagged) / others.length).toFixed(0)} %)` +
    (refused ? `, ${refused} refused by the photo preparation` : ''),
);
console.log('| kind | flagged |\n|---|---|');
for (const [kind, r] of perKind) console.log(`| ${kind} | ${r.flagged} of ${r.total} |`);

const t0 = performance.now();
const catalogue = await loadCatalogue(model, {});
console.log(`catalogue: ${catalogue.size} training images, ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const rows = stratifiedSubset(test.y, queries, 7);
const X = takeRows(test.X, rows);
const y = takeLabels(test.y, rows);
const features = await model.pipeline.transform(matrix(X.rows, PIXELS, X.data));
const t1 = performance.now();
const near = catalogue.nearest(features, 8);
const perQuery = (performance.now() - t1) / queries;
let same = 0;
near.forEach((items, i) => (same += items.filter((it) => it.label === y[i]).length));
console.log(
  `similar: ${queries} test images, ${((100 * same) / (8 * queries)).toFixed(1)} % of the 8 nearest share the class; ${perQuery.toFixed(2)} ms per query (${features.cols} features)`,
);
await shutdownPool();
