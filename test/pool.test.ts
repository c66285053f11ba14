import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.js';

const POOL = new URL('../src/runtime/pool.js', import.meta.url).href;

/**
 * Task functions for the pool, in a module of their own. `spin` notes each start in a log file (one line per task)
 * and then computes for a second; `meet` waits (at most 20 s) until `parties` tasks have reached it, so it can only
 * return `met: true` when that many ran at the same time, and says which thread ran it (and its `id`).
 */
const TASKS = `import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { transferring } from ${JSON.stringify(new URL('../src/runtime/transfer.js', import.meta.url).href)};
export function fail() { throw new Error('boom'); }
export function big(n) {
  const values = Float64Array.from({ length: n }, (_, i) => i / 3);
  return transferring({ values, n }, [values.buffer]);
}
export function spin(log) {
  appendFileSync(log, 'started\\n');
  const end = Date.now() + 1000;
  while (Date.now() < end);
  return 1;
}
export function meet(counter, parties, id) {
  Atomics.add(counter, 0, 1);
  Atomics.notify(counter, 0);
  const deadline = Date.now() + 20000;
  let seen;
  while ((seen = Atomics.load(counter, 0)) < parties && Date.now() < deadline) Atomics.wait(counter, 0, seen, 100);
  return { id, thread: threadId, met: Atomics.load(counter, 0) >= parties };
}
`;

/** Runs `body` (an ES module with runAll, shutdownPool, `tasks` (the task module's URL) and `dir` in scope) in a fresh Node. */
function runScript(body: string, workers: string) {
  const dir = tempDir();
  const tasks = join(dir, 'tasks.mjs');
  writeFileSync(tasks, TASKS);
  const main = join(dir, 'main.mjs');
  writeFileSync(
    main,
    `import { runAll, shutdownPool } from ${JSON.stringify(POOL)};
const tasks = ${JSON.stringify(new URL(`file://${tasks}`).href)};
const dir = ${JSON.stringify(dir)};
${body}
await shutdownPool();
`,
  );
  // The timeout only stops a hung child; the assertions are on what ran.
  const r = spawnSync(process.execPath, [main], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, FASHION_WORKERS: workers },
  });
  return { ...r, dir };
}

test('after a failed runAll, shutting the pool down drops the queued tasks: only tasks already handed to a worker ever start', (t) => {
  const r = runScript(
    `const log = dir + '/started.log';
const jobs = [{ module: tasks, fn: 'fail', args: [] }, ...Array.from({ length: 10 }, () => ({ module: tasks, fn: 'spin', args: [log] }))];
try { await runAll(jobs); } catch (e) { console.log('rejected: ' + e.message); }
`,
    '2',
  );
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /rejected: boom/);
  // Two workers: one spin runs beside the failing task, and the freed worker may take one more before runAll's
  // rejection reaches the caller; the other eight queued spins must never start.
  let started: number;
  try {
    started = readFileSync(join(r.dir, 'started.log'), 'utf8').split('\n').filter(Boolean).length;
  } catch {
    started = 0; // no spin started at all
  }
  t.true(started <= 2, `${started} of the 10 spin tasks started`);
});

test('runAll spreads tasks over the workers (never more than FASHION_WORKERS) and returns every result in task order', (t) => {
  const r = runScript(
    `const counter = new Int32Array(new SharedArrayBuffer(4));
const results = await runAll(Array.from({ length: 6 }, (_, id) => ({ module: tasks, fn: 'meet', args: [counter, 2, id] })));
console.log(JSON.stringify({ results, main: (await import('node:worker_threads')).threadId }));
`,
    '2',
  );
  t.is(r.status, 0, r.stderr);
  const { results, main } = JSON.parse(r.stdout) as {
    results: Array<{ id: number; thread: number; met: boolean }>;
    main: number;
  };
  t.deepEqual(
    results.map((x) => x.id),
    [0, 1, 2, 3, 4, 5],
    'every task ran once, results in task order',
  );
  t.true(
    results.every((x) => x.met),
    'the first two tasks ran at the same time, on different workers',
  );
  const threads = new Set(results.map((x) => x.thread));
  t.is(threads.size, 2, 'two workers, no more');
  t.false(threads.has(main), 'nothing ran on the main thread');
});

test('FASHION_WORKERS=1 runs every task inline on the calling thread', (t) => {
  const r = runScript(
    `const counter = new Int32Array(new SharedArrayBuffer(4));
const results = await runAll(Array.from({ length: 3 }, (_, id) => ({ module: tasks, fn: 'meet', args: [counter, 1, id] })));
console.log(JSON.stringify({ results, main: (await import('node:worker_threads')).threadId }));
`,
    '1',
  );
  t.is(r.status, 0, r.stderr);
  const { results, main } = JSON.parse(r.stdout) as { results: Array<{ thread: number }>; main: number };
  t.deepEqual(
    results.map((x) => x.thread),
    [main, main, main],
  );
});

test('warmPool starts the workers at once (the same two then run the tasks) and never holds the process open', (t) => {
  const r = runScript(
    `const { warmPool } = await import(${JSON.stringify(POOL)});
warmPool();
warmPool(); // a second call starts no more
const counter = new Int32Array(new SharedArrayBuffer(4));
const results = await runAll(Array.from({ length: 4 }, (_, id) => ({ module: tasks, fn: 'meet', args: [counter, 2, id] })));
console.log(JSON.stringify(results));
`,
    '2',
  );
  t.is(r.status, 0, r.stderr);
  const results = JSON.parse(r.stdout) as Array<{ thread: number; met: boolean }>;
  t.true(results.every((x) => x.met));
  t.is(new Set(results.map((x) => x.thread)).size, 2);
  // a process that only warms the pool ends by itself (the workers are unreferenced), with nothing to shut down
  const alone = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `(await import(${JSON.stringify(POOL)})).warmPool(); console.log('done');`],
    { encoding: 'utf8', timeout: 30_000, env: { ...process.env, FASHION_WORKERS: '2' } },
  );
  t.is(alone.status, 0, alone.stderr);
  t.is(alone.stdout.trim(), 'done');
});

test('a result marked transferring reaches the caller whole, moved rather than copied, with the mark left behind', (t) => {
  const r = runScript(
    `const [a, b] = await runAll([{ module: tasks, fn: 'big', args: [1000] }, { module: tasks, fn: 'big', args: [5] }]);
const sym = Symbol.for('fashion-pipeline.pool.transfer');
console.log(JSON.stringify({ n: a.n, length: a.values.length, last: a.values[999], short: b.values.length, marked: sym in a }));
`,
    '2',
  );
  t.is(r.status, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), { n: 1000, length: 1000, last: 999 / 3, short: 5, marked: false });
});
