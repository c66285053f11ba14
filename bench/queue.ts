/**
 * `node dist/bench/queue.js [--file FILE] [--jobs N] [--noop 1,4,16]` (after `npm run build`): the cost of
 * `pipeline grid --queue` on this machine, on a Redis of its own (Debian's redis-server, Unix socket, no persistence).
 *
 * (a) One grid three ways, each a fresh process with an empty fit cache: local; through the queue with 1 `pipeline
 *     worker` process; with 2. The leaderboards must be identical. Queue overhead per job = (1 worker − local) / jobs.
 *     Default grid: pipelines/pca-knn-grid.yaml's 24 candidates cut to 8 (PCA 30/50 × k 1/5 × uniform/distance) on a
 *     stratified 20,000-image training subset, so the three runs take minutes, not half an hour.
 * (b) The queue alone: `--jobs` (default 2000) no-op jobs through the coordinator's executor, taken by N workers
 *     (BullMQ Workers in one separate process, concurrency 1 each) whose processor returns at once: jobs per second.
 * Prints a markdown report and saves it to bench/last-queue.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { jobKey, type FitJob, type JobResult } from '../src/evaluate/fit-and-score.js';
import type { SearchUnit } from '../src/evaluate/search.js';
import { workerCount } from '../src/runtime/pool.js';
import { connectionFor } from '../src/queue/connection.js';
import { queueExecutor } from '../src/queue/coordinator.js';
import { codeVersion } from '../src/util/code-version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
const HERE = fileURLToPath(import.meta.url);

const DEFAULT_GRID = `# pca-knn-grid cut down for bench/queue.ts: 8 candidates × 3 folds on 20,000 training images
name: pca-knn-queue-bench
data:
  limit: { train: 20000, test: 5000 }
steps:
  - normalize: { method: minmax }
  - pca: { components: 50 }
  - knn: { k: 5, weights: distance }
grid:
  pca.components: [30, 50]
  knn.k: [1, 5]
  knn.weights: [uniform, distance]
evaluation:
  folds: 3
  seed: 42
  test: true
`;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The no-op side of (b), run as `node dist/bench/queue.js --noop-worker URL QUEUE N`. */
async function noopWorkers(url: string, queueName: string, n: number): Promise<void> {
  const connection = connectionFor(url);
  const workers = Array.from(
    { length: n },
    () =>
      new Worker(
        queueName,
        async (job) => ({
          result: { fold: (job.data as { job: FitJob }).job.fold, accuracy: 0, macro_f1: 0 } as JobResult,
          host: 'noop',
          pid: process.pid,
          timings: { wait_ms: 0, load_ms: 0, run_ms: 0 },
        }),
        { connection, concurrency: 1, drainDelay: 1 },
      ),
  );
  process.on('SIGTERM', () => void Promise.all(workers.map((w) => w.close())).then(() => process.exit(0)));
}

