import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { matrix, sharedFloats } from '../linalg/matrix.js';
import type { PrefixStore, Remembered, WorkStore } from '../pipeline/pipeline.js';
import { packSnapshots, unpackSnapshot } from '../stages/snapshot-bytes.js';
import type { Snapshot } from '../stages/stage.js';
import { sha256Hex } from '../util/hash.js';
import { makeFolders } from '../util/folders.js';

/** Counts of fitted-prefix lookups (held-out outputs, cheap to recompute, are not counted). */
export interface CacheStats {
  memory_hits: number;
  disk_hits: number;
  /** Transformer prefixes fitted because no remembered one applied. */
  misses: number;
  /** Disk entries found damaged (checksum or layout), discarded and recomputed. */
  damaged: number;
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
  /** Told once per damaged entry (the CLI prints it on stderr). */
  onDamaged?: (file: string) => void;
  /** Told once when the disk folder cannot be used (created or written): the cache goes on in memory only. */
  onTrouble?: (message: string) => void;
  /** Marks an entry as just used (default: set its modification time); a failure only costs the LRU order. */
  touch?: (file: string) => void;
}

interface DiskHeader {
  rows: number;
  cols: number;
  ms: number;
  states: unknown[] | null;
  /** Bytes of output data, then of the snapshot blob, and their SHA-256. */
  outputBytes: number;
  blobBytes: number;
  sha256: string;
}

const bytesOf = (entry: Remembered) => entry.output.data.byteLength;

/**
 * The pipelines' memory in a search (scikit-learn's `Pipeline(memory=…)`): fitted transformer prefixes with their
 * outputs, and transformed held-out rows, keyed by the pipeline (input, steps), so every candidate that shares a prefix
 * reuses one fit: in memory within a run, on disk across runs. Disk entries carry a SHA-256 checked on every read; a
 * damaged one is discarded and recomputed. The cache's own trouble (full or read-only disk) costs the cache, never the
 * run.
 */
/** Shared-work entries kept (each a fold's held-out rows × k neighbours: a few MB). */
const SHARED_WORK_ENTRIES = 8;

export class FitCache implements PrefixStore, WorkStore {
  readonly stats: CacheStats = { memory_hits: 0, disk_hits: 0, misses: 0, damaged: 0 };
  private readonly memory = new Map<string, Remembered>();
  private memoryBytes = 0;
  /**
   * Estimators' shared work (k-NN neighbour lists) of the current fold, in memory only, the last few kept: candidates
   * that share it run one after another.
   */
  private readonly work = new Map<string, unknown>();

  constructor(private options: FitCacheOptions) {
    if (options.enabled && options.dir) {
      try {
        makeFolders(options.dir);
      } catch (err) {
        this.diskTrouble('cannot be used', err); // an unusable folder: memory only
      }
    }
  }

