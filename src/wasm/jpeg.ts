// Baseline JPEG decoding for the photo kernels (photo.ts re-exports it), to the RGBA bytes libjpeg-turbo gives the
// canvas (Skia): here the Huffman decoding of the scan into coefficient blocks; in jpeg-pixels.ts the "islow" integer
// inverse DCT, fancy (triangle) upsampling of 2×1 and 2×2 chroma and the fixed-point YCbCr → RGB tables, each with
// libjpeg's own integer arithmetic. src/data/jpeg.ts parses the markers and lays out memory; what it does not follow
// is left to the canvas.

// bit reader over the entropy-coded data
let src: usize = 0;
let srcEnd: usize = 0;
let bits: u32 = 0;
let bitCount: i32 = 0;
/** A marker (not a stuffed 0xFF00) was met: no more bits are read from the data; zero bits are made up instead. */
let atMarker = false;
/** How many of the bits made so far were made up (past a marker or the end of the data). */
let zeroBits: i32 = 0;

@inline function fill(): void {
  while (bitCount <= 24) {
    let byte: u32 = 0;
    if (atMarker || src >= srcEnd) zeroBits += 8;
    else {
      byte = <u32>load<u8>(src);
      if (byte == 0xff) {
        const next = src + 1 < srcEnd ? <u32>load<u8>(src + 1) : 0xd9;
        if (next == 0) src += 2;
        else {
          atMarker = true;
          byte = 0;
          zeroBits += 8;
        }
      } else src++;
    }
    bits |= byte << (24 - bitCount);
    bitCount += 8;
  }
}

@inline function getBits(n: i32): i32 {
  if (bitCount < n) fill();
  const v = <i32>(bits >>> (32 - n));
  bits <<= n;
  bitCount -= n;
  return v;
}

/**
 * One Huffman symbol. A table at `t`: 512 u16 lookahead entries for 9-bit prefixes (length << 8 | value, 0 when
 * longer), then maxcode (17 i32, −1 for none), valoffset (17 i32) and the 256 values (u8). The lookahead, which finds
 * nearly every symbol, is inlined; longer codes take a call.
 */
@inline function decodeSymbol(t: usize): i32 {
  if (bitCount < 17) fill();
  const look = <i32>load<u16>(t + (<usize>(bits >>> 23) << 1));
  if (look != 0) {
    const length = look >> 8;
    bits <<= length;
    bitCount -= length;
    return look & 255;
  }
  return decodeLong(t);
}

/** A symbol whose code is longer than the lookahead's 9 bits (the bits are filled). */
function decodeLong(t: usize): i32 {
  const maxcode = t + 1024;
  const valoffset = maxcode + 68;
  const values = valoffset + 68;
  for (let l = 10; l <= 16; l++) {
    const code = <i32>(bits >>> (32 - l));
    if (code <= load<i32>(maxcode + (<usize>l << 2))) {
      bits <<= l;
      bitCount -= l;
      return <i32>load<u8>(values + <usize>(code + load<i32>(valoffset + (<usize>l << 2))));
    }
  }
  // no code of 16 bits or fewer: corrupt data (libjpeg warns, gives 0 and, as here, has taken 17 bits)
  bits <<= 16;
  bits <<= 1;
  bitCount -= 17;
  return 0;
}

/** The value of `s` received bits, sign-extended as JPEG codes it. */
@inline function extend(v: i32, s: i32): i32 {
  return v < (1 << (s - 1)) ? v - (1 << s) + 1 : v;
}

const ZIGZAG: StaticArray<u8> = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55,
  62, 63,
  // past the end (corrupt data), as libjpeg's jpeg_natural_order
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
];

/**
 * Decodes the scan's MCUs into each component's coefficient plane. `comps` holds, per component (n of them), eight
 * i32: h, v, dc table, ac table (addresses), plane address (i16, blocksWide × blocksHigh blocks of 64), blocksWide, 0, 0.
 * Interleaved (n > 1): mcusX × mcusY MCUs; one component: its own blocks in raster order. No restart markers (files
 * with them are left to the canvas). A plane address of 0 decodes that component without storing its coefficients
 * (the check that the scan data reach the image's end).
 */
export function decodeScan(
  data: usize,
  dataEnd: usize,
  comps: usize,
  n: i32,
  mcusX: i32,
  mcusY: i32,
): i32 {
  src = data;
  srcEnd = dataEnd;
  bits = 0;
  bitCount = 0;
  atMarker = false;
  zeroBits = 0;
  let insufficient = false;
  let dc0 = 0, dc1 = 0, dc2 = 0;
  for (let my = 0; my < mcusY; my++) {
    for (let mx = 0; mx < mcusX; mx++) {
      for (let c = 0; c < n; c++) {
        const info = comps + (<usize>c << 5);
        const h = n == 1 ? 1 : load<i32>(info);
        const v = n == 1 ? 1 : load<i32>(info, 4);
        const dcTable = <usize>load<i32>(info, 8);
        const acTable = <usize>load<i32>(info, 12);
        const plane = <usize>load<i32>(info, 16);
        const blocksWide = load<i32>(info, 20);
        for (let by = 0; by < v; by++) {
          for (let bx = 0; bx < h; bx++) {
            const row = n == 1 ? my : my * v + by;
            const col = n == 1 ? mx : mx * h + bx;
            const block = plane + (<usize>(row * blocksWide + col) << 7);
            if (plane != 0) memory.fill(block, 0, 128);
            if (insufficient) continue;
            const t = decodeSymbol(dcTable);
            const diff = t != 0 ? extend(getBits(t), t) : 0;
            let dc: i32;
            if (c == 0) dc = dc0 += diff;
            else if (c == 1) dc = dc1 += diff;
            else dc = dc2 += diff;
            if (plane != 0) store<i16>(block, <i16>dc);
            for (let k = 1; k < 64; k++) {
              const rs = decodeSymbol(acTable);
              const r = rs >> 4;
              const s = rs & 15;
              if (s != 0) {
                k += r;
                const value = extend(getBits(s), s);
                if (plane != 0) store<i16>(block + (<usize>unchecked(ZIGZAG[k]) << 1), <i16>value);
              } else {
                if (r != 15) break;
                k += 15;
              }
            }
          }
        }
      }
      // libjpeg stops decoding once an MCU needed bits past the data: the blocks after it stay zero
      if (bitCount < zeroBits) insufficient = true;
    }
  }
  // 1: the data ran out before the last MCU (a file cut short, perhaps with an end marker added): the caller refuses it
  return insufficient ? 1 : 0;
}
