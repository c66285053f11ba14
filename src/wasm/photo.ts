// AssemblyScript, compiled by `asc` (package.json "build:wasm") to dist/wasm/photo.wasm, a module of its own (its own
// memory, apart from the numeric kernels' arenas) loaded by src/data/photo-kernels.ts: decoding PNG rows
// (png-rows.ts, for src/data/png.ts) and the pixel passes of a photo's preparation (src/data/photo-passes.ts states
// them in JavaScript). Pointers are byte offsets into this module's memory, laid out by the JavaScript side from
// heapBase().

export { toRgba, unfilter } from './png-rows';

/** First byte the JavaScript side may use. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

/**
 * The grey value of the RGBA pixel at `p`, as photo-passes.ts greyAt computes it (the same double operations in the same
 * order, then rounded to float32): luminance, with transparent parts over white.
 */
@inline function grey(p: usize): f64 {
  const lum = 0.299 * <f64>load<u8>(p) + 0.587 * <f64>load<u8>(p, 1) + 0.114 * <f64>load<u8>(p, 2);
  const alpha = load<u8>(p, 3);
  if (alpha == 255) return <f64><f32>lum;
  const a = <f64>alpha / 255;
  return <f64><f32>(lum * a + 255 * (1 - a));
}

// photoStats's running state (module globals: visit() updates it for one pixel at a time, in pixel order)
let deviation: f64 = 0;
let standing: f64 = 0;
let lo: f64 = Infinity;
let hi: f64 = -Infinity;
let nearLimit = false;
let first: i32 = -1;
let lastX: i32 = -1;

/** One pixel of grey g at column x, as photoStats's scalar loop takes it. */
@inline function visit(g: f64, x: i32, border: f64, trim: f64, above: f64, below: f64): void {
  const dv = g - border;
  const adv = abs(dv);
  if (adv > trim) {
    deviation += dv;
    standing += 1;
    if (first < 0) first = x;
    lastX = x;
    if (g < lo) lo = g;
    if (g > hi) hi = g;
    if (adv < above) nearLimit = true;
  } else if (adv > below) nearLimit = true;
}

/** Whether both RGBA pixels at `p` are opaque (greyPair's condition). */
@inline function opaquePair(p: usize): bool {
  return (load<u32>(p) & load<u32>(p, 4)) >>> 24 == 255;
}

/** The grey of the two opaque RGBA pixels at `p` as double lanes (grey()'s operations, lane by lane). */
@inline function greyPair(p: usize): v128 {
  const bytes = v128.load64_zero(p);
  // r0 r1 g0 g1 b0 b1 as 32-bit lanes
  const planar = i16x8.extend_low_i8x16_u(v128.shuffle<u8>(bytes, bytes, 0, 4, 1, 5, 2, 6, 3, 7, 8, 8, 8, 8, 8, 8, 8, 8));
  const rg = i32x4.extend_low_i16x8_u(planar);
  const ba = i32x4.extend_high_i16x8_u(planar);
  const r = f64x2.convert_low_i32x4_u(rg);
  const g = f64x2.convert_low_i32x4_u(v128.shuffle<u32>(rg, rg, 2, 3, 0, 1));
  const b = f64x2.convert_low_i32x4_u(ba);
  const lum = f64x2.add(
    f64x2.add(f64x2.mul(f64x2.splat(0.299), r), f64x2.mul(f64x2.splat(0.587), g)),
    f64x2.mul(f64x2.splat(0.114), b),
  );
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(lum));
}

/**
 * photo-passes.ts stats(): prepareDecoded's first two passes over a W×H RGBA photo at `rgba`, written as ten doubles at `out`: the
 * border's mean grey; the sum of (grey − border) and the count over pixels further than `trim` from it; their box
 * x0, y0, x1, y1; their lowest and highest grey; and 1 if a pixel lies within `near` of the limit on either side.
 */
