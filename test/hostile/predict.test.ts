/**
 * Hostile inputs around predict and training data: a batch of photos with bad ones among them is answered for every
 * good photo (exit 1, one line listing the bad); training CSVs without rows are named; a pipeline whose params cannot
 * fit the data is the same error, at the same place, from run, predict and serve.
 */
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toCsv } from '../../src/data/csv.js';
import { PIXELS } from '../../src/data/fashion-mnist.js';
import { fashionSample, fashionTestSample, photoOf, tempDir } from '../helpers.js';
import { assertCleanFailure, cli, listTree } from './harness.js';

const HEADER = ['label', ...Array.from({ length: PIXELS }, (_, i) => `pixel${i + 1}`)].join(',') + '\n';

const png = () => photoOf(fashionTestSample(1, 8).X.data, 'png');

/** A pipeline file over CSV files written in a fresh folder. */
function csvPipeline(train: string, test: string): string {
  const dir = tempDir('fp-csv-');
  writeFileSync(join(dir, 'train.csv'), train);
  writeFileSync(join(dir, 'test.csv'), test);
  writeFileSync(
    join(dir, 'p.yaml'),
    'name: p\ndata: { format: csv, train: train.csv, test: test.csv }\nsteps: [ { knn: { k: 1 } } ]\nevaluation: { folds: 2 }\n',
  );
  return dir;
}

const rows = (n: number, seed: number) => toCsv(fashionSample(n, seed));

test('a header-only training CSV: exit 1, "train.csv: no data rows (header only)", nothing written', (t) => {
  const dir = csvPipeline(HEADER, rows(20, 2));
  const before = listTree(dir);
  const r = cli(['run', 'p.yaml', '--out', 'results'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 1, says: 'train.csv: no data rows (header only)', unchanged: [{ dir, before }] });
});

test('an empty training CSV: exit 1 naming it', (t) => {
  const dir = csvPipeline('', rows(20, 2));
  const before = listTree(dir);
  const r = cli(['run', 'p.yaml', '--out', 'results'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 1, says: 'train.csv: empty file', unchanged: [{ dir, before }] });
});

test('a test CSV with a header and no rows: exit 1 naming it', (t) => {
  const dir = csvPipeline(rows(40, 3), HEADER);
  const before = listTree(dir);
  const r = cli(['run', 'p.yaml', '--out', 'results'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 1, says: 'test.csv: no data rows (header only)', unchanged: [{ dir, before }] });
});

test('a header-only training CSV under grid and predict too: the same line', (t) => {
  const dir = csvPipeline(HEADER, rows(20, 2));
  const photo = join(dir, 'p.png');
  writeFileSync(photo, png());
  const before = listTree(dir);
  const grid = cli(['grid', 'p.yaml', '--param', 'knn.k=1,3', '--out', 'results', '--cache-dir', 'cache'], {
    cwd: dir,
  });
  assertCleanFailure(t, grid, { exit: 1, says: 'train.csv: no data rows (header only)' });
  const predict = cli(['predict', 'p.yaml', 'p.png', '--models', 'models'], { cwd: dir });
  assertCleanFailure(t, predict, { exit: 1, says: 'train.csv: no data rows (header only)' });
  t.deepEqual(
    listTree(dir).filter((f) => !f.startsWith('cache')),
    before,
    'nothing but the cache folder is new',
  );
});

test('--data naming a CSV file: exit 2, saying --data takes a folder and where CSV files go', (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'train.csv'), HEADER);
  writeFileSync(join(dir, 'p.yaml'), 'name: p\nsteps: [ { knn: { k: 1 } } ]\nevaluation: { folds: 2 }\n');
  const before = listTree(dir);
  const r = cli(['run', 'p.yaml', '--data', 'train.csv', '--out', 'results'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 2, says: ['--data train.csv', 'format: csv'], unchanged: [{ dir, before }] });
});

test('params that cannot fit the data: run, predict and serve give the same exit code and the same line', (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'photos'));
  writeFileSync(join(dir, 'photos', 'p.png'), png());
  writeFileSync(
    join(dir, 'big.yaml'),
    'name: big\ndata: { limit: { train: 300, test: 50 } }\nsteps: [ { pca: { components: 5000 } }, { knn: {} } ]\nevaluation: { folds: 2 }\n',
  );
  const before = listTree(dir);
  const run = cli(['run', 'big.yaml', '--out', 'results'], { cwd: dir });
  const predict = cli(['predict', 'big.yaml', 'photos/p.png'], { cwd: dir });
  const serve = cli(['serve', 'big.yaml', '--port', '0', '--quiet'], { cwd: dir });
  const says = /^pipeline: big\.yaml:3:\d+: pca\.components: .*5000/;
  for (const r of [run, predict, serve]) assertCleanFailure(t, r, { exit: 2, says, unchanged: [{ dir, before }] });
  t.is(predict.stderr, run.stderr);
  t.is(serve.stderr, run.stderr);
});
