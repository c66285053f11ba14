// AssemblyScript (re-exported by kernels.ts): the products of the randomized PCA solver (src/linalg/randomized-pca.ts).
//
// The data X (n × d float32) only ever meets thin matrices: X_c·W (W d × l) and X_cᵀ·Q (Q n × l), l = components +
// oversamples, with X_c = X − mean centred a block of rows at a time as the rows are copied in (packCentred): the
// centred matrix is never stored whole, and no product of the mean is subtracted afterwards (in float32 that would
// cancel digits when a feature's mean dwarfs its spread). Rows are stored d4 wide (d4 = d rounded up to 4, padding
// zero); the thin matrices in panels of eight columns (packOctets), so each step of a tile loads 32 contiguous bytes.
// Tiles are 4 × 8 float32 (one value broadcast against two vectors, eight accumulators), products and sums in float32
// over 64 terms, each such partial sum then added in float64: as precise as the float32 input, at the float32 rate.
// The float64 kernels below (gramF64, mulF64) are the l-wide bookkeeping: Gram matrices and basis changes.

/** Terms per float32 partial sum: features in productRows, rows in productColumns (the float32 sums of gram.ts also run over 64). */
const SPAN: i32 = 64;

/**
 * Copies `rows` float32 rows at src (d wide, row-major) to dst as float32(x − mean) (the difference taken in float64,
 * then rounded), d4 wide with the padding columns zero, then zero rows up to `rows4` (a multiple of 4 ≥ rows).
 * `mean` holds d4 float64 (padding zero).
 */
export function packCentred(src: usize, rows: i32, d: i32, d4: i32, mean: usize, dst: usize, rows4: i32): void {
  const d0 = d & ~3;
  const inBytes = <usize>d << 2;
  const outBytes = <usize>d4 << 2;
  for (let t = 0; t < rows; t++) {
    const r = src + <usize>t * inBytes;
    const o = dst + <usize>t * outBytes;
    let f = 0;
    for (; f < d0; f += 4) {
      const at = <usize>f << 2;
      const x = v128.load(r + at);
      const m = mean + (<usize>f << 3);
      const lo = f64x2.sub(f64x2.promote_low_f32x4(x), v128.load(m));
      const hi = f64x2.sub(f64x2.promote_low_f32x4(v128.shuffle<f32>(x, x, 2, 3, 0, 1)), v128.load(m, 16));
      v128.store(o + at, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5));
    }
    for (; f < d; f++) {
      store<f32>(o + (<usize>f << 2), <f32>(<f64>load<f32>(r + (<usize>f << 2)) - load<f64>(mean + (<usize>f << 3))));
    }
    for (; f < d4; f++) store<f32>(o + (<usize>f << 2), 0);
  }
  if (rows4 > rows) memory.fill(dst + <usize>rows * outBytes, 0, <usize>(rows4 - rows) * outBytes);
}

/**
 * Writes `rows` float64 rows at A (l8 wide, l8 a multiple of 8) as float32 in panels of eight columns: column j of row
 * t at dst + ((j >> 3)·rows + t)·32 + (j & 7)·4. The thin operand of productRows (rows = d4) and productColumns.
 */
export function packOctets(A: usize, rows: i32, l8: i32, dst: usize): void {
  const rowBytes = <usize>l8 << 3;
  const panelBytes = <usize>rows << 5;
  for (let t = 0; t < rows; t++) {
    const a = A + <usize>t * rowBytes;
    let o = dst + (<usize>t << 5);
    for (let j: usize = 0; j < rowBytes; j += 64) {
      const v0 = v128.shuffle<f32>(f32x4.demote_f64x2_zero(v128.load(a + j)), f32x4.demote_f64x2_zero(v128.load(a + j, 16)), 0, 1, 4, 5);
      const v1 = v128.shuffle<f32>(f32x4.demote_f64x2_zero(v128.load(a + j, 32)), f32x4.demote_f64x2_zero(v128.load(a + j, 48)), 0, 1, 4, 5);
      v128.store(o, v0);
      v128.store(o, v1, 16);
      o += panelBytes;
    }
  }
}

/** Rounds `count` float64 values at A (count a multiple of 2) to float32 precision, in place. */
export function roundToF32(A: usize, count: i32): void {
  const end = A + (<usize>count << 3);
  for (let p = A; p < end; p += 16) v128.store(p, f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v128.load(p))));
}

/**
 * Y[t][j] += Σ_f X[t][f]·W[f][j] for rows t < rows4 (a multiple of 4) and columns j < l8: X float32 rows d4 wide
 * (packCentred), W float32 in panels of eight columns of d4 rows (packOctets), Y float64 rows l8 wide. Products and
 * sums in float32 over spans of 64 features, each span's sum then added to Y in float64. The spans are the outer loop,
 * so the span of every panel (l8 × 256 bytes) stays in the cache while the rows pass over it.
 */
