/**
 * Hostile output paths: every folder a command will write to is checked before any data is loaded (exit 2, one line
 * naming the path); a disk that fills up late is exit 1 naming the file, with no temporary file or folder left; a
 * failed model save keeps the reports; an unusable cache folder costs the cache, never the search.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFilesAtomic } from '../../src/report/write.js';
import { tempDir } from '../helpers.js';
import { assertCleanFailure, cli, listTree } from './harness.js';
import { readOnlyFolder, smallDisk } from './mounts.js';

/** A pipeline file that runs in about a second, named `name`, in a fresh folder. */
function tinyPipeline(name = 'tiny', grid = false): { dir: string; file: string } {
  const dir = tempDir();
  const file = join(dir, 'p.yaml');
  writeFileSync(
    file,
    `name: ${name}
data:
  limit: { train: 300, test: 100 }
steps:
  - normalize: {}
  - knn: { k: 1 }
evaluation:
  folds: 2
${grid ? 'grid:\n  knn.k: [1, 3]\n' : ''}`,
  );
  return { dir, file };
}

/** An empty folder as --data: a command that read data before checking its outputs would fail on it first. */
function noData(): string {
  return tempDir('fp-no-data-');
}

test('run --out naming a file: exit 2 before any data is read, nothing new', (t) => {
  const { dir, file } = tinyPipeline();
  writeFileSync(join(dir, 'results'), 'a file where the folder should be');
  const before = listTree(dir);
  const r = cli(['run', file, '--out', 'results', '--data', noData()], { cwd: dir });
  assertCleanFailure(t, r, {
    exit: 2,
    says: ['--out results', 'is a file, not a folder'],
    unchanged: [{ dir, before }],
  });
});

test('run --out under a file (a file in the path): exit 2, naming the file in the way', (t) => {
  const { dir, file } = tinyPipeline();
  writeFileSync(join(dir, 'notes'), 'x');
  const before = listTree(dir);
  const r = cli(['run', file, '--out', 'notes/results', '--data', noData()], { cwd: dir });
  assertCleanFailure(t, r, { exit: 2, says: ['--out notes/results', 'notes is a file'], unchanged: [{ dir, before }] });
});

test('run --out in a read-only folder: exit 2 before the work, saying so', (t) => {
  const ro = readOnlyFolder(t);
  if (!ro) return t.pass();
  const { file } = tinyPipeline();
  const r = cli(['run', file, '--out', ro, '--data', noData()]);
  assertCleanFailure(t, r, { exit: 2, says: [`--out ${ro}`, /cannot write there: (read-only|permission)/] });
  t.deepEqual(listTree(ro), []);
});

test('run --out with missing parents under a read-only folder: exit 2, no folder left', (t) => {
  const ro = readOnlyFolder(t);
  if (!ro) return t.pass();
  const { file } = tinyPipeline();
  const r = cli(['run', file, '--out', join(ro, 'a', 'b'), '--data', noData()]);
  assertCleanFailure(t, r, { exit: 2, says: [join(ro, 'a', 'b'), 'cannot create the folder'] });
  t.deepEqual(listTree(ro), []);
});

test('a pipeline name too long for a file name once the temporary suffix is added: exit 2, no folder made', (t) => {
  // 250 characters: the report name fits NAME_MAX (255), its temporary name does not
  const { dir, file } = tinyPipeline('n'.repeat(245));
  const before = listTree(dir);
  const r = cli(['run', file, '--out', 'results', '--data', noData()], { cwd: dir });
  assertCleanFailure(t, r, {
    exit: 2,
    says: ['--out results', 'under its temporary name', "shorten the pipeline's name"],
    unchanged: [{ dir, before }],
  });
});

test('grid: a report name too long is refused before the search, in the same words', (t) => {
  const { dir, file } = tinyPipeline('g'.repeat(250), true);
  const before = listTree(dir);
  const r = cli(['grid', file, '--out', 'results', '--cache-dir', 'cache', '--data', noData()], { cwd: dir });
  assertCleanFailure(t, r, {
    exit: 2,
    says: ['--out results', 'bytes a file system takes'],
    unchanged: [{ dir, before }],
  });
});

test('run --save-model into a folder that is a file: exit 2 before the work, --out not created', (t) => {
  const { dir, file } = tinyPipeline();
  writeFileSync(join(dir, 'models'), 'x');
  const before = listTree(dir);
  const r = cli(['run', file, '--out', 'results', '--save-model', 'models/tiny.model', '--data', noData()], {
    cwd: dir,
  });
  assertCleanFailure(t, r, {
    exit: 2,
    says: ['--save-model models/tiny.model', 'models is a file'],
    unchanged: [{ dir, before }],
  });
});

