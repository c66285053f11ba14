import type { Argv, Options } from 'yargs';
import { MAX_WORKERS } from '../runtime/pool.js';
import { UsageError } from '../util/errors.js';

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

/**
 * The documented range of every whole-number setting that sizes work or memory: a value outside is a usage error
 * naming the range, before any work (a thousand worker threads or a billion concurrent jobs would exhaust memory
 * rather than fail).
 */
export const RANGES = {
  FASHION_WORKERS: { min: 1, max: MAX_WORKERS },
  '--concurrency': { min: 1, max: 64 },
  '--cache-size': { min: 1, max: 1_048_576 },
  '--attempts': { min: 1, max: 100 },
} as const;

/** `value` as a whole number within the named setting's range, or a UsageError in one line. */
export function inRange(name: keyof typeof RANGES, value: number | string, unit = ''): number {
  const { min, max } = RANGES[name];
  const n = typeof value === 'number' ? value : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    const shown = typeof value === 'string' ? `"${value}"` : String(value);
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}${unit}, got ${shown}`);
  }
  return n;
}
