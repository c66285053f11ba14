import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { TrainingDataSpec } from '../app/training-data-spec.js';
import { describe } from '../evaluate/grid-search.js';
import { jobKey, type FitJob } from '../evaluate/fit-and-score.js';
import { InterruptedError, type SearchUnit, type UnitExecutor } from '../evaluate/search.js';
import { UserError } from '../util/errors.js';
import { connectionFor, envMs, QUEUE_NAME } from './connection.js';
import type { FitOutcome, QueuedFit } from './protocol.js';

export interface QueueExecutorOptions {
  /** redis://HOST:PORT[/db] or unix:///path/redis.sock */
  url: string;
  /** What workers need to load the same training rows. */
  data: TrainingDataSpec;
  /** Tries per job before it fails for good (default 3); a mismatch of code or data fails at once. */
  attempts?: number;
  /** First retry delay, doubled at each try (default 2000 ms, or $FASHION_QUEUE_BACKOFF_MS). */
  backoffMs?: number;
  /** How often every open job's state is read back from Redis, besides the events (default 5000 ms). */
  sweepMs?: number;
  queueName?: string;
  /** Told of failed attempts, failed jobs and re-added jobs, one line each. */
  onNotice?: (line: string) => void;
}

/** Jobs that failed all their attempts: exit code 1, with each job's reason; the checkpoint keeps the rest. */
export class QueuedJobsFailed extends UserError {
  constructor(
    readonly failures: Array<{ unit: SearchUnit; reason: string }>,
    readonly finished: number,
  ) {
    const shown = failures
      .slice(0, 3)
      .map((f) => `${describe(f.unit.candidate.params) || 'the pipeline'} fold ${f.unit.fold}: ${f.reason}`)
      .join('; ');
    super(
      `${failures.length} queued job${failures.length === 1 ? '' : 's'} failed (${shown}${failures.length > 3 ? '; …' : ''}); ` +
        `${finished} finished fold fit${finished === 1 ? ' is' : 's are'} kept in the checkpoint: fix the cause and run again with --resume`,
      1,
    );
  }
}

/** Kept in Redis this long after finishing, so a restarted coordinator (or a re-run) gets the results back. */
const KEEP_SECONDS = 7 * 24 * 3600;

/**
 * The coordinator's side of `pipeline grid --queue`: adds every unit the checkpoint lacks as a BullMQ job whose id is
 * its jobKey (adding it again — a second coordinator, a --resume — is a no-op), and reports each result as it comes
 * back, from QueueEvents and from a periodic read of every open job (which also re-adds jobs Redis lost, e.g. a
 * restart without persistence). Scheduling, retries with backoff and lock expiry are BullMQ's.
 */
