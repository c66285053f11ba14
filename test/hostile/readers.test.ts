/**
 * Readers never trust that a path is a regular file: a pipeline file, a CSV data file, a `--csv` file, a photo, a
 * model file and a run file named as a FIFO (no writer: a blocking open would wait forever) or as a link to
 * /dev/zero (endless bytes) are each refused at once, in one line naming the file, and nothing is written.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { tempDir } from '../helpers.js';
import { assertCleanFailure, cli, listTree } from './harness.js';

/** A folder holding a FIFO and a link to /dev/zero under `name` (and `name` with a .fifo suffix). */
function traps(name: string): { dir: string; fifo: string; zero: string } {
  const dir = tempDir('fp-readers-');
  const fifo = join(dir, `fifo-${name}`);
  const zero = join(dir, `zero-${name}`);
  execFileSync('mkfifo', [fifo]);
  symlinkSync('/dev/zero', zero);
  return { dir, fifo, zero };
}

/** Runs the command for each trap: a clean failure within the harness's time limit, naming the file. */
function refused(name: string, args: (path: string, dir: string) => string[], exit: number, says: string[] = []) {
  test(`${name}: a FIFO and a link to /dev/zero are refused at once`, (t) => {
    const { dir, fifo, zero } = traps(name);
    for (const path of [fifo, zero]) {
      const before = listTree(dir);
      const started = Date.now();
      const r = cli(args(path, dir), { cwd: dir, timeout: 60_000 });
      t.log(`${path}: ${r.stderr.trim()} (${Date.now() - started} ms)`);
      assertCleanFailure(t, r, { exit, says: [path, 'not a regular file', ...says], unchanged: [{ dir, before }] });
    }
  });
}

refused('pipeline.yaml', (path) => ['run', path, '--out', 'results'], 2);
refused('model.model', (path) => ['predict', path, join(process.cwd(), 'data', 'photos', 'coat.png')], 1);
refused('run.json', (path) => ['compare', path, path, '--out', 'results'], 2);

test('a CSV data file, a --csv file and a photo: a FIFO and a link to /dev/zero are refused at once', (t) => {
  const { dir, fifo, zero } = traps('data.csv');
  const models = join(dir, 'models');
  mkdirSync(models);
  // a model to predict with, fitted on a few hundred IDX rows
  writeFileSync(
    join(dir, 'm.yaml'),
    'name: m\ndata: { limit: { train: 300, test: 50 } }\nsteps: [ { knn: { k: 1 } } ]\nevaluation: { folds: 0 }\n',
  );
  const made = cli(['run', 'm.yaml', '--no-pictures', '--out', 'fit', '--save-model', 'models/m.model', '-q'], {
    cwd: dir,
  });
  t.is(made.status, 0, made.stderr);
  execFileSync('mkfifo', [join(dir, 'fifo-photo.png')]);
  symlinkSync('/dev/zero', join(dir, 'zero-photo.png'));
  for (const path of [fifo, zero]) {
    const photo = path.replace('data.csv', 'photo.png');
    writeFileSync(
      join(dir, 'csv.yaml'),
      `name: csv\ndata: { format: csv, train: ${path}, test: ${path} }\nsteps: [ { knn: { k: 1 } } ]\n`,
    );
    const before = listTree(dir);
    for (const args of [
      ['run', 'csv.yaml', '--out', 'results'],
      ['predict', 'models/m.model', '--csv', path],
      ['predict', 'models/m.model', photo],
    ]) {
      const r = cli(args, { cwd: dir, timeout: 60_000 });
      t.log(`${args.join(' ')}: ${r.stderr.trim()}`);
      const named = basename(args.includes(photo) ? photo : path);
      assertCleanFailure(t, r, { exit: 1, says: [named, 'not a regular file'], unchanged: [{ dir, before }] });
    }
  }
});
