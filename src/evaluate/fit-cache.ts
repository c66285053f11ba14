import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';

/** What a fitted transformer prefix produced for one fold: its training rows and held-out rows, transformed. */
export interface PrefixOutput {
  train: Matrix;
  test: Matrix;
  /** Time the prefix's last stage took to fit and transform when it was computed. */
  ms: number;
}

export interface CacheStats {
  memoryHits: number;
  diskHits: number;
  misses: number;
}

export interface FitCacheOptions {
  /** Folder for entries that outlive the run; null keeps everything in memory (--no-cache keeps nothing at all). */
  dir: string | null;
  /** Bound on the folder's total size; least recently used entries go first. */
  maxDiskBytes: number;
  /** Bound on the in-memory entries. */
  maxMemoryBytes: number;
  /** Entries larger than this stay in memory only (e.g. 784-column outputs of a cheap normalize). */
  maxEntryBytes: number;
  enabled: boolean;
}

const bytesOf = (out: PrefixOutput) => (out.train.data.byteLength + out.test.data.byteLength);

/**
 * Outputs of fitted transformer prefixes (normalize → PCA 50 …) keyed by data, fold and the prefix's params, so every
 * grid candidate that shares a prefix reuses one fit: in memory within a run, on disk across runs.
 */
export class FitCache {
  readonly stats: CacheStats = { memoryHits: 0, diskHits: 0, misses: 0 };
  private readonly memory = new Map<string, PrefixOutput>();
  private memoryBytes = 0;

  constructor(private readonly options: FitCacheOptions) {
    if (options.enabled && options.dir) mkdirSync(options.dir, { recursive: true });
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  /** Where an entry is, without loading it (for --dry-run plans). */
  where(key: string): 'memory' | 'disk' | null {
    if (!this.options.enabled) return null;
    if (this.memory.has(key)) return 'memory';
    return this.options.dir && existsSync(this.file(key)) ? 'disk' : null;
  }

  get(key: string): PrefixOutput | null {
    if (!this.options.enabled) return null;
    const hit = this.memory.get(key);
    if (hit) {
      this.memory.delete(key);
      this.memory.set(key, hit);
      this.stats.memoryHits++;
      return hit;
    }
    const fromDisk = this.read(key);
    if (fromDisk) {
      this.stats.diskHits++;
      this.remember(key, fromDisk);
      return fromDisk;
    }
    this.stats.misses++;
    return null;
  }

  set(key: string, out: PrefixOutput): void {
    if (!this.options.enabled) return;
    this.remember(key, out);
    if (this.options.dir && bytesOf(out) <= this.options.maxEntryBytes) this.write(key, out);
  }

  /** Forgets the in-memory entries (between folds, whose prefixes are never shared). */
  dropMemory(): void {
    this.memory.clear();
    this.memoryBytes = 0;
  }

  private remember(key: string, out: PrefixOutput): void {
    this.memory.set(key, out);
    this.memoryBytes += bytesOf(out);
    for (const [k, v] of this.memory) {
      if (this.memoryBytes <= this.options.maxMemoryBytes || k === key) break;
      this.memory.delete(k);
      this.memoryBytes -= bytesOf(v);
    }
  }

  private file(key: string): string {
    return join(this.options.dir!, `${key}.fit`);
  }

  /** Layout: uint32 header length, JSON header {trainRows, testRows, cols, ms}, then train and test float32 data. */
  private write(key: string, out: PrefixOutput): void {
    const header = Buffer.from(JSON.stringify({ trainRows: out.train.rows, testRows: out.test.rows, cols: out.train.cols, ms: out.ms }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length);
    const path = this.file(key);
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, Buffer.concat([len, header, Buffer.from(out.train.data.buffer, out.train.data.byteOffset, out.train.data.byteLength), Buffer.from(out.test.data.buffer, out.test.data.byteOffset, out.test.data.byteLength)]));
      renameSync(tmp, path);
    } catch {
      rmSync(tmp, { force: true }); // a full or read-only disk costs the cache, never the run
      return;
    }
    this.evict();
  }

  private read(key: string): PrefixOutput | null {
    if (!this.options.dir) return null;
    const path = this.file(key);
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch {
      return null;
    }
    try {
      const len = buf.readUInt32LE(0);
      const h = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as { trainRows: number; testRows: number; cols: number; ms: number };
      const start = 4 + len;
      const floats = (h.trainRows + h.testRows) * h.cols;
      if (buf.length !== start + floats * 4) throw new Error('size mismatch');
      const all = sharedFloats(floats);
      new Uint8Array(all.buffer).set(buf.subarray(start));
      const now = new Date();
      utimesSync(path, now, now);
      return {
        train: matrix(h.trainRows, h.cols, all.subarray(0, h.trainRows * h.cols)),
        test: matrix(h.testRows, h.cols, all.subarray(h.trainRows * h.cols)),
        ms: h.ms,
      };
    } catch {
      rmSync(path, { force: true }); // a damaged entry is recomputed
      return null;
    }
  }

  private evict(): void {
    const dir = this.options.dir!;
    const entries = readdirSync(dir)
      .filter((f) => f.endsWith('.fit'))
      .map((f) => {
        const st = statSync(join(dir, f));
        return { path: join(dir, f), size: st.size, used: st.mtimeMs };
      })
      .sort((a, b) => a.used - b.used);
    let total = entries.reduce((a, e) => a + e.size, 0);
    for (const e of entries) {
      if (total <= this.options.maxDiskBytes) break;
      rmSync(e.path, { force: true });
      total -= e.size;
    }
  }
}
