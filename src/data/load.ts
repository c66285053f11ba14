import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { sha256Hex } from '../util/hash.js';
import { stratifiedSubset } from './split.js';
import { takeLabels, takeRows } from '../linalg/matrix.js';
import { UsageError } from '../util/errors.js';
import { readCsv } from './csv.js';
import { DataError } from './errors.js';
import { withRows, type Dataset, type ImageShape } from './dataset.js';
import { FASHION_SHAPE, loadSplit, resolveDataDir } from './fashion-mnist.js';
import { checkClassesPresent, decodePhotos, listImageFolder, type PhotoFile } from './image-folder.js';
import { DEFAULT_PHOTO_SPEC, photoShape, type PhotoSpec } from './photo-decode.js';

/** Where the images come from (a pipeline file's `data` section, validated; paths relative to that file). */
export interface DataSource {
  format: 'idx' | 'csv' | 'folder';
  /** IDX folder (default: --data, $FASHION_MNIST_DIR, then the bundled copy), or the photo folder (format folder). */
  dir?: string;
  /** CSV files (format csv). */
  train?: string;
  test?: string;
  /** Stratified subsets: at most this many rows of each split. */
  limit?: { train?: number; test?: number };
  /** Photo folders: how a photo becomes a row (DEFAULT_PHOTO_SPEC's values where left out). */
  image?: Partial<PhotoSpec>;
  /** Photo folders with a validation/ split: fitted and chosen on with train/ (train, the default), or left out. */
  validation?: 'train' | 'ignore';
  /** Photo folders without split folders: each class's share held out for the test (0.2). */
  test_fraction?: number;
  /** A photo that cannot be decoded: stop (refuse, the default) or leave it out and list it (skip). */
  bad_photos?: 'refuse' | 'skip';
}

/** The images' shape and classes a data source gives, known before anything is read (photo folders: classes are not). */
export function sourceShape(section: Pick<DataSource, 'format' | 'image'>): ImageShape {
  return section.format === 'folder' ? photoShape(photoSpec(section)) : FASHION_SHAPE;
}

/** A data section's photo spec with the defaults filled in. */
export function photoSpec(section: Pick<DataSource, 'image'>): PhotoSpec {
  return { ...DEFAULT_PHOTO_SPEC, ...section.image };
}

export interface LoadedData {
  train: Dataset;
  /** Absent when the run does not evaluate on the test set. */
  test?: Dataset;
  /**
   * What was read, for the report: format, location, SHA-256 per file, whether IDX files were verified against the
   * official checksums (false after --no-verify; null for CSV, which has none), rows used and rows available.
   */
  info: {
    format: 'idx' | 'csv' | 'folder';
    location: string;
    checksums: Record<string, string>;
    verified: boolean | null;
    train_rows: number;
    test_rows: number | null;
    train_rows_available: number;
    test_rows_available: number | null;
    /** Photo folders: the spec photos were decoded with, photos left out (skip), and how the splits were made. */
    photos?: {
      image: PhotoSpec;
      layout: 'splits' | 'flat';
      splits: string;
      skipped: Array<{ name: string; reason: string }>;
      ignored_files: number;
      decoded_from_cache: boolean;
    };
  };
}

