import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UsageError } from '../config/errors.js';
import { expandGrid } from '../config/grid.js';
import { loadPipelineFile } from '../config/load.js';
import { DataError } from '../data/errors.js';
import { CLASS_NAMES, PIXELS } from '../data/fashion-mnist.js';
import { readCsv } from '../data/csv.js';
import { prepareImage, type InvertMode, type PreparedImage } from '../data/image.js';
import { accuracy } from '../metrics/classification.js';
import { loadData } from '../data/load.js';
import { toolVersion } from '../evaluate/environment.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { matrix } from '../linalg/matrix.js';
import { assertSavable, encodeModel, fitKey, loadModel, modelInfo, type ModelInfo } from '../model/file.js';
import { ModelError } from '../model/snapshot.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { sampleGrid } from '../report/plots/galleries.js';
import { fixed, markdownTable } from '../report/text.js';
import { writeFilesAtomic } from '../report/write.js';
import { dataOption, outputOptions } from './options.js';
import { progressFor } from './progress.js';
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
  /** Training data for fitting a pipeline file (as `run --data`). */
  data?: string;
  /** Where models fitted from pipeline files are kept (models). */
  modelsDir?: string;
  invert?: InvertMode;
  /** Classes listed per image, most probable first (3). */
  top?: number;
  /** Also write a PNG of the images as the model saw them (28×28, grouped by predicted class). */
  show?: string;
  progress?: ProgressSink;
}

export interface Prediction {
  file: string;
  label: number;
  class: string;
  /** The predicted class's probability, when the estimator gives probabilities. */
  confidence: number | null;
  /** The `top` most probable classes (empty without probabilities). */
  top: Array<{ class: string; probability: number }>;
  /** The photo was negated (light background). */
  inverted: boolean;
}

export interface PredictResult {
  /** The model file used. */
  model: string;
  info: ModelInfo;
  /** How the model was obtained: loaded from its file, or fitted now (from a pipeline file) and saved. */
  origin: 'loaded' | 'fitted';
  fitSeconds: number | null;
  predictions: Prediction[];
  /** CSV input: accuracy against the file's label column. */
  accuracy?: number;
}

/** `pipeline predict`: classify photos with a saved model, or with a pipeline file fitted (once) on the training set. */
export async function runPredict(options: PredictOptions): Promise<PredictResult> {
  const top = options.top ?? 3;
  if (!Number.isInteger(top) || top < 0 || top > CLASS_NAMES.length) {
    throw new UsageError(`--top must be a whole number from 0 to ${CLASS_NAMES.length}, got ${options.top}`);
  }
  if (options.csv !== undefined && options.images.length > 0) throw new UsageError('give images or --csv, not both');
  // the inputs first: a bad one is reported before a fit that may take minutes
  const rows: Array<Pick<PreparedImage, 'pixels' | 'inverted'> & { file: string }> = [];
  let truth: Uint8Array | null = null;
  if (options.csv !== undefined) {
    if (existsSync(options.csv) && statSync(options.csv).isDirectory()) throw new UsageError(`--csv needs a CSV file, got the folder ${options.csv}`);
    const data = readCsv(options.csv);
    if (data.y.length === 0) throw new DataError(`${options.csv}: no rows to classify (only a header)`);
    truth = data.y;
    for (let i = 0; i < data.y.length; i++) {
      rows.push({ file: `${options.csv}:${i + 2}`, pixels: data.X.data.subarray(i * PIXELS, (i + 1) * PIXELS), inverted: false });
    }
  } else {
    for (const file of imageFiles(options.images)) rows.push({ file, ...(await prepareImage(readImage(file), file, options.invert ?? 'auto')) });
  }
  const { pipeline, info, path, origin, fitSeconds } = await obtainModel(options);
  const X = matrix(rows.length, PIXELS);
  rows.forEach((r, i) => X.data.set(r.pixels, i * PIXELS));
  const { labels, proba } = await pipeline.predictWithProba(X);
  const predictions = rows.map((r, i): Prediction => {
    const label = labels[i];
    const p = proba ? Array.from(proba.data.subarray(i * proba.cols, (i + 1) * proba.cols)) : null;
    const ranked = p ? p.map((probability, c) => ({ class: CLASS_NAMES[c] ?? `class ${c}`, probability })).sort((a, b) => b.probability - a.probability) : [];
    return {
      file: r.file,
      label,
      class: CLASS_NAMES[label] ?? `class ${label}`,
      confidence: p ? p[label] : null,
      top: ranked.slice(0, top),
      inverted: r.inverted,
    };
  });
  if (options.show) {
    const perClass = CLASS_NAMES.map((_, c) => rows.flatMap((r, i) => (labels[i] === c ? [{ id: i, pixels: r.pixels }] : [])));
    const cut = perClass.some((images) => images.length > SHOW_PER_CLASS);
    const picture = await sampleGrid({
      title: `What ${info.name} saw: ${rows.length} image${rows.length === 1 ? '' : 's'} by predicted class`,
      subtitle: [
        (options.csv ? `rows of ${options.csv}, 28×28 (shown 3×)` : 'each photo after greyscale, negation, trimming and resizing to 28×28 (shown 3×)') +
          (cut ? `; the first ${SHOW_PER_CLASS} of each class` : ''),
      ],
      rows: CLASS_NAMES.flatMap((name, c) => (perClass[c].length > 0 ? [{ name, label: c, images: perClass[c].slice(0, SHOW_PER_CLASS) }] : [])),
    });
    writeFilesAtomic([{ path: options.show, content: picture.png }]);
  }
  return { model: path, info, origin, fitSeconds, predictions, ...(truth ? { accuracy: accuracy(truth, labels) } : {}) };
}

