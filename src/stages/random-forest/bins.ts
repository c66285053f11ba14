/**
 * Quantization of the forest's training data: every feature into ≤ MAX_BINS bins (one per distinct value when there are
 * few enough, else quantile bins), with the smallest and largest training value of each bin for real thresholds.
 * Runs on worker threads through the pool (binFeatures is a pool task of random-forest-worker.ts).
 */

/** Bins per feature (codes are bytes). */
export const MAX_BINS = 256;

/** The training data once quantized; all arrays may live in shared memory. */
export interface BinnedData {
  /** Names this fit's data in kernel memory: a thread copies the codes there once per fit (growTree). */
  id: string;
  rows: number;
  features: number;
  classes: number;
  /** Bin codes twice: feature-major (row i, feature f at f * rows + i), read by large nodes… */
  codes: Uint8Array;
  /** …and row-major (at i * features + f), read by small nodes, whose rows then stay in cache down the subtree. */
  codesByRow: Uint8Array;
  y: Uint8Array;
  /** features × MAX_BINS: smallest and largest training value that fell in each bin (for real-valued thresholds). */
  binLo: Float32Array;
  binHi: Float32Array;
}

const EMPTY = 0xffffffff; // a NaN bit pattern: never a key, since non-finite values are rejected
const HASH_BITS = 9;
const HASH_SIZE = 1 << HASH_BITS;
/** Rows sampled (evenly spaced) to place quantile edges of features with more than MAX_BINS distinct values. */
const QUANTILE_SAMPLE = 50000;

/** The slot of the hash set `keys` (open addressing, linear probing) that holds `bits`, or the empty slot ending its probe. */
function findSlot(keys: Uint32Array, bits: number): number {
  let h = Math.imul(bits, 0x9e3779b1) >>> (32 - HASH_BITS);
  for (;;) {
    const key = keys[h];
    if (key === bits || key === EMPTY) return h;
    h = (h + 1) & (HASH_SIZE - 1);
  }
}

/** Rows sampled for the first look at a feature's distinct values. */
const DISTINCT_STEP = 4;

/**
 * Adds the distinct bit patterns of column[off + i] (i = 0, step, 2·step, …) to the hash set `keys` holding `count`
 * already; returns the new count, or -1 past MAX_BINS.
 */
function collectDistinct(
  keys: Uint32Array,
  bits: Uint32Array,
  off: number,
  rows: number,
  step: number,
  count: number,
): number {
  let last = EMPTY;
  for (let i = 0; i < rows; i += step) {
    const b = bits[off + i];
    if (b === last) continue;
    last = b;
    const h = findSlot(keys, b);
    if (keys[h] === EMPTY) {
      if (count === MAX_BINS) return -1;
      keys[h] = b;
      count++;
    }
  }
  return count;
}

