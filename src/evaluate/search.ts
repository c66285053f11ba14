import { StepParamError, type StageTiming } from '../pipeline/pipeline.js';
import type { StepConfig } from '../pipeline/steps.js';
import { codeVersion } from '../util/code-version.js';
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
}

/**
 * Cross-validates every candidate on the same folds through the one unit (fitAndScore): folds outside, candidates
 * inside, so a fold's rows and cached prefixes are shared by all candidates. `run` is a search with one candidate.
 */
export async function crossValidateCandidates(options: SearchOptions): Promise<Map<string, JobResult[]>> {
  const { source, candidates } = options;
  const code = codeVersion();
  const results = new Map<string, JobResult[]>(candidates.map((c) => [c.key, []]));
  let finished = 0;
  for (let fold = 1; fold <= source.identity.k; fold++) {
    options.cache?.dropMemory();
    for (const candidate of candidates) {
      const list = results.get(candidate.key)!;
      let result: JobResult | undefined = options.checkpoint?.get(candidate.key, fold);
      if (!result) {
        if (options.signal?.aborted) throw new InterruptedError(finished);
        const job: FitJob = { steps: candidate.steps, fold, folds: source.identity, data: options.data, code };
        try {
          result = await fitAndScore(job, source, {
            cache: options.cache,
            history: options.history,
            onStep: options.onStep && ((id, what) => options.onStep!(candidate, fold, id, what)),
          });
        } catch (err) {
          if (err instanceof StepParamError) throw new CandidateFitError(candidate, err);
          throw err;
        }
        options.checkpoint?.record(candidate.key, result);
        finished++;
      }
      list.push(result);
      options.onUnit?.(candidate, result, list);
    }
    options.history?.save();
  }
  return results;
}