export function productRows(X: usize, rows4: i32, d4: i32, W: usize, l8: i32, Y: usize): void {
  const rowBytes = <usize>d4 << 2;
  const panelBytes = <usize>d4 << 5;
  const yRow = <usize>l8 << 3;
  const panels = l8 >> 3;
  for (let f0 = 0; f0 < d4; f0 += SPAN) {
    const spanBytes = <usize>min(SPAN, d4 - f0) << 2;
    for (let t = 0; t < rows4; t += 4) {
      const x0 = X + <usize>t * rowBytes + (<usize>f0 << 2);
      const x1 = x0 + rowBytes;
      const x2 = x1 + rowBytes;
      const x3 = x2 + rowBytes;
      const y = Y + <usize>t * yRow;
      for (let o = 0; o < panels; o++) {
        let w = W + <usize>o * panelBytes + (<usize>f0 << 5);
        let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00;
        let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (let f: usize = 0; f < spanBytes; f += 4) {
          const w0 = v128.load(w);
          const w1 = v128.load(w, 16);
          let x = v128.load32_splat(x0 + f);
          c00 = f32x4.add(c00, f32x4.mul(x, w0));
          c01 = f32x4.add(c01, f32x4.mul(x, w1));
          x = v128.load32_splat(x1 + f);
          c10 = f32x4.add(c10, f32x4.mul(x, w0));
          c11 = f32x4.add(c11, f32x4.mul(x, w1));
          x = v128.load32_splat(x2 + f);
          c20 = f32x4.add(c20, f32x4.mul(x, w0));
          c21 = f32x4.add(c21, f32x4.mul(x, w1));
          x = v128.load32_splat(x3 + f);
          c30 = f32x4.add(c30, f32x4.mul(x, w0));
          c31 = f32x4.add(c31, f32x4.mul(x, w1));
          w += 32;
        }
        const g = y + (<usize>o << 6);
        addF32(g, c00);
        addF32(g + 32, c01);
        addF32(g + yRow, c10);
        addF32(g + yRow + 32, c11);
        addF32(g + 2 * yRow, c20);
        addF32(g + 2 * yRow + 32, c21);
        addF32(g + 3 * yRow, c30);
        addF32(g + 3 * yRow + 32, c31);
      }
    }
  }
}

/**
 * Z[f][j] += Σ_t X[t][f]·Q[t][j] for features f < d4 and columns j < l8 over `rows` rows: X float32 rows d4 wide
 * (packCentred), Q float32 by spans of 64 rows, each span in panels of eight columns (packOctets of the span: span s at
 * Q + s·64·l8·4), Z float64 rows l8 wide. Products and sums in float32 over each span of 64 rows, then added to Z in
 * float64 (the 4 × 8 tile of Z stays in the cache while the spans pass).
 */
export function productColumns(X: usize, rows: i32, d4: i32, Q: usize, l8: i32, Z: usize): void {
  const rowBytes = <usize>d4 << 2;
  const zRow = <usize>l8 << 3;
  const panels = l8 >> 3;
  for (let a = 0; a < d4; a += 4) {
    const xa = X + (<usize>a << 2);
    const z = Z + <usize>a * zRow;
    for (let o = 0; o < panels; o++) {
      const g = z + (<usize>o << 6);
      for (let s0 = 0; s0 < rows; s0 += SPAN) {
        const span = min(SPAN, rows - s0);
        let q = Q + (<usize>s0 * <usize>l8 << 2) + <usize>o * (<usize>span << 5);
        let x0 = xa + <usize>s0 * rowBytes;
        const end = x0 + <usize>span * rowBytes;
        let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00;
        let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (; x0 < end; x0 += rowBytes) {
          const q0 = v128.load(q);
          const q1 = v128.load(q, 16);
          let x = v128.load32_splat(x0);
          c00 = f32x4.add(c00, f32x4.mul(x, q0));
          c01 = f32x4.add(c01, f32x4.mul(x, q1));
          x = v128.load32_splat(x0, 4);
          c10 = f32x4.add(c10, f32x4.mul(x, q0));
          c11 = f32x4.add(c11, f32x4.mul(x, q1));
          x = v128.load32_splat(x0, 8);
          c20 = f32x4.add(c20, f32x4.mul(x, q0));
          c21 = f32x4.add(c21, f32x4.mul(x, q1));
          x = v128.load32_splat(x0, 12);
          c30 = f32x4.add(c30, f32x4.mul(x, q0));
          c31 = f32x4.add(c31, f32x4.mul(x, q1));
          q += 32;
        }
        addF32(g, c00);
        addF32(g + 32, c01);
        addF32(g + zRow, c10);
        addF32(g + zRow + 32, c11);
        addF32(g + 2 * zRow, c20);
        addF32(g + 2 * zRow + 32, c21);
        addF32(g + 3 * zRow, c30);
        addF32(g + 3 * zRow + 32, c31);
      }
    }
  }
}

/** Adds the four float32 lanes of c to the four float64 at g. */
@inline function addF32(g: usize, c: v128): void {
  v128.store(g, f64x2.add(v128.load(g), f64x2.promote_low_f32x4(c)));
  v128.store(g, f64x2.add(v128.load(g, 16), f64x2.promote_low_f32x4(v128.shuffle<f32>(c, c, 2, 3, 0, 1))), 16);
}

