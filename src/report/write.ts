import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';

/**
 * Writes several files all-or-nothing as far as a file system allows: every file goes to a temporary name beside its
 * target first, and only when all are written are they renamed into place. On any failure the temporaries are removed,
 * so results/ never holds a half-written report. Renames happen in the order given: callers put the file that marks
 * the set complete (a run's JSON) last.
 */
export function writeFilesAtomic(files: Array<{ path: string; content: string | Uint8Array }>): void {
  const temps: Array<{ tmp: string; path: string }> = [];
  try {
    for (const { path, content } of files) {
      mkdirSync(dirname(path), { recursive: true });
      const tmp = join(dirname(path), `.${basename(path)}.tmp-${process.pid}`);
      temps.push({ tmp, path });
      writeFileSync(tmp, content);
    }
    for (const { tmp, path } of temps) renameSync(tmp, path);
  } catch (err) {
    for (const { tmp } of temps) rmSync(tmp, { force: true });
    throw err;
  }
}
