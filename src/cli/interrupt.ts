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

/**
 * A signal arrived (bin.ts's handler): the first one aborts the work and returns true; a later one returns false, and
 * bin.ts, the only place that ends the process, exits at once.
 */
export function interrupt(signal: 'SIGINT' | 'SIGTERM'): boolean {
  if (controller.signal.aborted) return false;
  process.stderr.write(`\npipeline: ${signal}: ${notice}\n`);
  received = signal;
  controller.abort();
  return true;
}
