import { join, resolve } from 'node:path';
import { UsageError } from '../config/errors.js';
import { applyParamOptions, expandGrid } from '../config/param-grid.js';
import { loadPipelineFile } from '../config/load.js';
import { assertCheckpointExists, Checkpoint } from '../evaluate/checkpoint.js';
import {
  describe as describeParams,
  planGrid,
  runGrid,
  type GridMetric,
  type GridPlan,
  type GridResult,
} from '../evaluate/grid-search.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { InterruptedError, type UnitExecutor } from '../evaluate/search.js';
import { TimingHistory } from '../evaluate/timing-history.js';
import { encodeModel } from '../model/format.js';
import { assertSavable, modelInfo } from '../model/provenance.js';
import { calibrateUnfamiliar } from '../model/unfamiliar.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { gridToJson, gridToMarkdown, planText } from '../report/grid-report.js';
import { stringifyJson } from '../report/json.js';
import { checkOutputs, plannedFile, writeFilesAtomic } from '../report/write.js';
import { Interrupted } from '../util/errors.js';
import { cacheFolderProblem, defaultCacheDir, openFitCache } from './cache-folder.js';
import { checkFolds, withPositions } from './data-checks.js';
import { loadDataFor } from './load-data.js';
import { reportOutputs, saveModelAfterReports } from './outputs.js';
import { trainingDataSpec, type TrainingDataSpec } from './training-data-spec.js';
import { defaultModelPath } from './run.js';

export interface GridCommandOptions {
  file: string;
  params?: string[];
  metric?: GridMetric;
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  folds?: number;
  seed?: number;
  out: string;
  /** false = --no-cache: no reuse of fitted transformers, in memory or on disk. */
  cache?: boolean;
  cacheDir?: string;
  cacheSizeMb?: number;
  resume?: boolean;
  dryRun?: boolean;
  progress?: ProgressSink;
  signal?: AbortSignal;
  command?: string;
  /** Also write the best candidate fitted on all training rows to this model file ('' = models/<name>.model). */
  saveModel?: string;
  /** Told when a damaged disk-cache entry is discarded (it is recomputed). */
  onCacheDamaged?: (file: string) => void;
  /** Told of trouble that costs the cache or the checkpoint, never the search (one line each). */
  onWarning?: (message: string) => void;
  /**
   * Runs the (candidate, fold) units elsewhere (`--queue`: src/queue's coordinator), given what a worker needs to load
   * the same training rows; default: this process. Ranking, checkpoint, refit and test stay here either way.
   */
  executor?: (data: TrainingDataSpec) => UnitExecutor;
}

export type GridCommandResult =
  | { kind: 'plan'; plan: GridPlan; text: string }
  | { kind: 'done'; result: GridResult; files: { markdown: string; json: string; model?: string } };

/** results/<name>-grid, without doubling the suffix for pipelines already named …-grid. */
export function gridReportName(name: string): string {
  return name.endsWith('-grid') ? name : `${name}-grid`;
}

