/**
 * Ctrl-C, SIGTERM and SIGHUP (the terminal closed, or a supervisor's reload: a server finishes what it answers rather
 * than dying mid-request): the first one aborts this signal, so long work stops between two units through the same path
 * the tests drive (finished units stay in the checkpoint, timing history is saved, nothing half-written); a second one
 * exits at once.
 */
const controller = new AbortController();
/** The signals that stop work, and the exit code of work they stopped (128 + the signal's number, as shells report). */
export const STOP_SIGNALS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;
let received: StopSignal | null = null;
let notice = 'stopping after the current fit (again to stop at once)';

/** What the first signal prints after `pipeline: SIGINT: ` (a server stops differently from a search). */
export function setInterruptNotice(text: string): void {
  notice = text;
}

export function abortSignal(): AbortSignal {
  return controller.signal;
}

/** The exit code of work stopped by a signal: 129 after SIGHUP, 130 after SIGINT, 143 after SIGTERM. */
export function interruptedExitCode(): number {
  return STOP_SIGNALS[received ?? 'SIGINT'];
}

/**
 * A signal arrived (bin.ts's handler): the first one aborts the work and returns true; a later one returns false, and
 * bin.ts, the only place that ends the process, exits at once.
 */
export function interrupt(signal: StopSignal): boolean {
  if (controller.signal.aborted) return false;
  process.stderr.write(`\npipeline: ${signal}: ${notice}\n`);
  received = signal;
  controller.abort();
  return true;
}
