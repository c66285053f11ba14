/**
 * A hostile cache and checkpoint: the cache's trouble costs the cache (one warning line), never the search; a
 * checkpoint that cannot be resumed (cut, altered, another pipeline's, other code's) is said so, never silently
 * restarted from zero.
 */
import test, { type ExecutionContext } from 'ava';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runGridCommand } from '../../src/app/run-grid-command.js';
import { shutdownPool } from '../../src/runtime/pool.js';
import { Interrupted } from '../../src/util/errors.js';
import { tempDir } from '../helpers.js';
import { assertCleanFailure, cli, listTree, type CliResult } from './harness.js';

process.env.FASHION_WORKERS = '1';
test.after.always(() => shutdownPool());

const PIPELINE = `name: cached
data: { limit: { train: 300, test: 100 } }
evaluation: { folds: 2 }
steps:
  - normalize: {}
  - pca: { components: 5 }
  - knn: { k: 3 }
grid:
  pca.components: [4, 6]
  knn.k: [1, 3]
`;

/** A folder with the pipeline file, and where its search writes (out/) and caches (cache/). */
function workspace(text = PIPELINE): { dir: string; file: string; out: string; cache: string } {
  const dir = tempDir('fp-hostile-cache-');
  const file = join(dir, 'cached.yaml');
  writeFileSync(file, text);
  return { dir, file, out: join(dir, 'out'), cache: join(dir, 'cache') };
}

const grid = (w: ReturnType<typeof workspace>, ...more: string[]) =>
  cli(['grid', w.file, '--out', w.out, '--cache-dir', w.cache, '--quiet', ...more]);

