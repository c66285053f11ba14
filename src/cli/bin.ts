#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Interrupted, UsageError, UserError } from '../util/errors.js';
import { shutdownPool } from '../linalg/pool.js';
import { stageNames } from '../stages/registry.js';
import { verboseOption } from './options.js';
import { gridCommand } from './grid.js';
import { interrupt, interruptedExitCode } from './interrupt.js';
import { compareCommand } from './compare.js';
import { predictCommand } from './predict.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { showCommand } from './show.js';
import { workerCommand } from './worker.js';

const COMMANDS = ['run', 'grid', 'compare', 'show', 'predict', 'serve', 'worker'];

/** The only place that sets exit codes: 0 done, 1 data or runtime failure, 2 usage or pipeline-file error. */
async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    await yargs(argv)
      .scriptName('pipeline')
      .usage(
        '$0 <command> [options]\n\nClassical machine-learning pipelines over Fashion-MNIST, described in YAML files.',
      )
      .command(runCommand)
      .command(compareCommand)
      .command(showCommand)
      .command(gridCommand)
      .command(predictCommand)
      .command(workerCommand)
      .command(serveCommand)
      .options(verboseOption)
      .demandCommand(1, 'name a command: run, grid, compare, show, predict, serve or worker')
      .strict()
      .recommendCommands()
      .epilogue(`Stages: ${stageNames().join(', ')}. Pipeline files live in pipelines/; reports go to results/.`)
      .wrap(Math.min(110, process.stdout.columns ?? 110))
      .fail((msg, err) => {
        if (err) throw err;
        // yargs puts some messages on two lines ("Invalid values:\n  Argument: …"); errors here are one line
        throw new UsageError(
          `${String(msg).replace(/\s*\n\s*/g, ' ')} (see: pipeline ${COMMANDS.includes(argv[0]) ? argv[0] + ' ' : ''}--help)`,
        );
      })
      .parseAsync();
    return 0;
  } catch (err) {
    const e = err as Error;
    const known = err instanceof UserError;
    const code = err instanceof Interrupted ? interruptedExitCode() : known ? err.exitCode : 1;
    process.stderr.write(`pipeline: ${known ? e.message : `${e.name}: ${e.message}`}\n`);
    if (verbose && e.stack) process.stderr.write(e.stack + '\n');
    else if (!known) process.stderr.write('(run again with --verbose for the stack trace)\n');
    return code;
  } finally {
    await shutdownPool();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupt(signal)) return;
    process.stderr.write(`\npipeline: stopped at once (${signal} again)\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

process.exitCode = await main(hideBin(process.argv));
