/**
 * A problem the user can fix (bad option, pipeline file, data or model file): the CLI prints its message as one line
 * and exits with `exitCode` (1 data or runtime, 2 usage or pipeline file, 130 interrupted), with no stack trace unless
 * --verbose.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A command-line value or request that cannot work: exit 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** Work stopped on request (Ctrl-C, SIGTERM) between two units: what was kept, for the message and a resume. */
export class Interrupted extends UserError {
  constructor(
    readonly finished: number,
    /** The checkpoint holding the finished units, or null when nothing was kept. */
    readonly checkpoint: string | null,
    /** The command that continues the work, when there is one. */
    readonly resume?: string,
    /** What was lost, when nothing was kept (the results folder's reports by default). */
    nothingKept = 'nothing was written to the results folder',
  ) {
    super(
      checkpoint
        ? `interrupted: ${finished} finished fold fit${finished === 1 ? '' : 's'} kept in ${checkpoint}` +
            (resume ? `; continue with: ${resume}` : '')
        : `interrupted: ${nothingKept}`,
      130,
    );
  }
}
