import test from 'ava';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGridCommand } from '../src/app/run-grid-command.js';
import { runPredict } from '../src/app/predict.js';
import { ConfigError, UsageError } from '../src/config/errors.js';
import { applyParamOptions, expandGrid } from '../src/config/param-grid.js';
import { loadPipelineFile, parsePipeline } from '../src/config/load.js';
import { loadData } from '../src/data/load.js';
import { loadModel } from '../src/model/format.js';
import { Interrupted } from '../src/util/errors.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { fashionTestSample, photoOf, tempDir } from './helpers.js';

test.after.always(() => shutdownPool());

// The searches are serial (ava runs serial tests one at a time, before the concurrent ones): one of them sets
// process.env.FASHION_WORKERS for a while, and any search running beside it would read that for its pool.

const base = `name: g
data:
  limit: { train: 900, test: 200 }
steps:
  - normalize: { method: minmax }
  - pca: { components: 10 }
  - knn: { k: 3 }
grid:
  pca.components: [8, 12]
  knn.k: [1, 3, 5]
evaluation:
  folds: 3
  seed: 4
`;

function file(text: string): string {
  const path = join(tempDir(), 'g.yaml');
  writeFileSync(path, text);
  return path;
}

test('grid expansion: cartesian product, list of maps for conditional grids, --param adds and replaces', (t) => {
  const loaded = parsePipeline('g.yaml', base);
  const all = expandGrid(loaded.grid, loaded.config.steps, loaded.source, loaded.shape);
  t.is(all.length, 6);
  t.deepEqual(all[0].params, { 'pca.components': 8, 'knn.k': 1 });
  t.is(all[5].steps[1].params.components, 12);
  t.is(all[5].steps[2].params.k, 5);
  t.is(loaded.config.steps[1].params.components, 10, 'the base steps are not modified');
  const overridden = expandGrid(
    applyParamOptions(loaded.grid, ['knn.k=7', 'knn.weights=uniform,distance']),
    loaded.config.steps,
    loaded.source,
    loaded.shape,
  );
  t.is(overridden.length, 4);
  t.deepEqual(
    overridden.map((c) => c.params['knn.weights']),
    ['uniform', 'distance', 'uniform', 'distance'],
  );
  const conditional = parsePipeline(
    'g.yaml',
    base.replace(
      /grid:\n.*\n.*\n/,
      'grid:\n  - { pca.components: [8] , knn.k: [1, 3] }\n  - { pca.components: [12], knn.weights: [distance] }\n',
    ),
  );
  const cands = expandGrid(conditional.grid, conditional.config.steps, conditional.source, conditional.shape);
  t.is(cands.length, 3);
  t.is(new Set(cands.map((c) => c.key)).size, 3, 'candidate keys are distinct');
});

test('grid keys and values are validated with file positions; --param problems are usage errors', (t) => {
  const bad = (text: string) => t.throws(() => parsePipeline('g.yaml', text), { instanceOf: ConfigError });
  t.regex(
    bad(base.replace('knn.k: [1, 3, 5]', 'knn.kk: [1, 3, 5]')).message,
    /^g\.yaml:10:3: unknown param "kk" for stage knn in grid key "knn\.kk"; allowed: k, weights/,
  );
  t.regex(
    bad(base.replace('knn.k: [1, 3, 5]', 'svm.C: [1]')).message,
    /^g\.yaml:10:3: grid key "svm\.C" must be step\.param with a step of this pipeline: normalize, pca, knn/,
  );
  t.regex(bad(base.replace('knn.k: [1, 3, 5]', 'knn.k: [1, zero, 5]')).message, /^g\.yaml:10:14: knn\.k: /);
  t.regex(bad(base.replace('[8, 12]', '[8, 900]')).message, /^g\.yaml:9:23: pca\.components: .*784/);
  t.regex(
    bad(base.replace('knn.k: [1, 3, 5]', 'knn.k: []')).message,
    /^g\.yaml:10:10: grid: a grid key needs at least one value/,
  );
  const loaded = parsePipeline('g.yaml', base);
  t.throws(
    () => expandGrid(applyParamOptions(loaded.grid, ['knn.k=0']), loaded.config.steps, loaded.source, loaded.shape),
    {
      instanceOf: UsageError,
      message: /--param knn\.k=0: knn\.k: /,
    },
  );
  t.throws(() => applyParamOptions(loaded.grid, ['knn.k']), {
    instanceOf: UsageError,
    message: /expected stage\.param=value/,
  });
});

