import test, { type ExecutionContext } from 'ava';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { runGridCommand, type GridCommandOptions } from '../src/app/run-grid-command.js';
import type { TrainingDataSpec } from '../src/app/training-data-spec.js';
import type { GridResult } from '../src/evaluate/grid-search.js';
import type { UnitExecutor } from '../src/evaluate/search.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { connectionFor, QUEUE_NAME } from '../src/queue/connection.js';
import { queueExecutor, QueuedJobsFailed, queueJobId } from '../src/queue/coordinator.js';
import { runWorker, type WorkerCommandOptions } from '../src/queue/worker.js';
import { UserError } from '../src/util/errors.js';
import { toCsv } from '../src/data/csv.js';
import { fashionSample, tempDir } from './helpers.js';

test.after.always(() => shutdownPool());

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Tiny on purpose (the machine is shared): 4 candidates × 2 folds of 600 training images.
const PIPELINE = `name: tq
data:
  limit: { train: 600, test: 200 }
steps:
  - normalize: { method: minmax }
  - pca: { components: 8 }
  - knn: { k: 3 }
grid:
  pca.components: [6, 8]
  knn.k: [1, 3]
evaluation:
  folds: 2
  seed: 3
`;
const JOBS = 8;

const redisFound = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
const underCi = process.env.CI === 'true';
const queueTest = redisFound ? test.serial : test.skip;

if (!redisFound && underCi) {
  test('redis-server is installed (CI)', (t) => {
    t.fail(
      "redis-server not found on PATH: the queue tests need Debian's redis-server (apt-get install -y redis-server)",
    );
  });
} else if (!redisFound) {
  console.log(
    'queue tests skipped: redis-server not found on PATH (apt-get install -y redis-server); under CI=true they fail',
  );
}

interface Redis {
  dir: string;
  url: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
}

/** A Redis of its own on a Unix socket in a temporary folder, without persistence; stopped after the test. */
async function startRedis(t: ExecutionContext, extra: string[] = []): Promise<Redis> {
  const dir = tempDir('fp-queue-');
  const sock = join(dir, 'r.sock');
  const pidFile = join(dir, 'r.pid');
  const start = async () => {
    const args = [
      '--port',
      '0',
      '--unixsocket',
      sock,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'yes',
      ...extra,
    ];
    const started = spawnSync('redis-server', [...args, '--pidfile', pidFile, '--dir', dir], { encoding: 'utf8' });
    if (started.status !== 0) throw new Error(`redis-server did not start: ${started.stderr}${started.stdout}`);
    for (let i = 0; i < 100 && !(existsSync(sock) && existsSync(pidFile)); i++) await sleep(50);
    if (!existsSync(sock)) throw new Error('redis-server did not open its socket');
  };
  const stop = async () => {
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    for (let i = 0; i < 100; i++) {
      try {
        process.kill(pid, 0);
        await sleep(50);
      } catch {
        break;
      }
    }
  };
  await start();
  const redis = {
    dir,
    url: `unix://${sock}`,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
  };
  t.teardown(stop);
  return redis;
}

function pipelineFile(dir: string): string {
  const file = join(dir, 'tq.yaml');
  writeFileSync(file, PIPELINE);
  return file;
}

function gridOptions(dir: string, extra: Partial<GridCommandOptions> = {}): GridCommandOptions {
  return { file: pipelineFile(dir), out: join(dir, 'out'), cacheDir: join(dir, 'cache'), ...extra };
}

/** The coordinator's executor with short test timings. */
function queued(redis: Redis, extra: { attempts?: number; wrap?: (e: UnitExecutor) => UnitExecutor } = {}) {
  return (data: TrainingDataSpec) => {
    const executor = queueExecutor({ url: redis.url, data, attempts: extra.attempts, backoffMs: 100, sweepMs: 300 });
    return extra.wrap ? extra.wrap(executor) : executor;
  };
}

/** An in-process worker until the returned function is called. */
// a worker still running when a test fails would keep the file from exiting
const running = new Set<AbortController>();
test.after.always(() => running.forEach((c) => c.abort()));