export function photoStats(rgba: usize, W: i32, H: i32, trim: f64, near: f64, out: usize): void {
  // the border's mean, summed in the same order as photo-passes.ts borderMean
  let sum: f64 = 0;
  let count: f64 = 0;
  const rowBytes = <usize>W << 2;
  const last = rgba + <usize>(H - 1) * rowBytes;
  for (let x = 0; x < W; x++) {
    sum += grey(rgba + (<usize>x << 2)) + (H > 1 ? grey(last + (<usize>x << 2)) : 0);
    count += H > 1 ? 2 : 1;
  }
  for (let y = 1; y < H - 1; y++) {
    const row = rgba + <usize>y * rowBytes;
    sum += grey(row) + (W > 1 ? grey(row + rowBytes - 4) : 0);
    count += W > 1 ? 2 : 1;
  }
  const border = sum / count;

  deviation = 0;
  standing = 0;
  lo = Infinity;
  hi = -Infinity;
  nearLimit = false;
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  const above = trim + near;
  const below = trim - near;
  const borderV = f64x2.splat(border);
  const belowV = f64x2.splat(below);
  const aboveV = f64x2.splat(above);
  for (let y = 0; y < H; y++) {
    first = -1;
    lastX = -1;
    let p = rgba + <usize>y * rowBytes;
    let x = 0;
    // two pixels at a time: their grey in double lanes (the same operations as grey()); a pair with nothing near the
    // limit or beyond it (the background, most of a product photo) needs nothing more
    for (; x + 2 <= W; x += 2, p += 8) {
      if (!opaquePair(p)) {
        visit(grey(p), x, border, trim, above, below);
        visit(grey(p + 4), x + 1, border, trim, above, below);
        continue;
      }
      const g = greyPair(p);
      const dv = f64x2.sub(g, borderV);
      const adv = f64x2.abs(dv);
      if (!v128.any_true(f64x2.gt(adv, belowV))) continue;
      if (i64x2.all_true(f64x2.gt(adv, aboveV))) {
        // both stand out, neither near the limit (most of a garment): visit() for each, in order, without its tests
        deviation += f64x2.extract_lane(dv, 0);
        deviation += f64x2.extract_lane(dv, 1);
        standing += 2;
        if (first < 0) first = x;
        lastX = x + 1;
        const g0 = f64x2.extract_lane(g, 0);
        const g1 = f64x2.extract_lane(g, 1);
        lo = min(lo, min(g0, g1));
        hi = max(hi, max(g0, g1));
        continue;
      }
      visit(f64x2.extract_lane(g, 0), x, border, trim, above, below);
      visit(f64x2.extract_lane(g, 1), x + 1, border, trim, above, below);
    }
    if (x < W) visit(grey(p), x, border, trim, above, below);
    if (first >= 0) {
      if (first < x0) x0 = first;
      if (lastX > x1) x1 = lastX;
      if (y0 == H) y0 = y;
      y1 = y;
    }
  }
  store<f64>(out, border);
  store<f64>(out, deviation, 8);
  store<f64>(out, standing, 16);
  store<f64>(out, <f64>x0, 24);
  store<f64>(out, <f64>y0, 32);
  store<f64>(out, <f64>x1, 40);
  store<f64>(out, <f64>y1, 48);
  store<f64>(out, lo, 56);
  store<f64>(out, hi, 64);
  store<f64>(out, nearLimit ? 1 : 0, 72);
}

/**
 * The box and peak of the pixels further than `trim` from `background` once negated (float32(255 − grey)), for the
 * rare photo with a pixel at the limit: x0, y0, x1, y1, peak as five doubles at `out`.
 */
export function negatedBox(rgba: usize, W: i32, H: i32, background: f64, trim: f64, out: usize): void {
  let x0 = W, y0 = H, x1 = -1, y1 = -1;
  let peak = background;
  let p = rgba;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++, p += 4) {
      const v = <f64><f32>(255 - grey(p));
      if (abs(v - background) > trim) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        if (v > peak) peak = v;
      }
    }
  }
  store<f64>(out, <f64>x0);
  store<f64>(out, <f64>y0, 8);
  store<f64>(out, <f64>x1, 16);
  store<f64>(out, <f64>y1, 24);
  store<f64>(out, peak, 32);
}

