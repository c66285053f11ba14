// AssemblyScript, compiled by `asc` (package.json "build:wasm") to dist/wasm/kernels.wasm and loaded by
// src/runtime/wasm.ts. Pointers are byte offsets into this module's memory, laid out by the JavaScript side.
//
// Rows are stored d4 wide (d4 = the feature count rounded up to 4, padding zero), so every row is a whole number of
// 128-bit vectors. The Gram kernels take outer products: one feature of a row broadcast against four consecutive
// features, so each accumulator is a piece of a Gram row and no transposition is needed.

/** First byte the JavaScript side may use. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

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

/**
 * PCA projection of `rows` float32 rows at src (d wide): out[t][c] = float32(scale[c] · Σ_f float32(x[t][f] − mean[f]) ·
 * w[f][c]) for c < k, with w (d × k8 float64, k8 = k rounded up to 8, zero beyond k) holding float32 component values.
 * Each sum runs over f in order in float64, two components per lane pair, and every product of two float32 values is
 * exact in float64: the result is bit-identical to the plain JavaScript loop. `scratch` holds two centred rows (float64, 16·d bytes).
 */
export function projectRows(
  src: usize,
  rows: i32,
  d: i32,
  mean: usize,
  w: usize,
  k8: i32,
  scale: usize,
  out: usize,
  k: i32,
  scratch: usize,
): void {
  const wRow = <usize>k8 << 3;
  const c1 = scratch + (<usize>d << 3);
  for (let t = 0; t < rows; t += 2) {
    const second = t + 1 < rows;
    // the two centred rows, each value float32(x − mean) held as float64 (broadcast below by one load)
    for (let f = 0; f < d; f++) {
      const m = load<f64>(mean + (<usize>f << 3));
      store<f64>(scratch + (<usize>f << 3), <f64><f32>(<f64>load<f32>(src + ((<usize>t * <usize>d + <usize>f) << 2)) - m));
      store<f64>(c1 + (<usize>f << 3), second ? <f64><f32>(<f64>load<f32>(src + ((<usize>(t + 1) * <usize>d + <usize>f) << 2)) - m) : 0);
    }
    for (let j = 0; j < k8; j += 8) {
      let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      let p = w + (<usize>j << 3);
      for (let f = 0; f < d; f++) {
        const x = v128.load64_splat(scratch + (<usize>f << 3));
        const y = v128.load64_splat(c1 + (<usize>f << 3));
        const w0 = v128.load(p);
        const w1 = v128.load(p, 16);
        const w2 = v128.load(p, 32);
        const w3 = v128.load(p, 48);
        a0 = f64x2.add(a0, f64x2.mul(x, w0));
        a1 = f64x2.add(a1, f64x2.mul(x, w1));
        a2 = f64x2.add(a2, f64x2.mul(x, w2));
        a3 = f64x2.add(a3, f64x2.mul(x, w3));
        b0 = f64x2.add(b0, f64x2.mul(y, w0));
        b1 = f64x2.add(b1, f64x2.mul(y, w1));
        b2 = f64x2.add(b2, f64x2.mul(y, w2));
        b3 = f64x2.add(b3, f64x2.mul(y, w3));
        p += wRow;
      }
      storeProjected(out + ((<usize>t * <usize>k) << 2), j, k, scale, a0, a1, a2, a3);
      if (second) storeProjected(out + ((<usize>(t + 1) * <usize>k) << 2), j, k, scale, b0, b1, b2, b3);
    }
  }
}

/** Writes components j..j+7 (those below k) of one output row: float32(sum · scale). */
@inline function storeProjected(row: usize, j: i32, k: i32, scale: usize, s0: v128, s1: v128, s2: v128, s3: v128): void {
  const n = min(8, k - j);
  for (let l = 0; l < n; l++) {
    const v = l < 2 ? s0 : l < 4 ? s1 : l < 6 ? s2 : s3;
    const sum = (l & 1) == 0 ? f64x2.extract_lane(v, 0) : f64x2.extract_lane(v, 1);
    store<f32>(row + (<usize>(j + l) << 2), <f32>(sum * load<f64>(scale + (<usize>(j + l) << 3))));
  }
}