function worker(redis: Redis, dir: string, extra: Partial<WorkerCommandOptions> = {}) {
  const controller = new AbortController();
  running.add(controller);
  const done = runWorker({
    url: redis.url,
    cacheDir: join(dir, 'worker-cache'),
    signal: controller.signal,
    lockMs: 1500,
    stalledMs: 300,
    ...extra,
  });
  return async () => {
    controller.abort();
    return done;
  };
}

/** A `pipeline worker` process. */
function spawnWorker(
  redis: Redis,
  dir: string,
  env: Record<string, string> = {},
): ChildProcess & { log: () => string } {
  const child = spawn(process.execPath, [BIN, 'worker', '--queue', redis.url, '--cache-dir', join(dir, 'spawned')], {
    cwd: ROOT,
    env: { ...process.env, FASHION_QUEUE_LOCK_MS: '1500', FASHION_QUEUE_STALLED_MS: '300', ...env },
  });
  let log = '';
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  return Object.assign(child, { log: () => log });
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** What must match between a local and a queued search: candidates, ranks, per-fold scores, the test evaluation. */
function leaderboard(result: GridResult) {
  return {
    candidates: result.candidates.map((c) => ({
      rank: c.rank,
      key: c.key,
      params: c.params,
      mean: c.mean,
      std: c.std,
      folds: c.folds.map((f) => ({ fold: f.fold, accuracy: f.accuracy, macro_f1: f.macro_f1 })),
    })),
    test: result.test && { accuracy: result.test.accuracy, macro_f1: result.test.macro_f1 },
  };
}

let local: ReturnType<typeof leaderboard> | null = null;
async function localLeaderboard(): Promise<ReturnType<typeof leaderboard>> {
  if (!local) {
    const outcome = await runGridCommand(gridOptions(tempDir()));
    if (outcome.kind !== 'done') throw new Error('no result');
    local = leaderboard(outcome.result);
  }
  return local;
}

function checkpointLines(dir: string): string[] {
  const file = join(dir, 'cache', 'checkpoints', 'tq.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(1) : [];
}

async function counts(redis: Redis) {
  const queue = new Queue(QUEUE_NAME, { connection: connectionFor(redis.url) });
  try {
    return await queue.getJobCounts('completed', 'failed', 'wait', 'active', 'delayed');
  } finally {
    await queue.close();
  }
}

queueTest('a queued grid gives the local leaderboard; adding the same jobs again is a no-op', async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir();
  const stop = worker(redis, dir);
  const outcome = await runGridCommand(gridOptions(dir, { executor: queued(redis) }));
  const summary = await stop();
  t.is(outcome.kind, 'done');
  if (outcome.kind !== 'done') return;
  t.deepEqual(leaderboard(outcome.result), await localLeaderboard());
  t.is(summary.done, JOBS);
  t.like(await counts(redis), { completed: JOBS, failed: 0 });

  // A second coordinator with no checkpoint and no worker: every job id exists, so nothing is added or run again;
  // the results come back from Redis.
  const again = await runGridCommand(gridOptions(tempDir(), { executor: queued(redis) }));
  if (again.kind !== 'done') return t.fail();
  t.deepEqual(leaderboard(again.result), await localLeaderboard());
  t.like(await counts(redis), { completed: JOBS, failed: 0, wait: 0 });
});

queueTest('a worker killed mid-job: its job goes to another worker once the lock expires', async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir();
  const doomed = spawnWorker(redis, dir, { FASHION_QUEUE_JOB_DELAY_MS: '5000' });
  const search = runGridCommand(gridOptions(dir, { executor: queued(redis) }));
  await until('the spawned worker to take a job', () => doomed.log().includes('taken:'));
  doomed.kill('SIGKILL');
  await new Promise((resolve) => doomed.once('exit', resolve));
  t.is(checkpointLines(dir).length, 0, 'nothing finished before the kill');
  const stop = worker(redis, dir);
  const outcome = await search;
  const summary = await stop();
  if (outcome.kind !== 'done') return t.fail();
  t.deepEqual(leaderboard(outcome.result), await localLeaderboard());
  t.is(summary.done, JOBS, 'the other worker did all the jobs, the stalled one included');
});

