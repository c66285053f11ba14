import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { UsageError } from '../config/errors.js';
import { expandGrid } from '../config/grid.js';
import { loadPipelineFile } from '../config/load.js';
import { DataError } from '../data/errors.js';
import { CLASS_NAMES, PIXELS } from '../data/fashion-mnist.js';
import { readCsv } from '../data/csv.js';
import { prepareImage, type InvertMode, type PreparedImage } from '../data/image.js';
import { accuracy } from '../metrics/classification.js';
import { loadData } from '../data/load.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { matrix, type Matrix } from '../linalg/matrix.js';
import { encodeModel, isModelFile, loadModel } from '../model/format.js';
import { calibrateUnfamiliar, unfamiliarFlags } from '../model/unfamiliar.js';
import { loadCatalogue } from './catalogue.js';
import { assertSavable, fitKey, modelInfo, reusable, type ModelInfo } from '../model/provenance.js';

export type { Prediction, PredictResult };
import { ModelError } from '../stages/snapshot.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { sampleGrid } from '../report/plots/galleries.js';
import { unreadableLine, type Prediction, type PredictResult, type UnreadablePhoto } from '../report/summaries.js';
import { checkOutputs, plannedFile, writeFilesAtomic, type PlannedOutput } from '../report/write.js';
import { withPositions } from './common.js';
import { defaultModelPath } from './run.js';

/** Images per predicted class drawn by --show (a 10 000-row CSV would otherwise make a picture 90 000 pixels wide). */
const SHOW_PER_CLASS = 16;

/** File name endings taken from a folder (files named on the command line are tried whatever their ending). */
const IMAGE_ENDINGS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp']);

export interface PredictOptions {
  /** A model file (from `run --save-model`), or a pipeline file: fitted on the training set first, then saved. */
  model: string;
  /** Image files, or folders of them. */
  images: string[];
  /** Instead of images: rows of a CSV file in Kaggle's layout (label,pixel1,…,pixel784), pixels 0..255. */
  csv?: string;
  /** Training data for fitting a pipeline file (as `run --data`); also the default catalogue of --similar. */
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  /** Where models fitted from pipeline files are kept (models). */
  modelsDir?: string;
  invert?: InvertMode;
  /** Also list this many catalogue images nearest to each photo in the model's feature space. */
  similar?: number;
  /** The catalogue for `similar`: a folder of images (default: the training set). */
  catalogue?: string;
  /** Classes listed per image, most probable first (3). */
  top?: number;
  /** Also write a PNG of the images as the model saw them (28×28, grouped by predicted class). */
  show?: string;
  progress?: ProgressSink;
}

/** `pipeline predict`: classify photos with a saved model, or with a pipeline file fitted (once) on the training set. */
export async function runPredict(options: PredictOptions): Promise<PredictResult> {
  const top = options.top ?? 3;
  if (!Number.isInteger(top) || top < 0 || top > CLASS_NAMES.length) {
    throw new UsageError(`--top must be a whole number from 0 to ${CLASS_NAMES.length}, got ${options.top}`);
  }
  if (
    options.similar !== undefined &&
    !(Number.isInteger(options.similar) && options.similar >= 1 && options.similar <= 100)
  )
    throw new UsageError(`--similar must be a whole number from 1 to 100, got ${options.similar}`);
  if (options.csv !== undefined && options.images.length > 0) throw new UsageError('give images or --csv, not both');
  if (options.show) checkOutputs([plannedFile('--show', options.show)]);
  // the inputs first: a bad one is reported before a fit that may take minutes
  const rows: Array<Pick<PreparedImage, 'pixels' | 'inverted'> & { file: string }> = [];
  const unreadable: UnreadablePhoto[] = [];
  let truth: Uint8Array | null = null;
  if (options.csv !== undefined) {
    if (existsSync(options.csv) && statSync(options.csv).isDirectory())
      throw new UsageError(`--csv needs a CSV file, got the folder ${options.csv}`);
    const data = readCsv(options.csv);
    if (data.y.length === 0) throw new DataError(`${options.csv}: no rows to classify (only a header)`);
    truth = data.y;
    for (let i = 0; i < data.y.length; i++) {
      rows.push({
        file: `${options.csv}:${i + 2}`,
        pixels: data.X.data.subarray(i * PIXELS, (i + 1) * PIXELS),
        inverted: false,
      });
    }
  } else {
    // every photo is answered that can be: an unreadable one is listed with its error, not the end of the batch
    const inputs = imageFiles(options.images);
    for (const [index, input] of inputs.entries()) {
      if ('error' in input) {
        unreadable.push({ ...input, index });
        continue;
      }
      try {
        rows.push({
          file: input.file,
          ...(await prepareImage(readImage(input.file), input.file, options.invert ?? 'auto')),
        });
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        unreadable.push({ file: input.file, error: withoutName(err.message, input.file), index });
      }
    }
    if (rows.length === 0) throw new DataError(unreadableLine(unreadable, inputs.length));
  }
  const model = await obtainModel(options);
  const { info, path, origin, fitSeconds } = model;
  const catalogue =
    options.similar === undefined
      ? null
      : await loadCatalogue(model, {
          dir: options.catalogue,
          data: options.data,
          verify: options.verify,
          progress: options.progress,
        });
  const { classified, features } = await classifyPixels(
    model,
    rows.map((r) => r.pixels),
    top,
  );
  const labels = Uint8Array.from(classified, (c) => c.label);
  const near = catalogue ? catalogue.nearest(features, options.similar!) : null;
  const predictions = rows.map((r, i): Prediction => ({
    file: r.file,
    label: classified[i].label,
    class: classified[i].class,
    confidence: classified[i].confidence,
    top: classified[i].top,
    inverted: r.inverted,
    unfamiliar: classified[i].unfamiliar,
    ...(near ? { similar: near[i] } : {}),
  }));
  if (options.show) {
    const perClass = CLASS_NAMES.map((_, c) =>
      rows.flatMap((r, i) => (labels[i] === c ? [{ id: i, pixels: r.pixels }] : [])),
    );
    const cut = perClass.some((images) => images.length > SHOW_PER_CLASS);
    const picture = await sampleGrid({
      title: `What ${info.name} saw: ${rows.length} image${rows.length === 1 ? '' : 's'} by predicted class`,
      subtitle: [
        (options.csv
          ? `rows of ${options.csv}, 28×28 (shown 3×)`
          : 'each photo after greyscale, negation, trimming and resizing to 28×28 (shown 3×)') +
          (cut ? `; the first ${SHOW_PER_CLASS} of each class` : ''),
      ],
      rows: CLASS_NAMES.flatMap((name, c) =>
        perClass[c].length > 0 ? [{ name, label: c, images: perClass[c].slice(0, SHOW_PER_CLASS) }] : [],
      ),
    });
    writeFilesAtomic([{ path: options.show, content: picture.png }]);
  }
  return {
    model: path,
    info,
    origin,
    fitSeconds,
    predictions,
    ...(unreadable.length > 0 ? { unreadable } : {}),
    ...(truth ? { accuracy: accuracy(truth, labels) } : {}),
  };
}

