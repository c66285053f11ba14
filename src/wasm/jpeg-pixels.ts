// AssemblyScript: a JPEG's coefficient blocks to RGBA for the photo kernels (photo.ts re-exports these; jpeg.ts
// decodes the blocks): libjpeg's islow inverse DCT, its fancy chroma upsampling and its YCbCr tables.

const CONST_BITS = 13;
const PASS1_BITS = 2;
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/**
 * One 1-D pass of libjpeg's jpeg_idct_islow over four lanes at once: inputs d0..d7 (dequantized coefficients, or the
 * first pass's outputs), the eight outputs descaled by `shift` with rounding, stored as vectors at `out`.
 */
@inline function idct8(
  d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, d6: v128, d7: v128, shift: i32, out: usize,
): void {
  // even part
  let z1 = i32x4.mul(i32x4.add(d2, d6), i32x4.splat(FIX_0_541196100));
  const tmp2e = i32x4.add(z1, i32x4.mul(d6, i32x4.splat(-FIX_1_847759065)));
  const tmp3e = i32x4.add(z1, i32x4.mul(d2, i32x4.splat(FIX_0_765366865)));
  const tmp0e = i32x4.shl(i32x4.add(d0, d4), CONST_BITS);
  const tmp1e = i32x4.shl(i32x4.sub(d0, d4), CONST_BITS);
  const tmp10 = i32x4.add(tmp0e, tmp3e);
  const tmp13 = i32x4.sub(tmp0e, tmp3e);
  const tmp11 = i32x4.add(tmp1e, tmp2e);
  const tmp12 = i32x4.sub(tmp1e, tmp2e);
  // odd part
  z1 = i32x4.add(d7, d1);
  let z2 = i32x4.add(d5, d3);
  let z3 = i32x4.add(d7, d3);
  let z4 = i32x4.add(d5, d1);
  const z5 = i32x4.mul(i32x4.add(z3, z4), i32x4.splat(FIX_1_175875602));
  let tmp0 = i32x4.mul(d7, i32x4.splat(FIX_0_298631336));
  let tmp1 = i32x4.mul(d5, i32x4.splat(FIX_2_053119869));
  let tmp2 = i32x4.mul(d3, i32x4.splat(FIX_3_072711026));
  let tmp3 = i32x4.mul(d1, i32x4.splat(FIX_1_501321110));
  z1 = i32x4.mul(z1, i32x4.splat(-FIX_0_899976223));
  z2 = i32x4.mul(z2, i32x4.splat(-FIX_2_562915447));
  z3 = i32x4.add(i32x4.mul(z3, i32x4.splat(-FIX_1_961570560)), z5);
  z4 = i32x4.add(i32x4.mul(z4, i32x4.splat(-FIX_0_390180644)), z5);
  tmp0 = i32x4.add(tmp0, i32x4.add(z1, z3));
  tmp1 = i32x4.add(tmp1, i32x4.add(z2, z4));
  tmp2 = i32x4.add(tmp2, i32x4.add(z2, z3));
  tmp3 = i32x4.add(tmp3, i32x4.add(z1, z4));
  const round = i32x4.splat(1 << (shift - 1));
  v128.store(out, i32x4.shr_s(i32x4.add(i32x4.add(tmp10, tmp3), round), shift));
  v128.store(out, i32x4.shr_s(i32x4.add(i32x4.add(tmp11, tmp2), round), shift), 16);
  v128.store(out, i32x4.shr_s(i32x4.add(i32x4.add(tmp12, tmp1), round), shift), 32);
  v128.store(out, i32x4.shr_s(i32x4.add(i32x4.add(tmp13, tmp0), round), shift), 48);
  v128.store(out, i32x4.shr_s(i32x4.add(i32x4.sub(tmp13, tmp0), round), shift), 64);
  v128.store(out, i32x4.shr_s(i32x4.add(i32x4.sub(tmp12, tmp1), round), shift), 80);
  v128.store(out, i32x4.shr_s(i32x4.add(i32x4.sub(tmp11, tmp2), round), shift), 96);
  v128.store(out, i32x4.shr_s(i32x4.add(i32x4.sub(tmp10, tmp3), round), shift), 112);
}