queueTest(
  'a job failing every attempt: the coordinator fails with exit code 1 and the checkpoint keeps the rest',
  async (t) => {
    const redis = await startRedis(t);
    const dir = tempDir();
    let tries = 0;
    const stop = worker(redis, dir, {
      beforeJob: (fit) => {
        if (fit.params['knn.k'] === 1 && fit.params['pca.components'] === 6 && fit.job.fold === 2) {
          tries++;
          throw new Error('simulated failure');
        }
      },
    });
    const err = await t.throwsAsync(runGridCommand(gridOptions(dir, { executor: queued(redis, { attempts: 2 }) })), {
      instanceOf: QueuedJobsFailed,
    });
    await stop();
    t.is(err?.exitCode, 1);
    t.regex(
      err?.message ?? '',
      /1 queued job failed \(pca\.components=6 knn\.k=1 fold 2: simulated failure\); 7 finished/,
    );
    t.is(tries, 2, 'tried `attempts` times');
    t.is(checkpointLines(dir).length, JOBS - 1, 'the checkpoint keeps every other result');

    // --resume with a healthy worker: the failed job is tried afresh, nothing else is run again
    const healthy = worker(redis, dir);
    const outcome = await runGridCommand(gridOptions(dir, { executor: queued(redis), resume: true }));
    const summary = await healthy();
    if (outcome.kind !== 'done') return t.fail();
    t.is(summary.done, 1);
    t.deepEqual(leaderboard(outcome.result), await localLeaderboard());
  },
);

queueTest('a job for other data or other code fails at once and for good, with the reason', async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir();
  const stop = worker(redis, dir);
  const otherData = await t.throwsAsync(
    runGridCommand(
      gridOptions(dir, {
        executor: (data) =>
          queued(redis, { attempts: 3 })({ ...data, checksums: { 'train-images': 'f'.repeat(64), x: '0' } }),
      }),
    ),
    { instanceOf: QueuedJobsFailed },
  );
  t.regex(
    otherData?.message ?? '',
    /^8 queued jobs failed \(.*fold \d: data mismatch: this worker's training files have SHA-256 /,
  );
  // every job listed gives the worker's reason (a job read by the sweep while still active once gave "undefined")
  const listed = (otherData?.message ?? '').match(/fold \d: [^;]*/g) ?? [];
  t.true(listed.length > 0);
  for (const reason of listed) t.regex(reason, /^fold \d: data mismatch: /);
  const otherCode = await t.throwsAsync(
    runGridCommand(
      gridOptions(tempDir(), {
        executor: queued(redis, {
          attempts: 3,
          wrap: (inner) => ({
            run: (units, done, signal) =>
              inner.run(
                units.map((u) => ({ ...u, job: { ...u.job, code: 'c0de'.repeat(16) } })),
                done,
                signal,
              ),
          }),
        }),
      }),
    ),
    { instanceOf: UserError },
  );
  t.regex(otherCode?.message ?? '', /code mismatch: the job was made by code c0dec0dec0de…, this worker runs/);
  const summary = await stop();
  t.is(summary.failed, 2 * JOBS, 'one attempt each: no retry of a mismatch');
  t.is(summary.done, 0);
});

