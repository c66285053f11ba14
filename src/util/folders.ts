import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * mkdir -p, one level at a time: Node's `mkdirSync(dir, { recursive: true })` never returns under /proc (it retries
 * ENOENT forever), so `--out /proc/self/x` or a cache under /proc hung. Each missing folder is made on its own, and
 * the first that cannot be made throws its own error (ENOENT, EACCES, EROFS…).
 */
export function makeFolders(dir: string): void {
  for (const d of missingFolders(dir).reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile by another process: fine
    }
  }
}

/** The folders missing on the way to `dir`, deepest first: what a caller that fails removes again. */
export function missingFolders(dir: string): string[] {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d) && d !== dirname(d); d = dirname(d)) missing.push(d);
  return missing;
}