/**
 * One row of an SVM kernel matrix: out[j − from] = K(x_i, x_j) for rows j in [from, to) of X (float32, d4 wide), as
 * float32. kind 0 linear x·z; 1 poly (gamma·x·z + coef0)^degree; 2 rbf exp(−gamma·max(0, ‖x‖² + ‖z‖² − 2x·z)) with
 * the squared norms at `norms` (float32 per row). Dot products in float32, four rows at a time; X must hold 3 readable
 * rows (zeros) past `to`, whose values are computed but not stored.
 */
export function kernelRow(
  X: usize,
  d4: i32,
  norms: usize,
  i: i32,
  from: i32,
  to: i32,
  kind: i32,
  gamma: f32,
  coef0: f32,
  degree: i32,
  out: usize,
): void {
  const rowBytes = <usize>d4 << 2;
  const xi = X + <usize>i * rowBytes;
  const ni = f32x4.splat(load<f32>(norms + (<usize>i << 2)));
  let j = from;
  // eight rows at a time while they last: each load of x_i serves eight dot products
  for (; j + 8 <= to; j += 8) {
    const r0 = X + <usize>j * rowBytes;
    const r4 = r0 + 4 * rowBytes;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    for (let f: usize = 0; f < rowBytes; f += 16) {
      const x = v128.load(xi + f);
      const p = r0 + f;
      const q = r4 + f;
      a0 = f32x4.add(a0, f32x4.mul(x, v128.load(p)));
      a1 = f32x4.add(a1, f32x4.mul(x, v128.load(p + rowBytes)));
      a2 = f32x4.add(a2, f32x4.mul(x, v128.load(p + 2 * rowBytes)));
      a3 = f32x4.add(a3, f32x4.mul(x, v128.load(p + 3 * rowBytes)));
      a4 = f32x4.add(a4, f32x4.mul(x, v128.load(q)));
      a5 = f32x4.add(a5, f32x4.mul(x, v128.load(q + rowBytes)));
      a6 = f32x4.add(a6, f32x4.mul(x, v128.load(q + 2 * rowBytes)));
      a7 = f32x4.add(a7, f32x4.mul(x, v128.load(q + 3 * rowBytes)));
    }
    const o = out + (<usize>(j - from) << 2);
    v128.store(o, kernelValues(hsum4(a0, a1, a2, a3), ni, norms, j, kind, gamma, coef0, degree));
    v128.store(o, kernelValues(hsum4(a4, a5, a6, a7), ni, norms, j + 4, kind, gamma, coef0, degree), 16);
  }
  for (; j < to; j += 4) {
    const r0 = X + <usize>j * rowBytes;
    const r1 = r0 + rowBytes;
    const r2 = r1 + rowBytes;
    const r3 = r2 + rowBytes;
    let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let f: usize = 0; f < rowBytes; f += 16) {
      const x = v128.load(xi + f);
      a0 = f32x4.add(a0, f32x4.mul(x, v128.load(r0 + f)));
      a1 = f32x4.add(a1, f32x4.mul(x, v128.load(r1 + f)));
      a2 = f32x4.add(a2, f32x4.mul(x, v128.load(r2 + f)));
      a3 = f32x4.add(a3, f32x4.mul(x, v128.load(r3 + f)));
    }
    const v = kernelValues(hsum4(a0, a1, a2, a3), ni, norms, j, kind, gamma, coef0, degree);
    const o = out + (<usize>(j - from) << 2);
    if (j + 4 <= to) v128.store(o, v);
    else {
      store<f32>(o, f32x4.extract_lane(v, 0));
      if (j + 1 < to) store<f32>(o, f32x4.extract_lane(v, 1), 4);
      if (j + 2 < to) store<f32>(o, f32x4.extract_lane(v, 2), 8);
    }
  }
}

