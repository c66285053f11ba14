import { z } from 'zod';
import { shapeSize, type ImageShape } from '../linalg/shape.js';
import { ParamRangeError, type StageSpec } from './stage.js';

/**
 * A stage's `image` param: its input's image shape, filled in from the pipeline's data when the file is loaded (not
 * written in pipeline files); the model file keeps it.
 */
export const ImageShapeParam = z
  .object({
    height: z.int().min(1),
    width: z.int().min(1),
    channels: z.union([z.literal(1), z.literal(3)]),
  })
  .strict();

/**
 * A stage's bound `image` param, checked against rows of `features` values: the shape, or a ParamRangeError on `image`
 * when it was never bound (a stage used outside a pipeline file without it) or does not fit the rows.
 */
export function boundImage(stage: string, image: ImageShape | null, features: number): ImageShape {
  if (!image)
    throw new ParamRangeError('image', `${stage} needs its input image shape (set from the data of a pipeline file)`);
  checkImageWidth(image, features);
  return image;
}

/** Rows of `features` values are images of this shape, or a ParamRangeError on `image`. */
export function checkImageWidth(image: ImageShape, features: number): void {
  if (shapeSize(image) !== features) {
    throw new ParamRangeError(
      'image',
      `the rows have ${features} values, not ${image.width}×${image.height}×${image.channels}`,
    );
  }
}

/** What rows look like between two steps: their width, and their image shape while they are still images. */
export interface Flow {
  features: number;
  /** null once the rows are not images (after PCA, HOG, a union…). */
  shape: ImageShape | null;
}

/** The flow into the first step: the data's images. */
export const imageFlow = (shape: ImageShape): Flow => ({ features: shapeSize(shape), shape });

/**
 * The flow out of one step of this stage (throws the stage's ParamRangeError when its params cannot work with the
 * input). A stage without outputFeatures keeps the width; one without outputShape ends the image.
 */
export function flowThrough(spec: StageSpec, params: object, input: Flow): Flow {
  const features = spec.outputFeatures ? spec.outputFeatures(params, input.features, input.shape) : input.features;
  const shape = spec.outputShape ? spec.outputShape(params, input.shape) : null;
  return { features, shape: shape && shapeSize(shape) === features ? shape : null };
}

/** The shape a stage needs: its input's, or a ParamRangeError saying what it received instead. */
export function needImage(stage: string, shape: ImageShape | null | undefined, what = 'images'): ImageShape | null {
  if (shape === null) {
    throw new ParamRangeError(
      'input',
      `${stage} works on ${what}, but its input is no longer an image (put it before stages such as pca, hog or union)`,
    );
  }
  return shape ?? null;
}

/**
 * Steps with the shape each receives bound into the params of stages that need it (StageSpec.bindShape), following the
 * flow from `input`; other steps are returned as they are. A step whose params cannot take its input ends the image
 * there (the flow check reports it).
 */
export function bindFlow<T extends { stage: string; params: Record<string, unknown> }>(
  steps: readonly T[],
  input: Flow,
  specOf: (stage: string) => StageSpec,
): T[] {
  let flow = input;
  return steps.map((step) => {
    const spec = specOf(step.stage);
    const bound = spec.bindShape
      ? { ...step, params: spec.bindShape(step.params, flow.shape) as Record<string, unknown> }
      : step;
    try {
      flow = flowThrough(spec, bound.params, flow);
    } catch (err) {
      if (!(err instanceof ParamRangeError)) throw err;
      flow = { features: 0, shape: null };
    }
    return bound;
  });
}
