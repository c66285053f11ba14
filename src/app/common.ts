import { UsageError } from '../config/errors.js';
import { UserError } from '../util/errors.js';
import type { Candidate } from '../config/grid.js';
import type { LoadedConfig } from '../config/load.js';
import { basename, dirname, join, resolve } from 'node:path';
import { loadData, type DataSource, type LoadedData } from '../data/load.js';
import { warmPool } from '../runtime/pool.js';
import { COMMON_TASK_MODULES } from '../stages/task-modules.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { smallestClassCount } from '../data/split.js';
import { CandidateFitError } from '../evaluate/search.js';
import { StepParamError } from '../pipeline/pipeline.js';
import { describe } from '../evaluate/grid.js';
import { writeFilesAtomic, WriteError, type PlannedOutput } from '../report/write.js';

/** The options of every command that reads data: --data (an IDX folder) and --no-verify (verify: false). */
export interface DataLocation {
  data?: string;
  verify?: boolean;
}

/** The data a pipeline file asks for (or --data's folder), with the test split when it evaluates one. */
export function loadDataFor(
  loaded: LoadedConfig,
  where: DataLocation & { progress?: ProgressSink; signal?: AbortSignal },
  withTest = loaded.config.evaluation.test,
): Promise<LoadedData> {
  const { config, file } = loaded;
  warmPool(COMMON_TASK_MODULES); // the workers start and load their code while the data is read
  return loadData(config.data, {
    dataDir: where.data,
    verify: where.verify,
    pipelineFile: file,
    withTest,
    seed: config.evaluation.seed,
    onProgress: decodeProgress(where.progress),
    signal: where.signal,
  });
}

/** Photo decoding's (done, total) calls as a progress bar of its own. */
export function decodeProgress(
  progress: ProgressSink | undefined,
): ((done: number, total: number) => void) | undefined {
  if (!progress) return undefined;
  let shown = -1;
  return (done, total) => {
    if (shown < 0) {
      progress.begin(total, 'decoding photos');
      shown = 0;
    }
    for (; shown < done; shown++) progress.advance('decoding photos');
    if (done === total) progress.end();
  };
}

/** The reports named after a pipeline in --out (and their pictures' folder): what checkOutputs is given. */
export function reportOutputs(out: string, name: string, withFolder = false): PlannedOutput {
  return {
    what: `--out ${out}`,
    dir: out,
    names: [`${name}.md`, `${name}.json`, ...(withFolder ? [name] : [])],
    longNameFix: "shorten the pipeline's name",
  };
}

/**
 * Saves a model after its reports were written, so a failed save (a full disk) never loses them: the error says the
 * reports are there.
 */
export function saveModelAfterReports(model: { path: string; content: Uint8Array }, reports: string[]): void {
  try {
    writeFilesAtomic([model]);
  } catch (err) {
    if (!(err instanceof WriteError)) throw err;
    throw new UserError(
      `${model.path}: cannot save the model: ${err.reason}; the reports were written: ${reports.join(' and ')}`,
      1,
    );
  }
}

/** Refuses more folds than the smallest class has rows (reported at evaluation.folds in the file, or at --folds). */
export function checkFolds({ config, source, overridden }: LoadedConfig, data: LoadedData): void {
  const k = config.evaluation.folds;
  if (k === 0) return;
  const smallest = smallestClassCount(data.train.y);
  if (k > smallest && overridden.has('folds')) {
    throw new UsageError(
      `--folds ${k}: the smallest class in the training data has ${smallest} rows; use at most ${smallest}`,
    );
  }
  if (k > smallest) {
    throw source.error(
      ['evaluation', 'folds'],
      `evaluation.folds: ${k} folds but the smallest class in the training data has ${smallest} rows; use at most ${smallest}`,
    );
  }
}

/**
 * Runs work that fits stages, turning a param that does not fit the data into an error at its place: the step's param
 * in the file, or for a grid candidate the grid value (or --param option) that set it.
 */
export async function withPositions<T>(
  loaded: LoadedConfig,
  work: () => Promise<T>,
  candidates: readonly Candidate[] = [],
): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const { source, config } = loaded;
    if (err instanceof CandidateFitError) {
      const candidate = candidates.find((c) => c.key === err.candidate.key);
      const step = err.candidate.steps[err.error.stepIndex];
      const key = `${step.id}.${err.error.param}`;
      const origin = candidate?.origins[key];
      const grid =
        Object.keys(err.candidate.params).length > 0 ? ` (grid candidate ${describe(err.candidate.params)})` : '';
      const message = `${key}: ${err.error.detail}${grid}`;
      if (origin && 'option' in origin) throw new UsageError(`${origin.option}: ${message}`);
      throw source.error(
        origin ? origin.path : ['steps', err.error.stepIndex, step.stage, err.error.param],
        grid ? message : `${step.stage}.${err.error.param}: ${err.error.detail}`,
      );
    }
    if (err instanceof StepParamError) {
      const step = config.steps[err.stepIndex];
      throw source.error(['steps', err.stepIndex, step.stage, err.param], `${step.stage}.${err.param}: ${err.detail}`);
    }
    throw err;
  }
}

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