test('grid --save-model into a read-only folder: exit 2 before the search', (t) => {
  const ro = readOnlyFolder(t);
  if (!ro) return t.pass();
  const { dir, file } = tinyPipeline('tiny', true);
  const before = listTree(dir);
  const model = join(ro, 'best.model');
  const r = cli(['grid', file, '--out', 'results', '--cache-dir', 'cache', '--save-model', model, '--data', noData()], {
    cwd: dir,
  });
  assertCleanFailure(t, r, {
    exit: 2,
    says: [`--save-model ${model}`, 'cannot write there'],
    unchanged: [{ dir, before }],
  });
});

test('compare --out naming a file: exit 2 before the chart is drawn', (t) => {
  const { dir, file } = tinyPipeline();
  t.is(cli(['run', file, '--out', 'results', '--no-cv', '--no-pictures', '-q'], { cwd: dir }).status, 0);
  writeFileSync(join(dir, 'page'), 'x');
  const before = listTree(dir);
  const r = cli(['compare', 'results/tiny.json', '--out', 'page'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 2, says: ['--out page', 'is a file'], unchanged: [{ dir, before }] });
});

test('compare of two runs whose names make a pair report name too long: exit 2, naming the folder', (t) => {
  const { dir, file } = tinyPipeline();
  t.is(cli(['run', file, '--out', 'results', '--no-cv', '--no-pictures', '-q'], { cwd: dir }).status, 0);
  const json = JSON.parse(readFileSync(join(dir, 'results', 'tiny.json'), 'utf8')) as { name: string };
  for (const [f, name] of [
    ['a.json', 'a'.repeat(130)],
    ['b.json', 'b'.repeat(130)],
  ])
    writeFileSync(join(dir, f), JSON.stringify({ ...json, name }));
  const before = listTree(dir);
  const r = cli(['compare', 'a.json', 'b.json', '--out', 'results'], { cwd: dir });
  assertCleanFailure(t, r, {
    exit: 2,
    says: ['--out results', "shorten the pipelines' names"],
    unchanged: [{ dir, before }],
  });
});

