/**
 * What a pipeline file asks that its data cannot give (more folds than the smallest class has rows, a param that does
 * not fit, such as k above the training rows), reported at its place in the file or at the option that set it.
 */
import { UsageError } from '../config/errors.js';
import type { LoadedConfig } from '../config/load.js';
import type { Candidate } from '../config/param-grid.js';
import type { LoadedData } from '../data/load.js';
import { smallestClassCount } from '../data/split.js';
import { describe } from '../evaluate/grid-search.js';
import { CandidateFitError } from '../evaluate/search.js';
import { StepParamError } from '../pipeline/pipeline.js';

/** Refuses more folds than the smallest class has rows (reported at evaluation.folds in the file, or at --folds). */
export function checkFolds({ config, source, overridden }: LoadedConfig, data: LoadedData): void {
  const k = config.evaluation.folds;
  if (k === 0) return;
  const smallest = smallestClassCount(data.train.y);
  if (k > smallest && overridden.has('folds')) {
    throw new UsageError(
      `--folds ${k}: the smallest class in the training data has ${smallest} rows; use at most ${smallest}`,
    );
  }
  if (k > smallest) {
    throw source.error(
      ['evaluation', 'folds'],
      `evaluation.folds: ${k} folds but the smallest class in the training data has ${smallest} rows; use at most ${smallest}`,
    );
  }
}

/**
 * Runs work that fits stages, turning a param that does not fit the data into an error at its place: the step's param
 * in the file, or for a grid candidate the grid value (or --param option) that set it.
 */
export async function withPositions<T>(
  loaded: LoadedConfig,
  work: () => Promise<T>,
  candidates: readonly Candidate[] = [],
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const { source, config } = loaded;
    if (err instanceof CandidateFitError) {
      const candidate = candidates.find((c) => c.key === err.candidate.key);
      const step = err.candidate.steps[err.error.stepIndex];
      const key = `${step.id}.${err.error.param}`;
      const origin = candidate?.origins[key];
      const grid =
        Object.keys(err.candidate.params).length > 0 ? ` (grid candidate ${describe(err.candidate.params)})` : '';
      const message = `${key}: ${err.error.detail}${grid}`;
      if (origin && 'option' in origin) throw new UsageError(`${origin.option}: ${message}`);
      throw source.error(
        origin ? origin.path : ['steps', err.error.stepIndex, step.stage, err.error.param],
        grid ? message : `${step.stage}.${err.error.param}: ${err.error.detail}`,
      );
    }
    if (err instanceof StepParamError) {
      const step = config.steps[err.stepIndex];
      throw source.error(['steps', err.stepIndex, step.stage, err.param], `${step.stage}.${err.param}: ${err.detail}`);
    }
    throw err;
  }
}
