import type { Argv, Options } from 'yargs';

/** Option groups shared by commands, defined once. */
export const dataOption = {
  data: {
    type: 'string',
    describe:
      'folder with the four Fashion-MNIST IDX files (gzipped or not; default $FASHION_MNIST_DIR, else data/fashion-mnist), or the photo folder of a pipeline with data.format folder',
    normalize: true,
  },
  verify: {
    type: 'boolean',
    default: true,
    describe:
      'check the IDX files against the official Fashion-MNIST SHA-256 (--no-verify reads other valid IDX data, e.g. relabelled or re-split; the report says so)',
  },
} satisfies Record<string, Options>;

export const seedOption = {
  seed: {
    type: 'number',
    describe: "random seed for folds, subsets and stages (overrides the file's evaluation.seed)",
  },
} satisfies Record<string, Options>;

export const outputOptions = {
  out: { type: 'string', default: 'results', describe: 'folder for reports', normalize: true },
  quiet: { type: 'boolean', default: false, alias: 'q', describe: 'no progress bar and no summary on the terminal' },
} satisfies Record<string, Options>;

export const verboseOption = {
  verbose: { type: 'boolean', default: false, describe: 'show stack traces on errors' },
} satisfies Record<string, Options>;

/** The parsed arguments a command's builder declares (so handlers never restate them by hand). */
export type ArgsOf<B> = B extends (y: Argv) => Argv<infer T> ? T : never;

/** The command line as typed, for reports and resume hints. */
export function commandLine(): string {
  return `pipeline ${process.argv.slice(2).join(' ')}`;
}