/**
 * The bw×bh crop at (x0, y0) of the W-wide RGBA photo as float32 at `out`: grey (negated to float32(255 − grey) when
 * `inverted`), less `background`, times `gain`, clamped to 0..255.
 */
export function cropGrey(
  rgba: usize,
  W: i32,
  x0: i32,
  y0: i32,
  bw: i32,
  bh: i32,
  inverted: i32,
  background: f64,
  gain: f64,
  out: usize,
): void {
  let o = out;
  for (let y = 0; y < bh; y++) {
    let p = rgba + ((<usize>(y0 + y) * <usize>W + <usize>x0) << 2);
    for (let x = 0; x < bw; x++, p += 4, o += 4) {
      const g = grey(p);
      const v = ((inverted ? <f64><f32>(255 - g) : g) - background) * gain;
      store<f32>(o, <f32>(v < 0 ? 0 : v > 255 ? 255 : v));
    }
  }
}

/**
 * For resizing N pixels to n by area: at `index`, for each output pixel o, its first input pixel and its number of
 * weights (two i32); the weights themselves (f64, summing to 1) one after another at `weights`. The same double
 * operations as photo-passes.ts coverage.
 */
function coverage(N: i32, n: i32, index: usize, weights: usize): void {
  const step = <f64>N / <f64>n;
  let k: usize = weights;
  for (let o = 0; o < n; o++) {
    const a = <f64>o * step;
    const b = <f64>(o + 1) * step;
    const from = <i32>Math.floor(a);
    const to = min(N, <i32>Math.ceil(b));
    store<i32>(index + (<usize>o << 3), from);
    store<i32>(index + (<usize>o << 3), to - from, 4);
    for (let i = from; i < to; i++, k += 8) store<f64>(k, (min(b, <f64>(i + 1)) - max(a, <f64>i)) / step);
  }
}

/**
 * Resamples the W×H float32 image at `src` to w×h at `dst` by area averaging, as photo-passes.ts resizeArea does (rows first,
 * each sum in double from zero in the same order, rounded to float32 between the passes and at the end). `scratch`
 * takes 4·w·H bytes of rows, then the coverage tables: 8·(w + h) + 8·(W + H + w + h) bytes.
 */
export function resizeArea(src: usize, W: i32, H: i32, w: i32, h: i32, dst: usize, scratch: usize): void {
  const rows = scratch;
  const indexX = (rows + (<usize>(w * H) << 2) + 7) & ~7;
  const indexY = indexX + (<usize>w << 3);
  const weightsX = indexY + (<usize>h << 3);
  const weightsY = weightsX + (<usize>(W + w) << 3);
  coverage(W, w, indexX, weightsX);
  coverage(H, h, indexY, weightsY);
  for (let y = 0; y < H; y++) {
    const line = src + (<usize>(y * W) << 2);
    let k = weightsX;
    for (let o = 0; o < w; o++) {
      const from = load<i32>(indexX + (<usize>o << 3));
      const count = load<i32>(indexX + (<usize>o << 3), 4);
      let s: f64 = 0;
      for (let i = 0; i < count; i++, k += 8) s += <f64>load<f32>(line + (<usize>(from + i) << 2)) * load<f64>(k);
      store<f32>(rows + (<usize>(y * w + o) << 2), <f32>s);
    }
  }
  let k = weightsY;
  for (let o = 0; o < h; o++) {
    const from = load<i32>(indexY + (<usize>o << 3));
    const count = load<i32>(indexY + (<usize>o << 3), 4);
    for (let x = 0; x < w; x++) {
      let s: f64 = 0;
      for (let i = 0; i < count; i++) {
        s += <f64>load<f32>(rows + (<usize>((from + i) * w + x) << 2)) * load<f64>(k + (<usize>i << 3));
      }
      store<f32>(dst + (<usize>(o * w + x) << 2), <f32>s);
    }
    k += <usize>count << 3;
  }
}

export { decodeScan } from './jpeg';
export { idctPlane, upsample, yccToRgba } from './jpeg-pixels';
