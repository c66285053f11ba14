// AssemblyScript (re-exported by kernels.ts): the Gram kernels of the PCA's covariance (src/linalg/gram.ts).
//
// Rows are stored d4 wide (d4 = the feature count rounded up to 4, padding zero), so every row is a whole number of
// 128-bit vectors. The Gram kernels take outer products: one feature of a row broadcast against four consecutive
// features, so each accumulator is a piece of a Gram row and no transposition is needed.

/** float32(q / D) as JavaScript computes it (quotient in double, then rounded), for the four float32 lanes of q. */
@inline function quotient(q: v128, D: v128): v128 {
  const lo = f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(q), D));
  const hi = f32x4.demote_f64x2_zero(f64x2.div(f64x2.promote_low_f32x4(v128.shuffle<f32>(q, q, 2, 3, 0, 1)), D));
  return v128.shuffle<f32>(lo, hi, 0, 1, 4, 5);
}

/**
 * Packs 2·pairs float32 rows at src (d4 wide) as int16 q = round(x·D), rows 2p and 2p + 1 interleaved feature by
 * feature into int32 slot f of packed row p at dst; adds Σq per feature to the int32 sums. Returns 1 if every x is
 * exactly float32(q / D) with |q| ≤ 255 (8-bit data on that scale), else 0 and the block must not be used.
 */
export function packPairsI16(src: usize, pairs: i32, d4: i32, D: f64, dst: usize, sums: usize): i32 {
  const scale = f32x4.splat(<f32>D);
  const divisor = f64x2.splat(D);
  const limit = f32x4.splat(255);
  const rowBytes = <usize>d4 << 2;
  let ok = i32x4.splat(-1);
  for (let p = 0; p < pairs; p++) {
    const r0 = src + <usize>(2 * p) * rowBytes;
    const r1 = r0 + rowBytes;
    const out = dst + <usize>p * rowBytes;
    for (let f: usize = 0; f < rowBytes; f += 16) {
      const x0 = v128.load(r0 + f);
      const x1 = v128.load(r1 + f);
      const q0f = f32x4.nearest(f32x4.mul(x0, scale));
      const q1f = f32x4.nearest(f32x4.mul(x1, scale));
      ok = v128.and(ok, v128.and(f32x4.le(f32x4.abs(q0f), limit), f32x4.le(f32x4.abs(q1f), limit))); // NaN fails
      ok = v128.and(ok, v128.and(f32x4.eq(x0, quotient(q0f, divisor)), f32x4.eq(x1, quotient(q1f, divisor))));
      const q0 = i32x4.trunc_sat_f32x4_s(q0f);
      const q1 = i32x4.trunc_sat_f32x4_s(q1f);
      const s = sums + f;
      v128.store(s, i32x4.add(v128.load(s), i32x4.add(q0, q1)));
      const narrow = i16x8.narrow_i32x4_s(q0, q1);
      v128.store(out + f, v128.shuffle<i16>(narrow, narrow, 0, 4, 1, 5, 2, 6, 3, 7));
    }
  }
  return v128.all_true<i32>(ok) ? 1 : 0;
}

/**
 * gram[a·d4 + b] += Σ over packed rows of q[a]·q[b] (both rows of each pair) for a ≤ b by 4×4 tiles; int32, exact while
 * no sum leaves int32 (with |q| ≤ 255: up to 33 025 rows between flushes).
 */
export function gramPairsI16(P: usize, pairs: i32, d4: i32, gram: usize): void {
  const rowBytes = <usize>d4 << 2;
  const end = P + <usize>pairs * rowBytes;
  for (let a = 0; a < d4; a += 4) {
    const ao = <usize>a << 2;
    let b = a;
    for (; b + 8 <= d4; b += 8) {
      const bo = <usize>b << 2;
      let c00 = i32x4.splat(0), c01 = c00, c10 = c00, c11 = c00;
      let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      for (let r = P; r < end; r += rowBytes) {
        const y0 = v128.load(r + bo);
        const y1 = v128.load(r + bo, 16);
        let x = v128.load32_splat(r + ao);
        c00 = i32x4.add(c00, i32x4.dot_i16x8_s(x, y0));
        c01 = i32x4.add(c01, i32x4.dot_i16x8_s(x, y1));
        x = v128.load32_splat(r + ao, 4);
        c10 = i32x4.add(c10, i32x4.dot_i16x8_s(x, y0));
        c11 = i32x4.add(c11, i32x4.dot_i16x8_s(x, y1));
        x = v128.load32_splat(r + ao, 8);
        c20 = i32x4.add(c20, i32x4.dot_i16x8_s(x, y0));
        c21 = i32x4.add(c21, i32x4.dot_i16x8_s(x, y1));
        x = v128.load32_splat(r + ao, 12);
        c30 = i32x4.add(c30, i32x4.dot_i16x8_s(x, y0));
        c31 = i32x4.add(c31, i32x4.dot_i16x8_s(x, y1));
      }
      const g = gram + ((<usize>a * <usize>d4 + <usize>b) << 2);
      addI32(g, c00);
      addI32(g + 16, c01);
      addI32(g + rowBytes, c10);
      addI32(g + rowBytes + 16, c11);
      addI32(g + 2 * rowBytes, c20);
      addI32(g + 2 * rowBytes + 16, c21);
      addI32(g + 3 * rowBytes, c30);
      addI32(g + 3 * rowBytes + 16, c31);
    }
    for (; b < d4; b += 4) {
      const bo = <usize>b << 2;
      let c0 = i32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
      for (let r = P; r < end; r += rowBytes) {
        const y = v128.load(r + bo);
        c0 = i32x4.add(c0, i32x4.dot_i16x8_s(v128.load32_splat(r + ao), y));
        c1 = i32x4.add(c1, i32x4.dot_i16x8_s(v128.load32_splat(r + ao, 4), y));
        c2 = i32x4.add(c2, i32x4.dot_i16x8_s(v128.load32_splat(r + ao, 8), y));
        c3 = i32x4.add(c3, i32x4.dot_i16x8_s(v128.load32_splat(r + ao, 12), y));
      }
      const g = gram + ((<usize>a * <usize>d4 + <usize>b) << 2);
      addI32(g, c0);
      addI32(g + rowBytes, c1);
      addI32(g + 2 * rowBytes, c2);
      addI32(g + 3 * rowBytes, c3);
    }
  }
}

