import type { ImageShape } from '../linalg/shape.js';
import { bindFlow, flowThrough, imageFlow } from '../stages/flow.js';
import type { DataSource } from '../data/load.js';
import { registry } from '../stages/registry.js';
import { ParamRangeError } from '../stages/stage.js';
import { canonical, digest } from '../util/hash.js';

/** One stage of a pipeline, params validated and defaults filled in. */
export interface StepConfig {
  /** Unique name within the pipeline: the stage name, or `name-1`, `name-2` when a stage appears more than once. */
  id: string;
  stage: string;
  params: Record<string, unknown>;
}

/** How a pipeline is evaluated: stratified folds on the training set (0 = none), the seed, and the one test evaluation. */
export interface EvaluationSettings {
  folds: number;
  seed: number;
  test: boolean;
}

/** A validated pipeline: what `run` and `grid` need, whatever file or request it came from. */
export interface PipelineConfig {
  name: string;
  description?: string;
  data: DataSource;
  steps: StepConfig[];
  evaluation: EvaluationSettings;
}

/**
 * Follows the features from the data's images through every transformer; the first param that cannot work with
 * what it receives (e.g. PCA components above the features, HOG on colour images), or null.
 */
export function featureFlowProblem(
  steps: readonly StepConfig[],
  input: ImageShape,
): { index: number; param: string; message: string } | null {
  let flow = imageFlow(input);
  for (const [index, step] of steps.entries()) {
    try {
      flow = flowThrough(registry.get(step.stage)!, step.params, flow);
    } catch (err) {
      if (err instanceof ParamRangeError) return { index, param: err.param, message: err.message };
      throw err;
    }
  }
  return null;
}

/**
 * The steps with the image shape each receives bound into the params of stages that need it at run time
 * (StageSpec.bindShape), following the flow from the data's images. Steps that need none are returned as they are.
 */
export function bindShapes(steps: readonly StepConfig[], input: ImageShape): StepConfig[] {
  return bindFlow(steps, imageFlow(input), (stage) => registry.get(stage)!);
}

/** The steps as plain data, in the one form every key is derived from (ids, stage names, params; key order normalised). */
export function stepsIdentity(steps: readonly StepConfig[]): string {
  return canonical(steps.map((s) => [s.id, s.stage, s.params]));
}

/** Stable id of a list of steps with their params (same params → same key, across runs and machines). */
export function stepsKey(steps: readonly StepConfig[]): string {
  return digest(stepsIdentity(steps));
}
