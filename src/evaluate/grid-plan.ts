import { createHash } from 'node:crypto';
import { canonical, type Candidate } from '../config/grid.js';
import type { StepConfig } from '../config/load.js';
import { registry } from '../stages/registry.js';
import type { Checkpoint } from './checkpoint.js';
import type { FitCache } from './fit-cache.js';
import type { Fold } from './split.js';
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
 * Counts what the remaining units need: estimator fits, distinct transformer-prefix fits per fold (those on disk are
 * served from the cache), and an estimate from the timing history.
 */
export function makePlan(options: { cache: FitCache; timings: TimingHistory }, order: Candidate[], folds: Fold[], foldsKey: string, checkpoint: Checkpoint, inputCols: number): GridPlan {
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
      let cols = inputCols;
      for (let d = 0; d < c.steps.length; d++) {
        const step = c.steps[d];
        const timing = options.timings.get(TimingHistory.key(step.stage, step.params, trainRows, cols));
        const spec = registry.get(step.stage)!;
        const outCols = spec.outputFeatures ? spec.outputFeatures(step.params, cols) : cols;
        if (d === c.steps.length - 1) {
          add(timing);
        } else {
          const key = prefixKey(foldsKey, f, c.steps.slice(0, d + 1));
          if (!seen.has(key)) {
            seen.add(key);
            if (options.cache.where(key) === 'disk') cached++;
            else {
              transformerFits++;
              add(timing);
            }
          } else if (!options.cache.enabled) {
            transformerFits++;
            add(timing);
          }
        }
        cols = outCols;
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

/** Cache key of a fitted transformer prefix on one fold. */
export function prefixKey(foldsKey: string, fold: number, prefix: StepConfig[]): string {
  return hash(`${foldsKey}|${fold}|${canonical(prefix.map((s) => [s.id, s.stage, s.params]))}`);
}

export function prefixSignature(steps: StepConfig[]): string {
  return canonical(steps.slice(0, -1).map((s) => [s.id, s.stage, s.params]));
}

export function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}