test.serial(
  'a grid value that cannot fit the data is reported at that value (or names the --param option)',
  async (t) => {
    const text = base.replace('knn.k: [1, 3, 5]', 'knn.k: [1, 700]');
    const err = await t.throwsAsync(() => runGridCommand({ file: file(text), out: tempDir(), cacheDir: tempDir() }), {
      instanceOf: ConfigError,
    });
    t.regex(err!.message, /g\.yaml:10:14: knn\.k: .*700/);
    await t.throwsAsync(
      () => runGridCommand({ file: file(base), out: tempDir(), cacheDir: tempDir(), params: ['knn.k=1,700'] }),
      {
        instanceOf: UsageError,
        message: /^--param knn\.k=1,700: knn\.k: .*700/,
      },
    );
  },
);

test.serial('command-line overrides are validated like the file and named as options', async (t) => {
  const path = file(base);
  await t.throwsAsync(() => runGridCommand({ file: path, out: tempDir(), seed: 1.5 }), {
    instanceOf: UsageError,
    message: /^--seed 1\.5: /,
  });
  await t.throwsAsync(() => runGridCommand({ file: path, out: tempDir(), seed: 5_000_000_000 }), {
    instanceOf: UsageError,
    message: /^--seed 5000000000: /,
  });
  await t.throwsAsync(() => runGridCommand({ file: path, out: tempDir(), folds: 500 }), {
    instanceOf: UsageError,
    message: /^--folds 500: /,
  });
  await t.throwsAsync(() => runGridCommand({ file: path, out: tempDir(), folds: 95, cacheDir: tempDir() }), {
    instanceOf: UsageError,
    message: /^--folds 95: the smallest class in the training data has 90 rows/,
  });
  await t.throwsAsync(() => runGridCommand({ file: path, out: tempDir(), cacheSizeMb: 0 }), {
    instanceOf: UsageError,
    message: /--cache-size/,
  });
});

