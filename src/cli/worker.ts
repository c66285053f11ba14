import type { Argv, CommandModule } from 'yargs';
import { abortSignal } from './interrupt.js';
import { dataOption, inRange, type ArgsOf } from './options.js';
import { printable } from '../util/printable.js';

const builder = (y: Argv) =>
  y
    .options({
      queue: {
        type: 'string',
        demandOption: true,
        describe: 'Redis of the coordinator: redis://HOST:PORT[/db] or unix:///path/redis.sock',
      },
      ...dataOption,
      concurrency: {
        type: 'number',
        default: 1,
        describe: 'jobs taken at once, 1 to 64 (each fit already uses every core)',
      },
      cache: { type: 'boolean', default: true, describe: 'reuse fitted transformer prefixes across jobs' },
      'cache-dir': {
        type: 'string',
        describe: 'fit cache folder (default $FASHION_CACHE_DIR or .cache/fashion-pipeline)',
      },
      'cache-size': { type: 'number', default: 2048, describe: 'disk cache bound in MB (1 to 1048576)' },
      quiet: { type: 'boolean', default: false, alias: 'q', describe: 'no line per job on stderr' },
    })
    .example('$0 worker --queue redis://10.0.0.5:6379', 'take fit jobs from the coordinator until SIGTERM or Ctrl-C')
    .example('$0 worker --queue unix:///run/redis/redis.sock --data /srv/fashion-mnist', 'with this machine’s data');

export const workerCommand: CommandModule<object, ArgsOf<typeof builder>> = {
  command: 'worker',
  describe:
    'take grid fit jobs from a Redis queue (`pipeline grid --queue`), fit and score them on this machine; SIGTERM finishes the current job and exits',
  builder,
  handler: async (args) => {
    inRange('--concurrency', args.concurrency);
    inRange('--cache-size', args.cacheSize, ' MB');
    const [{ runWorker }, { probeQueue }] = await Promise.all([
      import('../queue/worker.js'),
      import('../queue/connection.js'),
    ]);
    await probeQueue(args.queue);
    const log = args.quiet
      ? undefined
      : (line: string) => process.stderr.write(`pipeline worker: ${printable(line)}\n`);
    const summary = await runWorker({
      url: args.queue,
      data: args.data,
      verify: args.verify,
      concurrency: args.concurrency,
      cache: args.cache,
      cacheDir: args.cacheDir,
      cacheSizeMb: args.cacheSize,
      signal: abortSignal(),
      log,
    });
    log?.(`stopped: ${summary.done} jobs done, ${summary.failed} failed on ${summary.host}`);
  },
};
