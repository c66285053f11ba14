import { isAbsolute, join, relative } from 'node:path';
import { UsageError } from '../config/errors.js';
import { loadPipelineFile, type LoadedConfig } from '../config/load.js';
import type { Dataset } from '../data/dataset.js';
import { loadSplit, resolveDataDir } from '../data/fashion-mnist.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { loadDataFor } from './load-data.js';
import { classCounts, classPixelStats } from '../metrics/pixels.js';
import { classMeansPicture, samplesPicture, type ReportPicture } from '../report/pictures.js';
import { fontsAvailable } from '../report/plots/figure.js';
import { showMarkdown, type ShowClassRow, type ShowResult } from '../report/show.js';
import { checkOutputs, writeFilesAtomic } from '../report/write.js';

export type { ShowClassRow, ShowResult };
export { showMarkdown, showSummary } from '../report/show.js';

export interface ShowOptions {
  /** A pipeline file whose data section to describe (a photo folder, say); default Fashion-MNIST's IDX files. */
  file?: string;
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  out: string;
  /** Seed for the sample grid (42). */
  seed?: number;
  /** Images per class in the sample grid (10). */
  perClass?: number;
  /** Photo folders: progress while photos are decoded. */
  progress?: ProgressSink;
  signal?: AbortSignal;
}

/** `pipeline show`: facts about the data without training — counts and pixel statistics per class, a sample grid. */
export async function runShow(options: ShowOptions): Promise<ShowResult> {
  const seed = options.seed ?? 42;
  const perClass = options.perClass ?? 10;
  if (!Number.isInteger(seed) || seed < 0)
    throw new UsageError(`--seed must be a whole number ≥ 0, got ${options.seed}`);
  if (!Number.isInteger(perClass) || perClass < 1 || perClass > 30) {
    throw new UsageError(`--per-class must be a whole number from 1 to 30, got ${options.perClass}`);
  }
  // Fashion-MNIST's page is data.md; a pipeline file's data, <name>-data.md (so neither replaces the other)
  const loaded = options.file === undefined ? null : loadPipelineFile(options.file, { test: true }, { grid: 'parse' });
  const folder = loaded ? `${loaded.config.name}-data` : 'data';
  checkOutputs([{ what: `--out ${options.out}`, dir: options.out, names: [`${folder}.md`, folder] }]);
  const { train, test, dataDir, photos, csv } = await showData(options, loaded);
  const names = train.classes;
  const n = names.length;
  const stats = classPixelStats(train.X, train.y, n, train.shape);
  const testCounts = classCounts(test.y, n);
  const all = classPixelStats(train.X, new Uint8Array(train.y.length), 1, train.shape)[0];
  const { meanImage: _drop, images: _images, ...overallStats } = all;
  const classes: ShowClassRow[] = stats.map(({ meanImage: _m, images, ...s }) => ({
    ...s,
    name: names[s.label],
    train: images,
    test: testCounts[s.label],
  }));
  const overall = { ...overallStats, train: train.y.length, test: test.y.length };

  const pictures: ReportPicture[] = [
    await samplesPicture(train, names, seed, perClass),
    await classMeansPicture(
      train,
      names,
      stats.map((s) => s.meanImage),
    ),
  ];
  const markdown = showMarkdown({
    dataDir: displayPath(dataDir),
    shape: train.shape,
    photos,
    csv,
    classes,
    overall,
    pictures: pictures.map((p) => ({ ...p, file: `${folder}/${p.file}` })),
  });
  const files = {
    markdown: join(options.out, `${folder}.md`),
    pictures: pictures.map((p) => join(options.out, folder, p.file)),
  };
  writeFilesAtomic([
    { path: files.markdown, content: markdown },
    ...pictures.map((p, i) => ({ path: files.pictures[i], content: p.picture.png })),
  ]);
  const warnings = fontsAvailable()
    ? []
    : ["no fonts are installed, so the pictures have no text (install e.g. Debian's fonts-dejavu-core)"];
  return {
    dataDir,
    photos,
    trainRows: train.y.length,
    testRows: test.y.length,
    classes,
    overall,
    markdown,
    files,
    warnings,
  };
}

/**
 * The training and test images to describe: a pipeline file's data (its folder of photos, CSV or IDX files; a photo
 * folder's train/ and validation/ together, as the pipeline fits on them when the file says so), else Fashion-MNIST.
 */
async function showData(
  options: ShowOptions,
  loaded: LoadedConfig | null,
): Promise<{ train: Dataset; test: Dataset; dataDir: string; photos: boolean; csv: boolean }> {
  if (loaded === null) {
    const dataDir = resolveDataDir(options.data);
    return {
      train: loadSplit(dataDir, 'train', options),
      test: loadSplit(dataDir, 'test', options),
      dataDir,
      photos: false,
      csv: false,
    };
  }
  const data = await loadDataFor(loaded, options, true);
  return {
    train: data.train,
    test: data.test!,
    dataDir: data.info.location,
    photos: data.info.format === 'folder',
    csv: data.info.format === 'csv',
  };
}

/** Under the working directory a path is shown relative to it, so the page reads the same on every machine. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
