/**
 * Ctrl-C and SIGTERM: the first one aborts this signal, so long work stops between two units through the same path
 * the tests drive (finished units stay in the checkpoint, timing history is saved, nothing half-written); a second one
 * exits at once.
 */
const controller = new AbortController();
let received: 'SIGINT' | 'SIGTERM' | null = null;
let notice = 'stopping after the current fit (again to stop at once)';

/** What the first signal prints after `pipeline: SIGINT: ` (a server stops differently from a search). */
export function setInterruptNotice(text: string): void {
  notice = text;
}

export function abortSignal(): AbortSignal {
  return controller.signal;
}

/** The exit code of work stopped by a signal: 130 after SIGINT, 143 after SIGTERM (as shells report them). */
export function interruptedExitCode(): number {
  return received === 'SIGTERM' ? 143 : 130;
}

/** Installs the handlers (bin.ts only). */
export function handleInterrupts(): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (controller.signal.aborted) {
        process.stderr.write(`\npipeline: stopped at once (${signal} again)\n`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      process.stderr.write(`\npipeline: ${signal}: ${notice}\n`);
      received = signal;
      controller.abort();
    });
  }
}
