import { dirname, join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { loadPipelineFile } from '../config/load.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { UsageError } from '../config/errors.js';
import { runPipeline, type RunOutcome, type RunResult } from '../evaluate/run.js';
import { runToJson, stringifyJson } from '../report/json.js';
import { runToMarkdown } from '../report/markdown.js';
import { runPictures } from '../report/pictures.js';
import { fixed, seconds } from '../report/text.js';
import { writeFilesAtomic } from '../report/write.js';
import { dataOption, outputOptions, seedOption } from './options.js';
import { assertSavable, encodeModel, modelInfo } from '../model/file.js';
import { progressFor } from './progress.js';

export interface RunCommandOptions {
  file: string;
  data?: string;
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
  if (options.folds !== undefined && (!Number.isInteger(options.folds) || options.folds < 2)) {
    throw new UsageError(`--folds must be a whole number ≥ 2, got ${options.folds} (use --no-cv to skip cross-validation)`);
  }
  const loaded = loadPipelineFile(options.file, {
    folds: options.cv === false ? 0 : options.folds,
    seed: options.seed,
    test: options.test,
  });
  const { evaluation } = loaded.config;
  if (options.saveModel !== undefined) assertSavable(loaded.config.steps, '--save-model');
  if (evaluation.folds === 0 && !evaluation.test) {
    throw new UsageError('nothing to do: cross-validation is off and evaluation.test is false');
  }
  const outcome = await runPipeline({ loaded, dataDir: options.data, progress: options.progress, keepFitted: options.saveModel !== undefined });
  const { result } = outcome;
  const base = join(options.out, result.name);
  const pictures = options.pictures === false ? [] : await runPictures(result, outcome.data);
  const pictureFile = (file: string) => `${result.name}/${file}`;
  const files: RunCommandResult['files'] = {
    markdown: `${base}.md`,
    json: `${base}.json`,
    pictures: pictures.map((p) => join(options.out, pictureFile(p.file))),
  };
  const model: Array<{ path: string; content: Uint8Array }> = [];
  if (options.saveModel !== undefined) {
    files.model = options.saveModel || defaultModelPath(result.name);
    const info = modelInfo({
      name: result.name,
      description: result.config.description,
      source: options.file,
      steps: loaded.config.steps,
      data: result.data,
      seed: result.seed,
      testAccuracy: result.test?.accuracy,
    });
    model.push({ path: files.model, content: encodeModel(outcome.fitted!, loaded.config.steps, info) });
  }
  writeFilesAtomic([
    ...model,
    { path: files.markdown, content: runToMarkdown(result, options.command, pictures.map((p) => ({ ...p, file: pictureFile(p.file) }))) },
    { path: files.json, content: stringifyJson(runToJson(result)) },
    ...pictures.map((p, i) => ({ path: files.pictures[i], content: p.picture.png })),
  ]);
  return { ...outcome, files };
}

/** A few lines for the terminal. */
export function summaryLines({ result, files }: { result: RunResult; files: RunCommandResult['files'] }): string[] {
  const lines = [`${result.name}: done in ${seconds(result.duration_ms)}`];
  if (result.cv) lines.push(`  ${result.cv.k}-fold CV accuracy ${fixed(result.cv.mean_accuracy)} ± ${fixed(result.cv.std_accuracy)}`);
  if (result.test) lines.push(`  test accuracy ${fixed(result.test.accuracy)}, macro-F1 ${fixed(result.test.macro_f1)}`);
  lines.push(`  wrote ${files.markdown} and ${files.json}` + (files.pictures.length > 0 ? `, ${files.pictures.length} pictures in ${dirname(files.pictures[0])}/` : ''));
  if (files.model) lines.push(`  saved the fitted pipeline to ${files.model} (classify photos with: pipeline predict ${files.model} PHOTO…)`);
  return lines;
}

interface RunArgs {
  file: string;
  data?: string;
  folds?: number;
  cv: boolean;
  test: boolean;
  seed?: number;
  out: string;
  quiet: boolean;
  pictures: boolean;
  saveModel?: string;
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <file>',
  describe: 'cross-validate a pipeline on the training set, evaluate it on the test set, write results/<name>.md and .json with pictures in results/<name>/',
  builder: (y: Argv) =>
    y
      .positional('file', { type: 'string', demandOption: true, describe: 'pipeline YAML file, e.g. pipelines/pca-rf.yaml' })
      .options({
        ...dataOption,
        folds: { type: 'number', describe: "number of stratified CV folds (overrides the file's evaluation.folds)" },
        cv: { type: 'boolean', default: true, describe: 'cross-validate (--no-cv skips it and only fits + tests)' },
        test: { type: 'boolean', default: true, describe: 'evaluate on the test set (--no-test for CV only)' },
        ...seedOption,
        ...outputOptions,
        pictures: { type: 'boolean', default: true, describe: 'draw the PNG pictures: samples, confusion heatmap, prediction and mistake galleries (--no-pictures skips them)' },
        'save-model': {
          type: 'string',
          describe: 'also save the pipeline fitted on all training rows, for `pipeline predict` (default path models/<name>.model)',
        },
      })
      .example('$0 run pipelines/pca-rf.yaml', 'the main job: 5-fold CV + test, report in results/pca-rf.md')
      .example('$0 run pipelines/pca-knn.yaml --no-cv --seed 7', 'fit on all training rows and test once')
      .example('$0 run pipelines/pca-rf.yaml --no-cv --save-model', 'fit, test, and save models/pca-rf.model')
      .example('$0 run pipelines/quick.yaml --data /usr/share/datasets/fashion-mnist', 'read the IDX files from another folder') as unknown as Argv<RunArgs>,
  handler: async (args: ArgumentsCamelCase<RunArgs>) => {
    const outcome = await runRun({
      file: args.file,
      data: args.data,
      folds: args.folds,
      cv: args.cv,
      test: args.test,
      seed: args.seed,
      out: args.out,
      progress: progressFor(args.quiet),
      command: `pipeline ${process.argv.slice(2).join(' ')}`,
      pictures: args.pictures,
      saveModel: args.saveModel,
    });
    if (!args.quiet) console.log(summaryLines(outcome).join('\n'));
  },
};
