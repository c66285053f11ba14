import type { LabelledRows } from '../data/dataset.js';
import type { LoadedData } from '../data/load.js';
import { stratifiedKFold } from '../data/split.js';
import { takeLabels, takeRows, type Matrix } from '../linalg/matrix.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { Pca } from '../stages/pca.js';
import { ModelError } from '../stages/snapshot.js';
import type { Estimator, Transformer } from '../stages/stage.js';
import { Svm } from '../stages/svm.js';

/** The widest rows given a pixel PCA of their own (Fashion-MNIST's are 784). */
const PIXEL_PCA_MAX_FEATURES = 4096;

/**
 * How a model tells a photo unlike its training data (a face, a car, a blank sheet) from a garment, stored in the model
 * file's info at fit time. It rests on the reconstruction error of the photo under the model's first PCA stage: the
 * mean squared difference between that stage's input and its projection back from the kept components. Photos of
 * garments lie close to the components' subspace; other pictures do not. Two readings of that error, each divided by
 * its median over the training rows, and the larger kept: the absolute error (catches busy pictures: stripes,
 * checks, many shapes) and the error relative to the input's energy (catches thin ones: text, scribbles, whose
 * absolute error is small because they are mostly background). A photo is `unfamiliar` when this score is above the
 * given percentile of the training set's own scores. A pipeline without a PCA stage gets a PCA of the training pixels
 * of its own for this (50 components, kept in the calibration).
 *
 * Models of photo folders are scored by their classifier's own doubt instead (reconstruction errors tell little on
 * real photos: they hardly set apart a kind of garment held out of training): `decision-margin` for an SVM,
 * minus the sum of the chosen class's pairwise decision values against every other class (how clearly it won);
 * `probability` for a classifier with probabilities, one minus the top one. The threshold is the given percentile of
 * the scores of photos the classifier did not see: a stratified fifth of the training rows held out from a fit on the
 * other four fifths (one extra fit at save time), so it flags about (100 − percentile) % of ordinary photos.
 */
export interface UnfamiliarCalibration {
  /**
   * pca-reconstruction: under the model's own first PCA stage; pixel-pca-reconstruction: for models without one, under
   * a PCA of the training images' pixels made for this purpose at fit time and kept here (`pixels`);
   * decision-margin and probability: the classifier's doubt (models of photo folders).
   */
  method: 'pca-reconstruction' | 'pixel-pca-reconstruction' | ConfidenceMethod;
  /** The PCA step whose input is reconstructed ('pixels' for the pixel PCA). */
  step: string;
  /** The pixel PCA: components × d values and the d means (d: the input width), float32 little-endian in base64. */
  pixels?: { components: number; mean: string; weights: string };
  /** Percentile of the training rows' scores used as the threshold (99.5; 95 for the classifier's doubt). */
  percentile: number;
  threshold: number;
  /** The training rows' median absolute and relative reconstruction errors: the units of the score (reconstruction only). */
  scale?: { absolute: number; relative: number };
  /** Training rows scored (held out of the calibrating fit, for the classifier's doubt). */
  rows: number;
}

/** The classifier's doubt as a score: see UnfamiliarCalibration. */
export type ConfidenceMethod = 'decision-margin' | 'probability';

/** The percentile of held-out photos' doubt above which a photo is flagged. */
export const DOUBT_PERCENTILE = 95;
/** One fold in this many of the training rows is held out to calibrate the doubt. */
const DOUBT_FOLDS = 5;

/** A row's reconstruction error, absolute (mean squared) and relative to the row's mean squared value. */
export interface Reconstruction {
  absolute: Float64Array;
  relative: Float64Array;
}

/** The training-set percentile above which a photo is flagged. */
export const UNFAMILIAR_PERCENTILE = 99.5;

/** Reconstruction errors of rows of the pipeline's input. */
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
  // the stage's own projection (SIMD, on the worker pool), whitening undone
  const sd = pca.params.whiten ? Array.from(pca.explainedVariance, Math.sqrt) : null;
  const kept = async (input: Matrix): Promise<Float64Array> => {
    const out = await pca.transform(input);
    const k = out.cols;
    const energy = new Float64Array(input.rows);
    for (let r = 0; r < input.rows; r++) {
      let sum = 0;
      for (let c = 0; c < k; c++) {
        const v = out.data[r * k + c] * (sd ? sd[c] : 1);
        sum += v * v;
      }
      energy[r] = sum;
    }
    return energy;
  };
  return { step: pipeline.steps[at].id, score: reconstruction(before, pca.mean, kept) };
}

/** What orthonormal components (k × d, row-major) keep of each centred row: the squared norm of its projection. */
function keptByComponents(mean: Float64Array, weights: Float64Array, k: number) {
  const d = mean.length;
  return async (input: Matrix): Promise<Float64Array> => {
    const kept = new Float64Array(input.rows);
    const centred = new Float64Array(d);
    for (let r = 0; r < input.rows; r++) {
      for (let f = 0; f < d; f++) centred[f] = input.data[r * d + f] - mean[f];
      let sum = 0;
      for (let c = 0; c < k; c++) {
        let dot = 0;
        const w = c * d;
        for (let f = 0; f < d; f++) dot += weights[w + f] * centred[f];
        sum += dot * dot;
      }
      kept[r] = sum;
    }
    return kept;
  };
}