function startRedis(dir: string): { url: string; stop: () => void } {
  const sock = join(dir, 'r.sock');
  const pid = join(dir, 'r.pid');
  const args = ['--port', '0', '--unixsocket', sock, '--save', '', '--appendonly', 'no', '--daemonize', 'yes'];
  const started = spawnSync('redis-server', [...args, '--pidfile', pid, '--dir', dir], { encoding: 'utf8' });
  if (started.status !== 0)
    throw new Error(`redis-server did not start (apt-get install redis-server): ${started.stderr}`);
  spawnSync('sleep', ['0.5']);
  return {
    url: `unix://${sock}`,
    stop: () => {
      try {
        process.kill(Number(readFileSync(pid, 'utf8')), 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

/** Wall seconds of one `pipeline grid` process and its leaderboard (params and per-fold accuracies). */
function grid(
  file: string,
  dir: string,
  extra: string[],
): { seconds: number; board: string; best: string; jobs: number } {
  const out = join(dir, 'out');
  const t0 = performance.now();
  const run = spawnSync(
    process.execPath,
    [BIN, 'grid', file, '--quiet', '--out', out, '--cache-dir', join(dir, 'cache'), ...extra],
    { cwd: ROOT, encoding: 'utf8' },
  );
  const seconds = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`pipeline grid failed: ${run.stderr}`);
  const report = readdirSync(out).find((f) => f.endsWith('.json'))!;
  const json = JSON.parse(readFileSync(join(out, report), 'utf8')) as {
    cv: { k: number };
    leaderboard: Array<{ params: unknown; folds: Array<{ accuracy: number }> }>;
  };
  const rows = json.leaderboard;
  const board = JSON.stringify(rows.map((c) => [c.params, c.folds.map((f) => f.accuracy)]));
  return { seconds, board, best: JSON.stringify(rows[0]?.params), jobs: rows.length * json.cv.k };
}

async function partA(url: string, file: string, lines: string[]): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'fp-bench-queue-'));
  const local = grid(file, join(base, 'local'), []);
  const queued = (workers: number) => {
    const dir = join(base, `queue-${workers}`);
    const children = Array.from({ length: workers }, (_, i) =>
      spawn(process.execPath, [BIN, 'worker', '--queue', url, '--quiet', '--cache-dir', join(dir, `worker-${i}`)], {
        cwd: ROOT,
        stdio: 'ignore',
      }),
    );
    try {
      return grid(file, dir, ['--queue', url]);
    } finally {
      for (const c of children) c.kill('SIGTERM');
    }
  };
  // finished jobs stay in Redis under their key, so a second queued run would be served the first's results: flush
  const flush = () => spawnSync('redis-cli', ['-s', url.slice('unix://'.length), 'flushall'], { encoding: 'utf8' });
  flush();
  const one = queued(1);
  flush();
  const two = queued(2);
  flush();
  const jobs = local.jobs;
  const same = (r: { board: string }) => (r.board === local.board ? 'identical' : '**differs**');
  lines.push(
    '| run | wall s | vs local | leaderboard vs local |',
    '|---|---:|---:|---|',
    `| local (\`pipeline grid\`) | ${local.seconds.toFixed(1)} | 1.00× | — |`,
    `| queue, 1 worker process | ${one.seconds.toFixed(1)} | ${(local.seconds / one.seconds).toFixed(2)}× | ${same(one)} |`,
    `| queue, 2 worker processes | ${two.seconds.toFixed(1)} | ${(local.seconds / two.seconds).toFixed(2)}× | ${same(two)} |`,
    '',
    `Queue overhead per job, (1 worker − local) / ${jobs} jobs: ${(((one.seconds - local.seconds) / Math.max(1, jobs)) * 1000).toFixed(0)} ms. Best: \`${local.best}\`.`,
  );
}

async function partB(url: string, counts: number[], jobs: number, lines: string[]): Promise<void> {
  lines.push('', '| no-op workers | jobs | seconds | jobs/s |', '|---:|---:|---:|---:|');
  const code = codeVersion();
  for (const n of counts) {
    const queueName = `bench-noop-${n}-${Date.now()}`;
    const child = spawn(process.execPath, [HERE, '--noop-worker', url, queueName, String(n)], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1500)); // the workers connect
    const units: SearchUnit[] = Array.from({ length: jobs }, (_, i) => {
      const steps = [{ id: 'knn', stage: 'knn', params: { k: i + 1 } }];
      const job: FitJob = { steps, fold: 1, folds: { k: 1, seed: 0, id: 'bench' }, data: 'bench', code };
      return { candidate: { key: String(i), params: { i }, steps }, fold: 1, job };
    });
    if (new Set(units.map((u) => jobKey(u.job))).size !== jobs) throw new Error('bench job keys collide');
    const executor = queueExecutor({
      url,
      queueName,
      data: { source: { format: 'idx' }, seed: 0, checksums: {} },
    });
    let done = 0;
    const t0 = performance.now();
    await executor.run(units, () => done++);
    const seconds = (performance.now() - t0) / 1000;
    child.kill('SIGTERM');
    lines.push(`| ${n} | ${done} | ${seconds.toFixed(2)} | ${(done / seconds).toFixed(0)} |`);
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === '--noop-worker')
    return noopWorkers(process.argv[3], process.argv[4], Number(process.argv[5]));
  const dir = mkdtempSync(join(tmpdir(), 'fp-bench-redis-'));
  const redis = startRedis(dir);
  try {
    let file = arg('file');
    if (!file) {
      file = join(dir, 'pca-knn-queue-bench.yaml');
      writeFileSync(file, DEFAULT_GRID);
    }
    const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
    const lines = [
      `Measured ${when} UTC on ${cpus()[0]?.model.trim()} (${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB), Node ${process.version}, ${workerCount()} pool workers per process; Redis ${spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.match(/v=(\S+)/)?.[1]} on a Unix socket.`,
      `Command: \`node dist/bench/queue.js${process.argv.slice(2).length ? ' ' + process.argv.slice(2).join(' ') : ''}\`${arg('file') ? '' : ' (the 8-candidate cut of pca-knn-grid on 20,000 training images)'}.`,
      '',
    ];
    if (!process.argv.includes('--skip-grid')) await partA(redis.url, file, lines);
    const counts = (arg('noop') ?? '1,4,16').split(',').map(Number);
    await partB(redis.url, counts, Number(arg('jobs') ?? 2000), lines);
    const text = lines.join('\n') + '\n';
    console.log(text);
    writeFileSync(join(ROOT, 'bench', 'last-queue.md'), text);
  } finally {
    redis.stop();
  }
}

await main();
