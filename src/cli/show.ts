import type { Argv, CommandModule } from 'yargs';
import { dataOption, outputOptions, seedOption, type ArgsOf } from './options.js';
import { progressFor } from './progress.js';
import { abortSignal } from './interrupt.js';
import { forTerminal, printable } from '../util/printable.js';

const builder = (y: Argv) =>
  y
    .positional('file', {
      type: 'string',
      describe:
        'a pipeline file: describe its data section (a folder of labelled photos, say) as the pipeline reads it',
    })
    .options({
      ...dataOption,
      seed: { ...seedOption.seed, describe: 'random seed for the sample grid (default 42)' },
      'per-class': { type: 'number', default: 10, describe: 'images per class in the sample grid (1..30)' },
      ...outputOptions,
    })
    .example('$0 show', 'write results/data.md with results/data/samples.png and class-means.png')
    .example(
      '$0 show pipelines/clothing.yaml',
      'results/clothing-data.md: the same for the photos that pipeline fits on, decoded as it reads them',
    )
    .example('$0 show --out /tmp/show --seed 7 --per-class 6', 'another sample, elsewhere')
    .example('$0 show --data /usr/share/datasets/fashion-mnist', 'read the IDX files from another folder');

export const showCommand: CommandModule<object, ArgsOf<typeof builder>> = {
  command: 'show [file]',
  describe:
    "describe the data without training (Fashion-MNIST's, or a pipeline file's): images and pixel statistics per class, a sample grid and mean images (PNG)",
  builder,
  handler: async (args) => {
    const { runShow, showSummary } = await import('../app/show.js');
    const result = await runShow({
      file: args.file,
      progress: progressFor(args.quiet),
      signal: abortSignal(),
      data: args.data,
      verify: args.verify,
      out: args.out,
      seed: args.seed,
      perClass: args.perClass,
    });
    if (!args.quiet) console.log(forTerminal(showSummary(result)));
    else for (const w of result.warnings) process.stderr.write(`pipeline: warning: ${printable(w)}\n`);
  },
};
