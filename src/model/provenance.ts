import type { LoadedData } from '../data/load.js';
import type { PhotoSpec } from '../data/photo-decode.js';
import { stepsIdentity, type StepConfig } from '../pipeline/steps.js';
import { registry } from '../stages/registry.js';
import { ModelError } from '../stages/snapshot.js';
import { codeVersion, toolVersion } from '../util/code-version.js';
import { UsageError } from '../util/errors.js';
import { digest } from '../util/hash.js';
import type { UnfamiliarCalibration } from './unfamiliar.js';

/**
 * How a photo becomes the model's input row: Fashion-MNIST's preparation (grey, negated, trimmed, 28×28: data/image.ts)
 * for models fitted on Fashion-MNIST, or the photo decoding its training folder used (data/photo-decode.ts).
 */
export type ModelInput = { kind: 'fashion-mnist' } | { kind: 'photo'; image: PhotoSpec };

/** A model file's input; files written before it was recorded are Fashion-MNIST models. */
export function modelInput(info: Pick<ModelInfo, 'input'>): ModelInput {
  return info.input ?? { kind: 'fashion-mnist' };
}

/** What a model file says about itself besides the stages. */
export interface ModelInfo {
  /** Pipeline name and description, from its file. */
  name: string;
  description?: string;
  /** The pipeline file the model was fitted from, as given on the command line. */
  source: string;
  /** fashion-pipeline version that wrote it. */
  tool: string;
  /** Digest of the code that fitted it (codeVersion); absent in models written before it was recorded. */
  code?: string;
  created: string;
  /** Class names, label order. */
  classes: string[];
  /** How a photo becomes an input row (absent in older files: Fashion-MNIST's preparation). */
  input?: ModelInput;
  /** Training rows and where they came from (with the files' SHA-256; absent in older model files). */
  training: { rows: number; data: string; checksums?: Record<string, string> };
  /** Test accuracy when the run evaluated one. */
  test_accuracy?: number;
  /** Mean cross-validated accuracy when the run measured one. */
  cv_accuracy?: number;
  /**
   * The threshold that flags photos unlike the training data (see unfamiliar.ts); absent in model files written before
   * it was recorded, whose photos are then never flagged (`unfamiliar: null`).
   */
  unfamiliar?: UnfamiliarCalibration;
  /** Steps, training-data checksums and rows, and seed: `predict` reuses a model for a pipeline file only on a match. */
  fit_key: string;
}

/**
 * What a fit depends on: the code (codeVersion), the steps with their params, the training data (checksums of the
 * training files, rows after any limit) and the seed. Two fits with the same key give the same model.
 */
export function fitKey(steps: readonly StepConfig[], data: LoadedData['info'], seed: number): string {
  // the training files' checksums, not their paths: the same data read from elsewhere is the same fit
  const training = Object.values(trainingChecksums(data)).sort();
  return digest(codeVersion(), '|', stepsIdentity(steps), '|', { training, rows: data.train_rows, seed });
}

/** SHA-256 of the files the training rows came from, by file name. */
function trainingChecksums(data: LoadedData['info']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data.checksums).filter(
      ([file]) => file.startsWith('train-') || file === data.location || (data.format === 'folder' && file === 'train'),
    ),
  );
}

/**
 * Refuses, before any work, steps that could not be saved (each stage spec says which params it can save). `what`
 * names what asked for a model (an option or a file), for the message.
 */
export function assertSavable(steps: readonly StepConfig[], what: string): void {
  for (const step of steps) {
    const answer = registry.get(step.stage)?.savable(step.params as never) ?? true;
    if (answer !== true) throw new UsageError(`${what}: step ${step.id}: ${answer}`);
  }
}

/** Reuse policy: a saved model stands for a fit when it was written by this very code for one of the accepted fit keys. */
export function reusable(info: ModelInfo, acceptedFitKeys: ReadonlySet<string>): boolean {
  return info.code === codeVersion() && acceptedFitKeys.has(info.fit_key);
}

