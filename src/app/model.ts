/**
 * The model behind `predict` and `serve`: a model file, or a pipeline file fitted once on the training set and kept as
 * a model file (reused while code, data and steps match), and classifying photos with it, prepared as its training
 * data was.
 */
import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { UsageError } from '../config/errors.js';
import { expandGrid } from '../config/param-grid.js';
import { loadPipelineFile } from '../config/load.js';
import { prepareImage, type InvertMode } from '../data/image.js';
import { loadData, photoSpec } from '../data/load.js';
import { decodePhoto } from '../data/photo-decode.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { matrix, type Matrix } from '../linalg/matrix.js';
import { warmPool } from '../runtime/pool.js';
import { COMMON_TASK_MODULES } from '../stages/task-modules.js';
import { encodeModel, isModelFile, loadModel } from '../model/format.js';
import {
  assertSavable,
  fitKey,
  modelInfo,
  modelInput,
  reusable,
  type ModelInfo,
  type ModelInput,
} from '../model/provenance.js';
import { calibrateUnfamiliar, unfamiliarFlags } from '../model/unfamiliar.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { ModelError } from '../stages/snapshot.js';
import type { PredictResult } from '../report/summaries.js';
import { checkOutputs, writeFilesAtomic, type PlannedOutput } from '../report/write.js';
import { withPositions } from './data-checks.js';
import { decodeProgress } from './load-data.js';
import { defaultModelPath } from './run.js';
import { Interrupted } from '../util/errors.js';

/** Where a model comes from: what `predict` and `serve` accept. */
export interface ModelSource {
  /** A model file (from `run --save-model`), or a pipeline file: fitted on the training set first, then saved. */
  model: string;
  /** Training data for fitting a pipeline file (as `run --data`). */
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  /** Where models fitted from pipeline files are kept (models). */
  modelsDir?: string;
  /** Ctrl-C / SIGTERM: a fit in progress stops after its current step, and no model is saved (Interrupted). */
  signal?: AbortSignal;
  progress?: ProgressSink;
}

/** A fitted pipeline ready to classify, and where it came from. */
export interface ObtainedModel {
  pipeline: Pipeline;
  info: ModelInfo;
  /** The model file. */
  path: string;
  origin: PredictResult['origin'];
  fitSeconds: number | null;
}

/** One image's answer, with the probabilities of all classes (null when the estimator gives none). */
export interface Classified {
  label: number;
  class: string;
  confidence: number | null;
  probabilities: number[] | null;
  top: Array<{ class: string; probability: number }>;
  /** Unlike the training data (see model/unfamiliar.ts); null when the model file carries no threshold. */
  unfamiliar: boolean | null;
  /** The score compared with the threshold (mean squared reconstruction error), null likewise. */
  unfamiliar_score: number | null;
}

/**
 * Classifies input rows with a model (prepared photos: prepareForModel; or rows of its training data's layout): labels,
 * probabilities, the `top` most probable classes by the model's own class names, and the unfamiliar flag; also the
 * rows in the model's feature space (the input of its estimator), for similarity search.
 */
export async function classifyPixels(
  model: Pick<ObtainedModel, 'pipeline' | 'info'>,
  images: readonly Float32Array[],
  top = 3,
): Promise<{ classified: Classified[]; features: Matrix }> {
  const width = images[0]?.length ?? 0;
  const X = matrix(images.length, width);
  images.forEach((pixels, i) => {
    if (pixels.length !== width) throw new Error(`classifyPixels: rows of ${pixels.length} and ${width} values`);
    X.data.set(pixels, i * width);
  });
  const { pipeline } = model;
  const names = model.info.classes;
  const className = (c: number) => names[c] ?? `class ${c}`;
  const features = await pipeline.transform(X);
  const { labels, proba } = await pipeline.labelsAndProba(features);
  const flags = await unfamiliarFlags(pipeline, model.info.unfamiliar, X, features);
  const classified = images.map((_, i): Classified => {
    const label = labels[i];
    const p = proba ? Array.from(proba.data.subarray(i * proba.cols, (i + 1) * proba.cols)) : null;
    const ranked = p
      ? p.map((probability, c) => ({ class: className(c), probability })).sort((a, b) => b.probability - a.probability)
      : [];
    return {
      label,
      class: className(label),
      confidence: p ? p[label] : null,
      probabilities: p,
      top: ranked.slice(0, top),
      unfamiliar: flags[i].unfamiliar,
      unfamiliar_score: flags[i].score,
    };
  });
  return { classified, features };
}

/** A photo as a model's input row, and whether it was negated (Fashion-MNIST's preparation only). */
export interface ModelRow {
  pixels: Float32Array;
  inverted: boolean;
}

/**
 * A photo as the model's input row, prepared as its training data was: a photo model's own decoding (its `data.image`:
 * size, colour, fit), or Fashion-MNIST's preparation (grey, negated when light, trimmed, 28×28). A photo that cannot
 * be read is a DataError naming `what`.
 */
export async function prepareForModel(
  input: ModelInput,
  bytes: Uint8Array,
  what: string,
  invert: InvertMode = 'auto',
  segment = false,
): Promise<ModelRow> {
  if (input.kind === 'photo')
    return { pixels: Float32Array.from(await decodePhoto(bytes, input.image, what)), inverted: false };
  const { pixels, inverted } = await prepareImage(bytes, what, invert, undefined, segment);
  return { pixels, inverted };
}

