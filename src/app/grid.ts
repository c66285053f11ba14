import { accessSync, constants, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../config/errors.js';
import { applyParamOptions, expandGrid } from '../config/grid.js';
import { loadPipelineFile } from '../config/load.js';
import { assertCheckpointExists, Checkpoint } from '../evaluate/checkpoint.js';
import { FitCache } from '../evaluate/fit-cache.js';
import {
  describe as describeParams,
  planGrid,
  runGrid,
  type GridMetric,
  type GridPlan,
  type GridResult,
} from '../evaluate/grid.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { InterruptedError, type UnitExecutor } from '../evaluate/search.js';
import { TimingHistory } from '../evaluate/timing-history.js';
import { encodeModel } from '../model/format.js';
import { assertSavable, modelInfo } from '../model/provenance.js';
import { calibrateUnfamiliar } from '../model/unfamiliar.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { gridToJson, gridToMarkdown, planText } from '../report/grid.js';
import { stringifyJson } from '../report/json.js';
import { writeFilesAtomic } from '../report/write.js';
import { Interrupted } from '../util/errors.js';
import { checkFolds, loadDataFor, trainingDataSpec, withPositions, type TrainingDataSpec } from './common.js';
import { defaultModelPath } from './run.js';

export interface GridCommandOptions {
  file: string;
  params?: string[];
  metric?: GridMetric;
  data?: string;
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

/** Default cache folder: $FASHION_CACHE_DIR, else .cache/fashion-pipeline under the working directory. */
export function defaultCacheDir(): string {
  return resolve(process.env.FASHION_CACHE_DIR ?? join('.cache', 'fashion-pipeline'));
}

/**
 * The fit cache of a search or a queue worker: `cacheDir`/fits on disk (bounded by `cacheSizeMb`, 2 GB by default),
 * 1.5 GB in memory, entries over 64 MB (784-column outputs) in memory only; `cache: false` turns it off.
 */
export function openFitCache(
  options: { cache?: boolean; cacheDir: string; cacheSizeMb?: number; disk?: boolean },
  onDamaged?: (file: string) => void,
  onTrouble?: (message: string) => void,
): FitCache {
  const on = options.cache !== false;
  return new FitCache({
    enabled: on,
    dir: on && options.disk !== false ? join(options.cacheDir, 'fits') : null,
    maxDiskBytes: (options.cacheSizeMb ?? 2048) * 2 ** 20,
    maxMemoryBytes: 1536 * 2 ** 20,
    maxEntryBytes: 64 * 2 ** 20,
    onDamaged,
    onTrouble,
  });
}

/** Why a folder cannot be made or written (its error code), or null when it can. */
function unusableFolder(dir: string): string | null {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

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
  const checkpointPath = join(cacheDir, 'checkpoints', `${loaded.config.name}.jsonl`);
  if (options.resume) assertCheckpointExists(checkpointPath); // before any folder is made or data read
  const cacheOn = options.cache !== false;
  // a cache folder that cannot be made (a file in its place, a read-only disk) costs the cache and the checkpoint, said
  // once, never the search
  const folderTrouble = unusableFolder(cacheDir);
  if (folderTrouble) {
    options.onWarning?.(
      `the cache folder ${cacheDir} cannot be used (${folderTrouble}): no fit cache on disk and no checkpoint (an interrupted search will start again)`,
    );
  }
  const cache = openFitCache({ ...options, cacheDir, disk: !folderTrouble }, options.onCacheDamaged, options.onWarning);
  const checkpointOptions = { source: resolve(options.file), onWarning: options.onWarning };
  const checkpointMode = (resume: 'resume' | 'read', otherwise: 'fresh' | 'none') =>
    options.resume ? (folderTrouble ? 'read' : resume) : folderTrouble ? 'none' : otherwise;
  if (options.saveModel !== undefined) for (const c of candidates) assertSavable(c.steps, '--save-model');
  let fitted: Pipeline | null = null;
  const data = loadDataFor(loaded, options.data);
  checkFolds(loaded, data);
  const gridOptions = {
    config: loaded.config,
    file: loaded.file,
    data,
    candidates,
    metric: options.metric ?? 'accuracy',
    cache,
    timings: new TimingHistory(join(cacheDir, 'timings.json')),
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
    if (err instanceof InterruptedError) {
      const kept = checkpoint as Checkpoint | null;
      const written = !folderTrouble && kept?.usable !== false;
      throw new Interrupted(err.finished + (kept?.resumed ?? 0), written ? checkpointPath : null);
    }
    throw err;
  }
  const base = join(options.out, gridReportName(result.name));
  const files: { markdown: string; json: string; model?: string } = { markdown: `${base}.md`, json: `${base}.json` };
  const model: Array<{ path: string; content: Uint8Array }> = [];
  if (fitted) {
    files.model = options.saveModel || defaultModelPath(result.name);
    const info = modelInfo({
      name: result.name,
      description:
        `best of the grid (${describeParams(result.best.params)}): ${result.config.description ?? ''}`.trim(),
      source: options.file,
      steps: result.best_steps,
      data: result.data,
      seed: result.seed,
      testAccuracy: result.test?.accuracy,
      cvAccuracy: result.metric === 'accuracy' ? result.best.mean : undefined,
      unfamiliar: await calibrateUnfamiliar(fitted, data.train.X),
    });
    model.push({ path: files.model, content: encodeModel(fitted, result.best_steps, info) });
  }
  writeFilesAtomic([
    ...model,
    { path: files.markdown, content: gridToMarkdown(result, options.command) },
    { path: files.json, content: stringifyJson(gridToJson(result)) },
  ]);
  (checkpoint as Checkpoint | null)?.discard();
  return { kind: 'done', result, files };
}
