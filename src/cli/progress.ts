import type { ProgressSink } from '../evaluate/progress.js';

/** Formats seconds as 1h02m, 3m05s or 12s. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * A one-line progress bar with elapsed time and ETA on stderr. Drawn only on a terminal; elsewhere (pipes, CI, --quiet)
 * the CLI passes no sink at all.
 */
export class TerminalProgress implements ProgressSink {
  private total = 1;
  private done = 0;
  private label = '';
  private started = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  begin(total: number, label: string): void {
    this.total = Math.max(1, total);
    this.done = 0;
    this.label = label;
    this.started = performance.now();
    this.timer = setInterval(() => this.draw(), 1000);
    this.timer.unref();
    this.draw();
  }

  advance(label: string): void {
    this.done = Math.min(this.total, this.done + 1);
    this.label = label;
    this.draw();
  }

  end(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stream.write('\r\x1b[2K');
  }

  private draw(): void {
    const elapsed = (performance.now() - this.started) / 1000;
    const fraction = this.done / this.total;
    const width = 24;
    const filled = Math.round(fraction * width);
    const eta = this.done > 0 ? formatDuration((elapsed / this.done) * (this.total - this.done)) : '…';
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.done}/${this.total} ${this.label}  elapsed ${formatDuration(elapsed)}  ETA ${eta}`;
    const cols = this.stream.columns ?? 100;
    this.stream.write('\r\x1b[2K' + line.slice(0, cols - 1));
  }
}

/** A sink when progress should be shown, else undefined. */
export function progressFor(quiet: boolean): ProgressSink | undefined {
  return !quiet && process.stderr.isTTY ? new TerminalProgress() : undefined;
}