queueTest('the coordinator killed and restarted with --resume while the workers keep going', async (t) => {
  const redis = await startRedis(t);
  const dir = tempDir();
  const busy = spawnWorker(redis, dir, { FASHION_QUEUE_JOB_DELAY_MS: '300' });
  t.teardown(() => busy.kill('SIGKILL'));
  const args = [BIN, 'grid', pipelineFile(dir), '--queue', redis.url, '--cache-dir', join(dir, 'cache'), '--quiet'];
  const coordinator = spawn(process.execPath, [...args, '--out', join(dir, 'out')], { cwd: ROOT });
  await until('two results in the checkpoint', () => checkpointLines(dir).length >= 2);
  coordinator.kill('SIGKILL');
  await new Promise((resolve) => coordinator.once('exit', resolve));
  const kept = checkpointLines(dir).length;
  t.true(kept < JOBS);
  await until('the worker to finish more jobs', async () => (await counts(redis)).completed > kept);
  const outcome = await runGridCommand(gridOptions(dir, { executor: queued(redis), resume: true }));
  if (outcome.kind !== 'done') return t.fail();
  t.is(outcome.result.resumed, kept);
  t.deepEqual(leaderboard(outcome.result), await localLeaderboard());
  t.like(await counts(redis), { completed: JOBS, failed: 0 });
  busy.kill('SIGTERM');
  const code = await new Promise((resolve) => busy.once('exit', resolve));
  t.is(code, 0, 'SIGTERM: the worker finishes its job and exits 0');
  t.is(busy.log().match(/^pipeline worker: done: /gm)?.length, JOBS, 'the one worker ran every job exactly once');
  t.regex(busy.log(), /stopped: \d+ jobs done, 0 failed/);
});

queueTest(
  'Redis restarting mid-run (without persistence): lost jobs are added again, the leaderboard is the same',
  async (t) => {
    const redis = await startRedis(t);
    const dir = tempDir();
    const busy = spawnWorker(redis, dir, { FASHION_QUEUE_JOB_DELAY_MS: '400' });
    t.teardown(() => busy.kill('SIGKILL'));
    const search = runGridCommand(gridOptions(dir, { executor: queued(redis) }));
    await until('two results in the checkpoint', () => checkpointLines(dir).length >= 2);
    await redis.restart();
    const outcome = await search;
    if (outcome.kind !== 'done') return t.fail();
    t.deepEqual(leaderboard(outcome.result), await localLeaderboard());
    busy.kill('SIGTERM');
    t.is(await new Promise((resolve) => busy.once('exit', resolve)), 0);
  },
);

test('a BullMQ job id never reads as an integer (BullMQ refuses those), even when the job key is all digits', (t) => {
  const job = { steps: [], fold: 1, folds: { k: 2, seed: 1, id: 'x' }, data: 'd', code: 'c' };
  for (let i = 0; i < 3000; i++) {
    const id = queueJobId({ ...job, fold: i });
    t.false(/^\d+$/.test(id), id);
    t.true(id.startsWith('fit-'));
  }
});

queueTest(
  'a job is data, never a path: a worker refuses jobs naming files or folders, and no file content reaches Redis',
  async (t) => {
    const redis = await startRedis(t);
    const dir = tempDir();
    const secret = `planted-secret-${process.pid}`;
    process.env.FP_PLANTED_SECRET = secret;
    t.teardown(() => delete process.env.FP_PLANTED_SECRET);
    const stop = worker(redis, dir, { data: dir });
    for (const [source, says] of [
      [{ format: 'csv', train: '/proc/self/environ' }, /job refused: its CSV file is named with a path/],
      [{ format: 'csv', train: '../../../../etc/passwd' }, /job refused: its CSV file is named with a path/],
      [{ format: 'idx', dir: '/etc' }, /job refused: its data spec names a folder/],
      [{ format: 'csv', train: 'tq.csv' }, /this worker cannot load its copy of the training data \(DataError\)/],
    ] as const) {
      writeFileSync(join(dir, 'tq.csv'), `label,pixel1\n${secret},1\n`); // a file of the worker's own, unreadable as data
      const failed = await t.throwsAsync(
        runGridCommand(
          gridOptions(tempDir(), { executor: (data) => queued(redis, { attempts: 2 })({ ...data, source }) }),
        ),
        { instanceOf: QueuedJobsFailed },
      );
      t.regex(failed?.message ?? '', says);
      t.false((failed?.message ?? '').includes(secret), 'no content of any file in the reason');
      // nothing of the planted secret anywhere in Redis: failed reasons, stack traces, job data; then a clean queue
      // for the next case (jobs are named by their unit, so the same units would find these failed ones)
      const queue = new Queue(QUEUE_NAME, { connection: connectionFor(redis.url) });
      try {
        const jobs = await queue.getJobs(['failed']);
        t.true(jobs.length > 0);
        for (const job of jobs) t.false(JSON.stringify([job.failedReason, job.stacktrace, job.data]).includes(secret));
        await queue.obliterate({ force: true });
      } finally {
        await queue.close();
      }
    }
    const summary = await stop();
    t.is(summary.done, 0);
  },
);

