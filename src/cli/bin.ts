#!/usr/bin/env node
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { Interrupted, UsageError, UserError } from '../util/errors.js';
import { shutdownPool } from '../runtime/pool.js';
import { stageNames } from '../stages/registry.js';
import { closest } from '../util/suggest.js';
import { inRange, verboseOption } from './options.js';
import { gridCommand } from './grid-command.js';
import { interrupt, interruptedExitCode, STOP_SIGNALS, type StopSignal } from './interrupt.js';
import { compareCommand } from './compare.js';
import { predictCommand } from './predict.js';
import { runCommand } from './run.js';
import { serveCommand } from './serve.js';
import { showCommand } from './show.js';
import { workerCommand } from './worker.js';
import { printable } from '../util/printable.js';

const COMMANDS = ['run', 'grid', 'compare', 'show', 'predict', 'serve', 'worker'];

/** The only place that sets exit codes: 0 done, 1 data or runtime failure, 2 usage or pipeline-file error. */
async function main(argv: string[]): Promise<number> {
  const verbose = argv.includes('--verbose');
  try {
    checkEnvironment();
    checkRepeats(argv);
    const parser: Argv = yargs(argv);
    await parser
      .scriptName('pipeline')
      .usage(
        '$0 <command> [options]\n\nClassical machine-learning pipelines over Fashion-MNIST or your own folders of labelled photos, described in YAML files.',
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
      .middleware((args) => checkNumbers(args, argv))
      .fail((msg, err) => {
        if (err) throw err;
        const command = COMMANDS.includes(argv[0]) ? argv[0] : null;
        throw new UsageError(
          `${explain(String(msg), command, parser, argv)} (see: pipeline ${command ? command + ' ' : ''}--help)`,
        );
      })
      .parseAsync();
    return 0;
  } catch (err) {
    const e = err as Error;
    const known = err instanceof UserError;
    const code = err instanceof Interrupted ? interruptedExitCode() : known ? err.exitCode : 1;
    process.stderr.write(`pipeline: ${printable(known ? e.message : `${e.name}: ${e.message}`)}\n`);
    if (verbose && e.stack) process.stderr.write(e.stack + '\n');
    else if (!known) process.stderr.write('(run again with --verbose for the stack trace)\n');
    return code;
  } finally {
    await shutdownPool();
  }
}

/** What each command needs when its first argument is missing. */
const REQUIRED: Record<string, string> = {
  run: 'a pipeline file: pipeline run FILE.yaml',
  grid: 'a pipeline file: pipeline grid FILE.yaml',
  predict: 'a model file or a pipeline file, then images: pipeline predict MODEL IMAGES…',
};

/** yargs keeps the options declared so far; its types do not list the method. */
interface YargsWithOptions {
  getOptions(): { key?: Record<string, unknown> };
}

/** A yargs message made one line and actionable: a hint for a misspelt option, the argument a command lacks. */
function explain(msg: string, command: string | null, y: Argv, argv: string[]): string {
  const unknown = /^Unknown arguments?: (.*)$/.exec(msg);
  if (unknown) {
    const known = Object.keys((y as unknown as YargsWithOptions).getOptions().key ?? {}).filter(
      (k) => k.length > 1 && !/[A-Z]/.test(k),
    );
    const names = unknown[1].split(', ');
    const typed = (n: string) => argv.some((t) => t === `--${n}` || t.startsWith(`--${n}=`) || t === `-${n}`);
    const options = names.filter(typed);
    const extra = names.filter((n) => !typed(n));
    if (options.length === 0) return `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(', ')}`;
    const hints = options.flatMap((name) => {
      const near = closest(name, known);
      return near ? [`did you mean --${near}?`] : [];
    });
    return `unknown option${options.length > 1 ? 's' : ''} ${options.map((n) => `--${n}`).join(', ')}${hints.length ? `; ${hints.join('; ')}` : ''}`;
  }
  if (/^Not enough non-option arguments/.test(msg) && command && REQUIRED[command]) {
    return `pipeline ${command} needs ${REQUIRED[command]}`;
  }
  // yargs puts some messages on two lines ("Invalid values:\n  Argument: …"); errors here are one line
  return msg.replace(/\s*\n\s*/g, ' ');
}

/** $FASHION_WORKERS is read by the worker pool deep inside a run; a bad value is a usage error before any work. */
function checkEnvironment(): void {
  const workers = process.env.FASHION_WORKERS;
  if (workers !== undefined && workers !== '') inRange('FASHION_WORKERS', workers);
}

/** Options that may be given several times (they collect values); any other given twice is a contradiction. */
const REPEATABLE = new Set(['param']);

/** Refuses an option given twice (`--out a --out b`, `--cv --no-cv`): which one was meant is not for us to guess. */
function checkRepeats(argv: string[]): void {
  const seen = new Map<string, string>();
  for (const token of argv) {
    if (token === '--') break;
    const m = /^--(?:no-)?([^=]+)/.exec(token);
    if (!m) continue;
    const name = m[1].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (REPEATABLE.has(name)) continue;
    const first = seen.get(name);
    if (first !== undefined) {
      const twice = first.split('=')[0] === token.split('=')[0];
      throw new UsageError(
        twice
          ? `${token.split('=')[0]} is given twice; give it once`
          : `${first.split('=')[0]} and ${token.split('=')[0]} contradict each other; give one of them`,
      );
    }
    seen.set(name, token);
  }
}

/** A number option given as text (`--folds abc`) is named with what was typed, not as NaN. */
function checkNumbers(args: Record<string, unknown>, argv: string[]): void {
  for (const [key, value] of Object.entries(args)) {
    if (typeof value !== 'number' || !Number.isNaN(value) || /[A-Z]/.test(key)) continue;
    const at = argv.findIndex((t) => t === `--${key}` || t.startsWith(`--${key}=`));
    const typed =
      at < 0 ? '' : argv[at].includes('=') ? argv[at].slice(argv[at].indexOf('=') + 1) : (argv[at + 1] ?? '');
    throw new UsageError(`--${key} expects a number, got "${typed}"`);
  }
}

for (const signal of Object.keys(STOP_SIGNALS) as StopSignal[]) {
  process.on(signal, () => {
    if (interrupt(signal)) return;
    process.stderr.write(`\npipeline: stopped at once (${signal} again)\n`);
    process.exit(STOP_SIGNALS[signal]);
  });
}

process.exitCode = await main(hideBin(process.argv));
