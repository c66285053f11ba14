import { UserError } from '../util/errors.js';

/**
 * Dense row-major matrix of 32-bit floats: the one shape data takes between stages.
 * Converted once at the boundary; hot loops work on `data` directly.
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

/**
 * A zero-filled Float32Array on shared memory: worker tasks read it in place, without the copy a plain buffer needs
 * (for a whole data set that copy can cost more than the kernel it feeds).
 */
export function sharedFloats(length: number): Float32Array {
  if (!(length <= MAX_FLOATS)) {
    throw new UserError(
      `a step's output of ${length.toExponential(2)} values (${((length * 4) / 2 ** 30).toFixed(0)} GB) is over the ${MAX_FLOATS / 2 ** 28} GB one array may take: use fewer rows (data.limit), features or union branches`,
      1,
    );
  }
  return new Float32Array(new SharedArrayBuffer(length * 4));
}

/** The most values one matrix holds (2³¹ floats, 8 GB). */
export const MAX_FLOATS = 2 ** 31;

/** A rows×cols matrix over `data` (zero-filled, on shared memory, when omitted); checks that the sizes agree. */
export function matrix(rows: number, cols: number, data?: Float32Array): Matrix {
  const buffer = data ?? sharedFloats(rows * cols);
  if (buffer.length !== rows * cols) {
    throw new Error(`matrix: data has ${buffer.length} values, expected ${rows}×${cols} = ${rows * cols}`);
  }
  return { rows, cols, data: buffer };
}

/** Copies the given rows (in the given order) into a new matrix. */
export function takeRows(X: Matrix, indices: ArrayLike<number>): Matrix {
  const { cols } = X;
  const out = sharedFloats(indices.length * cols);
  for (let i = 0; i < indices.length; i++) {
    const from = indices[i] * cols;
    out.set(X.data.subarray(from, from + cols), i * cols);
  }
  return matrix(indices.length, cols, out);
}

/** Picks the given entries of a label vector. */
export function takeLabels(y: Uint8Array, indices: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) out[i] = y[indices[i]];
  return out;
}

/** Row i as a view (no copy). */
export function row(X: Matrix, i: number): Float32Array {
  return X.data.subarray(i * X.cols, (i + 1) * X.cols);
}

/** number[][] for libraries that want nested arrays (ml-* oracles, libsvm-js). */
export function toNested(X: Matrix): number[][] {
  const out: number[][] = new Array(X.rows);
  for (let i = 0; i < X.rows; i++) out[i] = Array.from(row(X, i));
  return out;
}

/** Number of classes implied by labels 0..max (max + 1). */
export function labelCount(y: Uint8Array): number {
  let max = -1;
  for (let i = 0; i < y.length; i++) if (y[i] > max) max = y[i];
  return max + 1;
}
