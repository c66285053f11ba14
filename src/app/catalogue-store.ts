/**
 * A catalogue's features computed in batches with progress, and kept on disk: a JSON header line, then features
 * (float32), pixels (uint8, folders only) and labels (uint8).
 */
import { readFileSync } from 'node:fs';
import type { ProgressSink } from '../evaluate/progress.js';
import { matrix, type Matrix } from '../linalg/matrix.js';
import { shapeSize, type ImageShape } from '../linalg/shape.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { writeFilesAtomic } from '../report/write.js';

/** Rows transformed per batch while building a catalogue (bounded memory, visible progress). */
const BATCH = 5000;

/** A photo of a catalogue folder that was left out, and why (in the tool's own words: no text read from the file). */
export interface SkippedPhoto {
  name: string;
  reason: string;
}

/**
 * Cached catalogue: a JSON header line, then features (float32), pixels (uint8, folders only) and labels (uint8).
 * Photo catalogues' headers also hold the rows' shape and the photos skipped.
 */
export interface CacheHeader {
  rows: number;
  cols: number;
  names?: string[];
  shape?: ImageShape;
  skipped?: SkippedPhoto[];
}

/** Rows to transform: their count and width, and a copy of rows r0..r1 as float32. */
export interface RowSource {
  rows: number;
  cols: number;
  slice(r0: number, r1: number): Float32Array;
}

/** The pipeline's features of every row (the input of its estimator), `batch` rows at a time, with progress. */
export async function computeFeatures(
  pipeline: Pipeline,
  X: Matrix | RowSource,
  progress: ProgressSink | undefined,
  label: string,
  batch = BATCH,
  what = 'images',
): Promise<Matrix> {
  const slice =
    'slice' in X
      ? (r0: number, r1: number) => X.slice(r0, r1)
      : (r0: number, r1: number) => X.data.subarray(r0 * X.cols, r1 * X.cols);
  const batches = Math.ceil(X.rows / batch);
  progress?.begin(batches, label);
  try {
    let out: Matrix | null = null;
    for (let b = 0; b < batches; b++) {
      const r0 = b * batch;
      const r1 = Math.min(X.rows, r0 + batch);
      const part = await pipeline.transform(matrix(r1 - r0, X.cols, slice(r0, r1)));
      out ??= matrix(X.rows, part.cols);
      out.data.set(part.data, r0 * part.cols);
      progress?.advance(`${r1} of ${X.rows} ${what}`);
    }
    return out ?? matrix(0, 0);
  } finally {
    progress?.end();
  }
}

/** A cached catalogue; `rowSize` is the values of one thumbnail the caller expects (the header's shape, when it has one, must match). */
export function readCache(
  file: string,
  rowSize: number,
): { header: CacheHeader; features: Matrix; pixels: Uint8Array | null; labels: Uint8Array | null } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return null;
  }
  try {
    const newline = bytes.indexOf(10);
    const header = JSON.parse(bytes.toString('utf8', 0, newline)) as CacheHeader;
    const start = (newline + 4) & ~3;
    const n = header.rows * header.cols;
    const features = new Float32Array(n);
    Buffer.from(features.buffer).set(bytes.subarray(start, start + 4 * n));
    if (!header.names)
      return { header, features: matrix(header.rows, header.cols, features), pixels: null, labels: null };
    const size = header.shape ? shapeSize(header.shape) : rowSize;
    if (size !== rowSize) return null;
    const pixels = Uint8Array.from(bytes.subarray(start + 4 * n, start + 4 * n + header.rows * size));
    const labels = Uint8Array.from(bytes.subarray(start + 4 * n + header.rows * size));
    if (labels.length !== header.rows || pixels.length !== header.rows * size) return null;
    return { header, features: matrix(header.rows, header.cols, features), pixels, labels };
  } catch {
    return null; // damaged: computed again
  }
}

export function writeCache(
  file: string,
  features: Matrix,
  pixels: Float32Array | Uint8Array | null,
  labels: Uint8Array | null,
  names: string[] | null,
  photos?: { shape: ImageShape; skipped: SkippedPhoto[] },
): void {
  const header: CacheHeader = { rows: features.rows, cols: features.cols, ...(names ? { names } : {}), ...photos };
  const json = Buffer.from(JSON.stringify(header) + '\n');
  const pad = Buffer.alloc(((json.length + 3) & ~3) - json.length, 0x20);
  const parts = [json, pad, Buffer.from(features.data.buffer, features.data.byteOffset, features.data.byteLength)];
  if (pixels && labels) parts.push(Buffer.from(Uint8Array.from(pixels)), Buffer.from(labels));
  try {
    writeFilesAtomic([{ path: file, content: Buffer.concat(parts) }]);
  } catch {
    // a read-only folder only costs the next start the same computation
  }
}