/** The search finished and wrote its report, with exactly one warning line matching `says` on stderr. */
function finishedWithOneWarning(t: ExecutionContext, r: CliResult, out: string, says: RegExp): void {
  t.log(r.stderr.trim());
  t.is(r.status, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  t.is(lines.length, 1, `one warning line:\n${r.stderr}`);
  t.regex(lines[0], /^pipeline: warning: /);
  t.regex(lines[0], says);
  t.deepEqual(readdirSync(out).sort(), ['cached-grid.json', 'cached-grid.md']);
}

/** A checkpoint of 3 finished units of the search, made by interrupting it in this process. */
let checkpoint: { text: string; workspace: ReturnType<typeof workspace> };

test.before(async () => {
  const w = workspace();
  const controller = new AbortController();
  let units = 0;
  const progress = {
    begin() {},
    advance() {
      if (++units === 3) controller.abort();
    },
    end() {},
  };
  try {
    await runGridCommand({
      file: w.file,
      out: w.out,
      cacheDir: w.cache,
      cache: false,
      progress,
      signal: controller.signal,
    });
    throw new Error('the search was not interrupted');
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
  }
  checkpoint = { text: readFileSync(join(w.cache, 'checkpoints', 'cached.jsonl'), 'utf8'), workspace: w };
});

/** A copy of the interrupted search's workspace with its checkpoint changed by `edit`. */
function withCheckpoint(edit: (lines: string[]) => string[]): ReturnType<typeof workspace> {
  const w = checkpoint.workspace;
  const copy = { ...w, out: join(tempDir(), 'out'), cache: tempDir() };
  mkdirSync(join(copy.cache, 'checkpoints'));
  const lines = checkpoint.text.split('\n').filter((l) => l !== '');
  writeFileSync(join(copy.cache, 'checkpoints', 'cached.jsonl'), edit(lines).join('\n') + '\n');
  return copy;
}

test('the interrupted checkpoint resumes cleanly as it is (the cases below change it)', (t) => {
  t.is(checkpoint.text.trim().split('\n').length, 4, 'a first line and 3 units');
  const w = withCheckpoint((lines) => lines);
  const r = grid(w, '--resume', '--no-cache');
  t.is(r.status, 0, r.stderr);
  t.is(r.stderr, '');
});

test('a checkpoint cut in its last line resumes: the cut unit is recomputed, and said so in one warning', (t) => {
  const w = withCheckpoint((lines) => [...lines.slice(0, -1), lines.at(-1)!.slice(0, 40)]);
  finishedWithOneWarning(t, grid(w, '--resume', '--no-cache'), w.out, /cached\.jsonl: 1 damaged line skipped/);
});

test('a checkpoint cut inside its first line cannot be resumed: said so, exit 2', (t) => {
  const w = withCheckpoint((lines) => [lines[0].slice(0, 10)]);
  const before = listTree(w.cache);
  assertCleanFailure(t, grid(w, '--resume', '--no-cache'), {
    exit: 2,
    says: ['cached.jsonl is damaged', 'run without --resume'],
    unchanged: [{ dir: w.cache, before }],
  });
});

test('a checkpoint line with a bad digest is recomputed, with one warning', (t) => {
  const w = withCheckpoint((lines) => [
    lines[0],
    lines[1].replace(/"accuracy":0\.\d+/, '"accuracy":0.999'),
    ...lines.slice(2),
  ]);
  t.not(
    checkpoint.text.split('\n')[1],
    readFileSync(join(w.cache, 'checkpoints', 'cached.jsonl'), 'utf8').split('\n')[1],
  );
  finishedWithOneWarning(
    t,
    grid(w, '--resume', '--no-cache'),
    w.out,
    /1 damaged line skipped \(cut short or altered\)/,
  );
});

test('a checkpoint written by other code (another plan) is refused by --resume, and kept', (t) => {
  const w = withCheckpoint((lines) => [
    lines[0].replace(/"plan":"[0-9a-f]+"/, '"plan":"0123456789abcdef"'),
    ...lines.slice(1),
  ]);
  const before = listTree(w.cache);
  const kept = readFileSync(join(w.cache, 'checkpoints', 'cached.jsonl'));
  assertCleanFailure(t, grid(w, '--resume', '--no-cache'), {
    exit: 2,
    says: ['cached.jsonl was written by another search (other code, data, folds or seed)'],
    unchanged: [
      { dir: w.cache, before },
      { dir: w.dir, before: listTree(w.dir) },
    ],
  });
  t.deepEqual(readFileSync(join(w.cache, 'checkpoints', 'cached.jsonl')), kept, 'not overwritten');
});

test('a checkpoint of another pipeline file with the same name is refused by --resume', (t) => {
  const w = withCheckpoint((lines) => lines);
  const other = join(tempDir(), 'cached.yaml');
  writeFileSync(other, PIPELINE.replace('knn.k: [1, 3]', 'knn.k: [5, 7]'));
  const r = cli(['grid', other, '--out', w.out, '--cache-dir', w.cache, '--quiet', '--resume', '--no-cache']);
  assertCleanFailure(t, r, { exit: 2, says: ['written by the search of another pipeline file', w.file] });
});

test('other data (a different limit) makes another plan: refused by --resume', (t) => {
  const w = withCheckpoint((lines) => lines);
  writeFileSync(w.file + '.other.yaml', PIPELINE.replace('train: 300', 'train: 400'));
  const copy = join(tempDir(), 'cached.yaml');
  copyFileSync(w.file + '.other.yaml', copy);
  rmSync(w.file + '.other.yaml');
  // the same file path, other content: rewrite the header's source to the copy's so only the plan differs
  const path = join(w.cache, 'checkpoints', 'cached.jsonl');
  writeFileSync(path, readFileSync(path, 'utf8').replace(JSON.stringify(w.file), JSON.stringify(copy)));
  const r = cli(['grid', copy, '--out', w.out, '--cache-dir', w.cache, '--quiet', '--resume', '--no-cache']);
  assertCleanFailure(t, r, { exit: 2, says: ['written by another search'] });
});

test('a file where the cache folder should be costs the cache and the checkpoint (one warning), not the search', (t) => {
  const w = workspace();
  writeFileSync(w.cache, 'not a folder');
  finishedWithOneWarning(
    t,
    grid(w),
    w.out,
    /cache folder .*cache: .*is a file, not a folder; searching without the disk cache and checkpoint/,
  );
  t.is(readFileSync(w.cache, 'utf8'), 'not a folder');
});

test('a file where the fits folder should be: one warning, the search runs from memory', (t) => {
  const w = workspace();
  mkdirSync(w.cache);
  writeFileSync(join(w.cache, 'fits'), '');
  finishedWithOneWarning(
    t,
    grid(w),
    w.out,
    /cache folder .*cache: .*fits is a file, not a folder; searching without the disk cache/,
  );
});

test('truncated cache entries (wrong size) are discarded and recomputed, one warning line each', (t) => {
  const w = workspace();
  t.is(grid(w).status, 0);
  const fits = join(w.cache, 'fits');
  const entries = readdirSync(fits).filter((f) => f.endsWith('.fit'));
  for (const f of entries) writeFileSync(join(fits, f), readFileSync(join(fits, f)).subarray(0, 100));
  rmSync(w.out, { recursive: true });
  const r = grid(w);
  t.log(r.stderr.trim());
  t.is(r.status, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  t.true(lines.length >= 1 && lines.length <= entries.length, r.stderr);
  for (const line of lines) t.regex(line, /^pipeline: warning: damaged cache entry .*\.fit discarded; recomputing it$/);
  t.deepEqual(readdirSync(w.out).sort(), ['cached-grid.json', 'cached-grid.md']);
  t.true(
    readdirSync(fits).some((f) => readFileSync(join(fits, f)).length > 100),
    'recomputed entries written whole',
  );
});

test('a folder in place of a cache entry: the entry cannot be written, one warning, the search goes on', (t) => {
  const w = workspace();
  t.is(grid(w).status, 0);
  const fits = join(w.cache, 'fits');
  for (const f of readdirSync(fits)) {
    rmSync(join(fits, f));
    mkdirSync(join(fits, f));
  }
  rmSync(w.out, { recursive: true });
  finishedWithOneWarning(t, grid(w), w.out, /the fit cache .*fits cannot be written \(E\w+\)/);
});

test('a read-only cache folder costs the cache, not the search', (t) => {
  const w = workspace();
  const root = process.getuid?.() === 0;
  if (!root) {
    t.is(grid(w).status, 0);
    rmSync(w.out, { recursive: true });
    rmSync(join(w.cache, 'checkpoints'), { recursive: true, force: true });
    chmodSync(join(w.cache, 'fits'), 0o555);
    chmodSync(w.cache, 0o555);
    try {
      const r = grid(w, '--param', 'pca.components=3');
      finishedWithOneWarning(t, r, w.out, /cache .*(cannot be (used|written)|searching without the disk cache)/);
    } finally {
      chmodSync(w.cache, 0o755);
      chmodSync(join(w.cache, 'fits'), 0o755);
    }
    return;
  }
  // chmod does not stop root: use a folder the kernel refuses to make even for root (sysfs), when there is one
  const sys = '/sys/fashion-pipeline-hostile-cache';
  let refused = false;
  try {
    mkdirSync(sys);
    rmSync(sys, { recursive: true });
  } catch {
    refused = true;
  }
  if (!refused) {
    t.log('running as root and /sys accepts new folders here: a read-only cache folder cannot be made; not checked');
    t.pass();
    return;
  }
  t.log(`running as root, so chmod cannot make a read-only folder; used ${sys}, which even root cannot create`);
  const r = cli(['grid', w.file, '--out', w.out, '--cache-dir', sys, '--quiet']);
  finishedWithOneWarning(
    t,
    r,
    w.out,
    /cache folder .*: cannot create the folder: .*; searching without the disk cache and checkpoint/,
  );
});