/** Lane q = the sum of a_q's four lanes. */
@inline function hsum4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const s01 = f32x4.add(v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), v128.shuffle<f32>(a0, a1, 2, 6, 3, 7));
  const s23 = f32x4.add(v128.shuffle<f32>(a2, a3, 0, 4, 1, 5), v128.shuffle<f32>(a2, a3, 2, 6, 3, 7));
  return f32x4.add(v128.shuffle<f32>(s01, s23, 0, 1, 4, 5), v128.shuffle<f32>(s01, s23, 2, 3, 6, 7));
}

/** Kernel values of rows j..j+3 from their dot products with x_i (ni = ‖x_i‖² in every lane). */
@inline function kernelValues(dots: v128, ni: v128, norms: usize, j: i32, kind: i32, gamma: f32, coef0: f32, degree: i32): v128 {
  if (kind == 2) {
    const nj = v128.load(norms + (<usize>j << 2));
    const dist = f32x4.max(f32x4.sub(f32x4.add(ni, nj), f32x4.add(dots, dots)), f32x4.splat(0));
    return expNonPositive(f32x4.mul(dist, f32x4.splat(-gamma)));
  }
  if (kind == 1) return powiF32x4(f32x4.add(f32x4.mul(dots, f32x4.splat(gamma)), f32x4.splat(coef0)), degree);
  return dots;
}

/** base^times by repeated squaring, lane-wise (times ≥ 0). */
@inline function powiF32x4(base: v128, times: i32): v128 {
  let tmp = base;
  let ret = f32x4.splat(1);
  for (let t = times; t > 0; t >>= 1) {
    if (t & 1) ret = f32x4.mul(ret, tmp);
    tmp = f32x4.mul(tmp, tmp);
  }
  return ret;
}

/**
 * e^x for x ≤ 0 lane-wise, to about 2 ulp of float32: x = k·ln 2 + r with |r| ≤ ln2 / 2 (ln 2 split in two so k·ln2_hi is
 * exact), e^r by a degree-7 minimax polynomial (Cephes' expf coefficients), times 2^k built in the exponent bits.
 * Below −87 (e^x < 2^−125) the result is about 1.6e−38 instead of smaller.
 */