/** Rows per cache block of gramF64 (32 rows of 8·l8 bytes: a few tens of kB). */
const GRAM_BLOCK: i32 = 32;

/**
 * G[a][b] += Σ_t A[t][a]·A[t][b] over `rows` float64 rows at A (m4 wide, m4 a multiple of 4), for the 4×4 tiles on and
 * above the diagonal (a tile's entries below the diagonal are filled too; the caller mirrors the rest). Float64; each
 * sum runs over the rows in order.
 */
export function gramF64(A: usize, rows: i32, m4: i32, G: usize): void {
  const rowBytes = <usize>m4 << 3;
  for (let t0 = 0; t0 < rows; t0 += GRAM_BLOCK) {
    const first = A + <usize>t0 * rowBytes;
    const end = first + <usize>min(GRAM_BLOCK, rows - t0) * rowBytes;
    for (let a = 0; a < m4; a += 4) {
      const ao = <usize>a << 3;
      for (let b = a; b < m4; b += 4) {
        const bo = <usize>b << 3;
        let c00 = f64x2.splat(0), c01 = c00, c10 = c00, c11 = c00;
        let c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (let r = first; r < end; r += rowBytes) {
          const y0 = v128.load(r + bo);
          const y1 = v128.load(r + bo, 16);
          let x = v128.load64_splat(r + ao);
          c00 = f64x2.add(c00, f64x2.mul(x, y0));
          c01 = f64x2.add(c01, f64x2.mul(x, y1));
          x = v128.load64_splat(r + ao, 8);
          c10 = f64x2.add(c10, f64x2.mul(x, y0));
          c11 = f64x2.add(c11, f64x2.mul(x, y1));
          x = v128.load64_splat(r + ao, 16);
          c20 = f64x2.add(c20, f64x2.mul(x, y0));
          c21 = f64x2.add(c21, f64x2.mul(x, y1));
          x = v128.load64_splat(r + ao, 24);
          c30 = f64x2.add(c30, f64x2.mul(x, y0));
          c31 = f64x2.add(c31, f64x2.mul(x, y1));
        }
        const g = G + <usize>a * rowBytes + bo;
        addF64(g, c00);
        addF64(g + 16, c01);
        addF64(g + rowBytes, c10);
        addF64(g + rowBytes + 16, c11);
        addF64(g + 2 * rowBytes, c20);
        addF64(g + 2 * rowBytes + 16, c21);
        addF64(g + 3 * rowBytes, c30);
        addF64(g + 3 * rowBytes + 16, c31);
      }
    }
  }
}

@inline function addF64(g: usize, c: v128): void {
  v128.store(g, f64x2.add(v128.load(g), c));
}

/**
 * C = A·B in float64: A `rows` rows of m wide at A (row stride lda entries), B m × p8 (p8 a multiple of 8, rows p8
 * apart), C rows × p8. Each sum runs over the m terms in order. Two rows of A by eight columns of B at a time.
 */
export function mulF64(A: usize, rows: i32, m: i32, lda: i32, B: usize, p8: i32, C: usize): void {
  const aRow = <usize>lda << 3;
  const bRow = <usize>p8 << 3;
  const mBytes = <usize>m << 3;
  for (let t = 0; t < rows; t += 2) {
    const a0 = A + <usize>t * aRow;
    const second = t + 1 < rows;
    const a1 = second ? a0 + aRow : a0;
    const c = C + <usize>t * bRow;
    for (let j: usize = 0; j < bRow; j += 64) {
      let x0 = f64x2.splat(0), x1 = x0, x2 = x0, x3 = x0;
      let y0 = x0, y1 = x0, y2 = x0, y3 = x0;
      let b = B + j;
      for (let i: usize = 0; i < mBytes; i += 8) {
        const u = v128.load64_splat(a0 + i);
        const v = v128.load64_splat(a1 + i);
        const b0 = v128.load(b);
        const b1 = v128.load(b, 16);
        const b2 = v128.load(b, 32);
        const b3 = v128.load(b, 48);
        x0 = f64x2.add(x0, f64x2.mul(u, b0));
        x1 = f64x2.add(x1, f64x2.mul(u, b1));
        x2 = f64x2.add(x2, f64x2.mul(u, b2));
        x3 = f64x2.add(x3, f64x2.mul(u, b3));
        y0 = f64x2.add(y0, f64x2.mul(v, b0));
        y1 = f64x2.add(y1, f64x2.mul(v, b1));
        y2 = f64x2.add(y2, f64x2.mul(v, b2));
        y3 = f64x2.add(y3, f64x2.mul(v, b3));
        b += bRow;
      }
      v128.store(c + j, x0);
      v128.store(c + j, x1, 16);
      v128.store(c + j, x2, 32);
      v128.store(c + j, x3, 48);
      if (second) {
        v128.store(c + bRow + j, y0);
        v128.store(c + bRow + j, y1, 16);
        v128.store(c + bRow + j, y2, 32);
        v128.store(c + bRow + j, y3, 48);
      }
    }
  }
}