  /** The disk folder is given up for this run (said once); entries in memory still serve every candidate. */
  private diskTrouble(what: string, err: unknown): void {
    const dir = this.options.dir;
    this.options = { ...this.options, dir: null };
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    this.options.onTrouble?.(`the fit cache ${dir} ${what} (${code}); fitted transformers are kept in memory only`);
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

  get(key: string, kind: 'fit' | 'transform'): Remembered | null {
    if (!this.options.enabled) return null;
    const hit = this.memory.get(key);
    if (hit) {
      this.memory.delete(key);
      this.memory.set(key, hit);
      if (kind === 'fit') this.stats.memory_hits++;
      return hit;
    }
    const fromDisk = kind === 'fit' ? this.read(key) : null;
    if (fromDisk) {
      this.stats.disk_hits++;
      this.remember(key, fromDisk);
      return fromDisk;
    }
    return null;
  }

  set(key: string, entry: Remembered): void {
    if (!this.options.enabled) return;
    if (entry.states) this.stats.misses++;
    this.remember(key, entry);
    // fitted prefixes go to disk; transformed held-out rows are cheap to recompute from them
    if (this.options.dir && entry.states && bytesOf(entry) <= this.options.maxEntryBytes) this.write(key, entry);
  }

  get workEnabled(): boolean {
    return this.options.enabled;
  }

  getWork(key: string): unknown {
    return this.options.enabled ? this.work.get(key) : undefined;
  }

  setWork(key: string, work: unknown): void {
    if (!this.options.enabled) return;
    this.work.delete(key);
    this.work.set(key, work);
    if (this.work.size > SHARED_WORK_ENTRIES) this.work.delete(this.work.keys().next().value!);
  }

  /** Forgets the in-memory entries (between folds, whose prefixes are never shared). */
  dropMemory(): void {
    this.memory.clear();
    this.work.clear();
    this.memoryBytes = 0;
  }

  private remember(key: string, entry: Remembered): void {
    const old = this.memory.get(key);
    if (old) this.memoryBytes -= bytesOf(old);
    this.memory.set(key, entry);
    this.memoryBytes += bytesOf(entry);
    for (const [k, v] of this.memory) {
      if (this.memoryBytes <= this.options.maxMemoryBytes || k === key) break;
      this.memory.delete(k);
      this.memoryBytes -= bytesOf(v);
    }
  }

  private file(key: string): string {
    return join(this.options.dir!, `${key}.fit`);
  }

  /** Layout: uint32 header length, JSON header (DiskHeader), the output's float32 data, then the snapshots' arrays. */
  private write(key: string, entry: Remembered): void {
    const path = this.file(key);
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      const { refs, blob } = packSnapshots(entry.states ?? []);
      const { output } = entry;
      const data = Buffer.from(output.data.buffer, output.data.byteOffset, output.data.byteLength);
      const sha256 = sha256Hex(Buffer.concat([data, blob]));
      const header: DiskHeader = {
        rows: output.rows,
        cols: output.cols,
        ms: entry.ms,
        states: refs,
        outputBytes: data.length,
        blobBytes: blob.length,
        sha256,
      };
      const json = Buffer.from(JSON.stringify(header));
      const len = Buffer.alloc(4);
      len.writeUInt32LE(json.length);
      writeFileSync(tmp, Buffer.concat([len, json, data, blob]));
      renameSync(tmp, path);
      this.evict();
    } catch (err) {
      // a full or read-only disk, or a folder in the way, costs the cache, never the run
      try {
        rmSync(tmp, { force: true, recursive: true });
      } catch {
        // nothing more to tidy on a disk that refuses writes
      }
      this.diskTrouble('cannot be written', err);
    }
  }

  private read(key: string): Remembered | null {
    if (!this.options.dir) return null;
    const path = this.file(key);
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch {
      return null; // absent (or unreadable: treated as absent)
    }
    const entry = decodeEntry(buf, path);
    if (!entry) {
      this.stats.damaged++;
      this.options.onDamaged?.(path);
      rmSync(path, { force: true, recursive: true });
      return null;
    }
    try {
      (this.options.touch ?? touchFile)(path); // least-recently-used order; a failed touch costs nothing but that order
    } catch {
      // read-only folder: the entry is still good
    }
    return entry;
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

/** A disk entry's content, or null when anything about it is wrong (layout, sizes, checksum, snapshot references). */
function decodeEntry(buf: Buffer, what: string): Remembered | null {
  try {
    const len = buf.readUInt32LE(0);
    const h = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as DiskHeader;
    const start = 4 + len;
    if (!Number.isInteger(h.rows) || !Number.isInteger(h.cols) || h.outputBytes !== h.rows * h.cols * 4) return null;
    if (buf.length !== start + h.outputBytes + h.blobBytes) return null;
    const body = buf.subarray(start);
    if (sha256Hex(body) !== h.sha256) return null;
    const floats = sharedFloats(h.rows * h.cols);
    new Uint8Array(floats.buffer).set(body.subarray(0, h.outputBytes));
    const blob = body.subarray(h.outputBytes);
    const states = h.states === null ? null : h.states.map((ref) => unpackSnapshot(ref, blob, what) as Snapshot);
    return { output: matrix(h.rows, h.cols, floats), states, ms: h.ms };
  } catch {
    return null;
  }
}

function touchFile(path: string): void {
  const now = new Date();
  utimesSync(path, now, now);
}