export function queueExecutor(options: QueueExecutorOptions): UnitExecutor {
  const workers = new Set<string>();
  let failedAttempts = 0;
  let failedJobs = 0;
  const notice = options.onNotice ?? (() => {});
  return {
    status: () =>
      `workers ${workers.size}` +
      (failedAttempts > 0 ? ` · failed attempts ${failedAttempts}` : '') +
      (failedJobs > 0 ? ` · failed jobs ${failedJobs}` : ''),
    async run(units, done, signal) {
      const connection = connectionFor(options.url);
      const name = options.queueName ?? QUEUE_NAME;
      const queue = new Queue<QueuedFit, FitOutcome>(name, { connection });
      const events = new QueueEvents(name, { connection });
      const open = new Map<string, SearchUnit>(units.map((u) => [queueJobId(u.job), u]));
      const failures: Array<{ unit: SearchUnit; reason: string }> = [];
      let finished = 0;
      let timer: NodeJS.Timeout | null = null;
      let onAbort = () => {};
      const jobOptions: JobsOptions = {
        attempts: options.attempts ?? 3,
        backoff: { type: 'exponential', delay: options.backoffMs ?? envMs('FASHION_QUEUE_BACKOFF_MS', 2000) },
        removeOnComplete: { age: KEEP_SECONDS },
        removeOnFail: { age: KEEP_SECONDS },
      };
      const entry = (id: string, unit: SearchUnit) => ({
        name: 'fit',
        data: {
          job: unit.job,
          data: options.data,
          params: unit.candidate.params,
          ...(unit.sharedSize ? { sharedSize: unit.sharedSize } : {}),
        } satisfies QueuedFit,
        opts: { ...jobOptions, jobId: id },
      });
      try {
        await new Promise<void>((resolve, reject) => {
          let settled = false;
          const finish = (err?: unknown) => {
            if (settled) return;
            settled = true;
            if (err) reject(err);
            else resolve();
          };
          const settleIfDone = () => {
            if (open.size > 0) return;
            if (failures.length > 0) finish(new QueuedJobsFailed(failures, finished));
            else finish();
          };
          const complete = (id: string, value: unknown) => {
            const unit = open.get(id);
            if (!unit || settled) return;
            let outcome: FitOutcome | undefined;
            try {
              outcome = (typeof value === 'string' ? JSON.parse(value) : value) as FitOutcome;
            } catch {
              return; // a torn event; the next read of the job's state gets it whole
            }
            if (outcome?.result?.fold !== unit.fold) return; // not a result for this unit: never recorded
            open.delete(id);
            workers.add(`${outcome.host}:${outcome.pid}`);
            try {
              done(unit, outcome.result);
            } catch (err) {
              finish(err);
              return;
            }
            finished++;
            settleIfDone();
          };
          const fail = (id: string, reason: string) => {
            const unit = open.get(id);
            if (!unit || settled) return;
            open.delete(id);
            failedJobs++;
            failures.push({ unit, reason });
            notice(`job failed for good: ${describe(unit.candidate.params)} fold ${unit.fold}: ${reason}`);
            settleIfDone();
          };
          /**
           * Reads every open job's state: results the events missed, failures, jobs Redis no longer has. The first read,
           * before anything is added, finds the jobs an earlier run left: completed ones give their result, failed ones
           * are tried again from a fresh count of attempts; absent ones are added next.
           */
          const sweep = async (first: boolean) => {
            for (const [id, unit] of [...open]) {
              if (settled) return;
              // the state first, then the job: a job read while active and then finished carries neither its
              // result nor its reason, while a finished job's hash no longer changes
              const state = await queue.getJobState(id);
              if (state === 'unknown') {
                if (first) continue;
                notice(`job ${id.slice(0, 12)} is gone from Redis (restarted without persistence?); adding it again`);
                await queue.addBulk([entry(id, unit)]);
                continue;
              }
              if (state !== 'completed' && state !== 'failed') continue;
              const job = await queue.getJob(id);
              if (!job) continue; // removed in between: the next sweep adds it again
              if (state === 'completed') complete(id, job.returnvalue);
              else if (first) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
              else fail(id, job.failedReason || 'failed (no reason recorded)');
            }
          };
          onAbort = () => finish(new InterruptedError(finished));
          if (signal?.aborted) return onAbort();
          signal?.addEventListener('abort', onAbort, { once: true });
          events.on('completed', ({ jobId, returnvalue }) => complete(jobId, returnvalue));
          events.on('failed', ({ jobId, failedReason }) => {
            if (!open.has(jobId)) return;
            failedAttempts++;
            notice(
              `attempt failed: ${describe(open.get(jobId)!.candidate.params)} fold ${open.get(jobId)!.fold}: ${failedReason}`,
            );
            void queue
              .getJob(jobId)
              .then(async (job) => {
                if (job && (await job.getState()) === 'failed') fail(jobId, failedReason);
              })
              .catch(() => {}); // the sweep reads it again
          });
          events.on('error', () => {}); // reconnection is ioredis's; the sweep covers what was missed
          queue.on('error', () => {});
          const start = async () => {
            await events.waitUntilReady();
            await queue.waitUntilReady();
            await sweep(true);
            const ids = [...open.keys()];
            for (let i = 0; i < ids.length; i += 500)
              await queue.addBulk(ids.slice(i, i + 500).map((id) => entry(id, open.get(id)!)));
            const every = options.sweepMs ?? envMs('FASHION_QUEUE_SWEEP_MS', 5000);
            const tick = () => {
              if (settled) return;
              sweep(false)
                .catch(() => {}) // Redis away: the next sweep tries again
                .finally(() => {
                  if (!settled) timer = setTimeout(tick, every);
                });
            };
            if (!settled) timer = setTimeout(tick, every);
          };
          start().catch(finish);
          settleIfDone();
        });
      } finally {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        await Promise.allSettled([events.close(), queue.close()]);
      }
    },
  };
}

/**
 * A job's BullMQ id: its jobKey behind a prefix. BullMQ refuses ids that read as integers, and a 16-hex-digit key is
 * all decimal digits about once in 1,900 jobs (found by the 2,000-job bench).
 */
export function queueJobId(job: FitJob): string {
  return `fit-${jobKey(job)}`;
}
