/**
 * `node dist/bench/photo-features.js [--repeats N]`: decoding, preparing and computing the features of
 * pipelines/clothing.yaml for the 3,409 training photos of data/clothing-small (train/ + validation/), ours (sharp
 * decoding with the cache off, then the union of colour HOG, LBP textures and HSV histogram on the worker pool) against PIL +
 * scikit-image doing the same (bench/photo_features.py, Debian's python3-skimage), one after the other in this run.
 * Prints a markdown table of medians and their ratio. Our side runs with the allocator settings of bin/pipeline (the
 * script starts itself again with them when they are not set), as `pipeline run` runs it; scikit-image's side runs
 * in the environment the script was given.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadPipelineFile } from '../src/config/load.js';
import { loadData } from '../src/data/load.js';
import { shutdownPool, warmPool } from '../src/runtime/pool.js';
import { COMMON_TASK_MODULES } from '../src/stages/task-modules.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { registry } from '../src/stages/registry.js';
import { PIPELINE_ENV } from './pipeline-env.js';

/** The variables this script added for our side (named in BENCH_ADDED_ENV): scikit-image's side runs without them. */
const ADDED = 'BENCH_ADDED_ENV';
if (process.env.MALLOC_MMAP_MAX_ === undefined) {
  const added = Object.keys(PIPELINE_ENV).filter((k) => process.env[k] === undefined);
  const env = { ...PIPELINE_ENV, [ADDED]: added.join(',') };
  const again = spawnSync(process.execPath, process.argv.slice(1), { env, stdio: 'inherit' });
  process.exit(again.status ?? 1);
}
const theirEnv: NodeJS.ProcessEnv = { ...process.env };
for (const k of [ADDED, ...(process.env[ADDED] ?? '').split(',')]) delete theirEnv[k];

const root = fileURLToPath(new URL('../../', import.meta.url));
const repeats = Number(process.argv[process.argv.indexOf('--repeats') + 1] || 3) || 3;
const file = `${root}pipelines/clothing.yaml`;
const { config } = loadPipelineFile(file, { test: false });
// the feature steps of the pipeline: everything before the scaler and the estimator, without the augmentation
const featureSteps = config.steps.filter((s) => s.stage === 'union');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

warmPool(COMMON_TASK_MODULES);
process.env.FASHION_DATA_CACHE = 'off';
const ours: number[] = [];
let photos = 0;
let width = 0;
for (let r = 0; r < repeats; r++) {
  const t0 = performance.now();
  const data = await loadData(config.data, { pipelineFile: file, withTest: false, seed: 42 });
  // fitting transforms the training rows through the union once (the 1-NN fit only stores them)
  await Pipeline.fromSteps([...featureSteps, { id: 'knn', stage: 'knn', params: { k: 1 } }]).fit(
    data.train.X,
    data.train.y,
  );
  ours.push((performance.now() - t0) / 1000);
  photos = data.train.X.rows;
  width = featureSteps.reduce((w, s) => registry.get(s.stage)!.outputFeatures!(s.params, w), data.train.X.cols);
}
await shutdownPool();
const py = spawnSync(
  '/usr/bin/python3',
  [
    `${root}bench/photo_features.py`,
    `${root}data/clothing-small/train`,
    `${root}data/clothing-small/validation`,
    `--repeats=${repeats}`,
  ],
  { encoding: 'utf8', env: theirEnv },
);
if (py.status !== 0) throw new Error(`photo_features.py failed: ${py.stderr.split('\n').slice(-3).join(' ')}`);
const theirs = JSON.parse(py.stdout.trim().split('\n').pop()!) as { photos: number; seconds: number; features: number };
const mine = median(ours);
console.log(`| photos | features | ours (s) | PIL + scikit-image (s) | ratio |`);
console.log(`|---:|---:|---:|---:|---:|`);
console.log(
  `| ${photos} | ${width} (theirs ${theirs.features}) | ${mine.toFixed(2)} | ${theirs.seconds.toFixed(2)} | ${(mine / theirs.seconds).toFixed(2)} |`,
);
console.log(`\nmedian of ${repeats}; ours: ${ours.map((s) => s.toFixed(2)).join(', ')} s`);
