// AssemblyScript (re-exported by kernels.ts): uniform LBP codes of a grey image, scikit-image's local_binary_pattern
// term for term. src/stages/lbp-rows.ts computes the neighbours' offsets and fractions and lays the regions out; this
// kernel does the bilinear interpolations, two pixels at a time in float64 lanes, each lane the scalar expression in
// the scalar order (no fused multiply-add), so every code is the plain loop's.

/**
 * The codes (0..P + 1, one byte a pixel) of the height × width float32 image at `image`:
 * - offsets: 5 int32 per neighbour i at offsets + 20·i: the floor and ceiling of its row offset, of its column offset,
 *   and 1 when both offsets are whole (then the neighbour is the pixel it lands on);
 * - fc: float64, neighbour × column: the column fraction; fr: float64, neighbour × row: the row fraction;
 * - padded: (height + 2·pad) × (width + 2·pad) float64 of scratch (the image inside a border of zeros);
 * - patterns: height × width uint64 of scratch (each pixel's pattern, bit i for neighbour i).
 */
export function lbpCodes(
  image: usize,
  height: i32,
  width: i32,
  pad: i32,
  P: i32,
  offsets: usize,
  fc: usize,
  fr: usize,
  padded: usize,
  patterns: usize,
  codes: usize,
): void {
  const stride = width + 2 * pad;
  memory.fill(padded, 0, <usize>((height + 2 * pad) * stride) << 3);
  for (let r = 0; r < height; r++) {
    const from = image + (<usize>(r * width) << 2);
    const to = padded + (<usize>((r + pad) * stride + pad) << 3);
    for (let c = 0; c < width; c++) store<f64>(to + (<usize>c << 3), <f64>load<f32>(from + (<usize>c << 2)));
  }
  const pixels = height * width;
  memory.fill(patterns, 0, <usize>pixels << 3);
  const zero = f64x2.splat(0);
  const one = f64x2.splat(1);
  const pairs = width & ~1;
  for (let i = 0; i < P; i++) {
    const o = offsets + <usize>(20 * i);
    const r0 = load<i32>(o);
    const r1 = load<i32>(o, 4);
    const c0 = load<i32>(o, 8);
    const c1 = load<i32>(o, 12);
    const whole = load<i32>(o, 16) != 0;
    const bit: u64 = <u64>1 << <u64>i;
    const bits = i64x2.splat(<i64>bit);
    for (let r = 0; r < height; r++) {
      const base = padded + (<usize>((r + pad) * stride + pad) << 3);
      const pat = patterns + (<usize>(r * width) << 3);
      if (whole) {
        const at = base + (<usize>(r0 * stride + c0) << 3);
        for (let c = 0; c < pairs; c += 2) {
          const d = f64x2.sub(v128.load(at + (<usize>c << 3)), v128.load(base + (<usize>c << 3)));
          const p = pat + (<usize>c << 3);
          v128.store(p, v128.or(v128.load(p), v128.and(f64x2.ge(d, zero), bits)));
        }
        if (pairs < width) {
          const c = pairs;
          if (load<f64>(at + (<usize>c << 3)) - load<f64>(base + (<usize>c << 3)) >= 0) {
            const p = pat + (<usize>c << 3);
            store<u64>(p, load<u64>(p) | bit);
          }
        }
        continue;
      }
      const f1 = load<f64>(fr + (<usize>(i * height + r) << 3));
      const f0 = 1 - f1;
      const rowF1 = f64x2.splat(f1);
      const rowF0 = f64x2.splat(f0);
      const top = base + (<usize>(r0 * stride) << 3);
      const bottom = base + (<usize>(r1 * stride) << 3);
      const fcRow = fc + (<usize>(i * width) << 3);
      const dc0 = <usize>c0 << 3;
      const dc1 = <usize>c1 << 3;
      for (let c = 0; c < pairs; c += 2) {
        const x = <usize>c << 3;
        const f = v128.load(fcRow + x);
        const g = f64x2.sub(one, f);
        const t = f64x2.add(f64x2.mul(g, v128.load(top + x + dc0)), f64x2.mul(f, v128.load(top + x + dc1)));
        const b = f64x2.add(f64x2.mul(g, v128.load(bottom + x + dc0)), f64x2.mul(f, v128.load(bottom + x + dc1)));
        const d = f64x2.sub(f64x2.add(f64x2.mul(rowF0, t), f64x2.mul(rowF1, b)), v128.load(base + x));
        const p = pat + x;
        v128.store(p, v128.or(v128.load(p), v128.and(f64x2.ge(d, zero), bits)));
      }
      if (pairs < width) {
        const x = <usize>pairs << 3;
        const f = load<f64>(fcRow + x);
        const t = (1 - f) * load<f64>(top + x + dc0) + f * load<f64>(top + x + dc1);
        const b = (1 - f) * load<f64>(bottom + x + dc0) + f * load<f64>(bottom + x + dc1);
        if (f0 * t + f1 * b - load<f64>(base + x) >= 0) store<u64>(pat + x, load<u64>(pat + x) | bit);
      }
    }
  }
  // uniform: at most two changes from one neighbour to the next (first to last, not around), coded by the count of ones
  const neighbours: u32 = P >= 32 ? 0x7fffffff : (<u32>1 << <u32>(P - 1)) - 1;
  for (let p = 0; p < pixels; p++) {
    const pattern = <u32>load<u64>(patterns + (<usize>p << 3));
    const changes = popcnt<u32>((pattern ^ (pattern >>> 1)) & neighbours);
    store<u8>(codes + p, changes <= 2 ? <u8>popcnt<u32>(pattern) : <u8>(P + 1));
  }
}
