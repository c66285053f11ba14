// AssemblyScript: PNG rows for the photo kernels (photo.ts re-exports these; src/data/png.ts calls them).

/**
 * Undoes PNG's row filters in place: `height` rows at `raw`, each a filter byte and `stride` bytes, `bpp` bytes a
 * pixel (1 to 4). Returns 0 on a filter byte that is not one of the five, else 1. Rows with four bytes a pixel (RGBA)
 * go a pixel at a time in SIMD lanes, the others a byte at a time; both choose Paeth's predictor without branches.
 */
export function unfilter(raw: usize, stride: i32, height: i32, bpp: i32): i32 {
  const rowBytes = <usize>stride + 1;
  for (let y = 0; y < height; y++) {
    const row = raw + <usize>y * rowBytes + 1;
    const kind = load<u8>(row - 1);
    if (kind > 4) return 0;
    if (kind == 0) continue;
    // the row above, or for the first row a row of zeros (the bytes at `row - 1 - stride` are not read then)
    const first = y == 0;
    if (bpp == 4 && !first) {
      if (kind == 1) sub4(row, stride);
      else if (kind == 2) up(row, stride);
      else if (kind == 3) average4(row, stride);
      else paeth4(row, stride);
    } else {
      const upAt = row - rowBytes;
      for (let i = 0; i < stride; i++) {
        const at = row + <usize>i;
        const a: i32 = i >= bpp ? <i32>load<u8>(at - <usize>bpp) : 0;
        const b: i32 = first ? 0 : <i32>load<u8>(upAt + <usize>i);
        const c: i32 = first || i < bpp ? 0 : <i32>load<u8>(upAt + <usize>i - <usize>bpp);
        let predictor: i32;
        if (kind == 1) predictor = a;
        else if (kind == 2) predictor = b;
        else if (kind == 3) predictor = (a + b) >> 1;
        else {
          const pa = abs(b - c);
          const pb = abs(a - c);
          const pc = abs(a + b - 2 * c);
          predictor = select<i32>(a, select<i32>(b, c, pb <= pc), pa <= pb && pa <= pc);
        }
        store<u8>(at, <u8>(<i32>load<u8>(at) + predictor));
      }
    }
  }
  return 1;
}

/** Sub, four bytes a pixel: each pixel plus the one to its left (bytes wrap). */
function sub4(row: usize, stride: i32): void {
  let left = i32x4.splat(0);
  for (let at = row; at < row + <usize>stride; at += 4) {
    left = i8x16.add(v128.load32_zero(at), left);
    v128.store32_lane(at, left, 0);
  }
}

/** Up: each byte plus the one above it, sixteen at a time. */
function up(row: usize, stride: i32): void {
  const above = row - <usize>stride - 1;
  let i: usize = 0;
  for (; i + 16 <= <usize>stride; i += 16) v128.store(row + i, i8x16.add(v128.load(row + i), v128.load(above + i)));
  for (; i < <usize>stride; i++) store<u8>(row + i, load<u8>(row + i) + load<u8>(above + i));
}

/** Average, four bytes a pixel: each byte plus the floor of the mean of the left and above bytes. */
function average4(row: usize, stride: i32): void {
  const above = row - <usize>stride - 1;
  const low = i16x8.splat(255);
  let left = i16x8.splat(0);
  for (let i: usize = 0; i < <usize>stride; i += 4) {
    const x = i16x8.extend_low_i8x16_u(v128.load32_zero(row + i));
    const b = i16x8.extend_low_i8x16_u(v128.load32_zero(above + i));
    left = v128.and(i16x8.add(x, i16x8.shr_u(i16x8.add(left, b), 1)), low);
    v128.store32_lane(row + i, i8x16.narrow_i16x8_u(left, left), 0);
  }
}

/** Paeth, four bytes a pixel: the predictor (left, above or above-left) nearest to left + above − above-left. */
function paeth4(row: usize, stride: i32): void {
  const above = row - <usize>stride - 1;
  const low = i16x8.splat(255);
  let a = i16x8.splat(0);
  let c = i16x8.splat(0);
  for (let i: usize = 0; i < <usize>stride; i += 4) {
    const x = i16x8.extend_low_i8x16_u(v128.load32_zero(row + i));
    const b = i16x8.extend_low_i8x16_u(v128.load32_zero(above + i));
    const bc = i16x8.sub(b, c);
    const ac = i16x8.sub(a, c);
    const pa = i16x8.abs(bc);
    const pb = i16x8.abs(ac);
    const pc = i16x8.abs(i16x8.add(bc, ac));
    const takeA = v128.and(i16x8.le_s(pa, pb), i16x8.le_s(pa, pc));
    const predictor = v128.bitselect(a, v128.bitselect(b, c, i16x8.le_s(pb, pc)), takeA);
    a = v128.and(i16x8.add(x, predictor), low);
    c = b;
    v128.store32_lane(row + i, i8x16.narrow_i16x8_u(a, a), 0);
  }
}

/**
 * Unfiltered rows (as `unfilter` leaves them) to RGBA at `out`, 4 bytes a pixel: grey (channels 1), grey + alpha
 * (2), RGB (3), RGBA (4), or palette indices (channels 1 with `palette` ≠ 0: 256 RGBA entries, `entries` of them
 * valid). Returns the number of pixels whose alpha is not 255, or −1 on a palette index of no entry.
 */
export function toRgba(
  raw: usize,
  width: i32,
  height: i32,
  channels: i32,
  palette: usize,
  entries: i32,
  out: usize,
): i32 {
  const rowBytes = <usize>(width * channels) + 1;
  let translucent = 0;
  let o = out;
  for (let y = 0; y < height; y++) {
    let at = raw + <usize>y * rowBytes + 1;
    const end = at + <usize>(width * channels);
    if (palette != 0 && channels == 1) {
      for (; at < end; at++, o += 4) {
        const i = <i32>load<u8>(at);
        if (i >= entries) return -1;
        const rgba = load<u32>(palette + (<usize>i << 2));
        store<u32>(o, rgba);
        translucent += i32(rgba >>> 24 != 255);
      }
    } else if (channels == 4) {
      for (; at < end; at += 4, o += 4) {
        const rgba = load<u32>(at);
        store<u32>(o, rgba);
        translucent += i32(rgba >>> 24 != 255);
      }
    } else if (channels == 3) {
      for (; at < end; at += 3, o += 4) {
        store<u32>(o, <u32>load<u16>(at) | (<u32>load<u8>(at, 2) << 16) | 0xff000000);
      }
    } else if (channels == 2) {
      for (; at < end; at += 2, o += 4) {
        const g = <u32>load<u8>(at);
        const alpha = <u32>load<u8>(at, 1);
        store<u32>(o, g | (g << 8) | (g << 16) | (alpha << 24));
        translucent += i32(alpha != 255);
      }
    } else {
      for (; at < end; at++, o += 4) {
        const g = <u32>load<u8>(at);
        store<u32>(o, g | (g << 8) | (g << 16) | 0xff000000);
      }
    }
  }
  return translucent;
}
