import type { Fold } from '../data/split.js';
import { memoryKey } from '../pipeline/pipeline.js';
import { stepsIdentity, type StepConfig } from '../pipeline/steps.js';
import { registry } from '../stages/registry.js';
import type { Checkpoint } from './checkpoint.js';
import { foldInput } from './fit-and-score.js';
import type { FitCache } from './fit-cache.js';
import type { CandidateSpec } from './search.js';
import { TimingHistory } from './timing-history.js';

/** What a search will do, known before it starts (`--dry-run` prints it). */
export interface GridPlan {
  candidates: number;
  folds: number;
  /** candidates × folds */
  units: number;
  /** Units already scored in the checkpoint being resumed. */
  from_checkpoint: number;
  /** Distinct transformer-prefix fits the remaining units need, and how many of those the disk cache serves. */
  transformer_fits: number;
  transformer_fits_cached: number;
  estimator_fits: number;
  /** Estimated seconds from the timing history (fits with no history are counted in `unknown_fits`). */
  estimated_s: number;
  unknown_fits: number;
}

/**
 * Counts what the remaining units need: estimator fits, transformer fits per fold (a candidate restores its longest
 * prefix already fitted in this run or on disk, and fits only the stages after it), and an estimate from the timing
 * history.
 */
export function makePlan(
  options: { cache: FitCache; timings: TimingHistory },
  order: CandidateSpec[],
  folds: Fold[],
  plan: string,
  checkpoint: Checkpoint,
  inputCols: number,
): GridPlan {
  let fromCheckpoint = 0;
  let transformerFits = 0;
  let cached = 0;
  let estimatorFits = 0;
  let estimate = 0;
  let unknown = 0;
  const add = (ms: number | undefined) => (ms === undefined ? unknown++ : (estimate += ms));
  for (let f = 0; f < folds.length; f++) {
    const trainRows = folds[f].train.length;
    const seen = new Set<string>();
    for (const c of order) {
      if (checkpoint.get(c.key, f + 1)) {
        fromCheckpoint++;
        continue;
      }
      estimatorFits++;
      const depth = c.steps.length - 1;
      const keys = Array.from({ length: depth }, (_, d) =>
        memoryKey('fit', foldInput(plan, f + 1, 'train'), c.steps.slice(0, d + 1)),
      );
      // a pipeline restores its longest remembered prefix and fits only the stages after it (as Pipeline.fit does)
      let from = 0;
      if (options.cache.enabled) {
        for (let d = depth; d >= 1; d--) {
          const key = keys[d - 1];
          if (seen.has(key)) {
            from = d;
            break;
          }
          if (options.cache.where(key) === 'disk') {
            cached++;
            seen.add(key);
            from = d;
            break;
          }
        }
      }
      let cols = inputCols;
      for (let d = 0; d < c.steps.length; d++) {
        const step = c.steps[d];
        const spec = registry.get(step.stage)!;
        if (d >= from) {
          const timing = options.timings.get(TimingHistory.key(step.stage, step.params, trainRows, cols));
          if (d === depth) add(timing);
          else {
            transformerFits++;
            add(timing);
            if (options.cache.enabled) seen.add(keys[d]);
          }
        }
        cols = spec.outputFeatures ? spec.outputFeatures(step.params, cols) : cols;
      }
    }
  }
  return {
    candidates: order.length,
    folds: folds.length,
    units: order.length * folds.length,
    from_checkpoint: fromCheckpoint,
    transformer_fits: transformerFits,
    transformer_fits_cached: cached,
    estimator_fits: estimatorFits,
    estimated_s: Math.round(estimate / 100) / 10,
    unknown_fits: unknown,
  };
}

/** Candidates with equal signatures share every transformer. */
export function prefixSignature(steps: StepConfig[]): string {
  return stepsIdentity(steps.slice(0, -1));
}