test('grid --cache-dir naming a file: a one-line warning, and the search runs without the cache', (t) => {
  const { dir, file } = tinyPipeline('tiny', true);
  writeFileSync(join(dir, 'cache'), 'x');
  const r = cli(['grid', file, '--out', 'results', '--cache-dir', 'cache', '-q'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.regex(
    r.stderr,
    /^pipeline: warning: cache folder .*cache: .*is a file, not a folder; searching without the disk cache/,
  );
  t.deepEqual(listTree(join(dir, 'results')), ['tiny-grid.json', 'tiny-grid.md']);
  t.is(readFileSync(join(dir, 'cache'), 'utf8'), 'x');
});

test('grid --cache-dir read-only: a one-line warning, the search runs, reports written', (t) => {
  const ro = readOnlyFolder(t);
  if (!ro) return t.pass();
  const { dir, file } = tinyPipeline('tiny', true);
  const r = cli(['grid', file, '--out', 'results', '--cache-dir', ro, '-q'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.regex(r.stderr, /warning: cache folder .*cannot write there/);
  t.deepEqual(listTree(join(dir, 'results')), ['tiny-grid.json', 'tiny-grid.md']);
});

test('grid with its cache folder on a full disk: a warning line for each of checkpoint and fit cache, the search finishes, no debris in the cache', (t) => {
  const disk = smallDisk(t, 0);
  if (!disk) return t.pass();
  const { dir, file } = tinyPipeline('tiny', true);
  const r = cli(['grid', file, '--out', 'results', '--cache-dir', join(disk, 'cache'), '-q'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  // one line for the checkpoint and (when a fit did not fit either) one for the fit cache, each a warning
  const lines = r.stderr.trim().split('\n');
  t.true(lines.length <= 2, r.stderr);
  t.true(
    lines.every((l) => l.startsWith('pipeline: warning: ')),
    r.stderr,
  );
  t.regex(r.stderr, /cannot write the checkpoint .*tiny\.jsonl \(ENOSPC\); the search goes on without one/);
  t.deepEqual(listTree(join(dir, 'results')), ['tiny-grid.json', 'tiny-grid.md']);
  t.deepEqual(
    listTree(join(disk, 'cache')).filter((f) => /\.tmp-|\.jsonl$/.test(f)),
    [],
    'no temporary file or half checkpoint',
  );
});

test('a data error after the outputs were checked leaves no --out folder behind', (t) => {
  const { dir, file } = tinyPipeline();
  const before = listTree(dir);
  const r = cli(['run', file, '--out', 'new/results', '--data', noData()], { cwd: dir });
  assertCleanFailure(t, r, { exit: 1, says: 'missing data file', unchanged: [{ dir, before }] });
});

test('a disk that fills up while the reports are written: exit 1 naming the file, no temporary file or folder', (t) => {
  const disk = smallDisk(t, 8 * 1024);
  if (!disk) return t.pass();
  const { file } = tinyPipeline();
  const before = listTree(disk);
  const r = cli(['run', file, '--out', join(disk, 'results')]);
  assertCleanFailure(t, r, {
    exit: 1,
    says: [join(disk, 'results'), 'no space left on the device', 'nothing was written'],
    unchanged: [{ dir: disk, before }],
  });
});

test('a model that does not fit on the disk: the reports are kept, exit 1 saying where they are', (t) => {
  const disk = smallDisk(t, 96 * 1024); // the reports fit; a k-NN model of 300 images (about 1 MB) does not
  if (!disk) return t.pass();
  const { file } = tinyPipeline();
  const out = join(disk, 'results');
  const model = join(disk, 'models', 'tiny.model');
  const r = cli(['run', file, '--out', out, '--no-pictures', '--save-model', model]);
  assertCleanFailure(t, r, {
    exit: 1,
    says: [model, 'cannot save the model', 'no space left', `the reports were written: ${join(out, 'tiny.md')}`],
  });
  t.deepEqual(listTree(disk), ['filler', 'results', 'results/tiny.json', 'results/tiny.md']);
  t.false(existsSync(join(disk, 'models')), 'the folder made for the model is removed');
});

test('predict with a pipeline file: a --models folder that is a file is refused before the data is read', (t) => {
  const { dir, file } = tinyPipeline();
  writeFileSync(join(dir, 'models'), 'x');
  const header = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i + 1}`)].join(',');
  writeFileSync(join(dir, 'rows.csv'), `${header}\n1,${'0,'.repeat(783)}9\n`);
  const before = listTree(dir);
  const r = cli(['predict', file, '--csv', 'rows.csv', '--data', noData()], { cwd: dir });
  assertCleanFailure(t, r, { exit: 2, says: ['--models models', 'models is a file'], unchanged: [{ dir, before }] });
});

test('--save-model and predict --show naming a named pipe: exit 2 before the work, the pipe still a pipe', (t) => {
  const { dir, file } = tinyPipeline();
  const fifo = join(dir, 'pipe.model');
  execFileSync('mkfifo', [fifo]);
  const before = listTree(dir);
  const r = cli(['run', file, '--out', 'results', '--save-model', fifo, '--data', noData()], { cwd: dir });
  assertCleanFailure(t, r, { exit: 2, says: [fifo, 'is a named pipe, never replaced'], unchanged: [{ dir, before }] });
  const shown = cli(['predict', 'm.model', 'x.png', '--show', fifo], { cwd: dir });
  assertCleanFailure(t, shown, { exit: 2, says: ['--show', 'is a named pipe'], unchanged: [{ dir, before }] });
  t.true(lstatSync(fifo).isFIFO());
});

test('writeFilesAtomic never renames over a device or a pipe that appeared after the check: WriteError, nothing left', (t) => {
  const dir = tempDir();
  const fifo = join(dir, 'late.png');
  execFileSync('mkfifo', [fifo]);
  const error = t.throws(() =>
    writeFilesAtomic([
      { path: join(dir, 'a.md'), content: 'a' },
      { path: fifo, content: 'b' },
    ]),
  );
  t.regex(error!.message, /late\.png: cannot write: it is a named pipe, never replaced by a file; nothing was written/);
  t.deepEqual(listTree(dir), ['late.png']);
  t.true(lstatSync(fifo).isFIFO());
});

test('folders under /proc (where a recursive mkdir never returns): --out is exit 2 at once, a cache there costs only the cache', (t) => {
  const { dir, file } = tinyPipeline();
  const r = cli(['run', file, '--out', '/proc/self/fp-out', '--data', noData()], { cwd: dir, timeout: 60_000 });
  assertCleanFailure(t, r, { exit: 2, says: ['--out /proc/self/fp-out', 'cannot create the folder'] });
  const cached = cli(['run', file, '--out', join(dir, 'results'), '--no-pictures', '-q'], {
    cwd: dir,
    env: { XDG_CACHE_HOME: '/proc/self/fp-cache', FASHION_CACHE_DIR: '/proc/self/fp-cache' },
    timeout: 60_000,
  });
  t.is(cached.status, 0, cached.stderr);
  t.true(existsSync(join(dir, 'results', 'tiny.json')));
});
