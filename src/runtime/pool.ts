import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { UserError } from '../util/errors.js';

/**
 * A small pool of worker threads that run exported functions of our own modules.
 * Hot loops put their data in SharedArrayBuffers so workers read it without copies; each task is a pure function of its
 * arguments, so results never depend on how many workers there are or which one ran a task.
 * Idle workers are unref'd: the pool never keeps the process alive.
 */
export interface Task {
  /** URL of the module (use `import.meta.url` of the module that exports `fn`). */
  module: string;
  fn: string;
  args: unknown[];
}

interface Pending {
  task: Task;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: Pending | null;
}

/** The most workers $FASHION_WORKERS may ask for (each is a thread with its own heap and WebAssembly memory). */
export const MAX_WORKERS = 64;

/** Workers to use: $FASHION_WORKERS when set (1 = run everything on the main thread), else the core count. */
export function workerCount(): number {
  const env = process.env.FASHION_WORKERS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
      throw new Error(`FASHION_WORKERS must be a whole number from 1 to ${MAX_WORKERS}, got "${env}"`);
    return n;
  }
  return Math.max(1, availableParallelism());
}

const WORKER_URL = new URL('./pool-worker.js', import.meta.url);
let slots: Slot[] = [];
const queue: Pending[] = [];

/** Young-generation size (MB) of workers started from now on; undefined: V8's default. See setWorkerYoungGeneration. */
let youngGenerationMb: number | undefined;

/**
 * Gives workers started from now on a young generation of `mb` MB: a service's workers make short-lived buffers for
 * every photo, and in V8's default young generation much of their time goes to collecting them (`pipeline serve`
 * sets 96 MB, as `--max-semi-space-size=32` would).
 */
export function setWorkerYoungGeneration(mb: number): void {
  youngGenerationMb = mb;
}

function spawn(): Slot {
  const worker = new Worker(WORKER_URL, {
    resourceLimits: youngGenerationMb === undefined ? {} : { maxYoungGenerationSizeMb: youngGenerationMb },
  });
  const slot: Slot = { worker, busy: null };
  slot.worker.unref();
  slot.worker.on('message', (msg: { ok: boolean; value?: unknown; error?: string; stack?: string }) => {
    const job = slot.busy;
    slot.busy = null;
    slot.worker.unref();
    if (job) {
      if (msg.ok) job.resolve(msg.value);
      else {
        const err = new Error(msg.error);
        if (msg.stack) err.stack = msg.stack;
        job.reject(err);
      }
    }
    pump();
  });
  // A worker that dies (an uncaught throw or rejection outside the task's own promise, process.exit, out of memory)
  // fails the task in hand with a clear error instead of leaving it pending; the next task gets a fresh worker.
  const retire = (why: string) => {
    const job = slot.busy;
    slot.busy = null;
    slots = slots.filter((s) => s !== slot);
    if (job) job.reject(new WorkerCrashError(`pool: the worker thread running ${describeTask(job.task)} ${why}`));
    void slot.worker.terminate();
    pump();
  };
  slot.worker.on('error', (err: Error & { code?: string }) =>
    retire(
      err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? 'ran out of memory'
        : `crashed (${err.name}: ${String(err.message).split('\n')[0]})`,
    ),
  );
  slot.worker.on('messageerror', (err: Error) => retire(`sent a result that cannot be read (${err.message})`));
  slot.worker.on('exit', (code) => retire(`exited (code ${code}) before finishing its task`));
  return slot;
}

/** A task lost because its worker thread died; the pool itself goes on with a new worker. */
export class WorkerCrashError extends UserError {
  constructor(message: string) {
    // a runtime failure the user can act on (memory, a broken build): one line, exit 1
    super(message, 1);
  }
}

function describeTask(task: Task): string {
  return `${task.fn} (${task.module.slice(task.module.lastIndexOf('/') + 1)})`;
}

function pump(): void {
  while (queue.length > 0) {
    let slot = slots.find((s) => s.busy === null);
    if (!slot) {
      if (slots.length >= workerCount()) return;
      slot = spawn();
      slots.push(slot);
    }
    const job = queue.shift()!;
    slot.busy = job;
    slot.worker.ref();
    slot.worker.postMessage(job.task);
  }
}

async function runInline<T>(task: Task): Promise<T> {
  const mod = (await import(task.module)) as Record<string, (...args: unknown[]) => unknown>;
  const fn = mod[task.fn];
  if (typeof fn !== 'function') throw new Error(`pool: ${task.module} has no export ${task.fn}`);
  return (await fn(...task.args)) as T;
}

/**
 * Starts the workers now, each loading `modules` (URLs of task modules, e.g. stages/task-modules.ts's list) and
 * compiling the SIMD kernels, and returns at once: a command calls it before reading its data, so the workers are
 * ready when the first parallel step comes instead of starting and loading their code then. Nothing happens with one
 * worker or a running pool.
 */
export function warmPool(modules: readonly string[] = []): void {
  if (workerCount() <= 1) return;
  while (slots.length < workerCount()) {
    const slot = spawn();
    slots.push(slot);
    slot.worker.postMessage({ warm: modules });
  }
}

/** Runs one task on a worker (or inline when only one worker is allowed). */
export function runTask<T>(task: Task): Promise<T> {
  if (workerCount() <= 1) return runInline<T>(task);
  return new Promise<T>((resolve, reject) => {
    queue.push({ task, resolve: resolve as (v: unknown) => void, reject });
    pump();
  });
}

/** Runs tasks in parallel; results in the order of the tasks. */
export function runAll<T>(tasks: Task[]): Promise<T[]> {
  return Promise.all(tasks.map((t) => runTask<T>(t)));
}

/** Splits [0, n) into at most `parts` contiguous ranges of near-equal size. */
export function splitRange(n: number, parts: number): Array<[number, number]> {
  const k = Math.max(1, Math.min(parts, n));
  const out: Array<[number, number]> = [];
  for (let p = 0; p < k; p++) out.push([Math.floor((p * n) / k), Math.floor(((p + 1) * n) / k)]);
  return out.filter(([a, b]) => b > a);
}

/** A Float32Array backed by shared memory, filled from `src` (one copy, then every worker reads it). */
export function sharedFloat32(src: Float32Array): Float32Array {
  if (src.buffer instanceof SharedArrayBuffer) return src;
  const out = new Float32Array(new SharedArrayBuffer(src.byteLength));
  out.set(src);
  return out;
}

/**
 * Stops all workers (tests and the CLI call it when done, or after an error; the pool also never holds the process open
 * by itself). Tasks still queued are rejected rather than started: after a failed runAll its sibling tasks must not
 * keep the process computing.
 */
export async function shutdownPool(): Promise<void> {
  for (const job of queue.splice(0)) job.reject(new Error('pool: shut down before the task started'));
  const old = slots;
  slots = [];
  // referenced while they stop: an idle worker is unreferenced, and awaiting the exit of unreferenced workers alone
  // leaves the event loop empty, so Node would end the process with code 13 (an unsettled top-level await), not 0
  await Promise.all(
    old.map((s) => {
      s.worker.ref();
      return s.worker.terminate();
    }),
  );
}