export interface LoadOptions {
  /** --data: an IDX folder that overrides the file's `data.dir`. */
  dataDir?: string;
  /** false = --no-verify: read IDX files whose SHA-256 is not the official one (their structure is still checked). */
  verify?: boolean;
  /** The pipeline file, whose folder relative paths in it are resolved against (without one: the working folder). */
  pipelineFile?: string;
  withTest: boolean;
  /** Seed for stratified `limit` subsets (and a flat photo folder's test split). */
  seed: number;
  /** Photo folders: progress while photos are decoded. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Loads train (and test) as the pipeline's `data` section says, applying stratified `limit`s. */
export async function loadData(section: DataSource, options: LoadOptions): Promise<LoadedData> {
  if (section.format === 'folder') return limited(await loadFolder(section, options), section, options.seed);
  const base = options.pipelineFile === undefined ? process.cwd() : dirname(resolve(options.pipelineFile));
  let train: Dataset;
  let test: Dataset | undefined;
  let location: string;
  const checksums: Record<string, string> = {};
  const csv = section.format === 'csv' && !options.dataDir;
  const verify = options.verify ?? true;
  if (csv) {
    const trainPath = resolve(base, section.train!);
    train = readRowsCsv(trainPath);
    checksums[trainPath] = sha256File(trainPath);
    if (options.withTest) {
      const testPath = resolve(base, section.test!);
      test = readRowsCsv(testPath);
      checksums[testPath] = sha256File(testPath);
    }
    location = trainPath;
  } else {
    if (options.dataDir && statSync(options.dataDir, { throwIfNoEntry: false })?.isFile()) {
      throw new UsageError(
        `--data ${options.dataDir}: a file; --data takes a folder of the four Fashion-MNIST IDX files (name CSV files in the pipeline file: data: { format: csv, train: …, test: … })`,
      );
    }
    const dir = options.dataDir ? resolve(options.dataDir) : section.dir ? resolve(base, section.dir) : resolveDataDir();
    const tr = loadSplit(dir, 'train', { verify });
    train = tr;
    checksums['train-images'] = tr.checksums.images;
    checksums['train-labels'] = tr.checksums.labels;
    if (options.withTest) {
      const te = loadSplit(dir, 'test', { verify });
      test = te;
      checksums['test-images'] = te.checksums.images;
      checksums['test-labels'] = te.checksums.labels;
    }
    location = dir;
  }
  return limited(
    {
      train,
      ...(test ? { test } : {}),
      info: {
        format: csv ? 'csv' : 'idx',
        location: displayPath(location),
        checksums: Object.fromEntries(Object.entries(checksums).map(([k, v]) => [displayPath(k), v])),
        verified: csv ? null : verify,
        train_rows: train.y.length,
        test_rows: test ? test.y.length : null,
        train_rows_available: train.y.length,
        test_rows_available: test ? test.y.length : null,
      },
    },
    section,
    options.seed,
  );
}

/** The data with the section's stratified `limit` subsets taken (rows available stay as read). */
function limited(data: LoadedData, section: DataSource, seed: number): LoadedData {
  let { train, test } = data;
  if (section.limit?.train !== undefined) train = subset(train, section.limit.train, seed);
  if (test && section.limit?.test !== undefined) test = subset(test, section.limit.test, seed + 1);
  return {
    train,
    ...(test ? { test } : {}),
    info: { ...data.info, train_rows: train.y.length, test_rows: test ? test.y.length : null },
  };
}

/**
 * A photo folder (data/image-folder.ts): train/ (+ validation/) and test/ when the folder has them, else a stratified
 * split of every photo drawn with the seed. The test photos are read only when the test is evaluated.
 */
async function loadFolder(section: DataSource, options: LoadOptions): Promise<LoadedData> {
  const base = options.pipelineFile === undefined ? process.cwd() : dirname(resolve(options.pipelineFile));
  if (!section.dir && !options.dataDir) throw new UsageError('data.format folder needs data.dir (or --data): the photo folder');
  const dir = options.dataDir ? resolve(options.dataDir) : resolve(base, section.dir!);
  const where = displayPath(dir);
  const listing = listImageFolder(dir, where);
  const spec = photoSpec(section);
  let trainPhotos: PhotoFile[];
  let testPhotos: PhotoFile[] | null;
  let splits: string;
  if (listing.layout === 'splits') {
    const useValidation = (section.validation ?? 'train') === 'train' && listing.photos.validation !== undefined;
    trainPhotos = [...listing.photos.train!, ...(useValidation ? listing.photos.validation! : [])];
    testPhotos = listing.photos.test ?? null;
    splits = `train/${useValidation ? ' + validation/' : ''} to fit and choose; test/ read once`;
    if (options.withTest && testPhotos === null) {
      throw new DataError(`${where}: no test/ folder (add one, or set evaluation.test: false)`);
    }
  } else {
    const all = listing.photos.all!;
    const fraction = section.test_fraction ?? 0.2;
    const held = new Set(stratifiedSubset(Uint8Array.from(all, (p) => p.label), Math.round(all.length * fraction), options.seed));
    trainPhotos = all.filter((_, i) => !held.has(i));
    testPhotos = all.filter((_, i) => held.has(i));
    splits = `${Math.round(fraction * 100)} % of each class held out for the test (stratified, seed ${options.seed})`;
  }
  checkClassesPresent(listing.classes, trainPhotos, `${where} (training photos)`);
  const decodeOptions = { badPhotos: section.bad_photos ?? 'refuse', signal: options.signal } as const;
  const withTest = options.withTest && testPhotos !== null;
  const total = trainPhotos.length + (withTest ? testPhotos!.length : 0);
  const progress = (offset: number) => (done: number) => options.onProgress?.(offset + done, total);
  const train = await decodePhotos(dir, trainPhotos, listing.classes, spec, { ...decodeOptions, onProgress: progress(0) });
  const test = withTest
    ? await decodePhotos(dir, testPhotos!, listing.classes, spec, { ...decodeOptions, onProgress: progress(trainPhotos.length) })
    : null;
  return {
    train: train.data,
    ...(test ? { test: test.data } : {}),
    info: {
      format: 'folder',
      location: where,
      checksums: { train: train.checksum, ...(test ? { test: test.checksum } : {}) },
      verified: null,
      train_rows: train.data.y.length,
      test_rows: test ? test.data.y.length : null,
      train_rows_available: train.data.y.length,
      test_rows_available: test ? test.data.y.length : null,
      photos: {
        image: spec,
        layout: listing.layout,
        splits,
        skipped: [...train.skipped, ...(test?.skipped ?? [])],
        ignored_files: listing.ignored,
        decoded_from_cache: train.cached && (test?.cached ?? true),
      },
    },
  };
}

/** A training or test CSV: a file with a header and no rows is an error naming it, not an empty data set. */
function readRowsCsv(path: string): Dataset {
  const data = readCsv(path, displayPath(path));
  if (data.y.length === 0) throw new DataError(`${displayPath(path)}: no data rows (header only)`);
  return data;
}

function subset(data: Dataset, size: number, seed: number): Dataset {
  const rows = stratifiedSubset(data.y, size, seed);
  return withRows(data, takeRows(data.X, rows), takeLabels(data.y, rows));
}

/** Paths under the working directory are shown relative to it, so reports read the same on every machine. */
function displayPath(path: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function sha256File(path: string): string {
  return sha256Hex(readFileSync(path));
}