/** Where one feature's bins go: row i's code at codes[codeOff + i], bin b's bounds at binLo/binHi[binOff + b]. */
interface FeatureOut {
  codes: Uint8Array;
  codeOff: number;
  binLo: Float32Array;
  binHi: Float32Array;
  binOff: number;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * One bin per value of the hash set (in increasing order): fills binLo/binHi and the feature's codes. Returns false,
 * leaving them half-written, when a row holds a value missing from the set.
 */
function codeExact(
  keys: Uint32Array,
  slotBin: Uint8Array,
  bits: Uint32Array,
  off: number,
  rows: number,
  out: FeatureOut,
  count: number,
): boolean {
  const { codes, codeOff, binLo, binHi, binOff } = out;
  const values = new Float32Array(count);
  let v = 0;
  for (let h = 0; h < HASH_SIZE; h++) {
    if (keys[h] !== EMPTY) {
      scratchU32[0] = keys[h];
      values[v++] = scratchF32[0];
    }
  }
  values.sort();
  for (let j = 0; j < count; j++) {
    scratchF32[0] = values[j];
    slotBin[findSlot(keys, scratchU32[0])] = j;
    binLo[binOff + j] = values[j];
    binHi[binOff + j] = values[j];
  }
  let lastBits = EMPTY;
  let lastCode = 0;
  for (let i = 0; i < rows; i++) {
    const b = bits[off + i];
    if (b !== lastBits) {
      const h = findSlot(keys, b);
      if (keys[h] === EMPTY) return false;
      lastBits = b;
      lastCode = slotBin[h];
    }
    codes[codeOff + i] = lastCode;
  }
  return true;
}

/** Empties the feature's bins (binLo +∞, binHi −∞). */
function clearBins({ binLo, binHi, binOff }: FeatureOut): void {
  binLo.fill(Infinity, binOff, binOff + MAX_BINS);
  binHi.fill(-Infinity, binOff, binOff + MAX_BINS);
}

/**
 * Quantile bins from an evenly spaced sample of column[off, off + rows): bin b holds edge[b-1] < x <= edge[b].
 * Writes the codes and widens binLo/binHi (cleared beforehand) to the values each bin receives.
 */
function codeQuantiles(column: Float32Array, off: number, rows: number, out: FeatureOut): void {
  const { codes, codeOff, binLo, binHi, binOff } = out;
  const stride = Math.max(1, Math.ceil(rows / QUANTILE_SAMPLE));
  const sample = new Float32Array(Math.ceil(rows / stride));
  for (let i = 0, s = 0; i < rows; i += stride, s++) sample[s] = column[off + i];
  sample.sort();
  const e: number[] = [];
  for (let q = 1; q < MAX_BINS; q++) {
    const value = sample[Math.min(sample.length - 1, Math.floor((q * sample.length) / MAX_BINS))];
    if (e.length === 0 || value > e[e.length - 1]) e.push(value);
  }
  // An edge at the sample's maximum would leave the bin above it empty: drop it.
  if (e.length > 0 && e[e.length - 1] >= sample[sample.length - 1]) e.pop();
  const edges = Float32Array.from(e);
  for (let i = 0; i < rows; i++) {
    const x = column[off + i];
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (edges[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    codes[codeOff + i] = lo;
    const slot = binOff + lo;
    if (x < binLo[slot]) binLo[slot] = x;
    if (x > binHi[slot]) binHi[slot] = x;
  }
}

/** Features binned together: copied into a feature-major buffer first, so that every later pass reads sequentially. */
const TILE = 64;
const ROW_BLOCK = 64;

/**
 * Bins features [f0, f1) of the row-major matrix X (rows × features). A feature with at most MAX_BINS distinct values
 * gets one bin per value (exact: raw or scaled pixels lose nothing); others get quantile bins from an evenly spaced
 * sample of rows. Writes both code layouts, binLo and binHi for those features.
 */
export function binFeatures(
  X: Float32Array,
  rows: number,
  features: number,
  f0: number,
  f1: number,
  codes: Uint8Array,
  codesByRow: Uint8Array,
  binLo: Float32Array,
  binHi: Float32Array,
): void {
  const column = new Float32Array(rows * Math.min(TILE, f1 - f0));
  const columnBits = new Uint32Array(column.buffer);
  const keys = new Uint32Array(HASH_SIZE);
  const slotBin = new Uint8Array(HASH_SIZE);
  const out: FeatureOut = { codes, codeOff: 0, binLo, binHi, binOff: 0 };
  for (let t0 = f0; t0 < f1; t0 += TILE) {
    const t1 = Math.min(f1, t0 + TILE);
    const width = t1 - t0;
    // Transpose the tile in blocks of rows (-0 folded into +0, non-finite values rejected).
    for (let r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
      const r1 = Math.min(rows, r0 + ROW_BLOCK);
      for (let k = 0; k < width; k++) {
        const colOff = k * rows;
        for (let i = r0, at = r0 * features + t0 + k; i < r1; i++, at += features) {
          const x = X[at];
          if (x - x !== 0)
            throw new Error(`random_forest: X has a non-finite value (${x}) at row ${i}, feature ${t0 + k}`);
          column[colOff + i] = x + 0;
        }
      }
    }
    for (let k = 0; k < width; k++) {
      const f = t0 + k;
      const colOff = k * rows;
      out.codeOff = f * rows;
      out.binOff = f * MAX_BINS;
      clearBins(out);
      // One bin per distinct value when there are at most MAX_BINS of them. Values are collected from every
      // DISTINCT_STEP-th row first; a value missed there sends the feature through a full pass.
      keys.fill(EMPTY);
      let distinct = collectDistinct(keys, columnBits, colOff, rows, DISTINCT_STEP, 0);
      if (distinct >= 0 && !codeExact(keys, slotBin, columnBits, colOff, rows, out, distinct)) {
        distinct = collectDistinct(keys, columnBits, colOff, rows, 1, distinct);
        if (distinct >= 0) codeExact(keys, slotBin, columnBits, colOff, rows, out, distinct);
        else clearBins(out);
      }
      if (distinct < 0) codeQuantiles(column, colOff, rows, out);
    }
    // Row-major copy of the tile's codes, in blocks of rows.
    for (let r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
      const r1 = Math.min(rows, r0 + ROW_BLOCK);
      for (let k = 0; k < width; k++) {
        const codeOff = (t0 + k) * rows;
        for (let i = r0, at = r0 * features + t0 + k; i < r1; i++, at += features) codesByRow[at] = codes[codeOff + i];
      }
    }
  }
}