function readImage(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(
      `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (err as Error).message})`}`,
    );
  }
}

/** An error message without the file name it starts with ("a.png: truncated PNG …" → "truncated PNG …"). */
function withoutName(message: string, file: string): string {
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}

/**
 * The files named, with folders replaced by the images in them (sorted); a path that is missing, or a folder without
 * images, is an entry with its error.
 */
function imageFiles(paths: string[]): Array<{ file: string } | { file: string; error: string }> {
  if (paths.length === 0) throw new UsageError('name at least one image file or folder to classify (or --csv FILE)');
  const out: Array<{ file: string } | { file: string; error: string }> = [];
  for (const p of paths) {
    if (!existsSync(p)) {
      out.push({ file: p, error: 'no such file or folder' });
    } else if (statSync(p).isDirectory()) {
      const inside = readdirSync(p)
        .filter((f) => IMAGE_ENDINGS.has(extname(f).toLowerCase()))
        .sort()
        .map((f) => ({ file: join(p, f) }));
      if (inside.length === 0)
        out.push({ file: p, error: 'no .png, .jpg, .jpeg, .webp, .gif or .bmp files in this folder' });
      out.push(...inside);
    } else if (extname(p).toLowerCase() === '.csv') {
      throw new UsageError(`${p} is a CSV file: classify its rows with --csv ${p}`);
    } else {
      out.push({ file: p });
    }
  }
  return out;
}

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
 * Classifies 28×28 images (pixels 0..255, as prepareImage gives them) with a model: labels, probabilities, the `top`
 * most probable classes and the unfamiliar flag; also the images in the model's feature space (the input of its
 * estimator), for similarity search.
 */
export async function classifyPixels(
  model: Pick<ObtainedModel, 'pipeline' | 'info'>,
  images: readonly Float32Array[],
  top = 3,
): Promise<{ classified: Classified[]; features: Matrix }> {
  const X = matrix(images.length, PIXELS);
  images.forEach((pixels, i) => X.data.set(pixels, i * PIXELS));
  const { pipeline } = model;
  const features = await pipeline.transform(X);
  const { labels, proba } = await pipeline.labelsAndProba(features);
  const flags = await unfamiliarFlags(pipeline, model.info.unfamiliar, X);
  const classified = images.map((_, i): Classified => {
    const label = labels[i];
    const p = proba ? Array.from(proba.data.subarray(i * proba.cols, (i + 1) * proba.cols)) : null;
    const ranked = p
      ? p
          .map((probability, c) => ({ class: CLASS_NAMES[c] ?? `class ${c}`, probability }))
          .sort((a, b) => b.probability - a.probability)
      : [];
    return {
      label,
      class: CLASS_NAMES[label] ?? `class ${label}`,
      confidence: p ? p[label] : null,
      probabilities: p,
      top: ranked.slice(0, top),
      unfamiliar: flags[i].unfamiliar,
      unfamiliar_score: flags[i].score,
    };
  });
  return { classified, features };
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
  const data = loadData(config.data, {
    dataDir: options.data,
    verify: options.verify,
    pipelineFile: options.model,
    withTest: false,
    seed,
  });
  const key = fitKey(config.steps, data.info, seed);
  // a file with a grid: section stands for its best candidate, which only `grid --save-model` knows
  const searched = loaded.grid.length > 0;
  const accepted = new Set(
    searched
      ? expandGrid(loaded.grid, config.steps, loaded.source).map((c) => fitKey(c.steps, data.info, seed))
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
    pipeline = await withPositions(loaded, () =>
      Pipeline.fromSteps(config.steps).fit(data.train.X, data.train.y, {
        onStep: (id) => progress?.advance(`fit ${id}`),
      }),
    );
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
    seed,
    unfamiliar: await calibrateUnfamiliar(pipeline, data.train.X),
  });
  writeFilesAtomic([{ path, content: encodeModel(pipeline, config.steps, info) }]);
  return { pipeline, info, path, origin: 'fitted', fitSeconds };
}