/**
 * Reconstruction errors of rows after `before`: the squared norm of the row centred on `mean` minus what the
 * components keep of it (components are orthonormal), absolute (per feature) and relative to the row's energy.
 */
function reconstruction(
  before: Transformer[],
  mean: Float64Array,
  keptOf: (input: Matrix) => Promise<Float64Array>,
): FamiliarityScorer {
  const d = mean.length;
  return async (X) => {
    let input = X;
    for (const stage of before) input = await stage.transform(input);
    const kept = await keptOf(input);
    const absolute = new Float64Array(input.rows);
    const relative = new Float64Array(input.rows);
    for (let r = 0; r < input.rows; r++) {
      let total = 0;
      let energy = 0;
      for (let f = 0; f < d; f++) {
        const x = input.data[r * d + f];
        const v = x - mean[f];
        total += v * v;
        energy += x * x;
      }
      const error = Math.max(0, total - kept[r]);
      absolute[r] = error / d;
      relative[r] = energy > 0 ? error / energy : 0;
    }
    return { absolute, relative };
  };
}

/** Components of the pixel PCA kept for models without a PCA stage. */
const PIXEL_COMPONENTS = 50;

const f32ToBase64 = (values: ArrayLike<number>) => Buffer.from(Float32Array.from(values).buffer).toString('base64');
function base64ToF64(text: string, length: number): Float64Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length * 4) {
    throw new ModelError(
      `model file: the unfamiliar calibration holds ${bytes.length} bytes where ${length * 4} belong`,
    );
  }
  return Float64Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
}

const pixelScorers = new WeakMap<object, FamiliarityScorer>();

/** The scorer a calibration names: the pipeline's own PCA, or the pixel PCA stored in it. */
function scorerFor(pipeline: Pipeline, calibration: UnfamiliarCalibration): FamiliarityScorer | null {
  if (calibration.method === 'pca-reconstruction') {
    const own = familiarityScorer(pipeline);
    return own && own.step === calibration.step ? own.score : null;
  }
  const p = calibration.pixels;
  if (!p) return null;
  let scorer = pixelScorers.get(p);
  if (!scorer) {
    scorer = pixelScorer(p);
    pixelScorers.set(p, scorer);
  }
  return scorer;
}

function pixelScorer(p: NonNullable<UnfamiliarCalibration['pixels']>): FamiliarityScorer {
  const d = Buffer.from(String(p.mean), 'base64').length / 4;
  if (!Number.isInteger(d) || d < 1 || !Number.isInteger(p.components) || p.components < 1 || p.components > d) {
    throw new ModelError(
      `model file: the unfamiliar calibration's pixel PCA is damaged (${d} means, ${p.components} components)`,
    );
  }
  const mean = base64ToF64(p.mean, d);
  return reconstruction([], mean, keptByComponents(mean, base64ToF64(p.weights, p.components * d), p.components));
}

