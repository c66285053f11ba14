import { transferring } from '../runtime/transfer.js';
import { Arena } from '../runtime/wasm.js';

/** A chunk's contribution to a Gram matrix, from gramOfRows. */
export interface GramPart {
  /**
   * The grid divisor D when every value was q / D with integer |q| ≤ 255 (8-bit data, raw or scaled): gram and sums are
   * then exact integers in units of q (no shift). 0 when the float path ran: units of x − shift.
   */
  divisor: number;
  /** d4×d4 (d4 = d rounded up to 4); entries a ≤ b are filled. */
  gram: Float64Array;
  /** Column sums (d). */
  sums: Float64Array;
}

/** Rows per int16 block, and the most rows int32 sums may take before they move to float64 (255² · 32 768 < 2³¹). */
const INT_BLOCK = 256;
const INT_FLUSH = 32768;
/**
 * Rows per float block: float32 sums over 64 rows stay close to float64 ones on standardized pixels (longer blocks
 * drift further from them).
 */
const FLOAT_BLOCK = 64;

/**
 * Σ (x − shift)(x − shift)ᵀ and Σ (x − shift) over the rows of a row-major Float32 chunk, with this thread's
 * WebAssembly SIMD kernels.
 *
 * `divisors` are tried first, in order: if every value of the chunk is exactly float32(q / D) for an integer |q| ≤ 255,
 * the sums are taken exactly in int16 × int16 → int32 (8-bit pixels stay on that grid after a /255 scaling), and
 * `shift` is not needed. Otherwise, or with no divisors, over x − shift (the shift keeps features whose mean dwarfs
 * their spread from cancelling in Σxxᵀ − n·μμᵀ): float32 products summed in float32 over blocks of 64 rows, then in
 * float64, as precise as the float32 input. The result depends only on the chunk, not on the thread.
 */
export function gramOfRows(
  chunk: Float32Array,
  rows: number,
  d: number,
  shift: Float64Array,
  divisors: number[],
): GramPart {
  return integerGramOfRows(chunk, rows, d, divisors) ?? floatGram(chunk, rows, d, shift, false);
}

/**
 * gramOfRows' float path (no divisors), its d4×d4 sum returned as the packed upper triangle instead (row a from column
 * a, d(d + 1)/2 entries): half the memory to hand back from a worker and to keep.
 */
export function packedGramOfRows(chunk: Float32Array, rows: number, d: number, shift: Float64Array): GramPart {
  const part = floatGram(chunk, rows, d, shift, true);
  // moved to the caller, not copied (144 MB for 6,004 features)
  return transferring(part, [part.gram.buffer as ArrayBuffer, part.sums.buffer as ArrayBuffer]);
}

/**
 * gramOfRows' exact integer path alone: null when no divisor puts every value of the chunk on its grid (found in the
 * first block of rows that is off it). Integer sums do not depend on how the rows are chunked.
 */
export function integerGramOfRows(chunk: Float32Array, rows: number, d: number, divisors: number[]): GramPart | null {
  for (const D of divisors) {
    const part = integerGram(chunk, rows, d, D);
    if (part) return part;
  }
  return null;
}

/** Copies rows [r0, r0 + m) of the chunk into `into` (d4 wide, padding columns left as they are: zero). */
function copyRows(chunk: Float32Array, r0: number, m: number, d: number, d4: number, into: Float32Array): void {
  if (d === d4) {
    into.set(chunk.subarray(r0 * d, (r0 + m) * d));
    return;
  }
  for (let t = 0; t < m; t++) into.set(chunk.subarray((r0 + t) * d, (r0 + t + 1) * d), t * d4);
}

function integerGram(chunk: Float32Array, rows: number, d: number, D: number): GramPart | null {
  const d4 = (d + 3) & ~3;
  const S = INT_BLOCK;
  const arena = new Arena();
  const k = arena.kernels;
  const src = arena.reserve(S * d4 * 4);
  const packed = arena.reserve((S / 2) * d4 * 4);
  const sums = arena.reserve(d4 * 4);
  const gram32 = arena.reserve(d4 * d4 * 4);
  const gram64 = arena.reserve(d4 * d4 * 8);
  const srcView = arena.f32(src, S * d4);
  srcView.fill(0);
  arena.i32(sums, d4).fill(0);
  arena.i32(gram32, d4 * d4).fill(0);
  arena.f64(gram64, d4 * d4).fill(0);
  let sinceFlush = 0;
  for (let r0 = 0; r0 < rows; r0 += S) {
    const m = Math.min(S, rows - r0);
    copyRows(chunk, r0, m, d, d4, srcView);
    if (m % 2 === 1) srcView.fill(0, m * d4, (m + 1) * d4); // an odd block's last pair gets a zero row
    const pairs = (m + 1) >> 1;
    if (!k.packPairsI16(src, pairs, d4, D, packed, sums)) return null;
    if (sinceFlush + m > INT_FLUSH) {
      k.flushI32(gram32, gram64, d4 * d4);
      sinceFlush = 0;
    }
    k.gramPairsI16(packed, pairs, d4, gram32);
    sinceFlush += m;
  }
  k.flushI32(gram32, gram64, d4 * d4);
  return { divisor: D, gram: arena.f64(gram64, d4 * d4).slice(), sums: Float64Array.from(arena.i32(sums, d)) };
}

/** The float path; with `packed`, the sum's upper triangle is taken straight from kernel memory, packed row by row. */
function floatGram(chunk: Float32Array, rows: number, d: number, shift: Float64Array, packed: boolean): GramPart {
  const d4 = (d + 3) & ~3;
  const S = FLOAT_BLOCK;
  const arena = new Arena();
  const k = arena.kernels;
  const src = arena.reserve(S * d4 * 4);
  const shiftAt = arena.reserve(d4 * 8);
  const block = arena.reserve(S * d4 * 4);
  const sums = arena.reserve(d4 * 8);
  const gram = arena.reserve(d4 * d4 * 8);
  const srcView = arena.f32(src, S * d4);
  srcView.fill(0);
  arena.f64(shiftAt, d4).fill(0).set(shift);
  arena.f64(sums, d4).fill(0);
  arena.f64(gram, d4 * d4).fill(0);
  for (let r0 = 0; r0 < rows; r0 += S) {
    const m = Math.min(S, rows - r0);
    copyRows(chunk, r0, m, d, d4, srcView);
    k.packRowsF32(src, m, d4, shiftAt, block, sums);
    k.gramRowsF32(block, m, d4, gram);
  }
  const sum = arena.f64(gram, d4 * d4);
  if (!packed) return { divisor: 0, gram: sum.slice(), sums: arena.f64(sums, d).slice() };
  const triangle = new Float64Array((d * (d + 1)) / 2);
  for (let a = 0, p = 0; a < d; p += d - a, a++) triangle.set(sum.subarray(a * d4 + a, a * d4 + d), p);
  return { divisor: 0, gram: triangle, sums: arena.f64(sums, d).slice() };
}
