import type { Argv, CommandModule } from 'yargs';
import { outputOptions, type ArgsOf } from './options.js';
import { forTerminal } from '../util/printable.js';

const builder = (y: Argv) =>
  y
    .positional('files', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'run JSON files written by `pipeline run`; none = every run in --out',
    })
    .options({
      alpha: { type: 'number', default: 0.05, describe: 'significance level for the paired tests' },
      ...outputOptions,
      out: {
        ...outputOptions.out,
        describe: 'folder with the run files (when none are named) and for the comparison page',
      },
      quiet: { ...outputOptions.quiet, describe: 'do not print the page' },
    })
    .example('$0 compare', 'leaderboard of every run in results/, written to results/COMPARISON.md')
    .example(
      '$0 compare results/pca-rf.json results/rf-raw.json',
      'McNemar and corrected t-tests, per-class deltas: results/pca-rf-vs-rf-raw.md',
    )
    .example('$0 compare results/*.json --out /tmp/cmp', 'leaderboard of the named runs, written elsewhere');

export const compareCommand: CommandModule<object, ArgsOf<typeof builder>> = {
  command: 'compare [files..]',
  describe:
    'leaderboard of runs (results/COMPARISON.md), or two runs compared with significance tests, each with an accuracy chart (PNG)',
  builder,
  handler: async (args) => {
    const { runCompare } = await import('../app/compare.js');
    const result = await runCompare({ files: args.files, out: args.out, alpha: args.alpha });
    if (!args.quiet) {
      console.log(forTerminal(result.markdown));
      console.log(forTerminal(`wrote ${result.files.markdown} and ${result.files.chart}`));
    }
  },
};
