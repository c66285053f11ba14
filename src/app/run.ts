import { join } from 'node:path';
import { loadPipelineFile } from '../config/load.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { UsageError } from '../config/errors.js';
import { runPipeline, type RunOutcome } from '../evaluate/run.js';
import { InterruptedError } from '../evaluate/search.js';
import { Interrupted } from '../util/errors.js';
import { encodeModel } from '../model/format.js';
import { assertSavable, modelInfo } from '../model/provenance.js';
import { calibrateUnfamiliar } from '../model/unfamiliar.js';
import { runToJson, stringifyJson } from '../report/json.js';
import { runToMarkdown } from '../report/markdown.js';
import { runPictures } from '../report/pictures.js';
import { checkOutputs, plannedFile, writeFilesAtomic } from '../report/write.js';
import { checkFolds, withPositions } from './data-checks.js';
import { loadDataFor } from './load-data.js';
import { reportOutputs, saveModelAfterReports } from './outputs.js';

export interface RunCommandOptions {
  file: string;
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  folds?: number;
  /** false turns cross-validation off (--no-cv). */
  cv?: boolean;
  test?: boolean;
  seed?: number;
  out: string;
  progress?: ProgressSink;
  /** The command line, recorded in the report. */
  command?: string;
  /** false skips the PNG pictures (--no-pictures). */
  pictures?: boolean;
  /** Also write the pipeline fitted on all training rows to this model file (see `pipeline predict`). */
  saveModel?: string;
  /** Aborting stops between two fold fits (InterruptedError); nothing is written. */
  signal?: AbortSignal;
}

export interface RunCommandResult extends RunOutcome {
  files: { markdown: string; json: string; pictures: string[]; model?: string };
}

/** Where `--save-model` without a path puts the model of pipeline `name` (and where `predict` looks for it). */
export function defaultModelPath(name: string, dir = 'models'): string {
  return join(dir, `${name}.model`);
}

/**
 * `pipeline run`: validate, cross-validate, test, then write results/<name>.md and .json and the pictures in
 * results/<name>/ (all or nothing).
 */
export async function runRun(options: RunCommandOptions): Promise<RunCommandResult> {
  if (options.folds !== undefined && options.cv === false) {
    throw new UsageError(`--folds ${options.folds} and --no-cv contradict each other: give one of them`);
  }
  if (options.folds !== undefined && (!Number.isInteger(options.folds) || options.folds < 2)) {
    throw new UsageError(
      `--folds must be a whole number ≥ 2, got ${options.folds} (use --no-cv to skip cross-validation)`,
    );
  }
  const loaded = loadPipelineFile(
    options.file,
    { folds: options.cv === false ? 0 : options.folds, seed: options.seed, test: options.test },
    { grid: 'parse' }, // run ignores the grid: section; its candidates are not expanded
  );
  const { evaluation } = loaded.config;
  if (options.saveModel !== undefined) assertSavable(loaded.config.steps, '--save-model');
  if (evaluation.folds === 0 && !evaluation.test) {
    throw new UsageError('nothing to do: cross-validation is off and evaluation.test is false');
  }
  const name = loaded.config.name;
  checkOutputs([
    reportOutputs(options.out, name, options.pictures !== false),
    ...(options.saveModel === undefined
      ? []
      : [plannedFile('--save-model', options.saveModel || defaultModelPath(name), 'choose a shorter file name')]),
  ]);
  const data = await loadDataFor(loaded, options);
  checkFolds(loaded, data);
  const outcome = await withPositions(loaded, () =>
    runPipeline({
      config: loaded.config,
      file: loaded.file,
      data,
      progress: options.progress,
      signal: options.signal,
      keepFitted: options.saveModel !== undefined,
    }),
  ).catch((err: unknown) => {
    throw err instanceof InterruptedError ? new Interrupted(err.finished, null) : err;
  });
  const { result } = outcome;
  const base = join(options.out, result.name);
  const pictures = options.pictures === false ? [] : await runPictures(result, outcome.data);
  const pictureFile = (file: string) => `${result.name}/${file}`;
  const files: RunCommandResult['files'] = {
    markdown: `${base}.md`,
    json: `${base}.json`,
    pictures: pictures.map((p) => join(options.out, pictureFile(p.file))),
  };
  let model: { path: string; content: Uint8Array } | null = null;
  if (options.saveModel !== undefined) {
    files.model = options.saveModel || defaultModelPath(result.name);
    const info = modelInfo({
      name: result.name,
      description: result.config.description,
      source: options.file,
      steps: loaded.config.steps,
      data: result.data,
      classes: outcome.data.train.classes,
      seed: result.seed,
      testAccuracy: result.test?.accuracy,
      cvAccuracy: result.cv?.mean_accuracy,
      unfamiliar: await calibrateUnfamiliar(outcome.fitted!, outcome.data.train, result.seed, outcome.data.info),
    });
    model = { path: files.model, content: encodeModel(outcome.fitted!, loaded.config.steps, info) };
  }
  // renamed in this order: the JSON last, so a run JSON on disk always has its report and pictures beside it; the
  // model after them, so a failed save cannot cost the reports
  writeFilesAtomic([
    ...pictures.map((p, i) => ({ path: files.pictures[i], content: p.picture.png })),
    {
      path: files.markdown,
      content: runToMarkdown(
        result,
        options.command,
        pictures.map((p) => ({ ...p, file: pictureFile(p.file) })),
      ),
    },
    { path: files.json, content: stringifyJson(runToJson(result)) },
  ]);
  if (model) saveModelAfterReports(model, [files.markdown, files.json]);
  return { ...outcome, files };
}
