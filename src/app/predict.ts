import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UsageError } from '../config/errors.js';
import { DataError } from '../data/errors.js';
import { CLASS_NAMES, PIXELS } from '../data/fashion-mnist.js';
import { readCsv } from '../data/csv.js';
import { prepareImage, type InvertMode, type PreparedImage } from '../data/image.js';
import { accuracy } from '../metrics/classification.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { sampleGrid } from '../report/plots/galleries.js';
import { unreadableLine, type Prediction, type PredictResult, type UnreadablePhoto } from '../report/summaries.js';
import { checkOutputs, plannedFile, writeFilesAtomic } from '../report/write.js';
import { loadCatalogue } from './catalogue.js';
import { classifyPixels, obtainModel } from './model.js';

export type { Prediction, PredictResult };
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
