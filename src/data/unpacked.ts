import { closeSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { sha256Hex } from '../util/hash.js';
import { gunzipBounded } from './idx.js';
import { makeFolders } from '../util/folders.js';

/**
 * Decompressed copies of the official Fashion-MNIST image files, kept in the user's cache folder so that later commands
 * skip the gunzip of the training images on every command. A copy is named by the SHA-256 of the gzip
 * file it came from, so a changed file is never served from an old copy, and it starts with the SHA-256 of the bytes
 * that follow, so a damaged copy is noticed (and replaced). Only data whose SHA-256 is an official file's is kept (other
 * data never fills the folder). Best effort: a folder that cannot be written costs only the speed-up.
 * $FASHION_DATA_CACHE names another folder, or `off` turns the copies off.
 */

/** Smaller gzip files are decompressed every time (the labels: too small for a copy to save anything). */
const MIN_COMPRESSED_BYTES = 1 << 20;
const HEADER_BYTES = 32;

/** The folder of decompressed copies, or null when turned off. */
export function unpackedFolder(): string | null {
  const env = process.env.FASHION_DATA_CACHE;
  if (env === 'off') return null;
  if (env) return env;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'fashion-pipeline', 'data');
}

/**
 * gunzipBounded's bytes (and their SHA-256), from the decompressed copy when there is a sound one; a result whose
 * SHA-256 is `official` is kept as a copy for next time.
 */
export function gunzipCached(
  compressed: Uint8Array,
  limit: number,
  what: string,
  wanted: string,
  official: string,
): { bytes: Uint8Array; sha256: string } {
  const folder = compressed.length >= MIN_COMPRESSED_BYTES ? unpackedFolder() : null;
  const path = folder === null ? null : join(folder, `${sha256Hex(compressed)}.idx`);
  if (path !== null) {
    const copy = readCopy(path, limit, official);
    if (copy) return copy;
  }
  const bytes = gunzipBounded(compressed, limit, what, wanted);
  const sha256 = sha256Hex(bytes);
  if (path !== null && sha256 === official) writeCopy(folder!, path, bytes, sha256);
  return { bytes, sha256 };
}

/** The copy at `path` when it holds the official data (by its header, then by hashing what follows); else null. */
function readCopy(path: string, limit: number, official: string): { bytes: Uint8Array; sha256: string } | null {
  const copy = readChecked(path, limit, (header) => header === official); // only official data is ever kept
  return copy && { bytes: copy, sha256: official };
}

/**
 * The bytes of a copy written by writeChecked, when its header (the SHA-256 of what follows) is wanted and matches
 * them and they are at most `limit` bytes; else null (missing, damaged, too large: the caller recomputes).
 */
export function readChecked(path: string, limit: number, wanted: (header: string) => boolean = () => true): Uint8Array | null {
  let file: Buffer;
  try {
    if (!statSync(path).isFile()) return null;
    file = readFileSync(path);
  } catch {
    return null;
  }
  if (file.length < HEADER_BYTES || file.length - HEADER_BYTES > limit) return null;
  const header = file.subarray(0, HEADER_BYTES).toString('hex');
  if (!wanted(header)) return null;
  const bytes = file.subarray(HEADER_BYTES);
  return sha256Hex(bytes) === header ? bytes : null;
}

/**
 * Writes `bytes` behind a header of their SHA-256, under a temporary name renamed into place: a reader never sees half
 * of one. Best effort: a folder that cannot be written costs only the speed-up.
 */
export function writeChecked(folder: string, path: string, bytes: Uint8Array): void {
  writeCopy(folder, path, bytes, sha256Hex(bytes));
}

/** Writes the copy under a temporary name and renames it into place: a reader never sees half of one. */
function writeCopy(folder: string, path: string, bytes: Uint8Array, sha256: string): void {
  const temp = `${path}.${process.pid}.${threadId}.${Date.now()}.tmp`;
  try {
    makeFolders(folder);
    removeStaleTemporaries(folder);
    const fd = openSync(temp, 'w');
    try {
      for (const part of [Buffer.from(sha256, 'hex'), bytes]) {
        for (let at = 0; at < part.length; ) at += writeSync(fd, part, at);
      }
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch {
    try {
      unlinkSync(temp);
    } catch {
      // nothing was written
    }
  }
}

/** Temporary files of writes that were killed midway (older than ten minutes: no write takes that long). */
function removeStaleTemporaries(folder: string): void {
  const before = Date.now() - 10 * 60 * 1000;
  for (const name of readdirSync(folder)) {
    if (!name.endsWith('.tmp')) continue;
    try {
      if (statSync(join(folder, name)).mtimeMs < before) unlinkSync(join(folder, name));
    } catch {
      // another process removed it first
    }
  }
}
