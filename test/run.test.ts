import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runRun } from '../src/app/run.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { toCsv } from '../src/data/csv.js';
import { fashionSample, fashionTestSample, tempDir } from './helpers.js';

test.after.always(() => shutdownPool());

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));

const small = `name: e2e
description: end-to-end test on a stratified subset
data:
  limit: { train: 1500, test: 400 }
steps:
  - normalize: { method: minmax }
  - pca: { components: 15 }
  - knn: { k: 3, weights: distance }
evaluation:
  folds: 3
  seed: 5
`;

function pipelineFile(text: string): string {
  const file = join(tempDir(), 'p.yaml');
  writeFileSync(file, text);
  return file;
}

test('run on a stratified subset writes the markdown report and JSON, and the same seed gives the same numbers', async (t) => {
  const out = tempDir();
  const file = pipelineFile(small);
  const { result, files } = await runRun({ file, out });
  t.is(files.markdown, join(out, 'e2e.md'));
  const json = JSON.parse(readFileSync(files.json, 'utf8'));
  t.is(json.name, 'e2e');
  t.is(json.cv.folds.length, 3);
  t.is(json.data.train_rows, 1500);
  t.is(json.test.rows, 400);
  t.true(json.test.accuracy > 0.6, `accuracy ${json.test.accuracy}`);
  t.is(json.test.per_class.length, 10);
  t.is(json.test.per_class[9].name, 'Ankle boot');
  t.is(
    json.test.confusion_matrix.flat().reduce((a: number, b: number) => a + b, 0),
    400,
  );
  t.is(json.test.predictions.length, 400);
  t.true(typeof json.cv.mean_accuracy === 'number' && typeof json.cv.std_accuracy === 'number');
  t.truthy(json.timings_ms.final.pca);
  t.is(json.config.steps[1].params.components, 15);

  const md = readFileSync(files.markdown, 'utf8');
  t.regex(md, /^# e2e/);
  t.regex(md, /precision {4}recall {2}f1-score {3}support/);
  t.regex(md, /weighted avg/);
  t.regex(md, /\| true \\ predicted \| T-shirt\/top \| Trouser/);
  t.regex(md, /## Cross-validation \(3 stratified folds, seed 5\)/);
  t.deepEqual(readdirSync(out).sort(), ['e2e', 'e2e.json', 'e2e.md'], 'no temporary files left behind');
  // k-NN gives probabilities: their calibration is measured (metrics/calibration.ts) and shown
  const c = json.test.calibration;
  t.true(c.ece >= 0 && c.ece <= 1 && c.log_loss > 0 && c.brier > 0 && c.brier < 2, JSON.stringify(c));
  t.is(c.bins.length, 15);
  t.is(
    c.bins.reduce((n: number, b: { count: number }) => n + b.count, 0),
    400,
  );
  t.regex(md, /\| Test calibration: ECE \(15 bins\) · log-loss · Brier \| 0\.\d{4} · \d\.\d{4} · 0\.\d{4} \|/);
  t.deepEqual(readdirSync(join(out, 'e2e')).sort(), [
    'calibration.png',
    'confusion.png',
    'mistakes.png',
    'predictions.png',
    'samples.png',
  ]);
  for (const png of ['samples', 'confusion', 'predictions', 'mistakes', 'calibration'])
    t.true(md.includes(`](e2e/${png}.png)`), `${png}.png linked`);

  const again = await runRun({ file, out: tempDir() });
  t.deepEqual(
    again.result.cv!.folds.map((f) => f.accuracy),
    result.cv!.folds.map((f) => f.accuracy),
  );
  t.deepEqual(again.result.test!.predictions, result.test!.predictions);
});

test('a pipeline reads Kaggle-layout CSV files named relative to the pipeline file', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'train.csv'), toCsv(fashionSample(600, 3)));
  writeFileSync(join(dir, 'test.csv'), toCsv(fashionTestSample(150, 3)));
  const file = join(dir, 'csv.yaml');
  writeFileSync(
    file,
    `name: csv-run
data: { format: csv, train: train.csv, test: test.csv }
steps:
  - normalize: { method: minmax }
  - pca: { components: 10 }
  - knn: { k: 3 }
evaluation: { folds: 2, seed: 1 }
`,
  );
  const out = tempDir();
  const { result } = await runRun({ file, out, pictures: false });
  t.is(result.data.format, 'csv');
  t.is(result.data.train_rows, 600);
  t.is(result.test!.rows, 150);
  t.is(Object.keys(result.data.checksums).length, 2);
  t.true(result.test!.accuracy > 0.5);
  writeFileSync(join(dir, 'test.csv'), 'label,pixel1\n1,2\n');
  const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out], { encoding: 'utf8' });
  t.is(r.status, 1);
  t.regex(r.stderr, /test\.csv:1: header must be label,pixel1/);
});

test('CLI: a bad pipeline file is one line with file:line:col, exit 2, nothing written', (t) => {
  const out = tempDir();
  const file = pipelineFile(small.replace('k: 3', 'k: -1'));
  const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr.trim(), /^pipeline: .*p\.yaml:8:15: knn\.k: /);
  t.is(r.stderr.trim().split('\n').length, 1);
  t.deepEqual(readdirSync(out), []);
});

test('CLI: too many folds for the data is reported at evaluation.folds, exit 2', (t) => {
  const out = tempDir();
  const file = pipelineFile(small.replace('train: 1500', 'train: 40').replace('folds: 3', 'folds: 5'));
  const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out, '--quiet'], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr, /p\.yaml:10:10: evaluation\.folds: 5 folds but the smallest class in the training data has 4 rows/);
  t.false(existsSync(join(out, 'e2e.md')));
});

test('a param that cannot fit the data (k above the training rows) is reported at the param, exit 2', (t) => {
  const out = tempDir();
  const file = pipelineFile(small.replace('train: 1500', 'train: 60').replace('k: 3', 'k: 50'));
  const r = spawnSync(process.execPath, [BIN, 'run', file, '--out', out], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr, /p\.yaml:8:15: knn\.k: /);
  t.deepEqual(readdirSync(out), []);
});

test('CLI: a missing data folder is a one-line data error, exit 1', (t) => {
  const r = spawnSync(process.execPath, [BIN, 'run', pipelineFile(small), '--data', tempDir(), '--out', tempDir()], {
    encoding: 'utf8',
  });
  t.is(r.status, 1);
  t.regex(r.stderr, /^pipeline: missing data file .*train-images-idx3-ubyte\.gz/);
});

test('CLI: --help lists the command and an example; unknown options are usage errors', (t) => {
  const help = spawnSync(process.execPath, [BIN, 'run', '--help'], { encoding: 'utf8' });
  t.is(help.status, 0);
  t.regex(help.stdout, /pipeline run pipelines\/pca-rf\.yaml/);
  t.regex(help.stdout, /--no-cv/);
  const bad = spawnSync(process.execPath, [BIN, 'run', 'x.yaml', '--bogus'], { encoding: 'utf8' });
  t.is(bad.status, 2);
  t.regex(bad.stderr, /unknown option --bogus/);
  const none = spawnSync(process.execPath, [BIN], { encoding: 'utf8' });
  t.is(none.status, 2);
});