queueTest(
  'a CSV grid over the queue: the job names the file by its name, the worker reads its own copy in --data',
  async (t) => {
    const redis = await startRedis(t);
    const coordinator = tempDir();
    const workerData = tempDir();
    const csv = toCsv(fashionSample(300, 7));
    writeFileSync(join(coordinator, 'shop.csv'), csv);
    writeFileSync(join(workerData, 'shop.csv'), csv);
    const file = join(coordinator, 'csv.yaml');
    writeFileSync(
      file,
      'name: tcsv\ndata: { format: csv, train: shop.csv, test: shop.csv }\nsteps:\n  - knn: { k: 1 }\ngrid:\n  knn.k: [1, 3]\nevaluation: { folds: 2, seed: 3 }\n',
    );
    const stop = worker(redis, coordinator, { data: workerData });
    const options = { file, out: join(coordinator, 'out'), cacheDir: join(coordinator, 'cache') };
    const queuedRun = await runGridCommand({ ...options, executor: queued(redis) });
    const localRun = await runGridCommand({
      ...options,
      out: join(coordinator, 'local'),
      cacheDir: join(coordinator, 'c2'),
    });
    if (queuedRun.kind !== 'done' || localRun.kind !== 'done') throw new Error('no result');
    t.deepEqual(leaderboard(queuedRun.result), leaderboard(localRun.result));
    const summary = await stop();
    t.is(summary.done, 4);
  },
);

queueTest(
  'grid --queue and worker fail fast, in one line, when Redis cannot be used: no socket, nothing listening, a wrong or missing password, a database it lacks',
  async (t) => {
    const redis = await startRedis(t, ['--requirepass', 'right-password', '--databases', '4']);
    const dir = tempDir();
    const file = pipelineFile(dir);
    const sock = redis.url.replace('unix://', '');
    const cases: Array<[string, RegExp]> = [
      [`unix://${join(dir, 'missing.sock')}`, /missing\.sock: no such socket file/],
      ['redis://127.0.0.1:1', /127\.0\.0\.1:1: nothing answers there/],
      [`unix://${sock}`, /refused the password \(or wants one/],
      [`unix://:wrong-password@localhost${sock}`, /refused the password/],
    ];
    for (const [url, says] of cases) {
      for (const args of [
        ['grid', file, '--queue', url, '--out', join(dir, 'out'), '--cache-dir', join(dir, 'cache')],
        ['worker', '--queue', url, '--cache-dir', join(dir, 'cache')],
      ]) {
        // a silent wait would be ended by the timeout (a signal, no exit code); failing fast is failing by itself
        const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });
        t.is(r.signal, null, `${args.join(' ')} was still waiting for Redis`);
        t.is(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
        t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
        t.regex(r.stderr, says);
        t.false(existsSync(join(dir, 'out')), 'nothing written');
      }
    }
    // the right password gets through the probe (the worker then waits for jobs: stopped here)
    const worker = spawn(
      process.execPath,
      [BIN, 'worker', '--queue', `unix://:right-password@localhost${sock}`, '--cache-dir', join(dir, 'cache')],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let log = '';
    worker.stderr.on('data', (d: Buffer) => (log += d.toString()));
    await until('the worker waiting for jobs', () => log.includes('waiting for jobs'));
    worker.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => worker.on('exit', resolve));
    t.is(code, 0, log);
  },
);
