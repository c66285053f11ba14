import type { Argv, CommandModule } from 'yargs';
import { dataOption, outputOptions, seedOption, type ArgsOf } from './options.js';
import { forTerminal, printable } from '../util/printable.js';

const builder = (y: Argv) =>
  y
    .options({
      ...dataOption,
      seed: { ...seedOption.seed, describe: 'random seed for the sample grid (default 42)' },
      'per-class': { type: 'number', default: 10, describe: 'images per class in the sample grid (1..30)' },
      ...outputOptions,
    })
    .example('$0 show', 'write results/data.md with results/data/samples.png and class-means.png')
    .example('$0 show --out /tmp/show --seed 7 --per-class 6', 'another sample, elsewhere')
    .example('$0 show --data /usr/share/datasets/fashion-mnist', 'read the IDX files from another folder');

export const showCommand: CommandModule<object, ArgsOf<typeof builder>> = {
  command: 'show',
  describe:
    'describe the data without training: images and pixel statistics per class, a sample grid and mean images (PNG)',
  builder,
  handler: async (args) => {
    const { runShow, showSummary } = await import('../app/show.js');
    const result = await runShow({
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