/** The info of a model fitted from `steps` on `data` (as loaded for the fit) with `seed`. */
export function modelInfo(o: {
  name: string;
  description?: string;
  source: string;
  steps: readonly StepConfig[];
  data: LoadedData['info'];
  /** The training data's class names, label order. */
  classes: readonly string[];
  seed: number;
  testAccuracy?: number;
  cvAccuracy?: number;
  unfamiliar?: UnfamiliarCalibration | null;
}): ModelInfo {
  return {
    name: o.name,
    ...(o.description === undefined ? {} : { description: o.description }),
    source: o.source,
    tool: toolVersion(),
    code: codeVersion(),
    created: new Date().toISOString(),
    classes: [...o.classes],
    ...(o.data.photos ? { input: { kind: 'photo' as const, image: { ...o.data.photos.image } } } : {}),
    training: {
      rows: o.data.train_rows,
      data: `${o.data.format} ${o.data.location}`,
      checksums: trainingChecksums(o.data),
    },
    ...(o.testAccuracy === undefined ? {} : { test_accuracy: o.testAccuracy }),
    ...(o.cvAccuracy === undefined ? {} : { cv_accuracy: o.cvAccuracy }),
    ...(o.unfamiliar ? { unfamiliar: o.unfamiliar } : {}),
    fit_key: fitKey(o.steps, o.data, o.seed),
  };
}

/**
 * A model file's info, checked field by field before anything uses it (the file's checksum says it is whole, not that
 * it was written by this tool): ModelError naming the first field that is not what the tool writes.
 */
export function checkedInfo(value: unknown, what: string): ModelInfo {
  const bad = (field: string): never => {
    throw new ModelError(`${what}: damaged info (${field})`);
  };
  const isObject = (v: unknown): v is Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(value)) return bad('not an object');
  const info = value;
  for (const key of ['name', 'source', 'tool', 'created', 'fit_key'] as const) {
    if (typeof info[key] !== 'string') bad(key);
  }
  const classes = info.classes;
  if (
    !Array.isArray(classes) ||
    classes.length < 2 ||
    classes.length > 256 ||
    classes.some((c) => typeof c !== 'string')
  )
    bad('classes');
  const training = info.training;
  if (!isObject(training) || !Number.isInteger(training.rows) || (training.rows as number) < 0) bad('training');
  for (const key of ['test_accuracy', 'cv_accuracy'] as const) {
    const v = info[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1)) bad(key);
  }
  const input = info.input;
  if (input !== undefined) {
    if (!isObject(input) || (input.kind !== 'fashion-mnist' && input.kind !== 'photo')) return bad('input');
    if (input.kind === 'photo') {
      const image = input.image;
      const side = (v: unknown) => Number.isInteger(v) && (v as number) >= 4 && (v as number) <= 1024;
      if (
        !isObject(image) ||
        !side(image.width) ||
        !side(image.height) ||
        (image.channels !== 1 && image.channels !== 3) ||
        !['fill', 'cover', 'contain'].includes(image.fit as string)
      )
        bad('input.image');
    }
  }
  const unfamiliar = info.unfamiliar;
  if (unfamiliar !== undefined && unfamiliar !== null) {
    if (
      !isObject(unfamiliar) ||
      typeof unfamiliar.method !== 'string' ||
      typeof unfamiliar.step !== 'string' ||
      !(typeof unfamiliar.threshold === 'number' && Number.isFinite(unfamiliar.threshold)) ||
      !(typeof unfamiliar.percentile === 'number' && unfamiliar.percentile > 0 && unfamiliar.percentile <= 100) ||
      // its scales, means and weights too: a NaN there would quietly turn the flag off
      !allFinite(unfamiliar) ||
      !pixelsFinite(unfamiliar.pixels)
    )
      bad('unfamiliar');
  }
  return info as unknown as ModelInfo;
}

/** The calibration's pixel PCA (float32 arrays in base64): every value finite. */
function pixelsFinite(pixels: unknown): boolean {
  if (pixels === undefined) return true;
  if (pixels === null || typeof pixels !== 'object') return false;
  for (const key of ['mean', 'weights'] as const) {
    const text = (pixels as Record<string, unknown>)[key];
    if (typeof text !== 'string') return false;
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length % 4 !== 0) return false;
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    if (!values.every(Number.isFinite)) return false;
  }
  return true;
}

/** Every number in `v` (nested objects, arrays, typed arrays) is finite. */
function allFinite(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v);
  if (ArrayBuffer.isView(v)) return Array.prototype.every.call(v, (x: number) => Number.isFinite(x));
  if (Array.isArray(v)) return v.every(allFinite);
  if (v !== null && typeof v === 'object') return Object.values(v).every(allFinite);
  return true;
}
