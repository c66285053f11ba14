/**
 * The pool tasks of the randomized PCA solver (linalg/randomized-pca.ts runs them): its work on row chunks of X (column
 * moments; the products X_c·W and X_cᵀ·Y, centring the rows a block at a time as they are copied into kernel memory)
 * and on slabs of features of the d×l side (the partial sums added, a basis change, the next Ω), with the WebAssembly
 * SIMD kernels of src/wasm/gemm.ts in an Arena of the thread's kernel memory; and panelsInto, the same packing into
 * float32 panels on the calling thread.
 */
import { Arena } from '../runtime/wasm.js';

/** Rows copied into kernel memory and centred at a time (a multiple of SPAN). */
const BLOCK = 256;
/** Rows of a float32 partial sum in productColumns, and of a span of panels (src/wasm/gemm.ts's SPAN). */
const SPAN = 64;

const up4 = (v: number): number => (v + 3) & ~3;

/** Column means and sums of squared deviations from them, of one chunk (float64, two passes). */
export function columnMomentsTask(
  chunk: Float32Array,
  rows: number,
  d: number,
): { mean: Float64Array; m2: Float64Array } {
  const mean = new Float64Array(d);
  const m2 = new Float64Array(d);
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    for (let f = 0; f < d; f++) mean[f] += chunk[o + f];
  }
  for (let f = 0; f < d; f++) mean[f] /= rows;
  for (let i = 0; i < rows; i++) {
    const o = i * d;
    for (let f = 0; f < d; f++) {
      const v = chunk[o + f] - mean[f];
      m2[f] += v * v;
    }
  }
  return { mean, m2 };
}

/**
 * Pool task over a chunk of rows (starting at a multiple of 64): Y = X_c·W rounded to float32, written to `Y` (the
 * chunk's rows × l8) as the panels productColumns reads (each span of 64 rows in panels of eight columns:
 * packOctets), and the Gram matrix YᵀY of those float32 values to `gram` (l8 × l8 float64, the tiles on and above the
 * diagonal). W is d4 × l8 in the float32 panels of packOctets. The outputs are slots of buffers kept for the whole
 * fit: fresh multi-megabyte results every round cost more in page faults here than the copies themselves.
 */
export function sampleRowsTask(
  chunk: Float32Array,
  rows: number,
  d: number,
  mean: Float64Array,
  W: Float32Array,
  l8: number,
  Y: Float32Array,
  gram: Float64Array,
): void {
  const d4 = up4(d);
  const rows4 = up4(rows);
  const arena = new Arena();
  const k = arena.kernels;
  const raw = arena.reserve(BLOCK * d * 4);
  const packed = arena.reserve(BLOCK * d4 * 4);
  const meanAt = arena.reserve(d4 * 8);
  const wAt = arena.reserve(d4 * l8 * 4);
  const yAt = arena.reserve(rows4 * l8 * 8);
  const pAt = arena.reserve(rows * l8 * 4);
  const gAt = arena.reserve(l8 * l8 * 8);
  arena.f64(meanAt, d4).fill(0).set(mean);
  arena.f32(wAt, d4 * l8).set(W);
  arena.f64(yAt, rows4 * l8).fill(0);
  arena.f64(gAt, l8 * l8).fill(0);
  const rawView = arena.f32(raw, BLOCK * d);
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const m = Math.min(BLOCK, rows - r0);
    rawView.set(chunk.subarray(r0 * d, (r0 + m) * d));
    k.packCentred(raw, m, d, d4, meanAt, packed, up4(m));
    k.productRows(packed, up4(m), d4, wAt, l8, yAt + r0 * l8 * 8);
  }
  for (let s0 = 0; s0 < rows; s0 += SPAN) {
    k.packOctets(yAt + s0 * l8 * 8, Math.min(SPAN, rows - s0), l8, pAt + s0 * l8 * 4);
  }
  k.roundToF32(yAt, rows * l8);
  k.gramF64(yAt, rows, l8, gAt);
  Y.set(arena.f32(pAt, rows * l8));
  gram.set(arena.f64(gAt, l8 * l8));
}

/**
 * Pool task over the same chunk of rows: its part of X_cᵀ·Y (d × l8 float64) written to `Z`, Y the chunk's rows of the
 * float32 basis as sampleRowsTask wrote them. Sums in float32 over each span of 64 rows, then in float64 in row order.
 */
