// AssemblyScript, compiled by `asc` (package.json "build:wasm") to dist/bench/roofline.wasm, a module of its own used
// only by bench/roofline.ts: this machine's peak arithmetic and read bandwidth as the kernels of src/wasm/ can reach
// them (built with the same options; no fused multiply-add in WebAssembly SIMD: a multiply and an add per lane).
// Pointers are byte offsets into this module's memory, from heapBase on.

/** First byte the JavaScript side may use. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/**
 * `iterations` rounds of a dot-product-shaped loop held in the L1 cache: two vectors loaded from `at` (cycling over 1 KB),
 * each multiplied by four register constants into eight accumulators (8 vector multiplies and 8 vector adds a round: 64 float32
 * flops), as the best-blocked kernels run. Returns a lane, so nothing is optimised away.
 */
export function peakF32x4(at: usize, iterations: i32): f32 {
  const c0 = f32x4.splat(0.5), c1 = f32x4.splat(0.25), c2 = f32x4.splat(0.125), c3 = f32x4.splat(0.0625);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  let off: usize = 0;
  for (let i = 0; i < iterations; i++) {
    const x = v128.load(at + off);
    const y = v128.load(at + off, 16);
    off = (off + 32) & 1023;
    a0 = f32x4.add(a0, f32x4.mul(x, c0));
    a1 = f32x4.add(a1, f32x4.mul(x, c1));
    a2 = f32x4.add(a2, f32x4.mul(x, c2));
    a3 = f32x4.add(a3, f32x4.mul(x, c3));
    a4 = f32x4.add(a4, f32x4.mul(y, c0));
    a5 = f32x4.add(a5, f32x4.mul(y, c1));
    a6 = f32x4.add(a6, f32x4.mul(y, c2));
    a7 = f32x4.add(a7, f32x4.mul(y, c3));
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(s, 0);
}

/** The same loop on float64x2 (32 flops a round). */
export function peakF64x2(at: usize, iterations: i32): f64 {
  const c0 = f64x2.splat(0.5), c1 = f64x2.splat(0.25), c2 = f64x2.splat(0.125), c3 = f64x2.splat(0.0625);
  let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  let off: usize = 0;
  for (let i = 0; i < iterations; i++) {
    const x = v128.load(at + off);
    const y = v128.load(at + off, 16);
    off = (off + 32) & 1023;
    a0 = f64x2.add(a0, f64x2.mul(x, c0));
    a1 = f64x2.add(a1, f64x2.mul(x, c1));
    a2 = f64x2.add(a2, f64x2.mul(x, c2));
    a3 = f64x2.add(a3, f64x2.mul(x, c3));
    a4 = f64x2.add(a4, f64x2.mul(y, c0));
    a5 = f64x2.add(a5, f64x2.mul(y, c1));
    a6 = f64x2.add(a6, f64x2.mul(y, c2));
    a7 = f64x2.add(a7, f64x2.mul(y, c3));
  }
  const s = f64x2.add(f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3)), f64x2.add(f64x2.add(a4, a5), f64x2.add(a6, a7)));
  return f64x2.extract_lane(s, 0);
}

/** Reads `bytes` (a multiple of 64) from `at`, summing as float32 lanes: the read bandwidth probe. */
export function streamSum(at: usize, bytes: usize): f32 {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  for (let p = at; p < at + bytes; p += 64) {
    a0 = f32x4.add(a0, v128.load(p));
    a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32));
    a3 = f32x4.add(a3, v128.load(p, 48));
  }
  return f32x4.extract_lane(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), 0);
}
