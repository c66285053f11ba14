import type { Matrix } from '../linalg/matrix.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { Pca } from '../stages/pca.js';
import type { Transformer } from '../stages/stage.js';

/**
 * How a model tells a photo unlike its training data (a face, a car, a blank sheet) from a garment, stored in the model
 * file's info at fit time. It rests on the reconstruction error of the photo under the model's first PCA stage: the
 * mean squared difference between that stage's input and its projection back from the kept components. Photos of
 * garments lie close to the components' subspace; other pictures do not. Two readings of that error, each divided by
 * its median over the training rows, and the larger kept: the absolute error (catches busy pictures: stripes,
 * checks, many shapes) and the error relative to the input's energy (catches thin ones: text, scribbles, whose
 * absolute error is small because they are mostly background). A photo is `unfamiliar` when this score is above the
 * given percentile of the training set's own scores.
 */
export interface UnfamiliarCalibration {
  method: 'pca-reconstruction';
  /** The PCA step whose input is reconstructed. */
  step: string;
  /** Percentile of the training rows' scores used as the threshold (99.5). */
  percentile: number;
  threshold: number;
  /** The training rows' median absolute and relative reconstruction errors: the units of the score. */
  scale: { absolute: number; relative: number };
  /** Training rows scored. */
  rows: number;
}

/** A row's reconstruction error, absolute (mean squared) and relative to the row's mean squared value. */
export interface Reconstruction {
  absolute: Float64Array;
  relative: Float64Array;
}

/** The training-set percentile above which a photo is flagged. */
export const UNFAMILIAR_PERCENTILE = 99.5;

/** Reconstruction errors of rows of the pipeline's input (784 pixels). */
export type FamiliarityScorer = (X: Matrix) => Promise<Reconstruction>;

type Scorer = { step: string; score: FamiliarityScorer } | null;
const scorers = new WeakMap<Pipeline, { fitted: object | null; scorer: Scorer }>();

/**
 * The reconstruction-error scorer of a fitted pipeline, or null when it has no PCA stage. Made once per fit of the
 * pipeline (a service scores every request with it), not once per call.
 */
export function familiarityScorer(pipeline: Pipeline): Scorer {
  const pca = pipeline.steps.find((s) => s.stage instanceof Pca)?.stage as Pca | undefined;
  const fitted = pca ? pca.fittedIdentity : null;
  const known = scorers.get(pipeline);
  if (known && known.fitted === fitted) return known.scorer;
  const scorer = makeScorer(pipeline);
  scorers.set(pipeline, { fitted, scorer });
  return scorer;
}

function makeScorer(pipeline: Pipeline): Scorer {
  const at = pipeline.steps.findIndex((s) => s.stage instanceof Pca);
  if (at < 0 || at === pipeline.steps.length - 1) return null;
  const pca = pipeline.steps[at].stage as Pca;
  const before = pipeline.steps.slice(0, at).map((s) => s.stage as Transformer);
  const components = pca.components;
  const mean = pca.mean;
  const { rows: k, cols: d } = components;
  const weights = Float64Array.from(components.data);
  return {
    step: pipeline.steps[at].id,
    score: async (X) => {
      let input = X;
      for (const stage of before) input = await stage.transform(input);
      const absolute = new Float64Array(input.rows);
      const relative = new Float64Array(input.rows);
      const centred = new Float64Array(d);
      for (let r = 0; r < input.rows; r++) {
        let total = 0;
        let energy = 0;
        for (let f = 0; f < d; f++) {
          const x = input.data[r * d + f];
          const v = x - mean[f];
          centred[f] = v;
          total += v * v;
          energy += x * x;
        }
        let kept = 0;
        for (let c = 0; c < k; c++) {
          let dot = 0;
          const w = c * d;
          for (let f = 0; f < d; f++) dot += weights[w + f] * centred[f];
          kept += dot * dot;
        }
        // components are orthonormal: what the projection leaves out is the total minus what it keeps
        const error = Math.max(0, total - kept);
        absolute[r] = error / d;
        relative[r] = energy > 0 ? error / energy : 0;
      }
      return { absolute, relative };
    },
  };
}

/** The value below which `percentile` % of the scores lie (nearest rank). */
export function percentileOf(scores: Float64Array, percentile: number): number {
  const sorted = Float64Array.from(scores).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Scores the training rows a pipeline was fitted on and keeps the threshold; null when the pipeline has no PCA stage. */
export async function calibrateUnfamiliar(pipeline: Pipeline, train: Matrix): Promise<UnfamiliarCalibration | null> {
  const scorer = familiarityScorer(pipeline);
  if (!scorer || train.rows === 0) return null;
  const errors = await scorer.score(train);
  const scale = { absolute: percentileOf(errors.absolute, 50), relative: percentileOf(errors.relative, 50) };
  return {
    method: 'pca-reconstruction',
    step: scorer.step,
    percentile: UNFAMILIAR_PERCENTILE,
    threshold: percentileOf(combined(errors, scale), UNFAMILIAR_PERCENTILE),
    scale,
    rows: train.rows,
  };
}

/**
 * Scores and flags rows with a model's stored calibration: `unfamiliar` is null for every row when the model file has
 * none (written before it was recorded, or a pipeline without PCA).
 */
export async function unfamiliarFlags(
  pipeline: Pipeline,
  calibration: UnfamiliarCalibration | undefined,
  X: Matrix,
): Promise<Array<{ unfamiliar: boolean | null; score: number | null }>> {
  const scorer = calibration ? familiarityScorer(pipeline) : null;
  if (!calibration?.scale || !scorer || scorer.step !== calibration.step) {
    return Array.from({ length: X.rows }, () => ({ unfamiliar: null, score: null }));
  }
  const scores = combined(await scorer.score(X), calibration.scale);
  return Array.from(scores, (score) => ({ unfamiliar: score > calibration.threshold, score }));
}

/** The score: the larger of the two errors, each in units of its training median. */
function combined(errors: Reconstruction, scale: UnfamiliarCalibration['scale']): Float64Array {
  return errors.absolute.map((a, i) => Math.max(a / (scale.absolute || 1), errors.relative[i] / (scale.relative || 1)));
}
