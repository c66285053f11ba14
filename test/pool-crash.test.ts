/**
 * A worker thread that dies with a task in hand: the task's promise rejects with a clear error (never a hang: a test
 * whose promises do not settle fails at its AVA timeout), and the pool replaces the worker and goes on.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAll, runTask, shutdownPool, WorkerCrashError } from '../src/runtime/pool.js';
import { tempDir } from './helpers.js';

process.env.FASHION_WORKERS = '2';
test.after.always(() => shutdownPool());

const TASKS = new URL('./fixtures/crashing-tasks.js', import.meta.url).href;

/** A hang is a failure, not a wait: a test whose promises never settle fails after this long. */
const HANG_MS = 60_000;

const cases = [
  { fn: 'throwOutside', args: [], says: /throwOutside \(crashing-tasks\.js\) crashed \(Error: thrown in a timer\)/ },
  {
    fn: 'rejectUnhandled',
    args: [],
    says: /rejectUnhandled \(crashing-tasks\.js\) crashed \(.*rejected with no handler/,
  },
  {
    fn: 'exitThread',
    args: [3],
    says: /exitThread \(crashing-tasks\.js\) exited \(code 3\) before finishing its task/,
  },
];

for (const c of cases) {
  test.serial(`a worker killed by ${c.fn}: its task rejects with a clear error and the pool goes on`, async (t) => {
    t.timeout(HANG_MS, `the task killed by ${c.fn}, or a task after it, never settled`);
    const seen = new Int32Array(new SharedArrayBuffer(4));
    const err = await t.throwsAsync(runTask({ module: TASKS, fn: c.fn, args: [...c.args, seen] }), {
      instanceOf: WorkerCrashError,
    });
    t.regex(err!.message, c.says);
    t.regex(err!.message, /^pool: the worker thread running /);
    t.true(seen[0] > 0, 'the task ran on a worker thread');
    // the pool replaced the worker: tasks still run, none on the thread that died
    const threads = await runAll<number>([1, 2, 3, 4].map(() => ({ module: TASKS, fn: 'thread', args: [] })));
    t.false(threads.includes(seen[0]), `thread ${seen[0]} died, yet ran ${threads.join(', ')}`);
    const doubled = await runAll<number>([1, 2, 3, 4].map((x) => ({ module: TASKS, fn: 'double', args: [x] })));
    t.deepEqual(doubled, [2, 4, 6, 8]);
  });
}

test.serial('a crash fails only the task in hand: tasks queued behind it and beside it finish', async (t) => {
  t.timeout(HANG_MS, 'a task queued behind or beside the crash never settled');
  const jobs = [
    runTask<number>({ module: TASKS, fn: 'exitThread', args: [1] }).catch((e: Error) => e.message),
    ...[5, 6, 7].map((x) => runTask<number>({ module: TASKS, fn: 'double', args: [x] })),
  ];
  const [crashed, ...rest] = await Promise.all(jobs);
  t.regex(String(crashed), /exited \(code 1\)/);
  t.deepEqual(rest, [10, 12, 14]);
});

test('a worker out of memory (heap limit from --max-old-space-size): a clear error, no hang, and the pool goes on', (t) => {
  const POOL = new URL('../src/runtime/pool.js', import.meta.url).href;
  const script = `import { runTask, shutdownPool } from ${JSON.stringify(POOL)};
const tasks = ${JSON.stringify(TASKS)};
try { await runTask({ module: tasks, fn: 'exhaustMemory', args: [] }); console.log('resolved?'); }
catch (e) { console.log(e.name + ': ' + e.message); }
console.log('after: ' + (await runTask({ module: tasks, fn: 'double', args: [21] })));
await shutdownPool();`;
  const main = join(tempDir(), 'main.mjs');
  writeFileSync(main, script);
  const r = spawnSync(process.execPath, ['--max-old-space-size=64', main], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, FASHION_WORKERS: '2' },
  });
  t.is(r.status, 0, r.stderr);
  t.regex(
    r.stdout,
    /WorkerCrashError: pool: the worker thread running exhaustMemory \(crashing-tasks\.js\) ran out of memory/,
  );
  t.regex(r.stdout, /after: 42/);
});
