import { PIXELS } from '../data/fashion-mnist.js';
import { registry } from '../stages/registry.js';
import { ParamRangeError } from '../stages/stage.js';

/** One stage of a pipeline, params validated and defaults filled in. */
export interface StepConfig {
  /** Unique name within the pipeline: the stage name, or `name-1`, `name-2` when a stage appears more than once. */
  id: string;
  stage: string;
  params: Record<string, unknown>;
}

/**
 * Follows the feature count from the 784 pixels through every transformer; the first param that cannot work with
 * the features it receives (e.g. PCA components above them), or null.
 */
export function featureFlowProblem(steps: readonly StepConfig[]): { index: number; param: string; message: string } | null {
  let features = PIXELS;
  for (const [index, step] of steps.entries()) {
    const spec = registry.get(step.stage)!;
    if (!spec.outputFeatures) continue;
    try {
      features = spec.outputFeatures(step.params, features);
    } catch (err) {
      if (err instanceof ParamRangeError) return { index, param: err.param, message: err.message };
      throw err;
    }
  }
  return null;
}