test.serial(
  'a search ranks candidates, refits the best and writes the leaderboard; worker count does not change it',
  async (t) => {
    const path = file(base);
    const cacheDir = tempDir();
    const out = tempDir();
    const first = await runGridCommand({ file: path, out, cacheDir });
    if (first.kind !== 'done') throw new Error('expected a finished search');
    const { result, files } = first;
    t.is(result.candidates.length, 6);
    t.deepEqual(
      result.candidates.map((c) => c.rank),
      [1, 2, 3, 4, 5, 6],
    );
    for (let i = 1; i < 6; i++) t.true(result.candidates[i - 1].mean >= result.candidates[i].mean);
    t.true(result.test!.accuracy > 0.6);
    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    t.is(json.format, 'fashion-pipeline/grid');
    t.is(json.leaderboard.length, 6);
    t.regex(readFileSync(files.markdown, 'utf8'), /## Leaderboard/);
    t.deepEqual(readdirSync(out).sort(), ['g-grid.json', 'g-grid.md']);
    // PCA fits once per (fold, components): 3 folds × (normalize + 2 PCA sizes) = 9 prefix fits, the rest are hits.
    t.is(result.cache.misses, 9);

    const saved = process.env.FASHION_WORKERS;
    process.env.FASHION_WORKERS = '1';
    try {
      const single = await runGridCommand({ file: path, out: tempDir(), cacheDir: tempDir() });
      if (single.kind !== 'done') throw new Error('expected a finished search');
      t.deepEqual(
        single.result.candidates.map((c) => [c.key, c.mean]),
        result.candidates.map((c) => [c.key, c.mean]),
      );
    } finally {
      if (saved === undefined) delete process.env.FASHION_WORKERS;
      else process.env.FASHION_WORKERS = saved;
    }
  },
);

test.serial('the disk cache serves a second run, and changes of params or data miss it', async (t) => {
  const path = file(base);
  const cacheDir = tempDir();
  const cold = await runGridCommand({ file: path, out: tempDir(), cacheDir });
  const warm = await runGridCommand({ file: path, out: tempDir(), cacheDir });
  if (cold.kind !== 'done' || warm.kind !== 'done') throw new Error('expected finished searches');
  t.is(warm.result.cache.misses, 0);
  t.true(warm.result.cache.disk_hits > 0);
  t.deepEqual(
    warm.result.candidates.map((c) => c.mean),
    cold.result.candidates.map((c) => c.mean),
  );
  const plan = await runGridCommand({ file: path, out: tempDir(), cacheDir, dryRun: true });
  if (plan.kind !== 'plan') throw new Error('expected a plan');
  t.is(plan.plan.transformer_fits, 0);
  // per fold the two normalize → PCA prefixes come from disk; normalize alone is never refitted under them
  t.is(plan.plan.transformer_fits_cached, 6);
  t.regex(plan.text, /6 candidates × 3 folds = 18 fold fits/);
  t.regex(plan.text, /estimated time: about/);

  const otherParams = await runGridCommand({
    file: path,
    out: tempDir(),
    cacheDir,
    params: ['pca.components=9'],
    dryRun: true,
  });
  if (otherParams.kind !== 'plan') throw new Error('expected a plan');
  t.is(otherParams.plan.transformer_fits, 3, 'a new PCA size needs its own fit on each fold (normalize is shared)');
  const otherData = await runGridCommand({
    file: file(base.replace('train: 900', 'train: 901')),
    out: tempDir(),
    cacheDir,
    dryRun: true,
  });
  if (otherData.kind !== 'plan') throw new Error('expected a plan');
  t.is(otherData.plan.transformer_fits_cached, 0, 'other rows, other folds: nothing cached applies');
  const noCache = await runGridCommand({ file: path, out: tempDir(), cacheDir, cache: false });
  if (noCache.kind !== 'done') throw new Error('expected a finished search');
  t.is(noCache.result.cache.disk_hits + noCache.result.cache.memory_hits, 0);
  t.deepEqual(
    noCache.result.candidates.map((c) => c.mean),
    cold.result.candidates.map((c) => c.mean),
  );
});

test.serial(
  'k-NN candidates share one neighbour search per fold and prefix: the same fold scores as without',
  async (t) => {
    const path = file(base.replace(/knn\.k: \[1, 3, 5\]/, 'knn.k: [1, 3, 5, 9]\n  knn.weights: [uniform, distance]'));
    const { sharedSizes } = await import('../src/evaluate/search.js');
    const { expandGrid } = await import('../src/config/param-grid.js');
    const loaded = loadPipelineFile(path);
    const sizes = sharedSizes(expandGrid(loaded.grid, loaded.config.steps, loaded.source, loaded.shape));
    t.deepEqual(new Set(sizes.values()), new Set([9]), 'every candidate computes the largest k its group needs');
    const shared = await runGridCommand({ file: path, out: tempDir(), cacheDir: tempDir() });
    const alone = await runGridCommand({ file: path, out: tempDir(), cacheDir: tempDir(), cache: false });
    if (shared.kind !== 'done' || alone.kind !== 'done') throw new Error('expected finished searches');
    t.is(shared.result.candidates.length, 16);
    const folds = (r: typeof shared) =>
      r.result.candidates.map((c) => [c.key, c.folds.map((f) => [f.accuracy, f.macro_f1])]).sort();
    t.deepEqual(folds(shared), folds(alone));
  },
);

test.serial(
  'an interrupted search resumes from its checkpoint without recomputing and gives the same leaderboard',
  async (t) => {
    const path = file(base);
    const reference = await runGridCommand({ file: path, out: tempDir(), cacheDir: tempDir(), cache: false });
    if (reference.kind !== 'done') throw new Error('expected a finished search');

    const cacheDir = tempDir();
    const out = tempDir();
    const controller = new AbortController();
    let units = 0;
    const progress = {
      begin() {},
      advance() {
        if (++units === 7) controller.abort();
      },
      end() {},
    };
    await t.throwsAsync(
      () => runGridCommand({ file: path, out, cacheDir, cache: false, progress, signal: controller.signal }),
      { instanceOf: Interrupted },
    );
    t.deepEqual(readdirSync(out), [], 'nothing written to results on interrupt');
    const plan = await runGridCommand({ file: path, out, cacheDir, cache: false, resume: true, dryRun: true });
    if (plan.kind !== 'plan') throw new Error('expected a plan');
    t.is(plan.plan.from_checkpoint, 7);
    t.is(plan.plan.estimator_fits, 11);

    const resumed = await runGridCommand({ file: path, out, cacheDir, cache: false, resume: true });
    if (resumed.kind !== 'done') throw new Error('expected a finished search');
    t.is(resumed.result.resumed, 7);
    t.deepEqual(
      resumed.result.candidates.map((c) => [c.key, c.mean, c.folds.map((f) => f.accuracy)]),
      reference.result.candidates.map((c) => [c.key, c.mean, c.folds.map((f) => f.accuracy)]),
    );
    t.deepEqual(readdirSync(join(cacheDir, 'checkpoints')), [], 'the checkpoint is removed once the report is written');
  },
);

test.serial(
  'grid --save-model saves the refit best candidate; it predicts the test set as the report says',
  async (t) => {
    const path = file(base);
    const modelsDir = tempDir();
    const model = join(modelsDir, 'g.model');
    const done = await runGridCommand({ file: path, out: tempDir(), cacheDir: tempDir(), saveModel: model });
    if (done.kind !== 'done') throw new Error('expected a finished search');
    t.is(done.files.model, model);
    const { pipeline, steps, info } = loadModel(model);
    t.deepEqual(steps, done.result.best_steps);
    t.is(info.test_accuracy, done.result.test!.accuracy);
    t.regex(info.description ?? '', /^best of the grid \(/);
    const loaded = loadPipelineFile(path);
    const data = await loadData(loaded.config.data, {
      pipelineFile: path,
      withTest: true,
      seed: loaded.config.evaluation.seed,
    });
    t.deepEqual(Array.from(await pipeline.predict(data.test!.X)), done.result.test!.predictions);

    // predict with the grid file takes that model (the best candidate), and never refits the base steps over it
    const photo = join(tempDir(), 'p.png');
    writeFileSync(photo, photoOf(fashionTestSample(1, 4).X.data, 'png'));
    const used = await runPredict({ model: path, images: [photo], modelsDir });
    t.is(used.origin, 'loaded');
    t.deepEqual(used.info, info);
    await t.throwsAsync(() => runPredict({ model: path, images: [photo], modelsDir: tempDir() }), {
      instanceOf: UsageError,
      message: /g\.yaml has a grid: section; run `pipeline grid .*g\.yaml --save-model` first/,
    });

    await t.throwsAsync(
      () => runGridCommand({ file: path, out: tempDir(), cacheDir: tempDir(), dryRun: true, saveModel: '' }),
      {
        instanceOf: UsageError,
        message: /--dry-run only prints the plan/,
      },
    );
    const oracle = base.replace('knn: { k: 3 }', 'knn: { k: 3, engine: mljs }');
    await t.throwsAsync(
      () => runGridCommand({ file: file(oracle), out: tempDir(), cacheDir: tempDir(), saveModel: '' }),
      {
        instanceOf: UsageError,
        message: /--save-model: step knn: engine mljs/,
      },
    );
  },
);
