import type { Argv, CommandModule } from 'yargs';
import { Interrupted } from '../util/errors.js';
import { abortSignal } from './interrupt.js';
import { commandLine, dataOption, inRange, outputOptions, seedOption, type ArgsOf } from './options.js';
import { progressFor } from './progress.js';
import { forTerminal, printable } from '../util/printable.js';

const builder = (y: Argv) =>
  y
    .positional('file', { type: 'string', demandOption: true, describe: 'pipeline YAML file with a grid: section' })
    .options({
      param: { type: 'string', array: true, describe: 'add or replace a grid key: stage.param=a,b,c (repeatable)' },
      metric: {
        choices: ['accuracy', 'macro_f1'] as const,
        default: 'accuracy' as const,
        describe: 'score that ranks candidates',
      },
      ...dataOption,
      folds: { type: 'number', describe: "stratified CV folds (overrides the file's evaluation.folds)" },
      ...seedOption,
      ...outputOptions,
      cache: {
        type: 'boolean',
        default: true,
        describe: 'reuse fitted transformer prefixes (--no-cache refits them for every candidate)',
      },
      'cache-dir': {
        type: 'string',
        describe: 'cache and checkpoint folder (default $FASHION_CACHE_DIR or .cache/fashion-pipeline)',
      },
      'cache-size': {
        type: 'number',
        default: 2048,
        describe: 'disk cache bound in MB (1 to 1048576); least recently used entries go first',
      },
      resume: { type: 'boolean', default: false, describe: 'continue an interrupted search from its checkpoint' },
      'dry-run': {
        type: 'boolean',
        default: false,
        describe: 'print the plan (candidates, fits, cache hits, estimated time) and stop',
      },
      queue: {
        type: 'string',
        describe:
          'run the fold fits on `pipeline worker` processes through Redis: redis://HOST:PORT[/db] or unix:///path/redis.sock',
      },
      attempts: {
        type: 'number',
        default: 3,
        describe: 'with --queue: tries per fit job before the search fails (mismatched code or data: no retry)',
      },
      'save-model': {
        type: 'string',
        describe:
          'also save the best candidate fitted on all training rows, for `pipeline predict` (default path models/<name>.model)',
      },
    })
    .example('$0 grid pipelines/pca-knn-grid.yaml', 'PCA 30/50/100 × k 1/3/5/9 × uniform/distance, 3 folds')
    .example('$0 grid pipelines/pca-knn-grid.yaml --dry-run', 'what would run, and how much the cache saves')
    .example(
      '$0 grid pipelines/pca-knn.yaml --param knn.k=3,5,7 --param pca.components=40,60',
      'a grid from the command line',
    )
    .example('$0 grid pipelines/pca-knn-grid.yaml --queue redis://10.0.0.5:6379', 'on the workers of that Redis')
    .example('$0 grid pipelines/pca-knn-grid.yaml --resume', 'continue after Ctrl-C without recomputing finished fits');

export const gridCommand: CommandModule<object, ArgsOf<typeof builder>> = {
  command: 'grid <file>',
  describe:
    "search the file's grid: section (and --param values) with cross-validation on shared folds, refit the best, write results/<name>-grid.md and .json",
  builder,
  handler: async (args) => {
    // the queue's modules (BullMQ, ioredis) only for --queue
    const queue = args.queue === undefined ? null : await import('../queue/connection.js');
    if (queue) {
      queue.connectionFor(args.queue!); // a malformed URL is a usage error before any work
      inRange('--attempts', args.attempts);
    }
    inRange('--cache-size', args.cacheSize, ' MB');
    // Redis unreachable, a wrong password or database: one line now, not a silent wait once the jobs are queued
    if (queue && !args.dryRun) await queue.probeQueue(args.queue!);
    const [{ runGridCommand }, { gridSummaryLines }, coordinator] = await Promise.all([
      import('../app/run-grid-command.js'),
      import('../report/summaries.js'),
      queue ? import('../queue/coordinator.js') : null,
    ]);
    let outcome;
    try {
      outcome = await runGridCommand({
        file: args.file,
        params: args.param,
        metric: args.metric,
        data: args.data,
        verify: args.verify,
        folds: args.folds,
        seed: args.seed,
        out: args.out,
        cache: args.cache,
        cacheDir: args.cacheDir,
        cacheSizeMb: args.cacheSize,
        resume: args.resume,
        dryRun: args.dryRun,
        progress: args.dryRun ? undefined : progressFor(args.quiet),
        command: commandLine(),
        saveModel: args.saveModel,
        signal: abortSignal(),
        executor: coordinator
          ? (data) =>
              coordinator.queueExecutor({
                url: args.queue!,
                data,
                attempts: args.attempts,
                onNotice: args.quiet ? undefined : (line) => process.stderr.write(`\npipeline: ${printable(line)}\n`),
              })
          : undefined,
        onCacheDamaged: (file) =>
          process.stderr.write(`pipeline: warning: damaged cache entry ${file} discarded; recomputing it\n`),
        onWarning: (message) => process.stderr.write(`pipeline: warning: ${printable(message)}\n`),
      });
    } catch (err) {
      if (err instanceof Interrupted && err.checkpoint) {
        // the exact command again, with --resume: every option the search used
        const again = commandLine().replace(/\s--resume\b/g, '');
        throw new Interrupted(err.finished, err.checkpoint, `${again} --resume`);
      }
      throw err;
    }
    if (outcome.kind === 'plan') {
      console.log(forTerminal(outcome.text));
      return;
    }
    if (!args.quiet) console.log(forTerminal(gridSummaryLines(outcome).join('\n')));
  },
};
