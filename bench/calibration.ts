/**
 * `node dist/bench/calibration.js [PIPELINE…]`: how far each pipeline's probabilities can be trusted on its test set,
 * before and after calibration (issue 24). Default: pipelines/best.yaml, pca-svm.yaml, pca-rf.yaml, pca-knn.yaml and
 * clothing.yaml. Each pipeline is fitted once on its whole training set as it is, and once calibrated — an svm with
 * `probability: true` (libsvm's -b 1: Platt sigmoids on an internal cross-validation), any other classifier wrapped in
 * `calibrate: { method: isotonic }` (held-out folds of the training rows) — and each is read once on the test set:
 * accuracy, ECE (15 bins), log-loss, Brier score, and the fit time of both. Prints markdown; nothing is chosen on the
 * test set.
 */
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipelineFile } from '../src/config/load.js';
import { loadData } from '../src/data/load.js';
import { calibration, eceConsistency, type Calibration, type EceConsistency } from '../src/metrics/calibration.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import type { StepConfig } from '../src/pipeline/steps.js';
import { shutdownPool, warmPool } from '../src/runtime/pool.js';
import { COMMON_TASK_MODULES } from '../src/stages/task-modules.js';
import { createRng } from '../src/util/rng.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['best', 'pca-svm', 'pca-rf', 'pca-knn', 'clothing'].map((n) => `${root}pipelines/${n}.yaml`);

/** The pipeline's steps with its classifier calibrated. */
function calibrated(steps: readonly StepConfig[]): StepConfig[] {
  const last = steps[steps.length - 1];
  const head = steps.slice(0, -1);
  if (last.stage === 'svm') return [...head, { ...last, params: { ...last.params, probability: true } }];
  return [
    ...head,
    {
      id: 'calibrate',
      stage: 'calibrate',
      params: { method: 'isotonic', folds: 3, estimator: { stage: last.stage, params: last.params } },
    },
  ];
}

interface Measured {
  accuracy: number;
  calibration: Calibration | null;
  /** What a perfectly calibrated model with the same confidences would score on this test set (consistency resampling). */
  consistency: EceConsistency | null;
  fitSeconds: number;
}

const fixed = (v: number, d = 4) => v.toFixed(d);
warmPool(COMMON_TASK_MODULES);
const rows: string[] = [];
for (const file of files) {
  const { config } = loadPipelineFile(file, { test: true });
  const data = await loadData(config.data, {
    pipelineFile: file,
    withTest: true,
    seed: config.evaluation.seed,
  });
  const test = data.test!;
  const measure = async (steps: readonly StepConfig[]): Promise<Measured> => {
    const t0 = performance.now();
    const pipeline = await Pipeline.fromSteps(steps).fit(data.train.X, data.train.y);
    const fitSeconds = (performance.now() - t0) / 1000;
    const { labels, proba } = await pipeline.predictWithProba(test.X);
    const accuracy = labels.filter((l, i) => l === test.y[i]).length / labels.length;
    const measured = proba ? calibration(test.y, labels, proba.data, proba.cols) : null;
    return {
      accuracy,
      calibration: measured,
      consistency:
        proba && measured ? eceConsistency(labels, proba.data, proba.cols, measured.ece, createRng(1).float) : null,
      fitSeconds,
    };
  };
  const before = await measure(config.steps);
  const after = await measure(calibrated(config.steps));
  const c = (m: Measured) =>
    m.calibration
      ? `${fixed(m.calibration.ece)} | ${fixed(m.calibration.log_loss)} | ${fixed(m.calibration.brier)}`
      : '— | — | —';
  rows.push(
    `| ${basename(file, '.yaml')} | ${fixed(before.accuracy)} | ${c(before)} | ${fixed(after.accuracy)} | ${c(after)} | ` +
      `${before.fitSeconds.toFixed(1)} s → ${after.fitSeconds.toFixed(1)} s (${(after.fitSeconds / before.fitSeconds).toFixed(2)}×) | ` +
      (after.consistency
        ? `${fixed(after.consistency.median)} (${fixed(after.consistency.p90)}) | ${fixed(after.consistency.share_at_least, 2)} |`
        : '— | — |'),
  );
  console.error(rows[rows.length - 1]);
}
console.log(
  `Calibration on each pipeline's test set, ${new Date().toISOString().slice(0, 10)}: \`node dist/bench/calibration.js\``,
);
console.log('');
console.log(
  'Each pipeline fitted once on all its training rows as it is, and once calibrated (an svm with `probability: true`, ' +
    'libsvm -b 1 with 2 internal folds, the sigmoids from one held-out fold when every class has 1,000 samples in it (best, pca-svm), else from both; any other classifier in `calibrate: { method: isotonic, folds: 3 }`); each read once on the test set. ' +
    'ECE over 15 bins of the top probability; log-loss as scikit-learn; Brier score multi-class (0 to 2). — : no probabilities. ' +
    'Floor: the median (90th percentile) ECE of a perfectly calibrated model with the calibrated confidences on this test set, ' +
    'from 2,000 draws (consistency resampling: each photo right with probability its top probability); p: the share of those ' +
    'draws with an ECE at least the calibrated one (small when the miscalibration is real).',
);
console.log('');
console.log(
  '| pipeline | accuracy | ECE | log-loss | Brier | calibrated: accuracy | ECE | log-loss | Brier | final fit | floor | p |',
);
console.log('|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const row of rows) console.log(row);
await shutdownPool();
