/**
 * `node dist/bench/unfamiliar-photos.js [PIPELINE]`: how well a photo-folder model's unfamiliar flag (the classifier's
 * doubt, model/unfamiliar.ts) tells a kind of garment it never saw from the ones it knows. Default pipeline:
 * pipelines/clothing.yaml on data/clothing-small. For each class in turn: the pipeline fitted on train/ + validation/
 * without that class, its doubt about every test photo, and the AUROC of known against unknown test photos. Then the
 * shipped calibration: the model on all classes calibrated as `run --save-model` does it (a fifth held out), and the
 * share of the test photos (all of known classes) it flags. Prints markdown.
 */
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipelineFile } from '../src/config/load.js';
import { withRows } from '../src/data/dataset.js';
import { loadData } from '../src/data/load.js';
import { takeLabels, takeRows } from '../src/linalg/matrix.js';
import { shutdownPool, warmPool } from '../src/runtime/pool.js';
import { COMMON_TASK_MODULES } from '../src/stages/task-modules.js';
import { calibrateUnfamiliar, unfamiliarFlags } from '../src/model/unfamiliar.js';
import { Pipeline } from '../src/pipeline/pipeline.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const file = process.argv[2] ?? `${root}pipelines/clothing.yaml`;
const { config } = loadPipelineFile(file, { test: true });
const seed = config.evaluation.seed;

/** The share of (known, unknown) pairs the score orders right, ties counted half. */
function auroc(known: Float64Array, unknown: Float64Array): number {
  const all = [...Array.from(known, (v) => ({ v, u: 0 })), ...Array.from(unknown, (v) => ({ v, u: 1 }))].sort(
    (a, b) => a.v - b.v,
  );
  // rank sum of the unknown scores, ties given their mean rank (Mann–Whitney U)
  let rankSum = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].v === all[i].v) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (all[k].u) rankSum += rank;
    i = j;
  }
  const n1 = unknown.length;
  return (rankSum - (n1 * (n1 + 1)) / 2) / (n1 * known.length);
}

warmPool(COMMON_TASK_MODULES);
const data = await loadData(config.data, { pipelineFile: file, withTest: true, seed });
const { train } = data;
const testSet = data.test!;
const rows: string[] = [];
const values: number[] = [];
for (let held = 0; held < train.classes.length; held++) {
  const t0 = performance.now();
  const keep = Array.from(train.y.keys()).filter((i) => train.y[i] !== held);
  const part = withRows(train, takeRows(train.X, keep), takeLabels(train.y, keep));
  const pipeline = await Pipeline.fromSteps(config.steps).fit(part.X, part.y);
  const calibration = await calibrateUnfamiliar(pipeline, part, seed, data.info);
  if (!calibration) throw new Error(`${file}: its classifier gives no doubt to calibrate`);
  const flags = await unfamiliarFlags(pipeline, calibration, testSet.X);
  const scores = Float64Array.from(flags, (f) => f.score!);
  const isHeld = (i: number) => testSet.y[i] === held;
  const known = scores.filter((_, i) => !isHeld(i));
  const unknown = scores.filter((_, i) => isHeld(i));
  const value = auroc(known, unknown);
  values.push(value);
  const flaggedUnknown = flags.filter((f, i) => isHeld(i) && f.unfamiliar).length;
  const flaggedKnown = flags.filter((f, i) => !isHeld(i) && f.unfamiliar).length;
  rows.push(
    `| ${train.classes[held]} | ${unknown.length} | ${value.toFixed(3)} | ${flaggedUnknown} (${((100 * flaggedUnknown) / unknown.length).toFixed(0)} %) | ${((100 * flaggedKnown) / known.length).toFixed(1)} % | ${((performance.now() - t0) / 1000).toFixed(0)} s |`,
  );
  console.error(rows[rows.length - 1]);
}
const pipeline = await Pipeline.fromSteps(config.steps).fit(train.X, train.y);
const calibration = (await calibrateUnfamiliar(pipeline, train, seed, data.info))!;
const flags = await unfamiliarFlags(pipeline, calibration, testSet.X);
const flagged = flags.filter((f) => f.unfamiliar).length;

console.log(
  `Pipeline \`${relative(root, file)}\`: ${calibration.method}, threshold at the ${calibration.percentile}th percentile of`,
);
console.log(`${calibration.rows} training photos held out of the calibrating fit.\n`);
console.log(
  '| class held out of training | its test photos | AUROC | of them flagged | known test photos flagged | time |',
);
console.log('|:---|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(r);
const mean = values.reduce((a, b) => a + b, 0) / values.length;
console.log(`| **mean** | | **${mean.toFixed(3)}** | | | |\n`);
console.log(
  `The model on all ${train.classes.length} classes, calibrated as saved: ${flagged} of ${testSet.X.rows} test photos flagged (${((100 * flagged) / testSet.X.rows).toFixed(1)} %).`,
);
await shutdownPool();