/** `pipeline grid`: expand the grid, score every candidate on shared folds, refit the best, write the report. */
export async function runGridCommand(options: GridCommandOptions): Promise<GridCommandResult> {
  if (options.folds !== undefined && (!Number.isInteger(options.folds) || options.folds < 2)) {
    throw new UsageError(`--folds must be a whole number ≥ 2, got ${options.folds}`);
  }
  if (options.cacheSizeMb !== undefined && !(options.cacheSizeMb > 0)) {
    throw new UsageError(`--cache-size must be a number of megabytes > 0, got ${options.cacheSizeMb}`);
  }
  const loaded = loadPipelineFile(options.file, { folds: options.folds, seed: options.seed });
  const candidates = expandGrid(
    applyParamOptions(loaded.grid, options.params ?? []),
    loaded.config.steps,
    loaded.source,
    loaded.shape,
  );
  if (loaded.config.evaluation.folds < 2) {
    throw new UsageError('grid search needs cross-validation: set evaluation.folds (or --folds) to 2 or more');
  }
  if (candidates.length === 0 && loaded.grid.length > 0)
    throw loaded.source.error(
      ['grid'],
      'grid: has no keys; write `step.param: [values]` entries, e.g. knn.k: [1, 3, 5]',
    );
  if (candidates.length === 0)
    throw new UsageError('the grid is empty: add a grid: section to the file or --param stage.param=a,b');
  if (options.dryRun && options.saveModel !== undefined) {
    throw new UsageError('--dry-run only prints the plan and fits nothing, so there is no model to --save-model');
  }
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const cacheOn = options.cache !== false;
  const name = loaded.config.name;
  const checkpointPath = join(cacheDir, 'checkpoints', `${name}.jsonl`);
  if (options.resume) assertCheckpointExists(checkpointPath); // before any folder is made or data read
  if (options.saveModel !== undefined) for (const c of candidates) assertSavable(c.steps, '--save-model');
  if (!options.dryRun) {
    checkOutputs([
      reportOutputs(options.out, gridReportName(name)),
      ...(options.saveModel === undefined
        ? []
        : [plannedFile('--save-model', options.saveModel || defaultModelPath(name), 'choose a shorter file name')]),
    ]);
  }
  const cacheProblem = options.dryRun ? null : cacheFolderProblem(cacheDir, name);
  if (cacheProblem) {
    options.onWarning?.(
      `cache folder ${cacheDir}: ${cacheProblem}; searching without the disk cache and checkpoint (an interrupted search will start again; --cache-dir names another folder)`,
    );
  }
  const cache = openFitCache({ ...options, cacheDir, disk: !cacheProblem }, options.onCacheDamaged, options.onWarning);
  const checkpointOptions = { source: resolve(options.file), onWarning: options.onWarning };
  // an unusable cache folder: an earlier checkpoint is still read, nothing is written
  const checkpointMode = (resume: 'resume' | 'read', otherwise: 'fresh' | 'none') =>
    options.resume ? (cacheProblem ? 'read' : resume) : cacheProblem ? 'none' : otherwise;
  let fitted: Pipeline | null = null;
  const data = await loadDataFor(loaded, options);
  checkFolds(loaded, data);
  const gridOptions = {
    config: loaded.config,
    file: loaded.file,
    data,
    candidates,
    metric: options.metric ?? 'accuracy',
    cache,
    timings: new TimingHistory(cacheProblem ? null : join(cacheDir, 'timings.json')),
    progress: options.progress,
    signal: options.signal,
    onFitted: options.saveModel === undefined ? undefined : (p: Pipeline) => (fitted = p),
    executor: options.dryRun ? undefined : options.executor?.(trainingDataSpec(loaded, data)),
  };
  if (options.dryRun) {
    // A dry run only reads the checkpoint; it never starts or truncates one.
    const plan = planGrid({
      ...gridOptions,
      checkpoint: (id) => new Checkpoint(checkpointPath, id, checkpointMode('read', 'none'), checkpointOptions),
    });
    return {
      kind: 'plan',
      plan,
      text: planText({ name: loaded.config.name, plan, cacheEnabled: cacheOn, resume: options.resume ?? false }),
    };
  }
  let checkpoint: Checkpoint | null = null;
  // (a getter: the checkpoint is made inside runGrid, which TypeScript's flow analysis does not see)
  const kept = () => checkpoint as Checkpoint | null;
  /** The checkpoint to --resume from after an interrupt, or null when none could be written. */
  const resumable = () => (cacheProblem || kept()?.usable === false ? null : checkpointPath);
  let result: GridResult;
  try {
    result = await withPositions(
      loaded,
      () =>
        runGrid({
          ...gridOptions,
          checkpoint: (id) =>
            (checkpoint = new Checkpoint(checkpointPath, id, checkpointMode('resume', 'fresh'), checkpointOptions)),
        }),
      candidates,
    );
  } catch (err) {
    if (err instanceof InterruptedError) throw new Interrupted(err.finished + (kept()?.resumed ?? 0), resumable());
    throw err;
  }
  // a signal during the refit: the checkpoint is complete, so --resume only refits; nothing is written
  if (options.signal?.aborted) throw new Interrupted(result.plan.units, resumable());
  const base = join(options.out, gridReportName(result.name));
  const files: { markdown: string; json: string; model?: string } = { markdown: `${base}.md`, json: `${base}.json` };
  let model: { path: string; content: Uint8Array } | null = null;
  if (fitted) {
    files.model = options.saveModel || defaultModelPath(result.name);
    const info = modelInfo({
      name: result.name,
      description:
        `best of the grid (${describeParams(result.best.params)}): ${result.config.description ?? ''}`.trim(),
      source: options.file,
      steps: result.best_steps,
      data: result.data,
      classes: data.train.classes,
      seed: result.seed,
      testAccuracy: result.test?.accuracy,
      cvAccuracy: result.metric === 'accuracy' ? result.best.mean : undefined,
      unfamiliar: await calibrateUnfamiliar(fitted, data.train, result.seed, data.info),
    });
    model = { path: files.model, content: encodeModel(fitted, result.best_steps, info) };
  }
  writeFilesAtomic([
    { path: files.markdown, content: gridToMarkdown(result, options.command) },
    { path: files.json, content: stringifyJson(gridToJson(result)) },
  ]);
  // the checkpoint goes only once everything is written: a failed model save can still be --resume'd (a refit only)
  if (model) saveModelAfterReports(model, [files.markdown, files.json]);
  kept()?.discard();
  return { kind: 'done', result, files };
}
