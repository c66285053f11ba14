import type { LoadedData } from '../data/load.js';
import type { PhotoSpec } from '../data/photo-decode.js';
import { stepsIdentity, type StepConfig } from '../pipeline/steps.js';
import { registry } from '../stages/registry.js';
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
