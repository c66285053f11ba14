import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { digest } from '../util/hash.js';
import { makeFolders } from '../util/folders.js';

/**
 * How long fits took before, by stage, params and data shape: `--dry-run` estimates a search from it. Kept beside the
 * fit cache; a missing or unreadable file just means no estimate yet.
 */
export class TimingHistory {
  private readonly entries: Record<string, number>;

  constructor(private readonly path: string | null) {
    let loaded: Record<string, number> = {};
    if (path) {
      try {
        loaded = JSON.parse(readFileSync(path, 'utf8')) as Record<string, number>;
      } catch {
        loaded = {};
      }
    }
    this.entries = loaded;
  }

  static key(stage: string, params: Record<string, unknown>, rows: number, cols: number): string {
    return digest([stage, params, rows, cols]);
  }

  get(key: string): number | undefined {
    return this.entries[key];
  }

  record(key: string, ms: number): void {
    this.entries[key] = Math.round(ms);
  }

  save(): void {
    if (!this.path) return;
    const tmp = `${this.path}.tmp-${process.pid}`;
    try {
      makeFolders(dirname(this.path));
      writeFileSync(tmp, JSON.stringify(this.entries));
      renameSync(tmp, this.path);
    } catch {
      // estimates are a convenience; never fail a search over them (nor leave a half-written file behind)
      rmSync(tmp, { force: true });
    }
  }
}
