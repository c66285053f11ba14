import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { loadTrainingData, type TrainingDataSpec } from '../app/training-data-spec.js';
import { defaultCacheDir, openFitCache } from '../app/cache-folder.js';
import type { DataSource, LoadedData } from '../data/load.js';
import { fitAndScore, FoldSource, JobMismatchError } from '../evaluate/fit-and-score.js';
import { describe } from '../evaluate/grid-search.js';
import { StepParamError } from '../pipeline/pipeline.js';
import { codeVersion } from '../util/code-version.js';
import { canonical } from '../util/hash.js';
import { connectionFor, envMs, QUEUE_NAME } from './connection.js';
import type { FitOutcome, QueuedFit } from './protocol.js';

export interface WorkerCommandOptions {
  /** redis://HOST:PORT[/db] or unix:///path/redis.sock */
  url: string;
  /** --data: this machine's IDX folder. */
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  /** Jobs taken at once (default 1: each fit already uses every core through the worker pool). */
  concurrency?: number;
  cache?: boolean;
  cacheDir?: string;
  cacheSizeMb?: number;
  /** Aborting stops taking jobs; the current ones finish, then the promise resolves. */
  signal?: AbortSignal;
  /**
   * How long a taken job stays locked without a renewal (default 60 s, $FASHION_QUEUE_LOCK_MS); BullMQ renews it every
   * half of that from this process's event loop. A worker that dies loses its jobs to another worker once it expires.
   */
  lockMs?: number;
  /** How often this worker looks for jobs whose lock expired (default 30 s, $FASHION_QUEUE_STALLED_MS). */
  stalledMs?: number;
  /** Waits this long before each job ($FASHION_QUEUE_JOB_DELAY_MS; tests use it to kill a worker mid-job). */
  delayMs?: number;
  queueName?: string;
  /** One line per job taken, done or failed. */
  log?: (line: string) => void;
  /** Called with each job before its fit (tests make jobs fail through it). */
  beforeJob?: (fit: QueuedFit) => void | Promise<void>;
}

export interface WorkerSummary {
  done: number;
  failed: number;
  host: string;
}

/** A job refused for what it asks of this machine, before anything is opened. */
function refuse(why: string): never {
  throw new UnrecoverableError(`job refused: ${why}`);
}

/**
 * The data source a job's spec stands for on this machine. A job is data, never a path to follow: an IDX or photo
 * source is this worker's own `--data` (a job naming a folder is refused), a CSV source a plain file name found in
 * that folder (a name with a folder in it is refused), each checked by checksum once loaded.
 */
export function localSource(source: unknown, dataDir: string | undefined): DataSource {
  if (source === null || typeof source !== 'object' || Array.isArray(source)) refuse('its data spec is not an object');
  const s = source as DataSource;
  if (s.dir !== undefined || s.test !== undefined) refuse('its data spec names a folder or a test file');
  if (s.format === 'idx' || s.format === 'folder') return s;
  if (s.format !== 'csv') refuse('its data spec names no known format');
  const name = s.train;
  if (typeof name !== 'string' || name !== basename(name) || /^\.\.?$|[\\/\0]/.test(name) || name.length > 255) {
    refuse("its CSV file is named with a path; a job names a file of the worker's --data folder by its name alone");
  }
  if (dataDir === undefined) refuse("a CSV job needs the worker's --data folder, holding the training file");
  return { ...s, train: join(resolve(dataDir), name) };
}

/**
 * `pipeline worker`: takes fit jobs from the queue, loads the data each one names with the same loader as run and
 * grid (once per data spec), checks its checksums, and runs the one fit-and-score unit with this machine's fit cache.
 * A job made for other code, other data or other folds fails at once and for good (UnrecoverableError), never with a
 * score from the wrong data. Resolves once `signal` aborts and the jobs in hand have finished.
 *
 * The processor runs in this process (not BullMQ's sandbox): stages do their heavy work on the worker pool's threads,
 * so the event loop stays free to renew the job's lock, and the data and in-memory fit cache stay loaded between jobs.
 */
