import { join, resolve } from 'node:path';
import { FitCache } from '../evaluate/fit-cache.js';
import { outputProblem } from '../report/write.js';

/** Default cache folder: $FASHION_CACHE_DIR, else .cache/fashion-pipeline under the working directory. */
export function defaultCacheDir(): string {
  return resolve(process.env.FASHION_CACHE_DIR ?? join('.cache', 'fashion-pipeline'));
}

/**
 * The fit cache of a search or a queue worker: `cacheDir`/fits on disk (bounded by `cacheSizeMb`, 2 GB by default),
 * 1.5 GB in memory, entries over 64 MB (784-column outputs) in memory only; `cache: false` turns it off.
 */
export function openFitCache(
  options: { cache?: boolean; cacheDir: string; cacheSizeMb?: number; disk?: boolean },
  onDamaged?: (file: string) => void,
  onTrouble?: (message: string) => void,
): FitCache {
  const on = options.cache !== false;
  return new FitCache({
    enabled: on,
    dir: on && options.disk !== false ? join(options.cacheDir, 'fits') : null,
    maxDiskBytes: (options.cacheSizeMb ?? 2048) * 2 ** 20,
    maxMemoryBytes: 1536 * 2 ** 20,
    maxEntryBytes: 64 * 2 ** 20,
    onDamaged,
    onTrouble,
  });
}

/**
 * Why the cache folder cannot hold the disk cache, the checkpoint of pipeline `name` and the timings, or null. Its
 * trouble costs the cache, never the search: the caller warns and goes on without them.
 */
export function cacheFolderProblem(cacheDir: string, name: string): string | null {
  const found =
    outputProblem({ what: cacheDir, dir: cacheDir, names: ['fits', 'checkpoints', 'timings.json'] }) ??
    outputProblem({ what: cacheDir, dir: join(cacheDir, 'fits'), names: [`${'0'.repeat(16)}.fit`] }) ??
    outputProblem({
      what: cacheDir,
      dir: join(cacheDir, 'checkpoints'),
      names: [`${name}.jsonl`],
      longNameFix: "shorten the pipeline's name",
    });
  return found && found.problem;
}
