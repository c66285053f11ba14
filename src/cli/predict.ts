import type { Argv, CommandModule } from 'yargs';
import type { InvertMode } from '../data/image.js';
import { DataError } from '../data/errors.js';
import type { PredictResult } from '../report/summaries.js';
import { fixed } from '../report/text.js';
import { dataOption, outputOptions, type ArgsOf } from './options.js';
import { progressFor } from './progress.js';
import { jsonForTerminal, printable } from '../util/printable.js';
import { abortSignal } from './interrupt.js';

const builder = (y: Argv) =>
  y
    .positional('model', {
      type: 'string',
      demandOption: true,
      describe: 'a model file (models/<name>.model) or a pipeline YAML file',
    })
    .positional('images', {
      type: 'string',
      array: true,
      describe:
        "photo files, or folders of them (sub-folders named for the model's classes give the accuracy per class)",
    })
    .options({
      ...dataOption,
      csv: {
        type: 'string',
        normalize: true,
        describe:
          "instead of images: classify every row of a CSV in Kaggle's layout; prints CSV (line,label,class,probability) and the accuracy against its label column",
      },
      invert: {
        choices: ['auto', 'always', 'never'] as const,
        default: 'auto' as InvertMode,
        describe:
          'negate the photo so the garment is light on black as in Fashion-MNIST (auto: when the garment is darker than the border)',
      },
      segment: {
        type: 'boolean',
        default: false,
        describe:
          'Fashion-MNIST models: find the garment first (its distance from the border colour, Otsu, a closing, the largest part) and paint the rest out, for photos on a bed, floor or hanger',
      },
      top: { type: 'number', default: 3, describe: 'most probable classes to list per image' },
      json: { type: 'boolean', default: false, describe: 'print the predictions as JSON instead of a table' },
      models: {
        type: 'string',
        default: 'models',
        normalize: true,
        describe: 'folder where models fitted from pipeline files are kept',
      },
      show: {
        type: 'string',
        normalize: true,
        describe: 'also write a PNG of the images as the model saw them (28×28, grouped by predicted class)',
      },
      similar: {
        type: 'number',
        describe: "also list the N catalogue images nearest to each photo in the model's feature space",
      },
      catalogue: {
        type: 'string',
        normalize: true,
        describe:
          "with --similar: a folder of images to recommend from (default: the model's training images; features cached)",
      },
      quiet: outputOptions.quiet,
    })
    .example(
      '$0 predict pipelines/pca-rf.yaml photos/',
      'fit pca-rf once (saved as models/pca-rf.model), classify every image in photos/',
    )
    .example('$0 predict models/pca-svm.model shirt.jpg boot.png --json', 'classify two photos with a saved model')
    .example(
      '$0 predict pipelines/clothing.yaml data/clothing-small/test',
      'a folder of class folders: every photo classified, with the accuracy per class',
    )
    .example('$0 predict models/pca-rf.model shirt.jpg --similar 8', 'also list the 8 nearest training images')
    .example(
      '$0 predict models/clothing.model photo.jpg --similar 4',
      "a photo model: the 4 nearest of its training photos (or --catalogue DIR, a shop's own)",
    )
    .example('$0 predict models/pca-rf.model photos/ --show seen.png', 'also draw the 28×28 images the model was given')
    .example(
      '$0 predict models/pca-rf.model --csv fashion-mnist_test.csv > predictions.csv',
      'classify the rows of a Kaggle CSV',
    );

export const predictCommand: CommandModule<object, ArgsOf<typeof builder>> = {
  command: 'predict <model> [images..]',
  describe:
    'classify photos (PNG, JPEG, WebP, GIF, BMP) with a model saved by `run --save-model`, or with a pipeline file (fitted once, then kept in models/)',
  builder,
  handler: async (args) => {
    const [{ runPredict }, summaries] = await Promise.all([
      import('../app/predict.js'),
      import('../report/summaries.js'),
    ]);
    const { inInputOrder, modelLine, predictionCsv, folderAccuracyLines, predictionTable } = summaries;
    // photos that could not be read make the command fail (exit 1, one line) once the others are answered
    const failIfUnreadable = (result: PredictResult): void => {
      const unreadable = result.unreadable ?? [];
      if (unreadable.length > 0) {
        throw new DataError(summaries.unreadableLine(unreadable, result.predictions.length + unreadable.length));
      }
    };
    const result = await runPredict({
      model: args.model,
      images: args.images ?? [],
      csv: args.csv,
      data: args.data,
      verify: args.verify,
      invert: args.invert,
      segment: args.segment,
      signal: abortSignal(),
      top: args.top,
      modelsDir: args.models,
      show: args.show,
      similar: args.similar,
      catalogue: args.catalogue,
      progress: progressFor(args.quiet),
    });
    if (args.json) {
      const extra = {
        ...(result.accuracy === undefined ? {} : { accuracy: result.accuracy }),
        ...(result.per_class === undefined ? {} : { labelled: result.labelled, per_class: result.per_class }),
      };
      const predictions = inInputOrder(result).map((p) => ('error' in p ? { file: p.file, error: p.error } : p));
      console.log(jsonForTerminal({ model: result.model, pipeline: result.info.name, ...extra, predictions }, 2));
      failIfUnreadable(result);
      return;
    }
    if (args.csv !== undefined) {
      // the predictions are the output (stdout, for a pipe or a redirect); the summary goes to stderr
      process.stdout.write(predictionCsv(result));
      if (!args.quiet) {
        process.stderr.write(`${printable(modelLine(result))}\n`);
        process.stderr.write(
          `${result.predictions.length} rows of ${args.csv}: accuracy ${fixed(result.accuracy!)} against its label column\n`,
        );
        if (args.show) process.stderr.write(`wrote ${args.show}\n`);
      }
      return;
    }
    if (!args.quiet) console.log(printable(modelLine(result)));
    console.log(predictionTable(result));
    for (const line of folderAccuracyLines(result)) console.log(printable(line));
    if (args.show && !args.quiet) console.log(`wrote ${args.show}`);
    failIfUnreadable(result);
  },
};