/** The value below which `percentile` % of the scores lie (nearest rank). */
export function percentileOf(scores: Float64Array, percentile: number): number {
  const sorted = Float64Array.from(scores).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Scores the training rows a pipeline was fitted on and keeps the threshold. A pipeline without a PCA stage is scored
 * under a PCA of the training pixels made here (50 components, kept in the calibration: about 200 kB of model file).
 */
export async function calibrateUnfamiliar(
  pipeline: Pipeline,
  rows: LabelledRows,
  seed: number,
  data?: Pick<LoadedData['info'], 'photos'>,
): Promise<UnfamiliarCalibration | null> {
  const train = rows.X;
  if (train.rows === 0) return null;
  if (data?.photos) return calibrateDoubt(pipeline, rows, seed);
  const own = familiarityScorer(pipeline);
  // rows this wide (photos of 64×64×3 values and more): a pixel PCA would be too slow
  if (!own && train.cols > PIXEL_PCA_MAX_FEATURES) return null;
  let pixels: UnfamiliarCalibration['pixels'];
  let score: FamiliarityScorer;
  if (own) score = own.score;
  else {
    const pca = await new Pca({ components: Math.min(PIXEL_COMPONENTS, train.cols, train.rows) }).fit(
      train,
      new Uint8Array(train.rows),
    );
    const { rows: k, data } = pca.components;
    pixels = { components: k, mean: f32ToBase64(pca.mean), weights: f32ToBase64(data) };
    score = pixelScorer(pixels);
  }
  const errors = await score(train);
  const scale = { absolute: percentileOf(errors.absolute, 50), relative: percentileOf(errors.relative, 50) };
  return {
    method: own ? 'pca-reconstruction' : 'pixel-pca-reconstruction',
    step: own ? own.step : 'pixels',
    percentile: UNFAMILIAR_PERCENTILE,
    threshold: percentileOf(combined(errors, scale), UNFAMILIAR_PERCENTILE),
    scale,
    rows: train.rows,
    ...(pixels ? { pixels } : {}),
  };
}

/** The calibration as a service or report shows it: without the pixel PCA's numbers. */
export function describeCalibration(c: UnfamiliarCalibration): Omit<UnfamiliarCalibration, 'pixels'> {
  const { pixels, ...rest } = c;
  return pixels ? ({ ...rest, components: pixels.components } as Omit<UnfamiliarCalibration, 'pixels'>) : rest;
}

/**
 * Scores and flags rows with a model's stored calibration: `unfamiliar` is null for every row when the model file has
 * none (written before it was recorded).
 */
export async function unfamiliarFlags(
  pipeline: Pipeline,
  calibration: UnfamiliarCalibration | undefined,
  X: Matrix,
  /** The rows already through the pipeline's transformers (the classifier's doubt reads them: not computed twice). */
  features?: Matrix,
): Promise<Array<{ unfamiliar: boolean | null; score: number | null }>> {
  const none = () => Array.from({ length: X.rows }, () => ({ unfamiliar: null, score: null }));
  if (!calibration) return none();
  let scores: Float64Array;
  if (isConfidenceMethod(calibration.method)) {
    if (confidenceMethod(pipeline.estimator) !== calibration.method) return none();
    scores = await doubt(pipeline, calibration.method, X, features);
  } else {
    const score = calibration.scale ? scorerFor(pipeline, calibration) : null;
    if (!score) return none();
    scores = combined(await score(X), calibration.scale!);
  }
  return Array.from(scores, (value) => ({ unfamiliar: value > calibration.threshold, score: value }));
}

const isConfidenceMethod = (method: string): method is ConfidenceMethod =>
  method === 'decision-margin' || method === 'probability';

/** How an estimator's doubt is read: an SVM's decision values (engines native and libsvm), else probabilities. */
function confidenceMethod(estimator: Estimator): ConfidenceMethod | null {
  if (estimator instanceof Svm && estimator.params.engine !== 'mljs') return 'decision-margin';
  return estimator.predictProba ? 'probability' : null;
}

/** The fitted pipeline's doubt about each row (higher: less sure), by `method`. */
export async function doubt(
  pipeline: Pipeline,
  method: ConfidenceMethod,
  X: Matrix,
  transformed?: Matrix,
): Promise<Float64Array> {
  const features = transformed ?? (await pipeline.transform(X));
  const scores = new Float64Array(X.rows);
  if (method === 'probability') {
    const proba = await pipeline.estimator.predictProba!(features);
    for (let r = 0; r < X.rows; r++) {
      let top = 0;
      for (let c = 0; c < proba.cols; c++) top = Math.max(top, proba.data[r * proba.cols + c]);
      scores[r] = 1 - top;
    }
    return scores;
  }
  const svm = pipeline.estimator as Svm;
  const decision = await svm.decisionValues(features);
  const k = svm.fitted.classes.length;
  const machines = (k * (k - 1)) / 2;
  const votes = new Int32Array(k);
  const sums = new Float64Array(k);
  for (let r = 0; r < X.rows; r++) {
    votes.fill(0);
    sums.fill(0);
    let m = r * machines;
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++, m++) {
        const d = decision[m];
        votes[d > 0 ? i : j]++;
        sums[i] += d;
        sums[j] -= d;
      }
    }
    // the class libsvm predicts: most votes, the first of those tied
    let winner = 0;
    for (let c = 1; c < k; c++) if (votes[c] > votes[winner]) winner = c;
    scores[r] = -sums[winner];
  }
  return scores;
}

/**
 * The classifier's doubt, calibrated on photos it did not see: a copy of the pipeline fitted on four fifths of the
 * training rows (stratified, by the seed) scores the fifth held out; the threshold is their DOUBT_PERCENTILE.
 */
async function calibrateDoubt(
  pipeline: Pipeline,
  rows: LabelledRows,
  seed: number,
): Promise<UnfamiliarCalibration | null> {
  const method = confidenceMethod(pipeline.estimator);
  if (!method) return null;
  let folds;
  try {
    folds = stratifiedKFold(rows.y, DOUBT_FOLDS, seed);
  } catch {
    return null; // a class with fewer than five photos: too few to hold any out
  }
  const [{ train, test }] = folds;
  const part = await pipeline.clone().fit(takeRows(rows.X, train), takeLabels(rows.y, train));
  const scores = await doubt(part, method, takeRows(rows.X, test));
  return {
    method,
    step: pipeline.steps[pipeline.steps.length - 1].id,
    percentile: DOUBT_PERCENTILE,
    threshold: percentileOf(scores, DOUBT_PERCENTILE),
    rows: test.length,
  };
}

/** The score: the larger of the two errors, each in units of its training median. */
function combined(errors: Reconstruction, scale: NonNullable<UnfamiliarCalibration['scale']>): Float64Array {
  return errors.absolute.map((a, i) => Math.max(a / (scale.absolute || 1), errors.relative[i] / (scale.relative || 1)));
}