/** Row r of four columns of a coefficient block (at c) times their quantization steps (at q), as 32-bit lanes. */
@inline function dequantized(c: usize, q: usize, r: usize): v128 {
  return i32x4.mul(
    i32x4.extend_low_i16x8_s(v128.load64_zero(c + (r << 4))),
    i32x4.extend_low_i16x8_u(v128.load64_zero(q + (r << 4))),
  );
}

/**
 * An inverse DCT output x as libjpeg's range-limit table takes it, plus `c` (128): x wrapped into −512..511 (the
 * table is indexed by x & 1023), so the saturating narrowing after it clamps exactly as the table does.
 */
@inline function W(x: v128, c: v128): v128 {
  return i32x4.add(i32x4.sub(v128.and(i32x4.add(x, i32x4.splat(512)), i32x4.splat(1023)), i32x4.splat(512)), c);
}

/** Four rows of a pass's outputs (vectors a..d, four columns each) as four columns of four rows, stored at `out`. */
@inline function transpose4(a: v128, b: v128, c: v128, d: v128, out: usize): void {
  const t0 = v128.shuffle<i32>(a, b, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(a, b, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(c, d, 0, 4, 1, 5);
  const t3 = v128.shuffle<i32>(c, d, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
  v128.store(out, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(out, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(out, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7), 48);
}

/**
 * The inverse DCT of each coefficient block of a plane (blocksWide × blocksHigh, i16 at `plane`) with the quantization
 * table at `quant` (64 u16, natural order), into 8-bit samples at `out` (rows of blocksWide·8). libjpeg's
 * jpeg_idct_islow — columns then rows, 32-bit integers, the same constants and rounding, samples range-limited as by libjpeg's table —
 * four columns (then four rows) at a time. `work`: 768 bytes.
 */
export function idctPlane(plane: usize, quant: usize, blocksWide: i32, blocksHigh: i32, out: usize, work: usize): void {
  const stride = <usize>blocksWide << 3;
  const pass1 = work; // two groups of four columns: eight row vectors each
  const columns = work + 256; // pass 2's inputs: eight vectors over four rows
  const rows = work + 512; // pass 2's outputs
  const centre = i32x4.splat(128);
  for (let b = 0; b < blocksWide * blocksHigh; b++) {
    const block = plane + (<usize>b << 7);
    for (let g: usize = 0; g < 2; g++) {
      const c = block + (g << 3);
      const q = quant + (g << 3);
      idct8(
        dequantized(c, q, 0),
        dequantized(c, q, 1),
        dequantized(c, q, 2),
        dequantized(c, q, 3),
        dequantized(c, q, 4),
        dequantized(c, q, 5),
        dequantized(c, q, 6),
        dequantized(c, q, 7),
        CONST_BITS - PASS1_BITS,
        pass1 + (g << 7),
      );
    }
    const bx = b % blocksWide;
    const byy = b / blocksWide;
    for (let half: usize = 0; half < 2; half++) {
      // rows 4·half .. 4·half + 3: their eight inputs as vectors over the four rows
      for (let g: usize = 0; g < 2; g++) {
        const w = pass1 + (g << 7) + (half << 6);
        transpose4(v128.load(w), v128.load(w, 16), v128.load(w, 32), v128.load(w, 48), columns + (g << 6));
      }
      idct8(
        v128.load(columns),
        v128.load(columns, 16),
        v128.load(columns, 32),
        v128.load(columns, 48),
        v128.load(columns, 64),
        v128.load(columns, 80),
        v128.load(columns, 96),
        v128.load(columns, 112),
        CONST_BITS + PASS1_BITS + 3,
        rows,
      );
      // wrapped as libjpeg's table, +128, clamped to 0..255 by saturating narrowing; then back to rows of eight samples
      const A = i8x16.narrow_i16x8_u(
        i16x8.narrow_i32x4_s(W(v128.load(rows), centre), W(v128.load(rows, 16), centre)),
        i16x8.narrow_i32x4_s(W(v128.load(rows, 32), centre), W(v128.load(rows, 48), centre)),
      );
      const B = i8x16.narrow_i16x8_u(
        i16x8.narrow_i32x4_s(W(v128.load(rows, 64), centre), W(v128.load(rows, 80), centre)),
        i16x8.narrow_i32x4_s(W(v128.load(rows, 96), centre), W(v128.load(rows, 112), centre)),
      );
      const r01 = v128.shuffle<u8>(A, B, 0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
      const r23 = v128.shuffle<u8>(A, B, 2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
      const o = out + <usize>(byy * 8 + <i32>half * 4) * stride + (<usize>bx << 3);
      v128.store64_lane(o, r01, 0);
      v128.store64_lane(o + stride, r01, 1);
      v128.store64_lane(o + 2 * stride, r23, 0);
      v128.store64_lane(o + 3 * stride, r23, 1);
    }
  }
}

/**
 * A chroma plane (w × h samples of a `stride`-wide plane at `src`) upsampled to 2w × h (fy = 1) or 2w × 2h (fy = 2)
 * at `dst` (rows 2w wide), by libjpeg's fancy upsampling (h2v1 / h2v2): triangle weights 3:1, with its alternating
 * rounding, and the edge rows and columns repeated. w ≥ 2.
 */
export function upsample(src: usize, stride: i32, w: i32, h: i32, fy: i32, dst: usize): void {
  const out = <usize>w << 1;
  for (let y = 0; y < h; y++) {
    const near = src + <usize>y * <usize>stride;
    if (fy == 1) {
      const o = dst + <usize>y * out;
      let cur = <i32>load<u8>(near);
      store<u8>(o, <u8>cur);
      store<u8>(o, <u8>((cur * 3 + <i32>load<u8>(near, 1) + 2) >> 2), 1);
      for (let x = 1; x < w - 1; x++) {
        cur = <i32>load<u8>(near + <usize>x) * 3;
        store<u8>(o + (<usize>x << 1), <u8>((cur + <i32>load<u8>(near + <usize>x - 1) + 1) >> 2));
        store<u8>(o + (<usize>x << 1), <u8>((cur + <i32>load<u8>(near + <usize>x + 1) + 2) >> 2), 1);
      }
      const last = <i32>load<u8>(near + <usize>(w - 1));
      store<u8>(o + out - 2, <u8>((last * 3 + <i32>load<u8>(near + <usize>(w - 2)) + 1) >> 2));
      store<u8>(o + out - 1, <u8>last);
      continue;
    }
    for (let v = 0; v < 2; v++) {
      // the nearer row is this one; the farther the row above (v = 0) or below (v = 1), the edge rows repeated
      const farY = v == 0 ? (y > 0 ? y - 1 : 0) : y < h - 1 ? y + 1 : h - 1;
      const far = src + <usize>farY * <usize>stride;
      const o = dst + <usize>(2 * y + v) * out;
      let thiscolsum = <i32>load<u8>(near) * 3 + <i32>load<u8>(far);
      let nextcolsum = <i32>load<u8>(near, 1) * 3 + <i32>load<u8>(far, 1);
      store<u8>(o, <u8>((thiscolsum * 4 + 8) >> 4));
      store<u8>(o, <u8>((thiscolsum * 3 + nextcolsum + 7) >> 4), 1);
      let lastcolsum = thiscolsum;
      thiscolsum = nextcolsum;
      for (let x = 1; x < w - 1; x++) {
        nextcolsum = <i32>load<u8>(near + <usize>x + 1) * 3 + <i32>load<u8>(far + <usize>x + 1);
        store<u8>(o + (<usize>x << 1), <u8>((thiscolsum * 3 + lastcolsum + 8) >> 4));
        store<u8>(o + (<usize>x << 1), <u8>((thiscolsum * 3 + nextcolsum + 7) >> 4), 1);
        lastcolsum = thiscolsum;
        thiscolsum = nextcolsum;
      }
      store<u8>(o + out - 2, <u8>((thiscolsum * 3 + lastcolsum + 8) >> 4));
      store<u8>(o + out - 1, <u8>((thiscolsum * 4 + 7) >> 4));
    }
  }
}

/**
 * Y, Cb, Cr planes (full size, rows of yStride / cStride bytes) to width × height RGBA at `out` with libjpeg's
 * fixed-point tables (16 fraction bits); `cb` = 0 for a greyscale image (R = G = B = Y).
 */
export function yccToRgba(
  y: usize,
  yStride: i32,
  cb: usize,
  cr: usize,
  cStride: i32,
  width: i32,
  height: i32,
  out: usize,
): void {
  let o = out;
  const half = i32x4.splat(32768);
  const low = i32x4.splat(0);
  const high = i32x4.splat(255);
  const opaque = i32x4.splat(0xff000000);
  const centre = i32x4.splat(128);
  for (let row = 0; row < height; row++) {
    const yr = y + <usize>row * <usize>yStride;
    const cbr = cb + <usize>row * <usize>cStride;
    const crr = cr + <usize>row * <usize>cStride;
    let x = 0;
    if (cb != 0) {
      // four pixels at a time, the same integer operations in 32-bit lanes
      for (; x + 4 <= width; x += 4, o += 16) {
        const Y = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(yr + <usize>x)));
        const b = i32x4.sub(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(cbr + <usize>x))), centre);
        const r = i32x4.sub(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(crr + <usize>x))), centre);
        const R = i32x4.add(Y, i32x4.shr_s(i32x4.add(i32x4.mul(r, i32x4.splat(91881)), half), 16));
        const G = i32x4.add(
          Y,
          i32x4.shr_s(i32x4.add(i32x4.add(i32x4.mul(b, i32x4.splat(-22554)), half), i32x4.mul(r, i32x4.splat(-46802))), 16),
        );
        const B = i32x4.add(Y, i32x4.shr_s(i32x4.add(i32x4.mul(b, i32x4.splat(116130)), half), 16));
        const clampR = i32x4.min_s(i32x4.max_s(R, low), high);
        const clampG = i32x4.min_s(i32x4.max_s(G, low), high);
        const clampB = i32x4.min_s(i32x4.max_s(B, low), high);
        v128.store(o, v128.or(v128.or(clampR, i32x4.shl(clampG, 8)), v128.or(i32x4.shl(clampB, 16), opaque)));
      }
    }
    for (; x < width; x++, o += 4) {
      const Y = <i32>load<u8>(yr + <usize>x);
      if (cb == 0) {
        store<u32>(o, <u32>Y | (<u32>Y << 8) | (<u32>Y << 16) | 0xff000000);
        continue;
      }
      const b = <i32>load<u8>(cbr + <usize>x) - 128;
      const r = <i32>load<u8>(crr + <usize>x) - 128;
      // FIX(1.40200) = 91881, FIX(1.77200) = 116130, FIX(0.71414) = 46802, FIX(0.34414) = 22554, ONE_HALF = 32768
      const R = Y + ((91881 * r + 32768) >> 16);
      const G = Y + ((-22554 * b + 32768 + -46802 * r) >> 16);
      const B = Y + ((116130 * b + 32768) >> 16);
      store<u32>(o, <u32>clamp255(R) | (<u32>clamp255(G) << 8) | (<u32>clamp255(B) << 16) | 0xff000000);
    }
  }
}

@inline function clamp255(v: i32): i32 {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