@inline function expNonPositive(x: v128): v128 {
  const y = f32x4.max(x, f32x4.splat(-87));
  const k = f32x4.nearest(f32x4.mul(y, f32x4.splat(1.44269504088896341)));
  let r = f32x4.sub(y, f32x4.mul(k, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(k, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
  return f32x4.mul(p, scale);
}

// SMO solver steps (src/linalg/smo.ts). Per variable t: G, Y (±1), QD, Gbar, and the masks up/low (0 when t is in
// I_up / I_low, −∞ when not), all float64; kernel rows K float32. Every scan gives what the plain sequential loop
// gives, ties included (the last index wins, as libsvm's ≥ / ≤ comparisons do).

/** G[t] += Y[t]·(ci·Ki[t] + cj·Kj[t]) for t < n. */
export function smoUpdateGradient(G: usize, Y: usize, Ki: usize, Kj: usize, ci: f64, cj: f64, n: i32): void {
  const vi = f64x2.splat(ci);
  const vj = f64x2.splat(cj);
  let t = 0;
  for (; t + 4 <= n; t += 4) {
    const ki = v128.load(Ki + (<usize>t << 2));
    const kj = v128.load(Kj + (<usize>t << 2));
    const g = G + (<usize>t << 3);
    const y = Y + (<usize>t << 3);
    const lo = f64x2.add(f64x2.mul(vi, f64x2.promote_low_f32x4(ki)), f64x2.mul(vj, f64x2.promote_low_f32x4(kj)));
    const hi = f64x2.add(
      f64x2.mul(vi, f64x2.promote_low_f32x4(v128.shuffle<f32>(ki, ki, 2, 3, 0, 1))),
      f64x2.mul(vj, f64x2.promote_low_f32x4(v128.shuffle<f32>(kj, kj, 2, 3, 0, 1))),
    );
    v128.store(g, f64x2.add(v128.load(g), f64x2.mul(v128.load(y), lo)));
    v128.store(g, f64x2.add(v128.load(g, 16), f64x2.mul(v128.load(y, 16), hi)), 16);
  }
  for (; t < n; t++) {
    const g = G + (<usize>t << 3);
    const k = ci * <f64>load<f32>(Ki + (<usize>t << 2)) + cj * <f64>load<f32>(Kj + (<usize>t << 2));
    store<f64>(g, load<f64>(g) + load<f64>(Y + (<usize>t << 3)) * k);
  }
}

/** D[t] += c·Y[t]·K[t] for from ≤ t < to. */
export function smoAxpy(D: usize, Y: usize, K: usize, c: f64, from: i32, to: i32): void {
  for (let t = from; t < to; t++) {
    const d = D + (<usize>t << 3);
    store<f64>(d, load<f64>(d) + c * load<f64>(Y + (<usize>t << 3)) * <f64>load<f32>(K + (<usize>t << 2)));
  }
}

/** Σ_{t < n} W[t]·K[t]. */
export function smoDot(W: usize, K: usize, n: i32): f64 {
  let acc = f64x2.splat(0);
  let t = 0;
  for (; t + 2 <= n; t += 2) {
    acc = f64x2.add(acc, f64x2.mul(v128.load(W + (<usize>t << 3)), f64x2.promote_low_f32x4(v128.load64_zero(K + (<usize>t << 2)))));
  }
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (; t < n; t++) s += load<f64>(W + (<usize>t << 3)) * <f64>load<f32>(K + (<usize>t << 2));
  return s;
}

/** The last t < n maximizing −Y[t]·G[t] over I_up (up[t] = 0), or −1 if I_up is empty. */
export function smoSelectI(G: usize, Y: usize, up: usize, n: i32): i32 {
  let best = f64x2.splat(-Infinity);
  let at = f64x2.splat(-1);
  let index = f64x2(0, 1);
  const two = f64x2.splat(2);
  const zero = f64x2.splat(0);
  let t = 0;
  for (; t + 2 <= n; t += 2) {
    const o = <usize>t << 3;
    const v = f64x2.neg(f64x2.mul(v128.load(Y + o), v128.load(G + o)));
    const m = v128.and(f64x2.ge(v, best), f64x2.eq(v128.load(up + o), zero));
    best = v128.bitselect(v, best, m);
    at = v128.bitselect(index, at, m);
    index = f64x2.add(index, two);
  }
  let bv = f64x2.extract_lane(best, 0);
  let bi = <i32>f64x2.extract_lane(at, 0);
  const v1 = f64x2.extract_lane(best, 1);
  const i1 = <i32>f64x2.extract_lane(at, 1);
  if (i1 >= 0 && (bi < 0 || v1 > bv || (v1 == bv && i1 > bi))) {
    bv = v1;
    bi = i1;
  }
  for (; t < n; t++) {
    const o = <usize>t << 3;
    const v = -(load<f64>(Y + o) * load<f64>(G + o));
    if (load<f64>(up + o) == 0 && v >= bv) {
      bv = v;
      bi = t;
    }
  }
  return bi;
}

/**
 * Given i (Gmax = −y_i G_i, qdi = QD[i], Ki its kernel row): over t < n in I_low, the largest y_t G_t (written to
 * out[0]) and the t with the smallest −b²/a, b = Gmax + y_t G_t > 0, a = qdi + QD[t] − 2Ki[t] (tau when a ≤ 0)
 * (returned; −1 if none).
 */
export function smoSelectJ(G: usize, Y: usize, low: usize, QD: usize, Ki: usize, n: i32, Gmax: f64, qdi: f64, tau: f64, out: usize): i32 {
  const gmax = f64x2.splat(Gmax);
  const q = f64x2.splat(qdi);
  const tauV = f64x2.splat(tau);
  const zero = f64x2.splat(0);
  const two = f64x2.splat(2);
  let g2 = f64x2.splat(-Infinity);
  let best = f64x2.splat(Infinity);
  let at = f64x2.splat(-1);
  let index = f64x2(0, 1);
  let t = 0;
  for (; t + 2 <= n; t += 2) {
    const o = <usize>t << 3;
    const yg = f64x2.add(f64x2.mul(v128.load(Y + o), v128.load(G + o)), v128.load(low + o));
    g2 = f64x2.max(g2, yg);
    const b = f64x2.add(gmax, yg);
    let a = f64x2.sub(f64x2.add(q, v128.load(QD + o)), f64x2.mul(two, f64x2.promote_low_f32x4(v128.load64_zero(Ki + (<usize>t << 2)))));
    a = v128.bitselect(a, tauV, f64x2.gt(a, zero));
    const gain = f64x2.div(f64x2.neg(f64x2.mul(b, b)), a);
    const m = v128.and(f64x2.gt(b, zero), f64x2.le(gain, best));
    best = v128.bitselect(gain, best, m);
    at = v128.bitselect(index, at, m);
    index = f64x2.add(index, two);
  }
  let Gmax2 = max(f64x2.extract_lane(g2, 0), f64x2.extract_lane(g2, 1));
  let bv = f64x2.extract_lane(best, 0);
  let bi = <i32>f64x2.extract_lane(at, 0);
  const v1 = f64x2.extract_lane(best, 1);
  const i1 = <i32>f64x2.extract_lane(at, 1);
  if (i1 >= 0 && (bi < 0 || v1 < bv || (v1 == bv && i1 > bi))) {
    bv = v1;
    bi = i1;
  }
  for (; t < n; t++) {
    const o = <usize>t << 3;
    if (load<f64>(low + o) != 0) continue;
    const yg = load<f64>(Y + o) * load<f64>(G + o);
    if (yg >= Gmax2) Gmax2 = yg;
    const b = Gmax + yg;
    if (b > 0) {
      let a = qdi + load<f64>(QD + o) - 2 * <f64>load<f32>(Ki + (<usize>t << 2));
      if (a <= 0) a = tau;
      const gain = -(b * b) / a;
      if (gain <= bv) {
        bv = gain;
        bi = t;
      }
    }
  }
  store<f64>(out, Gmax2);
  return bi;
}

// Dot products against packed panels (SVM predict, k-NN brute force). A panel holds 8 rows of B transposed in float64:
// panel p, feature f, row r at P + ((p·d + f)·8 + r)·8. One feature of a query, broadcast, meets the same feature of
// eight rows, so each sum runs over f in order in float64 and every product of two float32 values is exact: the result
// is bit-identical to the plain loop (linalg/kernels.ts dotBlock), whatever the blocking.

/**
 * Packs rows [from, to) of B (float32, d wide, row-major) into panels at P (float64), rows past `to` in the last panel
 * zero. Panel count: ceil((to − from) / 8).
 */
export function packPanels(B: usize, d: i32, from: i32, to: i32, P: usize): void {
  const panels = (to - from + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    for (let r = 0; r < 8; r++) {
      const row = from + p * 8 + r;
      const dst = P + ((<usize>p * <usize>d) << 6) + (<usize>r << 3);
      if (row < to) {
        const src = B + ((<usize>row * <usize>d) << 2);
        for (let f = 0; f < d; f++) store<f64>(dst + (<usize>f << 6), <f64>load<f32>(src + (<usize>f << 2)));
      } else {
        for (let f = 0; f < d; f++) store<f64>(dst + (<usize>f << 6), 0);
      }
    }
  }
}

/**
 * out[q·ldOut + p·8 + r] = Σ_f A[q][f]·B_p[f][r] for queries q < rows (float32, d wide, row-major at A) and panels
 * p < panels at P: two queries by eight panel rows at a time.
 */
export function dotPanels(A: usize, rows: i32, d: i32, P: usize, panels: i32, out: usize, ldOut: i32): void {
  const rowBytes = <usize>d << 2;
  const panelBytes = <usize>d << 6;
  const ld = <usize>ldOut << 3;
  for (let q = 0; q < rows; q += 2) {
    const a = A + <usize>q * rowBytes;
    const second = q + 1 < rows;
    const b = second ? a + rowBytes : a;
    for (let p = 0; p < panels; p++) {
      let x0 = f64x2.splat(0), x1 = x0, x2 = x0, x3 = x0;
      let y0 = x0, y1 = x0, y2 = x0, y3 = x0;
      let w = P + <usize>p * panelBytes;
      for (let f: usize = 0; f < rowBytes; f += 4) {
        const u = f64x2.splat(<f64>load<f32>(a + f));
        const v = f64x2.splat(<f64>load<f32>(b + f));
        const w0 = v128.load(w);
        const w1 = v128.load(w, 16);
        const w2 = v128.load(w, 32);
        const w3 = v128.load(w, 48);
        x0 = f64x2.add(x0, f64x2.mul(u, w0));
        x1 = f64x2.add(x1, f64x2.mul(u, w1));
        x2 = f64x2.add(x2, f64x2.mul(u, w2));
        x3 = f64x2.add(x3, f64x2.mul(u, w3));
        y0 = f64x2.add(y0, f64x2.mul(v, w0));
        y1 = f64x2.add(y1, f64x2.mul(v, w1));
        y2 = f64x2.add(y2, f64x2.mul(v, w2));
        y3 = f64x2.add(y3, f64x2.mul(v, w3));
        w += 64;
      }
      const o = out + <usize>q * ld + (<usize>p << 6);
      v128.store(o, x0);
      v128.store(o, x1, 16);
      v128.store(o, x2, 32);
      v128.store(o, x3, 48);
      if (second) {
        v128.store(o + ld, y0);
        v128.store(o + ld, y1, 16);
        v128.store(o + ld, y2, 32);
        v128.store(o + ld, y3, 48);
      }
    }
  }
}

/**
 * SVM one-vs-one sums for one test row and one class's support vectors s in [lo, hi): acc[m] += C[s][m]·K[s] for the
 * machines m < m2 (m2 even; C holds the coefficients transposed, m2 per support vector, float64; K the kernel values,
 * float64). Sequential over s for each machine: the plain loop's sums, bit for bit.
 */
export function accumulateMachines(K: usize, C: usize, lo: i32, hi: i32, m2: i32, acc: usize): void {
  const stride = <usize>m2 << 3;
  for (let m: usize = 0; m < stride; m += 32) {
    const four = m + 16 < stride;
    let a0 = v128.load(acc + m);
    let a1 = four ? v128.load(acc + m, 16) : f64x2.splat(0);
    let c = C + <usize>lo * stride + m;
    for (let s = lo; s < hi; s++) {
      const k = f64x2.splat(load<f64>(K + (<usize>s << 3)));
      a0 = f64x2.add(a0, f64x2.mul(v128.load(c), k));
      if (four) a1 = f64x2.add(a1, f64x2.mul(v128.load(c, 16), k));
      c += stride;
    }
    v128.store(acc + m, a0);
    if (four) v128.store(acc + m, a1, 16);
  }
}

// Roofline probes (bench/roofline.ts): this machine's peak arithmetic and read bandwidth as these kernels can reach
// them (no fused multiply-add in WebAssembly SIMD: a multiply and an add per lane).

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
export { kdSearch } from './kd-search';
export { matVecF64 } from './dense';
