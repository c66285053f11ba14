import { StepParamError, type StageTiming } from '../pipeline/pipeline.js';
import { stepsIdentity, type StepConfig } from '../pipeline/steps.js';
import { registry } from '../stages/registry.js';
import { codeVersion } from '../util/code-version.js';
import { digest } from '../util/hash.js';
import type { Checkpoint } from './checkpoint.js';
import { fitAndScore, type FitJob, type FoldResult, type FoldSource, type JobResult } from './fit-and-score.js';
import type { FitCache } from './fit-cache.js';
import type { TimingHistory } from './timing-history.js';

/** One point of a search: the params it sets (`step.param` → value) and the resulting steps; `key` = stepsKey(steps). */
export interface CandidateSpec {
  key: string;
  params: Record<string, unknown>;
  steps: StepConfig[];
}

/** A param of a candidate that does not fit the data (e.g. k above the training rows), with the candidate. */
export class CandidateFitError extends Error {
  constructor(
    readonly candidate: CandidateSpec,
    readonly error: StepParamError,
  ) {
    super(error.message);
    this.name = 'CandidateFitError';
  }
}

/** Thrown when a search is stopped through its AbortSignal. */
export class InterruptedError extends Error {
  constructor(readonly finished: number) {
    super(`interrupted after ${finished} finished fold fits`);
    this.name = 'InterruptedError';
  }
}

/** One (candidate, fold) unit of a search: the job to run and the candidate it scores. */
export interface SearchUnit {
  candidate: CandidateSpec;
  fold: number;
  job: FitJob;
  /** UnitOptions.sharedSize: enough shared estimator work for every candidate sharing it (a hint, not a result). */
  sharedSize?: number;
}

/**
 * Runs the units a search still needs (any order, any place) and reports each result through `done` as it arrives:
 * the local loop below, or a job queue (src/queue). Ranking and aggregation stay in one place whichever runs them.
 * Aborting `signal` stops it with an InterruptedError; every result already reported stays in the checkpoint.
 */
export interface UnitExecutor {
  run(
    units: readonly SearchUnit[],
    done: (unit: SearchUnit, result: JobResult) => void,
    signal?: AbortSignal,
  ): Promise<void>;
  /** A short status for progress lines (e.g. workers seen, failures); none for the local loop. */
  status?(): string;
}

export interface SearchOptions {
  /** In the order to run them (candidates sharing a transformer prefix together, so the prefix stays in memory). */
  candidates: readonly CandidateSpec[];
  source: FoldSource;
  /** dataKey() of the training data. */
  data: string;
  cache?: FitCache | null;
  /** Finished units are read from and recorded in it. */
  checkpoint?: Checkpoint | null;
  /** Aborting stops between two units; everything finished stays in the checkpoint. */
  signal?: AbortSignal;
  history?: TimingHistory;
  /** After each step's fit or predict inside a unit. */
  onStep?: (candidate: CandidateSpec, fold: number, stepId: string, what: keyof StageTiming) => void;
  /** After each unit, computed or read back from the checkpoint. */
  onUnit?: (candidate: CandidateSpec, result: FoldResult, scores: readonly FoldResult[]) => void;
  /** Where the units not in the checkpoint run; default: this process, one after another (localExecutor). */
  executor?: UnitExecutor;
}

/**
 * Cross-validates every candidate on the same folds through the one unit (fitAndScore): folds outside, candidates
 * inside, so a fold's rows and cached prefixes are shared by all candidates. `run` is a search with one candidate.
 * Units already in the checkpoint are read back; the rest go to the executor, and each result is recorded in the
 * checkpoint the moment it arrives.
 */
export async function crossValidateCandidates(options: SearchOptions): Promise<Map<string, JobResult[]>> {
  const { source, candidates } = options;
  const code = codeVersion();
  const results = new Map<string, JobResult[]>(candidates.map((c) => [c.key, []]));
  const accept = (candidate: CandidateSpec, result: JobResult) => {
    const list = results.get(candidate.key)!;
    list.push(result);
    options.onUnit?.(candidate, result, list);
  };
  const pending: SearchUnit[] = [];
  const sizes = sharedSizes(candidates);
  for (let fold = 1; fold <= source.identity.k; fold++) {
    for (const candidate of candidates) {
      const kept = options.checkpoint?.get(candidate.key, fold);
      if (kept) accept(candidate, kept);
      else
        pending.push({
          candidate,
          fold,
          job: { steps: candidate.steps, fold, folds: source.identity, data: options.data, code },
          sharedSize: sizes.get(candidate.key),
        });
    }
  }
  if (pending.length > 0) {
    const executor = options.executor ?? localExecutor(options);
    await executor.run(
      pending,
      (unit, result) => {
        options.checkpoint?.record(unit.candidate.key, result);
        accept(unit.candidate, result);
      },
      options.signal,
    );
  }
  options.history?.save();
  for (const list of results.values()) list.sort((a, b) => a.fold - b.fold);
  return results;
}

/**
 * Today's loop: the units one after another in this process, in the order given (fold by fold, so each fold's rows
 * and prefixes are shared), stopping between two units when aborted.
 */
export function localExecutor(options: Pick<SearchOptions, 'source' | 'cache' | 'history' | 'onStep'>): UnitExecutor {
  return {
    async run(units, done, signal) {
      let finished = 0;
      let fold = 0;
      for (const unit of units) {
        // a turn of the event loop, so a signal handler can run: when every stage runs inline (FASHION_WORKERS=1),
        // the awaits of a unit are microtasks only, and Ctrl-C would be seen after the last unit
        await new Promise((resolve) => setImmediate(resolve));
        if (signal?.aborted) throw new InterruptedError(finished);
        if (unit.fold !== fold) {
          if (fold !== 0) options.history?.save();
          options.cache?.dropMemory();
          fold = unit.fold;
        }
        let result: JobResult;
        try {
          result = await fitAndScore(unit.job, options.source, {
            cache: options.cache,
            history: options.history,
            sharedSize: unit.sharedSize,
            onStep: options.onStep && ((id, what) => options.onStep!(unit.candidate, unit.fold, id, what)),
          });
        } catch (err) {
          if (err instanceof StepParamError) throw new CandidateFitError(unit.candidate, err);
          throw err;
        }
        done(unit, result);
        finished++;
      }
    },
  };
}

/**
 * Per candidate, the largest shared-work size (StageSpec.sharedWork) among the candidates whose estimator work it
 * shares: the same transformer steps, the same estimator stage and the same work identity (k-NN: k 1, 3, 5 and 9 with
 * either weighting share one search for k = 9). Candidates without shared work are left out.
 */
export function sharedSizes(candidates: readonly CandidateSpec[]): Map<string, number> {
  const groupOf = new Map<string, string>();
  const largest = new Map<string, number>();
  for (const c of candidates) {
    const last = c.steps[c.steps.length - 1];
    const work = registry.get(last.stage)?.sharedWork?.(last.params);
    if (!work) continue;
    const group = digest(stepsIdentity(c.steps.slice(0, -1)), '|', last.id, '|', last.stage, '|', work.key);
    groupOf.set(c.key, group);
    largest.set(group, Math.max(largest.get(group) ?? 0, work.size));
  }
  return new Map([...groupOf].map(([key, group]) => [key, largest.get(group)!]));
}
