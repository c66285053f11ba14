import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { canonical, digest } from '../util/hash.js';
import type { JobResult } from './fit-and-score.js';

/** A line's own digest, so a line changed on disk is recomputed rather than trusted. */
const lineCheck = (candidate: string, score: JobResult) => digest(canonical({ candidate, ...score }));

/**
 * An append-only record of finished (candidate, fold) scores. Each line is written whole and synchronously, so an
 * interrupt (Ctrl-C, SIGTERM) between two units loses nothing; `--resume` reads it back. The first line names the plan
 * (data, folds, seed): a checkpoint for another plan is never mixed in.
 */
export class Checkpoint {
  private readonly done = new Map<string, JobResult>();
  /** How many scores were read back from an earlier, interrupted run. */
  readonly resumed: number;
  /** Why the file could not be written (a full or read-only disk), or null: after trouble nothing more is written. */
  trouble: string | null = null;

  /**
   * `fresh` starts a new file; `resume` continues the file when it was written for the same plan (else starts anew);
   * `read` only reads it and `none` ignores it (--dry-run with and without --resume): neither writes. A write that
   * fails costs the checkpoint, never the search: `onTrouble` is told once, and the search goes on without it.
   */
  constructor(
    readonly path: string,
    readonly plan: string,
    private readonly mode: 'fresh' | 'resume' | 'read' | 'none',
    private readonly onTrouble?: (reason: string) => void,
  ) {
    if (mode === 'resume' || mode === 'read')
      for (const [key, score] of readEntries(path, plan)) this.done.set(key, score);
    this.resumed = this.done.size;
    if ((mode === 'fresh' || mode === 'resume') && this.resumed === 0) {
      this.write(() => {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, JSON.stringify({ plan }) + '\n');
      });
    }
  }

  private write(work: () => void): void {
    if (this.trouble !== null) return;
    try {
      work();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      this.trouble = e.code ?? e.message;
      this.onTrouble?.(this.trouble);
    }
  }

  get(candidate: string, fold: number): JobResult | undefined {
    return this.done.get(`${candidate}/${fold}`);
  }

  record(candidate: string, score: JobResult): void {
    this.done.set(`${candidate}/${score.fold}`, score);
    if (this.mode === 'read' || this.mode === 'none') return;
    const line = JSON.stringify({ candidate, ...score, check: lineCheck(candidate, score) }) + '\n';
    this.write(() => appendFileSync(this.path, line));
  }

  /** Removes the file once the search has finished and its report is written (a read-only one stays). */
  discard(): void {
    if (this.mode === 'read' || this.mode === 'none') return;
    try {
      rmSync(this.path, { force: true });
    } catch {
      // a file that cannot be removed is a stale checkpoint: a later --resume checks its plan before using it
    }
  }
}

/** The scores in a checkpoint file written for `plan` (none when absent or written for another plan). */
function readEntries(path: string, plan: string): Array<[string, JobResult]> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return []; // absent or unreadable: nothing to resume
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  let header: { plan?: string };
  try {
    header = lines.length > 0 ? (JSON.parse(lines[0]) as { plan?: string }) : {};
  } catch {
    return [];
  }
  if (header.plan !== plan) return [];
  const out: Array<[string, JobResult]> = [];
  for (const line of lines.slice(1)) {
    try {
      const { candidate, check, ...score } = JSON.parse(line) as JobResult & { candidate: string; check: string };
      if (check !== lineCheck(candidate, score)) continue; // altered or torn: that unit is recomputed
      out.push([`${candidate}/${score.fold}`, score]);
    } catch {
      // a line cut by a crash mid-write: that unit is simply recomputed
    }
  }
  return out;
}