/** CSV input's predictions as CSV: the file's line, label, class name and probability (empty without one). */
export function predictionCsv(result: PredictResult): string {
  const lines = ['line,label,class,probability'];
  for (const p of result.predictions) {
    lines.push(`${p.file.slice(p.file.lastIndexOf(':') + 1)},${p.label},${p.class},${p.confidence === null ? '' : p.confidence.toFixed(4)}`);
  }
  return lines.join('\n') + '\n';
}

function readImage(file: string): Uint8Array {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DataError(`${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (err as Error).message})`}`);
  }
}

/** The files named, with folders replaced by the images in them (sorted). */
function imageFiles(paths: string[]): string[] {
  if (paths.length === 0) throw new UsageError('name at least one image file or folder to classify (or --csv FILE)');
  const out: string[] = [];
  for (const p of paths) {
    if (!existsSync(p)) throw new DataError(`${p}: no such file or folder`);
    if (statSync(p).isDirectory()) {
      const inside = readdirSync(p)
        .filter((f) => IMAGE_ENDINGS.has(extname(f).toLowerCase()))
        .sort()
        .map((f) => join(p, f));
      if (inside.length === 0) throw new DataError(`${p}: no .png, .jpg, .jpeg, .webp, .gif or .bmp files in this folder`);
      out.push(...inside);
    } else if (extname(p).toLowerCase() === '.csv') {
      throw new UsageError(`${p} is a CSV file: classify its rows with --csv ${p}`);
    } else {
      out.push(p);
    }
  }
  return out;
}

async function obtainModel(
  options: PredictOptions,
): Promise<{ pipeline: Pipeline; info: ModelInfo; path: string; origin: PredictResult['origin']; fitSeconds: number | null }> {
  if (!/\.ya?ml$/i.test(options.model)) {
    const { pipeline, info } = loadModel(options.model);
    return { pipeline, info, path: options.model, origin: 'loaded', fitSeconds: null };
  }
  // A pipeline file: reuse models/<name>.model when it was fitted from the same steps, training data and seed by this
  // version; otherwise fit on all training rows and save.
  const loaded = loadPipelineFile(options.model, { test: false });
  const { config } = loaded;
  assertSavable(config.steps, options.model);
  const seed = config.evaluation.seed;
  const data = loadData(config.data, { dataDir: options.data, pipelineFile: options.model, withTest: false, seed });
  const key = fitKey(config.steps, data.info, seed);
  const path = defaultModelPath(config.name, options.modelsDir);
  // a file with a grid: section stands for its best candidate, which only `grid --save-model` knows
  const searched = loaded.grid.length > 0;
  const accepted = new Set(searched ? expandGrid(loaded.grid, config.steps, loaded.source).map((c) => fitKey(c.steps, data.info, seed)) : [key]);
  try {
    const saved = loadModel(path);
    if (saved.info.tool === toolVersion() && accepted.has(saved.info.fit_key)) {
      return { pipeline: saved.pipeline, info: saved.info, path, origin: 'loaded', fitSeconds: null };
    }
  } catch (err) {
    if (!(err instanceof ModelError)) throw err; // none yet, or a damaged or older one: fitted below
  }
  if (searched) {
    throw new UsageError(
      `${options.model} has a grid: section; run \`pipeline grid ${options.model} --save-model\` first, then predict with that file (or with ${path})`,
    );
  }
  const progress = options.progress;
  progress?.begin(config.steps.length, `fitting ${config.name}`);
  const t0 = performance.now();
  let pipeline: Pipeline;
  try {
    pipeline = await Pipeline.fromSteps(config.steps).fit(data.train.X, data.train.y, undefined, (id) => progress?.advance(`fit ${id}`));
  } finally {
    progress?.end();
  }
  const fitSeconds = (performance.now() - t0) / 1000;
  const info = modelInfo({ name: config.name, description: config.description, source: options.model, steps: config.steps, data: data.info, seed });
  writeFilesAtomic([{ path, content: encodeModel(pipeline, config.steps, info) }]);
  return { pipeline, info, path, origin: 'fitted', fitSeconds };
}