export function sampleColumnsTask(
  chunk: Float32Array,
  rows: number,
  d: number,
  mean: Float64Array,
  Y: Float32Array,
  l8: number,
  Z: Float64Array,
): void {
  const d4 = up4(d);
  const arena = new Arena();
  const k = arena.kernels;
  const raw = arena.reserve(BLOCK * d * 4);
  const packed = arena.reserve(BLOCK * d4 * 4);
  const meanAt = arena.reserve(d4 * 8);
  const yAt = arena.reserve(rows * l8 * 4);
  const zAt = arena.reserve(d4 * l8 * 8);
  arena.f64(meanAt, d4).fill(0).set(mean);
  arena.f32(yAt, rows * l8).set(Y);
  arena.f64(zAt, d4 * l8).fill(0);
  const rawView = arena.f32(raw, BLOCK * d);
  for (let r0 = 0; r0 < rows; r0 += BLOCK) {
    const m = Math.min(BLOCK, rows - r0);
    rawView.set(chunk.subarray(r0 * d, (r0 + m) * d));
    k.packCentred(raw, m, d, d4, meanAt, packed, m);
    k.productColumns(packed, m, d4, yAt + r0 * l8 * 4, l8, zAt);
  }
  Z.set(arena.f64(zAt, d * l8));
}

/**
 * Pool task over a slab of features [f0, f1) of the d×l8 side: A = Σ of `parts` d × l8 float64 slots of `sources`
 * (`stride` apart, added in slot order: the row chunks' partial sums), then out = A·M (M l8 × m8) for the slab's rows
 * (out is d × m8), and with `gram`, the slab's part of outᵀ·out (m8 × m8, the tiles on and above the diagonal).
 */
export function basisTask(
  sources: Float64Array,
  parts: number,
  stride: number,
  l8: number,
  f0: number,
  f1: number,
  M: Float64Array,
  m8: number,
  out: Float64Array,
  gram: Float64Array | null,
): void {
  const w = f1 - f0;
  const arena = new Arena();
  const k = arena.kernels;
  const aAt = arena.reserve(w * l8 * 8);
  const mAt = arena.reserve(l8 * m8 * 8);
  const outAt = arena.reserve(w * m8 * 8);
  const gAt = arena.reserve(m8 * m8 * 8);
  const a = arena.f64(aAt, w * l8);
  a.set(sources.subarray(f0 * l8, f1 * l8));
  for (let t = 1; t < parts; t++) {
    const o = t * stride + f0 * l8;
    for (let i = 0; i < a.length; i++) a[i] += sources[o + i];
  }
  arena.f64(mAt, l8 * m8).set(M);
  k.mulF64(aAt, w, l8, l8, mAt, m8, outAt);
  out.set(arena.f64(outAt, w * m8), f0 * m8);
  if (gram) {
    arena.f64(gAt, m8 * m8).fill(0);
    k.gramF64(outAt, w, m8, gAt);
    gram.set(arena.f64(gAt, m8 * m8));
  }
}

/**
 * Pool task over a slab of features [f0, f1): Ω = A·M for the slab's rows (A d × l8, M l8 × l8, float64), written to
 * W (d4 × l8 float32 in the panels of packOctets) as the next round of sampleRowsTask reads it.
 */
export function omegaTask(
  A: Float64Array,
  d4: number,
  l8: number,
  f0: number,
  f1: number,
  M: Float64Array,
  W: Float32Array,
): void {
  const w = f1 - f0;
  const arena = new Arena();
  const k = arena.kernels;
  const aAt = arena.reserve(w * l8 * 8);
  const mAt = arena.reserve(l8 * l8 * 8);
  const outAt = arena.reserve(w * l8 * 8);
  const pAt = arena.reserve(w * l8 * 4);
  arena.f64(aAt, w * l8).set(A.subarray(f0 * l8, f1 * l8));
  arena.f64(mAt, l8 * l8).set(M);
  k.mulF64(aAt, w, l8, l8, mAt, l8, outAt);
  k.packOctets(outAt, w, l8, pAt);
  const panels = arena.f32(pAt, w * l8);
  // panel o of the slab (w rows of 8) is rows f0..f1−1 of panel o of W (d4 rows of 8)
  for (let o = 0; o < l8 >> 3; o++) W.set(panels.subarray(o * w * 8, (o + 1) * w * 8), (o * d4 + f0) * 8);
}

/** `rows` float64 rows l8 wide into `into` as the float32 panels of packOctets. */
export function panelsInto(A: Float64Array, rows: number, l8: number, into: Float32Array): void {
  const arena = new Arena();
  const aAt = arena.reserve(rows * l8 * 8);
  const pAt = arena.reserve(rows * l8 * 4);
  arena.f64(aAt, rows * l8).set(A.subarray(0, rows * l8));
  arena.kernels.packOctets(aAt, rows, l8, pAt);
  into.set(arena.f32(pAt, rows * l8));
}
