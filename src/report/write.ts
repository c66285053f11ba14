import { existsSync, lstatSync, mkdirSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError, UserError } from '../util/errors.js';
import { makeFolders, missingFolders } from '../util/folders.js';

/** Longest file name (one path component, in bytes) Linux, macOS and Windows file systems all take. */
export const NAME_MAX = 255;

/** A late write failure (a full disk, a folder removed under the run): exit 1, naming the file. */
export class WriteError extends UserError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: cannot write: ${reason}; nothing was written`, 1);
  }
}

/** The name a file is written under before it is renamed into place (a dot file beside it). */
export function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
}

/** A file-system error code in words (the raw message carries a syscall and a path the caller already names). */
export function fsReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const words: Record<string, string> = {
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    ENOTDIR: 'a file is in the way of a folder',
    EISDIR: 'a folder is in the way of the file',
    EEXIST: 'a file is in the way of a folder',
    ENAMETOOLONG: 'name too long for the file system',
    ENOENT: 'the folder disappeared',
    EIO: 'input/output error',
  };
  return e.code ? `${words[e.code] ?? e.code.toLowerCase()} (${e.code})` : String(e.message ?? err);
}

/**
 * What kind of special file `path` is (a device, a pipe, a socket), or null for a regular file, a folder, a link or
 * nothing. Writing renames over the name, so it would replace a device node with a file: such names are refused.
 */
export function specialFile(path: string): string | null {
  let entry;
  try {
    entry = lstatSync(path);
  } catch {
    return null;
  }
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return 'a device';
  if (entry.isFIFO()) return 'a named pipe';
  if (entry.isSocket()) return 'a socket';
  return null;
}

/** Removes folders this process created (deepest first) while they are empty; never one that was there before. */
function removeFolders(made: string[]): void {
  for (const d of made) {
    try {
      rmdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return; // something else wrote there: leave the rest
    }
  }
}

/**
 * Writes several files all-or-nothing as far as a file system allows: every file goes to a temporary name beside its
 * target first, and only when all are written are they renamed into place. On any failure the temporaries, and the
 * folders made for them, are removed, so results/ never holds a half-written report; the failure is a WriteError
 * naming the file. Renames happen in the order given: callers put the file that marks the set complete (a run's JSON)
 * last.
 */
export function writeFilesAtomic(files: Array<{ path: string; content: string | Uint8Array }>): void {
  const temps: Array<{ tmp: string; path: string }> = [];
  const made: string[] = [];
  let current = '';
  try {
    for (const { path, content } of files) {
      current = path;
      const special = specialFile(path);
      if (special) throw Object.assign(new Error(special), { code: 'ESPECIAL', special });
      made.unshift(...missingFolders(dirname(path)));
      makeFolders(dirname(path));
      const tmp = tempPath(path);
      temps.push({ tmp, path });
      writeFileSync(tmp, content);
    }
    for (const { tmp, path } of temps) {
      current = path;
      renameSync(tmp, path);
    }
  } catch (err) {
    for (const { tmp } of temps) rmSync(tmp, { force: true });
    removeFolders(made);
    const special = (err as { special?: string }).special;
    throw new WriteError(current, special ? `it is ${special}, never replaced by a file` : fsReason(err));
  }
}

/** A folder a command will write into, and the names (files or folders) it will create there. */
export interface PlannedOutput {
  /** How the user named it, for the message: `--out results`, `--save-model models/m.model`. */
  what: string;
  dir: string;
  /** Final names; their temporary names (tempPath) are checked too. */
  names: string[];
  /** What to do when a name is too long: "shorten the pipeline's name". */
  longNameFix?: string;
}

/**
 * Why `out.dir` cannot take the planned files and what to do, or null when it can: the folder exists or can be created, is a folder,
 * takes a new file (a probe file is created and removed), and every final and temporary name fits the file system
 * (NAME_MAX, and the probe is made as long as the longest). Nothing the check creates outlives it.
 */
export function outputProblem(out: PlannedOutput): { problem: string; fix: string } | null {
  const bytes = (n: string) => Buffer.byteLength(n);
  const longest = out.names.reduce((a, n) => (bytes(n) > bytes(a) ? n : a), '');
  const longestTemp = basename(tempPath(longest));
  const fix = out.longNameFix ?? 'choose a shorter name';
  if (bytes(longestTemp) > NAME_MAX) {
    const shown = longest.length > 40 ? `${longest.slice(0, 24)}…${longest.slice(-12)}` : longest;
    return {
      problem: `the file name ${shown} (${bytes(longest)} bytes, ${bytes(longestTemp)} under its temporary name) is over the ${NAME_MAX} bytes a file system takes`,
      fix,
    };
  }
  for (const name of out.names) {
    const special = specialFile(join(out.dir, name));
    if (special)
      return { problem: `${join(out.dir, name)} is ${special}, never replaced by a file`, fix: 'name a file' };
  }
  let blocker = resolve(out.dir);
  while (!existsSync(blocker) && blocker !== dirname(blocker)) blocker = dirname(blocker);
  if (!statSync(blocker).isDirectory()) {
    return {
      problem: `${blocker === resolve(out.dir) ? out.dir : blocker} is a file, not a folder`,
      fix: 'name a folder',
    };
  }
  const made = missingFolders(out.dir);
  try {
    makeFolders(out.dir);
  } catch (err) {
    removeFolders(made);
    return {
      problem: `cannot create the folder: ${fsReason(creationError(made) ?? err)}`,
      fix: 'choose another folder',
    };
  }
  // as long as the longest temporary name, so a file system with a smaller limit than NAME_MAX says so here
  const probe = join(out.dir, `.probe-${process.pid}-`.padEnd(Math.max(16, bytes(longestTemp)), 'x'));
  try {
    writeFileSync(probe, '', { flag: 'wx' });
    return null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG')
      return {
        problem: `a file name of ${bytes(longestTemp)} bytes (${longest} under its temporary name) is too long for this file system`,
        fix,
      };
    return { problem: `cannot write there: ${fsReason(err)}`, fix: 'choose another folder' };
  } finally {
    rmSync(probe, { force: true });
    removeFolders(made);
  }
}

/** The true reason a recursive mkdir failed (on a read-only file system Node reports ENOENT): one level at a time. */
function creationError(missing: string[]): unknown {
  for (const d of [...missing].reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      removeFolders(missing);
      return err;
    }
  }
  removeFolders(missing);
  return null;
}

/** Checks every planned output before the work (see outputProblem); the first problem is a UsageError (exit 2). */
export function checkOutputs(outputs: PlannedOutput[]): void {
  for (const out of outputs) {
    const found = outputProblem(out);
    if (found) throw new UsageError(`${out.what}: ${found.problem}; ${found.fix}`);
  }
}

/** The planned output of one file (a model, a picture), named by the option that chose it. */
export function plannedFile(option: string, path: string, longNameFix?: string): PlannedOutput {
  return { what: `${option} ${path}`, dir: dirname(path), names: [basename(path)], longNameFix };
}
