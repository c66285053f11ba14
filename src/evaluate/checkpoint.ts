import { appendFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UsageError } from '../util/errors.js';
import { canonical, digest } from '../util/hash.js';
import type { JobResult } from './fit-and-score.js';
import { makeFolders } from '../util/folders.js';

/** A line's own digest, so a line changed on disk is recomputed rather than trusted. */
const lineCheck = (candidate: string, score: JobResult) => digest(canonical({ candidate, ...score }));

export interface CheckpointOptions {
  /** The pipeline file searched, recorded in the first line, so a resume can tell another file's checkpoint apart. */
  source?: string;
  /** Told of trouble that costs the checkpoint, never the search: lines skipped, a file that cannot be written. */
  onWarning?: (message: string) => void;
}

/**
 * An append-only record of finished (candidate, fold) scores. Each line is written whole and synchronously, so an
 * interrupt (Ctrl-C, SIGTERM) between two units loses nothing; `--resume` reads it back. The first line names the plan
 * (code, data, folds, seed): a checkpoint for another plan is never mixed in, and resuming from one is refused with the
 * reason (so a resume never silently starts from zero).
 */
export class Checkpoint {
  private readonly done = new Map<string, JobResult>();
  /** How many scores were read back from an earlier, interrupted run. */
  readonly resumed: number;
  /** False once the file could not be written: the search goes on, but there is nothing to resume from. */
  usable = true;

  /**
   * `fresh` starts a new file; `resume` continues the file written for the same plan (a missing file, or one for
   * another plan, is a UsageError); `read` checks and reads it like `resume` and `none` ignores it (--dry-run with and
   * without --resume): neither writes.
   */
  constructor(
    readonly path: string,
    readonly plan: string,
    private readonly mode: 'fresh' | 'resume' | 'read' | 'none',
    private readonly options: CheckpointOptions = {},
  ) {
    if (mode === 'resume' || mode === 'read') {
      const { entries, skipped } = readEntries(path, plan, options.source);
      for (const [key, score] of entries) this.done.set(key, score);
      if (skipped > 0) {
        options.onWarning?.(
          `${path}: ${skipped} damaged line${skipped === 1 ? '' : 's'} skipped (cut short or altered); ${skipped === 1 ? 'that fold fit is' : 'those fold fits are'} recomputed`,
        );
      }
    }
    this.resumed = this.done.size;
    if ((mode === 'fresh' || mode === 'resume') && this.resumed === 0) {
      this.write(() => {
        makeFolders(dirname(path));
        writeFileSync(path, JSON.stringify({ plan, ...(options.source ? { source: options.source } : {}) }) + '\n');
      });
    }
  }

  get(candidate: string, fold: number): JobResult | undefined {
    return this.done.get(`${candidate}/${fold}`);
  }

  record(candidate: string, score: JobResult): void {
    this.done.set(`${candidate}/${score.fold}`, score);
    if (this.mode === 'read' || this.mode === 'none' || !this.usable) return;
    this.write(() =>
      appendFileSync(this.path, JSON.stringify({ candidate, ...score, check: lineCheck(candidate, score) }) + '\n'),
    );
  }

  /** Removes the file once the search has finished and its report is written. */
  discard(): void {
    // also after a failed write: a half-written file of this finished search is of no use to anyone
    if (this.mode !== 'fresh' && this.mode !== 'resume') return;
    try {
      rmSync(this.path, { force: true });
    } catch {
      // the report is written; a checkpoint left behind is only refused by a later --resume of another plan
    }
  }

  /** A failed write costs the checkpoint (reported once), never the search. */
  private write(action: () => void): void {
    try {
      action();
    } catch (err) {
      this.usable = false;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      this.options.onWarning?.(
        `cannot write the checkpoint ${this.path} (${code}); the search goes on without one (an interrupted search will start again)`,
      );
    }
  }
}

const restart = 'run without --resume to start the search again';

/** `--resume` with no checkpoint is refused with the path looked at (a resume never silently starts from zero). */
export function assertCheckpointExists(path: string): void {
  if (!existsSync(path)) {
    throw new UsageError(`--resume: no checkpoint at ${path} (no search of this name was interrupted); ${restart}`);
  }
}

/**
 * The scores in a checkpoint file written for `plan`, and how many lines were skipped as damaged. A missing file, an
 * unreadable first line or another plan are UsageErrors saying so: `--resume` asked for this file's work.
 */
function readEntries(
  path: string,
  plan: string,
  source: string | undefined,
): { entries: Array<[string, JobResult]>; skipped: number } {
  assertCheckpointExists(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--resume: cannot read the checkpoint ${path} (${(err as NodeJS.ErrnoException).code}); ${restart}`,
    );
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  let header: { plan?: unknown; source?: unknown } | null;
  try {
    header = lines.length > 0 ? (JSON.parse(lines[0]) as { plan?: unknown; source?: unknown } | null) : null;
  } catch {
    header = null;
  }
  if (header === null || typeof header !== 'object' || typeof header.plan !== 'string') {
    throw new UsageError(`--resume: the checkpoint ${path} is damaged (its first line names no search); ${restart}`);
  }
  // another file of the same name shares the path (and, on the same data and folds, the plan): its units are not ours
  if (typeof header.source === 'string' && source !== undefined && header.source !== source) {
    throw new UsageError(
      `--resume: the checkpoint ${path} was written by the search of another pipeline file (${header.source}); ${restart}`,
    );
  }
  if (header.plan !== plan) {
    throw new UsageError(
      `--resume: the checkpoint ${path} was written by another search (other code, data, folds or seed); ${restart}`,
    );
  }
  const entries: Array<[string, JobResult]> = [];
  let skipped = 0;
  for (const line of lines.slice(1)) {
    try {
      const { candidate, check, ...score } = JSON.parse(line) as JobResult & { candidate: string; check: string };
      if (check !== lineCheck(candidate, score)) {
        skipped++; // altered: that unit is recomputed
        continue;
      }
      entries.push([`${candidate}/${score.fold}`, score]);
    } catch {
      skipped++; // a line cut by a crash mid-write: that unit is simply recomputed
    }
  }
  return { entries, skipped };
}
