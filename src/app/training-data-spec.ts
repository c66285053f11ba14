import { basename, dirname, join, resolve } from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { loadData, type DataSource, type LoadedData } from '../data/load.js';
import { warmPool } from '../runtime/pool.js';
import { COMMON_TASK_MODULES } from '../stages/task-modules.js';
import type { DataLocation } from './load-data.js';

/**
 * What a process on another machine needs to load the same training rows as this one: the pipeline file's data
 * section without a path (an IDX or photo folder is the worker's own `--data`; a CSV file is named by its file name
 * alone, found in the worker's `--data` folder), the seed of its stratified subsets, and the SHA-256 of the training
 * files this side read, which the worker checks against its copy. A worker never opens a path a job names.
 */
export interface TrainingDataSpec {
  source: DataSource;
  seed: number;
  checksums: Record<string, string>;
}

/** The spec of the training data a pipeline file loaded (see TrainingDataSpec). */
export function trainingDataSpec(loaded: LoadedConfig, data: LoadedData): TrainingDataSpec {
  const { config, file } = loaded;
  const base = dirname(resolve(file));
  const section = config.data;
  const limit = section.limit ? { limit: section.limit } : {};
  // a photo folder, like an IDX folder, is the worker's own --data: a job names no path of it
  const { dir: _dir, train: _train, test: _test, ...photos } = section;
  const source: DataSource =
    section.format === 'csv'
      ? { format: 'csv', train: basename(resolve(base, section.train!)), ...limit }
      : section.format === 'folder'
        ? photos
        : { format: 'idx', ...limit };
  return { source, seed: config.evaluation.seed, checksums: trainChecksums(data.info) };
}

/** The checksums of the training files alone (a worker never reads the test split). */
export function trainChecksums(info: LoadedData['info']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(info.checksums).filter(
      ([name]) => name.startsWith('train-') || name === info.location || (info.format === 'folder' && name === 'train'),
    ),
  );
}

/** Loads the training rows a TrainingDataSpec names, with the same loader as run and grid (`dataDir` = --data). */
export function loadTrainingData(
  spec: Pick<TrainingDataSpec, 'source' | 'seed'>,
  where: DataLocation = {},
): Promise<LoadedData> {
  warmPool(COMMON_TASK_MODULES);
  return loadData(spec.source, {
    dataDir: where.data,
    verify: where.verify,
    pipelineFile: join(process.cwd(), 'queue-job'),
    withTest: false,
    seed: spec.seed,
  });
}
