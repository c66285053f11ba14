import { join, resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { UsageError } from '../config/errors.js';
import { applyParamOptions, expandGrid } from '../config/grid.js';
import { loadPipelineFile } from '../config/load.js';
import { Checkpoint } from '../evaluate/checkpoint.js';
import { FitCache } from '../evaluate/fit-cache.js';
import { describe as describeParams, planGrid, runGrid, type GridMetric, type GridPlan, type GridResult } from '../evaluate/grid.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { TimingHistory } from '../evaluate/timing-history.js';
import { gridToJson, gridToMarkdown, planText } from '../report/grid.js';
import { stringifyJson } from '../report/json.js';
import { fixed, seconds } from '../report/text.js';
import { writeFilesAtomic } from '../report/write.js';
import { assertSavable, encodeModel, modelInfo } from '../model/file.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { defaultModelPath } from './run.js';
import { setInterruptNote } from './interrupt.js';
import { dataOption, outputOptions, seedOption } from './options.js';
import { progressFor } from './progress.js';

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
}

export type GridCommandResult =
  | { kind: 'plan'; plan: GridPlan; text: string }
  | { kind: 'done'; result: GridResult; files: { markdown: string; json: string; model?: string } };

/** Default cache folder: $FASHION_CACHE_DIR, else .cache/fashion-pipeline under the working directory. */
export function defaultCacheDir(): string {
  return resolve(process.env.FASHION_CACHE_DIR ?? join('.cache', 'fashion-pipeline'));
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
  const candidates = expandGrid(applyParamOptions(loaded.grid, options.params ?? []), loaded.config.steps, loaded.source);
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const cacheOn = options.cache !== false;
  const cache = new FitCache({
    enabled: cacheOn,
    dir: cacheOn ? join(cacheDir, 'fits') : null,
    maxDiskBytes: (options.cacheSizeMb ?? 2048) * 2 ** 20,
    maxMemoryBytes: 1536 * 2 ** 20,
    maxEntryBytes: 64 * 2 ** 20,
  });
  const checkpointPath = join(cacheDir, 'checkpoints', `${loaded.config.name}.jsonl`);
  if (options.saveModel !== undefined) for (const c of candidates) assertSavable(c.steps, '--save-model');
  let fitted: Pipeline | null = null;
  const gridOptions = {
    loaded,
    candidates,
    metric: options.metric ?? 'accuracy',
    dataDir: options.data,
    cache,
    timings: new TimingHistory(join(cacheDir, 'timings.json')),
    progress: options.progress,
    signal: options.signal,
    onFitted: options.saveModel === undefined ? undefined : (p: Pipeline) => (fitted = p),
  };
  if (options.dryRun && options.saveModel !== undefined) {
    throw new UsageError('--dry-run only prints the plan and fits nothing, so there is no model to --save-model');
  }
  if (options.dryRun) {
    // A dry run only reads the checkpoint; it never starts or truncates one.
    const plan = await planGrid({ ...gridOptions, checkpoint: (id) => new Checkpoint(checkpointPath, id, options.resume ? 'read' : 'none') });
    return { kind: 'plan', plan, text: planText({ name: loaded.config.name, plan, cacheEnabled: cacheOn, resume: options.resume ?? false }) };
  }
  let checkpoint: Checkpoint | null = null;
  setInterruptNote(`finished fold fits are kept in ${checkpointPath}; continue with: pipeline grid ${options.file} --resume`);
  const result = await runGrid({
    ...gridOptions,
    checkpoint: (id) => (checkpoint = new Checkpoint(checkpointPath, id, options.resume ? 'resume' : 'fresh')),
  });
  const base = join(options.out, gridReportName(result.name));
  const files: { markdown: string; json: string; model?: string } = { markdown: `${base}.md`, json: `${base}.json` };
  const model: Array<{ path: string; content: Uint8Array }> = [];
  if (fitted) {
    files.model = options.saveModel || defaultModelPath(result.name);
    const info = modelInfo({
      name: result.name,
      description: `best of the grid (${describeParams(result.best.params)}): ${result.config.description ?? ''}`.trim(),
      source: options.file,
      steps: result.best_steps,
      data: result.data,
      seed: result.seed,
      testAccuracy: result.test?.accuracy,
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

interface GridArgs {
  file: string;
  param?: string[];
  metric: GridMetric;
  data?: string;
  folds?: number;
  seed?: number;
  out: string;
  quiet: boolean;
  cache: boolean;
  cacheDir?: string;
  cacheSize: number;
  resume: boolean;
  dryRun: boolean;
  saveModel?: string;
}

export const gridCommand: CommandModule<object, GridArgs> = {
  command: 'grid <file>',
  describe: "search the file's grid: section (and --param values) with cross-validation on shared folds, refit the best, write results/<name>-grid.md and .json",
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'pipeline YAML file with a grid: section' })
      .options({
        param: { type: 'string', array: true, describe: 'add or replace a grid key: stage.param=a,b,c (repeatable)' },
        metric: { choices: ['accuracy', 'macro_f1'] as const, default: 'accuracy' as const, describe: 'score that ranks candidates' },
        ...dataOption,
        folds: { type: 'number', describe: "stratified CV folds (overrides the file's evaluation.folds)" },
        ...seedOption,
        ...outputOptions,
        cache: { type: 'boolean', default: true, describe: 'reuse fitted transformer prefixes (--no-cache refits them for every candidate)' },
        'cache-dir': { type: 'string', describe: 'cache and checkpoint folder (default $FASHION_CACHE_DIR or .cache/fashion-pipeline)' },
        'cache-size': { type: 'number', default: 2048, describe: 'disk cache bound in MB; least recently used entries go first' },
        resume: { type: 'boolean', default: false, describe: 'continue an interrupted search from its checkpoint' },
        'dry-run': { type: 'boolean', default: false, describe: 'print the plan (candidates, fits, cache hits, estimated time) and stop' },
        'save-model': {
          type: 'string',
          describe: 'also save the best candidate fitted on all training rows, for `pipeline predict` (default path models/<name>.model)',
        },
      })
      .example('$0 grid pipelines/pca-knn-grid.yaml', 'PCA 30/50/100 × k 1/3/5/9 × uniform/distance, 3 folds')
      .example('$0 grid pipelines/pca-knn-grid.yaml --dry-run', 'what would run, and how much the cache saves')
      .example('$0 grid pipelines/pca-knn.yaml --param knn.k=3,5,7 --param pca.components=40,60', 'a grid from the command line')
      .example('$0 grid pipelines/pca-knn-grid.yaml --resume', 'continue after Ctrl-C without recomputing finished fits') as unknown as Argv<GridArgs>,
  handler: async (args: ArgumentsCamelCase<GridArgs>) => {
    const outcome = await runGridCommand({
      file: args.file,
      params: args.param,
      metric: args.metric,
      data: args.data,
      folds: args.folds,
      seed: args.seed,
      out: args.out,
      cache: args.cache,
      cacheDir: args.cacheDir,
      cacheSizeMb: args.cacheSize,
      resume: args.resume,
      dryRun: args.dryRun,
      progress: args.dryRun ? undefined : progressFor(args.quiet),
      command: `pipeline ${process.argv.slice(2).join(' ')}`,
      saveModel: args.saveModel,
    });
    if (outcome.kind === 'plan') {
      console.log(outcome.text);
      return;
    }
    if (args.quiet) return;
    const { result, files } = outcome;
    console.log(`${result.name}: ${result.candidates.length} candidates × ${result.k} folds in ${seconds(result.duration_ms)}`);
    console.log(`  best ${describeParams(result.best.params)}: CV ${result.metric} ${fixed(result.best.mean)} ± ${fixed(result.best.std)}`);
    if (result.test) console.log(`  test accuracy ${fixed(result.test.accuracy)} (refit on all training rows)`);
    console.log(`  wrote ${files.markdown} and ${files.json}`);
    if (files.model) console.log(`  saved the best candidate to ${files.model} (classify photos with: pipeline predict ${files.model} PHOTO…)`);
  },
};
