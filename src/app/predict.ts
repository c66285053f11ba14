import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UsageError } from '../config/errors.js';
import { ModelError } from '../stages/snapshot.js';
import { DataError } from '../data/errors.js';
import { readCsv } from '../data/csv.js';
import type { InvertMode } from '../data/image.js';
import { describeShape } from '../linalg/shape.js';
import { modelInput, type ModelInfo, type ModelInput } from '../model/provenance.js';
import { accuracy } from '../metrics/classification.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { sampleGrid } from '../report/plots/galleries.js';
import { unreadableLine, type Prediction, type PredictResult, type UnreadablePhoto } from '../report/summaries.js';
import { checkOutputs, plannedFile, writeFilesAtomic } from '../report/write.js';
import { loadCatalogue } from './catalogue.js';
import { classifyPixels, obtainModel, plannedInput, prepareForModel, type ModelRow } from './model.js';
import { FileReadError, readRegularFile } from '../util/read-file.js';
import { MAX_PHOTO_FILE_BYTES } from '../data/image-folder.js';

export type { Prediction, PredictResult };
/** Images per predicted class drawn by --show (a 10 000-row CSV would otherwise make a picture 90 000 pixels wide). */
const SHOW_PER_CLASS = 16;

/** File name endings taken from a folder (files named on the command line are tried whatever their ending). */
const IMAGE_ENDINGS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.avif', '.gif', '.bmp', '.tif', '.tiff']);

export interface PredictOptions {
  /** A model file (from `run --save-model`), or a pipeline file: fitted on the training set first, then saved. */
  model: string;
  /** Image files, or folders of them. */
  images: string[];
  /** Ctrl-C / SIGTERM while a pipeline file is fitted: the fit stops and nothing is saved. */
  signal?: AbortSignal;
  /** Instead of images: rows of a CSV file in Kaggle's layout (label,pixel1,…,pixel784), pixels 0..255. */
  csv?: string;
  /** Training data for fitting a pipeline file (as `run --data`); also the default catalogue of --similar. */
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  /** Where models fitted from pipeline files are kept (models). */
  modelsDir?: string;
  invert?: InvertMode;
  /**
   * Fashion-MNIST models: find the garment first (segment.ts) and paint the backdrop out, for photos of garments on a
   * bed, a floor or a hanger rather than product shots on a plain background.
   */
  segment?: boolean;
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
  if (!Number.isInteger(top) || top < 0 || top > MAX_TOP) {
    throw new UsageError(`--top must be a whole number from 0 to ${MAX_TOP}, got ${options.top}`);
  }
  if (
    options.similar !== undefined &&
    !(Number.isInteger(options.similar) && options.similar >= 1 && options.similar <= 100)
  )
    throw new UsageError(`--similar must be a whole number from 1 to 100, got ${options.similar}`);
  if (options.csv !== undefined && options.images.length > 0) throw new UsageError('give images or --csv, not both');
  if (options.show) checkOutputs([plannedFile('--show', options.show)]);
  // the inputs first: a bad one is reported before a fit that may take minutes (a model file is only loaded: photos
  // are prepared as its training data was)
  const planned = plannedInput(options.model);
  // a model file that cannot be loaded is reported after the photos, as a pipeline file's fit would be
  const early =
    planned === null
      ? await obtainModel(options).catch((err: unknown) => {
          if (err instanceof ModelError) return null;
          throw err;
        })
      : null;
  const input = planned ?? (early ? modelInput(early.info) : { kind: 'fashion-mnist' as const });
  const rows: Array<ModelRow & { file: string; folder?: string }> = [];
  const unreadable: UnreadablePhoto[] = [];
  let truth: Uint8Array | null = null;
  if (options.csv !== undefined) {
    if (input.kind !== 'fashion-mnist') {
      throw new UsageError(
        `--csv takes Fashion-MNIST rows (28×28); ${options.model} classifies photos: name photos or folders`,
      );
    }
    if (existsSync(options.csv) && statSync(options.csv).isDirectory())
      throw new UsageError(`--csv needs a CSV file, got the folder ${options.csv}`);
    const data = readCsv(options.csv);
    if (data.y.length === 0) throw new DataError(`${options.csv}: no rows to classify (only a header)`);
    truth = data.y;
    const width = data.X.cols;
    for (let i = 0; i < data.y.length; i++) {
      rows.push({
        file: `${options.csv}:${i + 2}`,
        pixels: data.X.data.subarray(i * width, (i + 1) * width),
        inverted: false,
      });
    }
  } else {
    // every photo is answered that can be: an unreadable one is listed with its error, not the end of the batch
    const inputs = imageFiles(options.images);
    for (const [index, entry] of inputs.entries()) {
      if ('error' in entry) {
        unreadable.push({ ...entry, index });
        continue;
      }
      try {
        const prepared = await prepareForModel(
          input,
          readImage(entry.file),
          entry.file,
          options.invert ?? 'auto',
          options.segment ?? false,
        );
        rows.push({ file: entry.file, ...prepared, ...(entry.folder === undefined ? {} : { folder: entry.folder }) });
      } catch (err) {
        if (!(err instanceof DataError)) throw err;
        unreadable.push({ file: entry.file, error: withoutName(err.message, entry.file), index });
      }
    }
    if (rows.length === 0) throw new DataError(unreadableLine(unreadable, inputs.length));
  }
  const model = early ?? (await obtainModel(options));
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
  if (options.show) await writeShow(options, info, input, rows, labels);
  const labelled = truth ? null : folderTruth(rows, info.classes);
  return {
    model: path,
    info,
    origin,
    fitSeconds,
    predictions,
    ...(unreadable.length > 0 ? { unreadable } : {}),
    ...(truth ? { accuracy: accuracy(truth, labels) } : {}),
    ...(labelled ? perClassAccuracy(labelled, labels, info.classes) : {}),
  };
}

