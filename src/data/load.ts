import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { sha256Hex } from '../util/hash.js';
import { stratifiedSubset } from './split.js';
import { takeLabels, takeRows } from '../linalg/matrix.js';
import { UsageError } from '../util/errors.js';
import { readCsv } from './csv.js';
import { DataError } from './errors.js';
import type { Dataset } from './dataset.js';
import { loadSplit, resolveDataDir } from './fashion-mnist.js';

/** Where the images come from (a pipeline file's `data` section, validated; paths relative to that file). */
export interface DataSource {
  format: 'idx' | 'csv';
  /** IDX folder (default: --data, $FASHION_MNIST_DIR, then the bundled copy). */
  dir?: string;
  /** CSV files (format csv). */
  train?: string;
  test?: string;
  /** Stratified subsets: at most this many rows of each split. */
  limit?: { train?: number; test?: number };
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
    format: 'idx' | 'csv';
    location: string;
    checksums: Record<string, string>;
    verified: boolean | null;
    train_rows: number;
    test_rows: number | null;
    train_rows_available: number;
    test_rows_available: number | null;
  };
}

export interface LoadOptions {
  /** --data: an IDX folder that overrides the file's `data.dir`. */
  dataDir?: string;
  /** false = --no-verify: read IDX files whose SHA-256 is not the official one (their structure is still checked). */
  verify?: boolean;
  /** The pipeline file, whose folder relative paths in it are resolved against. */
  pipelineFile: string;
  withTest: boolean;
  /** Seed for stratified `limit` subsets. */
  seed: number;
}

/** Loads train (and test) as the pipeline's `data` section says, applying stratified `limit`s. */
export function loadData(section: DataSource, options: LoadOptions): LoadedData {
  const base = dirname(resolve(options.pipelineFile));
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
  const trainAvailable = train.y.length;
  const testAvailable = test ? test.y.length : null;
  if (section.limit?.train !== undefined) train = subset(train, section.limit.train, options.seed);
  if (test && section.limit?.test !== undefined) test = subset(test, section.limit.test, options.seed + 1);
  return {
    train,
    ...(test ? { test } : {}),
    info: {
      format: csv ? 'csv' : 'idx',
      location: displayPath(location),
      checksums: Object.fromEntries(Object.entries(checksums).map(([k, v]) => [displayPath(k), v])),
      verified: csv ? null : verify,
      train_rows: train.y.length,
      test_rows: test ? test.y.length : null,
      train_rows_available: trainAvailable,
      test_rows_available: testAvailable,
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
  return { X: takeRows(data.X, rows), y: takeLabels(data.y, rows) };
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