/** Where the model came from, one line. */
function modelLine(result: PredictResult): string {
  const how =
    result.origin === 'fitted'
      ? `fitted on ${result.info.training.rows} training images in ${fixed(result.fitSeconds!, 1)} s and saved to ${result.model}`
      : `loaded from ${result.model}`;
  return `${result.info.name}: ${how}`;
}

/** The terminal table (markdown, so it can be pasted into a report). */
export function predictionTable(result: PredictResult): string {
  const withTop = result.predictions.some((p) => p.top.length > 1);
  const header = ['image', 'class', 'probability', ...(withTop ? ['runners-up'] : [])];
  const rows = result.predictions.map((p) => [
    p.file + (p.inverted ? ' (negated)' : ''),
    p.class,
    p.confidence === null ? '—' : fixed(p.confidence, 2),
    ...(withTop ? [p.top.slice(1).filter((t) => t.probability >= 0.005).map((t) => `${t.class} ${fixed(t.probability, 2)}`).join(', ')] : []),
  ]);
  return markdownTable(header, rows, ['l', 'l', 'r', ...(withTop ? ['l' as const] : [])]);
}

interface PredictArgs {
  model: string;
  images: string[];
  csv?: string;
  data?: string;
  invert: InvertMode;
  top: number;
  json: boolean;
  quiet: boolean;
  models: string;
  show?: string;
}

export const predictCommand: CommandModule<object, PredictArgs> = {
  command: 'predict <model> [images..]',
  describe: 'classify photos (PNG, JPEG, WebP, GIF, BMP) with a model saved by `run --save-model`, or with a pipeline file (fitted once, then kept in models/)',
  builder: (y: Argv) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'a model file (models/<name>.model) or a pipeline YAML file' })
      .positional('images', { type: 'string', array: true, describe: 'image files, or folders of images' })
      .options({
        ...dataOption,
        csv: {
          type: 'string',
          normalize: true,
          describe: "instead of images: classify every row of a CSV in Kaggle's layout; prints CSV (line,label,class,probability) and the accuracy against its label column",
        },
        invert: {
          choices: ['auto', 'always', 'never'] as const,
          default: 'auto' as InvertMode,
          describe: 'negate the photo so the garment is light on black as in Fashion-MNIST (auto: when the garment is darker than the border)',
        },
        top: { type: 'number', default: 3, describe: 'most probable classes to list per image' },
        json: { type: 'boolean', default: false, describe: 'print the predictions as JSON instead of a table' },
        models: { type: 'string', default: 'models', normalize: true, describe: 'folder where models fitted from pipeline files are kept' },
        show: { type: 'string', normalize: true, describe: 'also write a PNG of the images as the model saw them (28×28, grouped by predicted class)' },
        quiet: outputOptions.quiet,
      })
      .example('$0 predict pipelines/pca-rf.yaml photos/', 'fit pca-rf once (saved as models/pca-rf.model), classify every image in photos/')
      .example('$0 predict models/pca-svm.model shirt.jpg boot.png --json', 'classify two photos with a saved model')
      .example('$0 predict models/pca-rf.model photos/ --show seen.png', 'also draw the 28×28 images the model was given')
      .example('$0 predict models/pca-rf.model --csv fashion-mnist_test.csv > predictions.csv', 'classify the rows of a Kaggle CSV') as unknown as Argv<PredictArgs>,
  handler: async (args: ArgumentsCamelCase<PredictArgs>) => {
    const result = await runPredict({
      model: args.model,
      images: args.images ?? [],
      csv: args.csv,
      data: args.data,
      invert: args.invert,
      top: args.top,
      modelsDir: args.models,
      show: args.show,
      progress: progressFor(args.quiet),
    });
    if (args.json) {
      const extra = result.accuracy === undefined ? {} : { accuracy: result.accuracy };
      console.log(JSON.stringify({ model: result.model, pipeline: result.info.name, ...extra, predictions: result.predictions }, null, 2));
      return;
    }
    if (args.csv !== undefined) {
      // the predictions are the output (stdout, for a pipe or a redirect); the summary goes to stderr
      process.stdout.write(predictionCsv(result));
      if (!args.quiet) {
        process.stderr.write(`${modelLine(result)}\n`);
        process.stderr.write(`${result.predictions.length} rows of ${args.csv}: accuracy ${fixed(result.accuracy!)} against its label column\n`);
        if (args.show) process.stderr.write(`wrote ${args.show}\n`);
      }
      return;
    }
    if (!args.quiet) console.log(modelLine(result));
    console.log(predictionTable(result));
    if (args.show && !args.quiet) console.log(`wrote ${args.show}`);
  },
};