@inline function addI32(g: usize, c: v128): void {
  v128.store(g, i32x4.add(v128.load(g), c));
}

/**
 * Writes `rows` float32 rows at src (d4 wide) as float32 x − shift (the difference taken in float64, then rounded) at
 * dst; adds Σ(x − shift) in float64 to the sums.
 */
export function packRowsF32(src: usize, rows: i32, d4: i32, shift: usize, dst: usize, sums: usize): void {
  const rowBytes = <usize>d4 << 2;
  for (let t = 0; t < rows; t++) {
    const r = src + <usize>t * rowBytes;
    // quad-major: the block's values of features 4q..4q+3 for every row lie together (16 bytes a row), so the gram
    // tiles below read three short contiguous streams instead of one cache line per row and feature
    const out = dst + (<usize>t << 4);
    for (let f: usize = 0; f < rowBytes; f += 16) {
      const x = v128.load(r + f);
      const o = f << 1;
      const lo = f64x2.sub(f64x2.promote_low_f32x4(x), v128.load(shift + o));
      const hi = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 0, 1)), v128.load(shift + o, 16));
      v128.store(out + f * <usize>rows, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
      v128.store(sums + o, f64x2.add(v128.load(sums + o), lo));
      v128.store(sums + o, f64x2.add(v128.load(sums + o, 16), hi), 16);
    }
  }
}

/**
 * gram[a·d4 + b] += Σ_t x[t][a]·x[t][b] over `rows` float32 rows at X (quad-major, as packRowsF32 writes them), for
 * a ≤ b by 4×8 tiles: products and sums in float32 over the block, in row order, added to the float64 gram.
 */
export function gramRowsF32(X: usize, rows: i32, d4: i32, gram: usize): void {
  const panel = <usize>rows << 4;
  const ld = <usize>d4 << 3;
  for (let a = 0; a < d4; a += 4) {
    const pa = X + (<usize>(a >> 2)) * panel;
    let b = a;
    for (; b + 8 <= d4; b += 8) {
      const pb = X + (<usize>(b >> 2)) * panel;
      let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00;
      let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
      for (let t: usize = 0; t < panel; t += 16) {
        const y0 = v128.load(pb + t);
        const y1 = v128.load(pb + panel + t);
        let x = v128.load32_splat(pa + t);
        c00 = f32x4.add(c00, f32x4.mul(x, y0));
        c01 = f32x4.add(c01, f32x4.mul(x, y1));
        x = v128.load32_splat(pa + t, 4);
        c10 = f32x4.add(c10, f32x4.mul(x, y0));
        c11 = f32x4.add(c11, f32x4.mul(x, y1));
        x = v128.load32_splat(pa + t, 8);
        c20 = f32x4.add(c20, f32x4.mul(x, y0));
        c21 = f32x4.add(c21, f32x4.mul(x, y1));
        x = v128.load32_splat(pa + t, 12);
        c30 = f32x4.add(c30, f32x4.mul(x, y0));
        c31 = f32x4.add(c31, f32x4.mul(x, y1));
      }
      const g = gram + ((<usize>a * <usize>d4 + <usize>b) << 3);
      addF32(g, c00);
      addF32(g + 32, c01);
      addF32(g + ld, c10);
      addF32(g + ld + 32, c11);
      addF32(g + 2 * ld, c20);
      addF32(g + 2 * ld + 32, c21);
      addF32(g + 3 * ld, c30);
      addF32(g + 3 * ld + 32, c31);
    }
    for (; b < d4; b += 4) {
      const pb = X + (<usize>(b >> 2)) * panel;
      let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
      for (let t: usize = 0; t < panel; t += 16) {
        const y = v128.load(pb + t);
        c0 = f32x4.add(c0, f32x4.mul(v128.load32_splat(pa + t), y));
        c1 = f32x4.add(c1, f32x4.mul(v128.load32_splat(pa + t, 4), y));
        c2 = f32x4.add(c2, f32x4.mul(v128.load32_splat(pa + t, 8), y));
        c3 = f32x4.add(c3, f32x4.mul(v128.load32_splat(pa + t, 12), y));
      }
      const g = gram + ((<usize>a * <usize>d4 + <usize>b) << 3);
      addF32(g, c0);
      addF32(g + ld, c1);
      addF32(g + 2 * ld, c2);
      addF32(g + 3 * ld, c3);
    }
  }
}

/** Adds the four float32 lanes of c to the four float64 at g. */
@inline function addF32(g: usize, c: v128): void {
  v128.store(g, f64x2.add(v128.load(g), f64x2.promote_low_f32x4(c)));
  v128.store(g, f64x2.add(v128.load(g, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(c, c, 2, 3, 0, 1))), 16);
}

/** dst[i] += src[i] (float64 += int32) for `count` entries, then src[i] = 0. */
export function flushI32(src: usize, dst: usize, count: i32): void {
  for (let i = 0; i < count; i++) {
    const s = src + (<usize>i << 2);
    const o = dst + (<usize>i << 3);
    store<f64>(o, load<f64>(o) + <f64>load<i32>(s));
    store<i32>(s, 0);
  }
}
