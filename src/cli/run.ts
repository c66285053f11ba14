import type { Argv, CommandModule } from 'yargs';
import { abortSignal } from './interrupt.js';
import { commandLine, dataOption, outputOptions, seedOption, type ArgsOf } from './options.js';
import { progressFor } from './progress.js';
import { forTerminal } from '../util/printable.js';

const builder = (y: Argv) =>
  y
    .positional('file', {
      type: 'string',
      demandOption: true,
      describe: 'pipeline YAML file, e.g. pipelines/pca-rf.yaml',
    })
    .options({
      ...dataOption,
      folds: { type: 'number', describe: "number of stratified CV folds (overrides the file's evaluation.folds)" },
      cv: { type: 'boolean', default: true, describe: 'cross-validate (--no-cv skips it and only fits + tests)' },
      test: { type: 'boolean', default: true, describe: 'evaluate on the test set (--no-test for CV only)' },
      ...seedOption,
      ...outputOptions,
      pictures: {
        type: 'boolean',
        default: true,
        describe:
          'draw the PNG pictures: samples, confusion heatmap, prediction and mistake galleries (--no-pictures skips them)',
      },
      'save-model': {
        type: 'string',
        describe:
          'also save the pipeline fitted on all training rows, for `pipeline predict` (default path models/<name>.model)',
      },
    })
    .example('$0 run pipelines/pca-rf.yaml', 'the main job: 5-fold CV + test, report in results/pca-rf.md')
    .example(
      '$0 run pipelines/clothing.yaml --save-model',
      'real photos (a folder of class folders): CV on train/ + validation/, test/ once, save the model',
    )
    .example('$0 run pipelines/pca-knn.yaml --no-cv --seed 7', 'fit on all training rows and test once')
    .example('$0 run pipelines/pca-rf.yaml --no-cv --save-model', 'fit, test, and save models/pca-rf.model')
    .example(
      '$0 run pipelines/quick.yaml --data /usr/share/datasets/fashion-mnist',
      'read the IDX files from another folder',
    )
    .example(
      '$0 run pipelines/quick.yaml --data relabelled/ --no-verify',
      'other valid IDX data (relabelled, re-split)',
    );

export const runCommand: CommandModule<object, ArgsOf<typeof builder>> = {
  command: 'run <file>',
  describe:
    'cross-validate a pipeline on the training set, evaluate it on the test set, write results/<name>.md and .json with pictures in results/<name>/',
  builder,
  handler: async (args) => {
    const [{ runRun }, { summaryLines }] = await Promise.all([
      import('../app/run.js'),
      import('../report/summaries.js'),
    ]);
    const outcome = await runRun({
      file: args.file,
      data: args.data,
      verify: args.verify,
      folds: args.folds,
      cv: args.cv,
      test: args.test,
      seed: args.seed,
      out: args.out,
      progress: progressFor(args.quiet),
      command: commandLine(),
      pictures: args.pictures,
      saveModel: args.saveModel,
      signal: abortSignal(),
    });
    if (!args.quiet) console.log(forTerminal(summaryLines(outcome).join('\n')));
  },
};
