/**
 * Faults through the real CLI: SIGTERM and SIGINT during a grid search. (Ctrl-C's message and a resume through
 * runGridCommand are in test/evaluate.test.ts; here: both signals, earlier reports untouched, no temporary files, and
 * the printed command itself run to the same leaderboard as an uninterrupted search.) A worker thread that dies is in
 * test/pool-crash.test.ts.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { BIN, cli, listTree } from './harness.js';

const PIPELINE = `name: faults
data:
  limit: { train: 1500, test: 200 }
steps:
  - normalize: {}
  - pca: { components: 10 }
  - knn: { k: 1 }
evaluation:
  folds: 3
  seed: 5
grid:
  knn.k: [1, 3, 5, 7]
  pca.components: [10, 20, 30]
`;

interface Leaderboard {
  leaderboard: Array<{ key: string; mean: number; folds: Array<{ accuracy: number }> }>;
  best: { params: unknown };
}

/** The scores of a grid JSON, without timings. */
function scores(json: string) {
  const parsed = JSON.parse(json) as Leaderboard;
  return {
    leaderboard: parsed.leaderboard.map((c) => [c.key, c.mean, c.folds.map((f) => f.accuracy)]),
    best: parsed.best.params,
  };
}

const work = tempDir();
const file = join(work, 'faults.yaml');
writeFileSync(file, PIPELINE);
const out = join(work, 'results');

// The uninterrupted search, whose report is already in the out folder when the interrupted ones start.
const reference = cli(['grid', file, '--out', out, '--cache-dir', join(work, 'reference-cache'), '--no-cache', '-q'], {
  cwd: work,
});
const referenceJson = readFileSync(join(out, 'faults-grid.json'), 'utf8');
/** Each file in the out folder with its bytes. */
const contents = () => Object.fromEntries(listTree(out).map((f) => [f, readFileSync(join(out, f))]));

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
  ['SIGHUP', 129],
] as const) {
  test.serial(
    `${signal} during a grid: exit ${code}, earlier reports untouched, no temporary files, and the printed command resumes to the same leaderboard`,
    async (t) => {
      t.is(reference.status, 0, reference.stderr);
      const cacheDir = join(work, `cache-${signal}`);
      const before = listTree(out);
      const earlier = contents(); // the reference's report, or the one a resumed search wrote over it
      const child = spawn(process.execPath, [BIN, 'grid', file, '--out', out, '--cache-dir', cacheDir, '--no-cache'], {
        cwd: work,
        env: { ...process.env, FASHION_WORKERS: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      // progress: the progress bar only draws on a terminal, so the checkpoint's lines are the progress we watch
      const checkpoint = join(cacheDir, 'checkpoints', 'faults.jsonl');
      const lines = () =>
        existsSync(checkpoint) ? readFileSync(checkpoint, 'utf8').split('\n').filter(Boolean).length : 0;
      for (let i = 0; i < 1200 && lines() < 3 && child.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 25));
      t.true(lines() >= 3 && child.exitCode === null, 'the search was under way when the signal came');
      child.kill(signal);
      t.is(await exited, code, stderr);
      // the notice when the signal came, then the one line of the outcome
      const message = stderr.trim().split('\n');
      t.is(message.length, 2, stderr);
      t.is(message[0], `pipeline: ${signal}: stopping after the current fit (again to stop at once)`);
      t.notRegex(stderr, /\n\s+at /);
      const resume =
        /^pipeline: interrupted: (\d+) finished fold fits? kept in .*; continue with: (pipeline grid .*--resume)$/.exec(
          message[1],
        );
      t.truthy(resume, stderr);

      t.deepEqual(listTree(out), before, 'no report and no temporary file in the out folder');
      for (const [f, bytes] of Object.entries(earlier))
        t.deepEqual(readFileSync(join(out, f)), bytes, `${f} unchanged`);
      t.deepEqual(
        listTree(cacheDir).filter((f) => /tmp|\.part/.test(f)),
        [],
        'no temporary file in the cache folder',
      );

      // the printed command, as printed (the paths here have no spaces)
      const args = resume![2].split(' ').slice(1);
      const resumed = cli([...args, '-q'], { cwd: work });
      t.is(resumed.status, 0, resumed.stderr);
      const json = JSON.parse(readFileSync(join(out, 'faults-grid.json'), 'utf8')) as { resumed: number };
      t.is(json.resumed, Number(resume![1]), 'every fold fit kept was taken from the checkpoint');
      t.deepEqual(scores(readFileSync(join(out, 'faults-grid.json'), 'utf8')), scores(referenceJson));
    },
  );
}

for (const [signal, code] of [
  ['SIGTERM', 143],
  ['SIGINT', 130],
] as const) {
  test.serial(
    `${signal} while predict fits a pipeline file: exit ${code} after the current step, no model saved`,
    async (t) => {
      const dir = tempDir('fp-predict-signal-');
      const pipeline = join(dir, 'slow.yaml');
      writeFileSync(
        pipeline,
        'name: slow\ndata: { limit: { train: 20000, test: 100 } }\nsteps:\n  - pca: { components: 60 }\n  - svm: { C: 10 }\n',
      );
      const photo = join(process.cwd(), 'data', 'photos', 'coat.png');
      // the signal must meet the CLI's handler: one that comes while Node is still loading the modules ends the
      // process by the signal itself (exit code null), so that attempt is made again with a later signal
      const attempt = async (delayMs: number) => {
        const child = spawn(process.execPath, [BIN, 'predict', pipeline, photo, '--models', join(dir, 'models')], {
          cwd: dir,
          env: { ...process.env, FASHION_WORKERS: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stderr = '';
        let stdout = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
        await new Promise((r) => setTimeout(r, delayMs));
        child.kill(signal);
        return { status: await exited, stderr, stdout };
      };
      let run = await attempt(1000);
      for (let delay = 2000; run.status === null && run.stderr === '' && delay <= 16_000; delay *= 2) {
        t.log(`the signal came before the CLI's handler; again, ${delay} ms after the start`);
        run = await attempt(delay);
      }
      const { status, stderr, stdout } = run;
      t.is(status, code, stderr);
      t.regex(stderr, /interrupted: stopped while fitting; no model was saved/);
      t.is(stdout, '', 'nothing classified');
      t.false(existsSync(join(dir, 'models', 'slow.model')));
    },
  );
}