/** The largest --top: labels are bytes. */
const MAX_TOP = 256;

/**
 * The true label of each photo from its class folder, when photos were named as folders of class folders whose names
 * are the model's classes (as its training folder's were): null when no photo sits in such a folder.
 */
function folderTruth(rows: ReadonlyArray<{ folder?: string }>, classes: readonly string[]): Int32Array | null {
  const truth = Int32Array.from(rows, (r) => (r.folder === undefined ? -1 : classes.indexOf(r.folder)));
  return truth.some((t) => t >= 0) ? truth : null;
}

/** Accuracy over the photos whose class folder names a class, and per class. */
function perClassAccuracy(
  truth: Int32Array,
  labels: Uint8Array,
  classes: readonly string[],
): Pick<PredictResult, 'accuracy' | 'per_class' | 'labelled'> {
  const photos = new Array<number>(classes.length).fill(0);
  const correct = new Array<number>(classes.length).fill(0);
  truth.forEach((t, i) => {
    if (t < 0) return;
    photos[t]++;
    if (labels[i] === t) correct[t]++;
  });
  const labelled = photos.reduce((a, b) => a + b, 0);
  return {
    accuracy: correct.reduce((a, b) => a + b, 0) / labelled,
    labelled,
    per_class: classes.flatMap((name, c) =>
      photos[c] > 0 ? [{ class: name, photos: photos[c], correct: correct[c] }] : [],
    ),
  };
}

/** --show: the rows the model was given, grouped by predicted class. */
async function writeShow(
  options: PredictOptions,
  info: ModelInfo,
  input: ModelInput,
  rows: ReadonlyArray<{ pixels: Float32Array }>,
  labels: Uint8Array,
): Promise<void> {
  const perClass = info.classes.map((_, c) =>
    rows.flatMap((r, i) => (labels[i] === c ? [{ id: i, pixels: r.pixels }] : [])),
  );
  const cut = perClass.some((images) => images.length > SHOW_PER_CLASS);
  const shape =
    input.kind === 'photo'
      ? { height: input.image.height, width: input.image.width, channels: input.image.channels }
      : undefined;
  const picture = await sampleGrid({
    title: `What ${info.name} saw: ${rows.length} image${rows.length === 1 ? '' : 's'} by predicted class`,
    subtitle: [
      (options.csv
        ? `rows of ${options.csv}, 28×28 (shown 3×)`
        : shape
          ? `each photo as the model receives it (${describeShape(shape)})`
          : 'each photo after greyscale, negation, trimming and resizing to 28×28 (shown 3×)') +
        (cut ? `; the first ${SHOW_PER_CLASS} of each class` : ''),
    ],
    shape,
    rows: info.classes.flatMap((name, c) =>
      perClass[c].length > 0 ? [{ name, label: c, images: perClass[c].slice(0, SHOW_PER_CLASS) }] : [],
    ),
  });
  writeFilesAtomic([{ path: options.show!, content: picture.png }]);
}

function readImage(file: string): Uint8Array {
  try {
    return readRegularFile(file, MAX_PHOTO_FILE_BYTES);
  } catch (err) {
    if (err instanceof FileReadError) throw new DataError(`${file}: ${err.message}`);
    throw err;
  }
}

/** An error message without the file name it starts with ("a.png: truncated PNG …" → "truncated PNG …"). */
function withoutName(message: string, file: string): string {
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}

/** Folders below a named folder that are searched for photos (class folders, and folders inside them). */
const MAX_FOLDER_DEPTH = 4;

/**
 * The files named, with folders replaced by the images in them (sorted), and photos in a folder's sub-folders taken
 * with the sub-folder's name as their class folder (a folder of class folders, as a training folder is laid out); a
 * path that is missing, or a folder without images, is an entry with its error.
 */
function imageFiles(paths: string[]): Array<{ file: string; folder?: string } | { file: string; error: string }> {
  if (paths.length === 0) throw new UsageError('name at least one image file or folder to classify (or --csv FILE)');
  const out: Array<{ file: string; folder?: string } | { file: string; error: string }> = [];
  for (const p of paths) {
    if (!existsSync(p)) {
      out.push({ file: p, error: 'no such file or folder' });
    } else if (statSync(p).isDirectory()) {
      const inside = photosIn(p, undefined, 0);
      if (inside.length === 0)
        out.push({ file: p, error: `no photos (${[...IMAGE_ENDINGS].join(', ')}) in this folder or its sub-folders` });
      out.push(...inside);
    } else if (extname(p).toLowerCase() === '.csv') {
      throw new UsageError(`${p} is a CSV file: classify its rows with --csv ${p}`);
    } else {
      out.push({ file: p });
    }
  }
  return out;
}

/** Photos in a folder, then in its sub-folders (hidden names skipped), each sub-folder's photos under its class name. */
function photosIn(dir: string, folder: string | undefined, depth: number): Array<{ file: string; folder?: string }> {
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files = entries
    .filter((e) => !e.isDirectory() && IMAGE_ENDINGS.has(extname(e.name).toLowerCase()))
    .map((e) => ({ file: join(dir, e.name), ...(folder === undefined ? {} : { folder }) }));
  const below =
    depth >= MAX_FOLDER_DEPTH
      ? []
      : entries.filter((e) => e.isDirectory()).flatMap((e) => photosIn(join(dir, e.name), folder ?? e.name, depth + 1));
  return [...files, ...below];
}