/** The input of the model a source names, known before any fit: a model file's own, or its pipeline file's data's. */
export function plannedInput(source: string): ModelInput | null {
  if (!/\.ya?ml$/i.test(source) || isModelFile(source)) return null; // a model file: known once it is loaded
  const { config } = loadPipelineFile(source, { test: false }, { grid: 'parse' });
  return config.data.format === 'folder' ? { kind: 'photo', image: photoSpec(config.data) } : { kind: 'fashion-mnist' };
}

/** Interrupted (no model saved) once `signal` has aborted. */
function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Interrupted(0, null, undefined, 'stopped while fitting; no model was saved');
}

/**
 * A model to classify with: a model file is loaded; a pipeline file reuses models/<name>.model when it was fitted from
 * the same steps, training data and seed by this version, and is otherwise fitted on all training rows (with
 * progress) and saved there. `predict` and `serve` both come through here.
 */
export async function obtainModel(options: ModelSource): Promise<ObtainedModel> {
  // by content, not only by name: a model file saved as x.yaml is still a model
  if (!/\.ya?ml$/i.test(options.model) || isModelFile(options.model)) {
    const { pipeline, info } = loadModel(options.model);
    return { pipeline, info, path: options.model, origin: 'loaded', fitSeconds: null };
  }
  // A pipeline file: reuse models/<name>.model when it was fitted from the same steps, training data and seed by this
  // version; otherwise fit on all training rows and save.
  const loaded = loadPipelineFile(options.model, { test: false });
  const { config } = loaded;
  assertSavable(config.steps, options.model);
  const seed = config.evaluation.seed;
  const path = defaultModelPath(config.name, options.modelsDir);
  const modelOutput: PlannedOutput = {
    what: `--models ${options.modelsDir ?? 'models'}`,
    dir: dirname(path),
    names: [basename(path)],
    longNameFix: "shorten the pipeline's name",
  };
  // a model to save: checked before the data is read (when one is there it may be reused: checked before the fit)
  const saved = existsSync(path);
  if (!saved) checkOutputs([modelOutput]);
  warmPool(COMMON_TASK_MODULES);
  const data = await loadData(config.data, {
    dataDir: options.data,
    verify: options.verify,
    pipelineFile: options.model,
    withTest: false,
    seed,
    onProgress: decodeProgress(options.progress),
  });
  const key = fitKey(config.steps, data.info, seed);
  // a file with a grid: section stands for its best candidate, which only `grid --save-model` knows
  const searched = loaded.grid.length > 0;
  const accepted = new Set(
    searched
      ? expandGrid(loaded.grid, config.steps, loaded.source, loaded.shape).map((c) => fitKey(c.steps, data.info, seed))
      : [key],
  );
  try {
    const found = loadModel(path);
    if (reusable(found.info, accepted)) {
      return { pipeline: found.pipeline, info: found.info, path, origin: 'loaded', fitSeconds: null };
    }
  } catch (err) {
    if (!(err instanceof ModelError)) throw err; // none yet, or a damaged or older one: fitted below
  }
  if (searched) {
    throw new UsageError(
      `${options.model} has a grid: section; run \`pipeline grid ${options.model} --save-model\` first, then predict with that file (or with ${path})`,
    );
  }
  if (saved) checkOutputs([modelOutput]);
  const progress = options.progress;
  progress?.begin(config.steps.length, `fitting ${config.name}`);
  const t0 = performance.now();
  let pipeline: Pipeline;
  try {
    // a param that cannot fit the data is reported at its place in the file, exit 2, as `run` does
    stopIfAborted(options.signal);
    pipeline = await withPositions(loaded, () =>
      Pipeline.fromSteps(config.steps).fit(data.train.X, data.train.y, {
        onStep: (id) => {
          stopIfAborted(options.signal);
          progress?.advance(`fit ${id}`);
        },
      }),
    );
    stopIfAborted(options.signal);
  } finally {
    progress?.end();
  }
  const fitSeconds = (performance.now() - t0) / 1000;
  const info = modelInfo({
    name: config.name,
    description: config.description,
    source: options.model,
    steps: config.steps,
    data: data.info,
    classes: data.train.classes,
    seed,
    unfamiliar: await calibrateUnfamiliar(pipeline, data.train, seed, data.info),
  });
  writeFilesAtomic([{ path, content: encodeModel(pipeline, config.steps, info) }]);
  return { pipeline, info, path, origin: 'fitted', fitSeconds };
}

/**
 * Photos (encoded bytes: JPEG, PNG, WebP…) classified by a model, each prepared as its training data was (see
 * prepareForModel): for programs that hold photos in memory. `names` label the photos in errors (a photo that cannot
 * be read is a DataError naming it).
 */
export async function classifyPhotos(
  model: Pick<ObtainedModel, 'pipeline' | 'info'>,
  photos: readonly Uint8Array[],
  options: { names?: readonly string[]; top?: number; segment?: boolean } = {},
): Promise<Classified[]> {
  const input = modelInput(model.info);
  const rows: Float32Array[] = [];
  for (const [i, bytes] of photos.entries()) {
    const name = options.names?.[i] ?? `photo ${i + 1}`;
    rows.push((await prepareForModel(input, bytes, name, 'auto', options.segment ?? false)).pixels);
  }
  if (rows.length === 0) return [];
  return (await classifyPixels(model, rows, options.top ?? 3)).classified;
}