export async function runWorker(options: WorkerCommandOptions): Promise<WorkerSummary> {
  const log = options.log ?? (() => {});
  const host = hostname();
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const cache = openFitCache({ ...options, cacheDir }, (file) =>
    log(`damaged cache entry ${file} discarded; recomputing it`),
  );
  const loaded = new Map<string, LoadedData>();
  const sources = new Map<string, FoldSource>();
  const delayMs = options.delayMs ?? envMs('FASHION_QUEUE_JOB_DELAY_MS', 0);
  const summary: WorkerSummary = { done: 0, failed: 0, host };

  const dataFor = async (spec: TrainingDataSpec): Promise<LoadedData> => {
    const source = localSource(spec.source, options.data);
    const key = canonical({ source, seed: spec.seed });
    let data = loaded.get(key);
    if (!data) {
      try {
        // a CSV source's file is already this worker's own, found in --data; --data is no IDX folder then
        data = await loadTrainingData(
          { source, seed: spec.seed },
          source.format === 'csv' ? { ...options, data: undefined } : options,
        );
      } catch (err) {
        // the reason stays on this machine: a data error may quote the file's content
        throw new UnrecoverableError(
          `this worker cannot load its copy of the training data (${err instanceof Error ? err.name : 'error'}); ` +
            'run `pipeline run` with the same data on the worker machine to see why',
        );
      }
      loaded.clear(); // one data set at a time: a new spec's rows replace the last one's
      sources.clear();
      loaded.set(key, data);
    }
    const mine = Object.values(data.info.checksums).sort();
    const wanted = Object.values(spec.checksums).sort();
    if (canonical(mine) !== canonical(wanted)) {
      throw new UnrecoverableError(
        `data mismatch: this worker's training files have SHA-256 ${mine.join(', ')}; ` +
          `the job was planned on ${wanted.join(', ')}. Give every worker the same data (--data DIR)`,
      );
    }
    return data;
  };

  let inHand = 0;
  const process = async (job: Job<QueuedFit, FitOutcome>): Promise<FitOutcome> => {
    inHand++;
    try {
      return await work(job);
    } finally {
      inHand--;
    }
  };
  const work = async (job: Job<QueuedFit, FitOutcome>): Promise<FitOutcome> => {
    const fit = job.data;
    const label = `${describe(fit.params) || 'pipeline'} fold ${fit.job.fold}`;
    const wait = Date.now() - job.timestamp;
    log(`taken: ${label} (attempt ${job.attemptsMade + 1})`);
    if (delayMs > 0) await sleep(delayMs);
    if (fit.job.code !== codeVersion()) {
      throw new UnrecoverableError(
        `code mismatch: the job was made by code ${fit.job.code.slice(0, 12)}…, this worker runs ${codeVersion().slice(0, 12)}…; ` +
          'run the same build of fashion-pipeline on the coordinator and every worker',
      );
    }
    const t0 = performance.now();
    const data = await dataFor(fit.data);
    const foldsKey = canonical({ k: fit.job.folds.k, seed: fit.job.folds.seed });
    let source = sources.get(foldsKey);
    if (!source) sources.set(foldsKey, (source = new FoldSource(data.train, fit.job.folds.k, fit.job.folds.seed)));
    const t1 = performance.now();
    await options.beforeJob?.(fit);
    try {
      const result = await fitAndScore(fit.job, source, { cache, sharedSize: fit.sharedSize });
      const t2 = performance.now();
      return {
        result,
        host,
        pid: globalThis.process.pid,
        timings: { wait_ms: wait, load_ms: Math.round(t1 - t0), run_ms: Math.round(t2 - t1) },
      };
    } catch (err) {
      if (err instanceof JobMismatchError) throw new UnrecoverableError(`mismatch: ${err.message}`);
      if (err instanceof StepParamError) throw new UnrecoverableError(err.message); // the same on every machine
      throw err;
    }
  };

  const worker = new Worker<QueuedFit, FitOutcome>(options.queueName ?? QUEUE_NAME, process, {
    connection: connectionFor(options.url),
    concurrency: options.concurrency ?? 1,
    lockDuration: options.lockMs ?? envMs('FASHION_QUEUE_LOCK_MS', 60_000),
    stalledInterval: options.stalledMs ?? envMs('FASHION_QUEUE_STALLED_MS', 30_000),
    // a job whose worker died goes back to the queue up to this many times before it fails as stalled
    maxStalledCount: 3,
    name: host,
    autorun: false,
  });
  worker.on('completed', (job, outcome) => {
    summary.done++;
    log(
      `done: ${describe(job.data.params) || 'pipeline'} fold ${job.data.job.fold} accuracy ${outcome.result.accuracy.toFixed(4)} in ${outcome.timings.run_ms} ms`,
    );
  });
  worker.on('failed', (job, err) => {
    summary.failed++;
    log(`failed: ${job ? `${describe(job.data.params) || 'pipeline'} fold ${job.data.job.fold}: ` : ''}${err.message}`);
  });
  let lastError = '';
  worker.on('error', (err) => {
    // while Redis is away the same error comes at every reconnection attempt: say it once
    if (err.message !== lastError) log(`queue error: ${err.message} (retrying)`);
    lastError = err.message;
  });
  worker.on('ready', () => (lastError = ''));
  let stopped: Promise<unknown> | null = null;
  const stop = () => {
    log(inHand > 0 ? 'stopping: finishing the job in hand, taking no more' : 'stopping');
    // With nothing in hand there is nothing to wait for, not even a Redis that is away (closing would wait for it).
    stopped = inHand > 0 ? worker.close() : Promise.race([worker.close(true), sleep(2000)]);
  };
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  log(`worker on ${host} (pid ${globalThis.process.pid}) waiting for jobs`);
  const running = worker.run();
  await new Promise<void>((resolve, reject) => {
    running.then(() => resolve(), reject);
    const whenStopped = () => stopped!.then(() => resolve(), reject);
    if (stopped) void whenStopped();
    else options.signal?.addEventListener('abort', whenStopped, { once: true });
  });
  options.signal?.removeEventListener('abort', stop);
  return summary;
}
