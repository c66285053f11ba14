// AssemblyScript (re-exported by kernels.ts): HOG of one image in two passes around the JavaScript side's exact
// binning (src/stages/hog-rows.ts lays the regions out; src/stages/hog-bins.ts makes the lookup table). The arithmetic
// is the JavaScript kernel's, operation for operation, so the features keep their bits: float64 gradients and
// magnitudes (two pixels at a time in float64 lanes, each lane the scalar expression), float32 cell sums (each rounded
// to float32 after a float64 add), float64 block norms.

/** Slots of the direction lookup table per half-plane (hog-bins.ts SLOTS). */
const SLOTS = 1024;
/** scikit-image's block normalisation epsilon. */
const EPS: f64 = 1e-5;

// The image being read and the regions being written, set by hogGradients for pixelGradient and pairGradients.
let planes: usize = 0;
let planeBytes: usize = 0;
let size: i32 = 0;
let channels: i32 = 0;
let covered: i32 = 0;
let slots: usize = 0;
let bins: usize = 0;
let mags: usize = 0;
let gxs: usize = 0;
let gys: usize = 0;

/** A pixel's bin when its gradient adds nothing (zero), or when the lookup table defers to the exact tests. */
const NO_BIN = -1;
const EXACT_BIN = -2;

/**
 * Pass 1 over the covered × covered pixels of the size × size image (`channels` interleaved float32 values at `src`;
 * their square roots first when `sqrtFirst`): each pixel's gradient (for RGB, that of the channel with the largest
 * magnitude, the first of equal ones), its magnitude, and its bin from the lookup table `slots` (int16, SLOTS + 1 per
 * half-plane), or NO_BIN for a zero gradient, or EXACT_BIN where the table defers (then gx and gy keep the gradient
 * for the exact tests). `planes`: channels × (size² + 2) float64 of scratch (each channel's plane with one value of
 * padding on either side). Returns how many pixels need the exact tests.
 */
export function hogGradients(
  src: usize,
  imageSize: i32,
  imageChannels: i32,
  coveredSide: i32,
  sqrtFirst: i32,
  slotTable: usize,
  planeScratch: usize,
  binsOut: usize,
  magsOut: usize,
  gxOut: usize,
  gyOut: usize,
): i32 {
  size = imageSize;
  channels = imageChannels;
  covered = coveredSide;
  slots = slotTable;
  planes = planeScratch;
  bins = binsOut;
  mags = magsOut;
  gxs = gxOut;
  gys = gyOut;
  const pixels = size * size;
  planeBytes = <usize>(pixels + 2) << 3;
  for (let ch = 0; ch < channels; ch++) {
    const plane = planes + <usize>ch * planeBytes + 8;
    store<f64>(plane - 8, 0);
    store<f64>(plane + (<usize>pixels << 3), 0);
    for (let p = 0; p < pixels; p++) {
      const v = <f64>load<f32>(src + (<usize>(p * channels + ch) << 2));
      store<f64>(plane + (<usize>p << 3), sqrtFirst != 0 ? Math.sqrt(v) : v);
    }
  }
  let exact = 0;
  for (let r = 0; r < covered; r++) {
    const vertical = r > 0 && r < size - 1;
    // the first column and, when it is covered, the last have no horizontal gradient: one at a time
    exact += pixelGradient(r, 0, vertical);
    const last = covered == size ? covered - 1 : covered;
    let c = 1;
    for (; c + 1 < last; c += 2) exact += pairGradients(r, c, vertical);
    for (; c < covered; c++) exact += pixelGradient(r, c, vertical);
  }
  return exact;
}

/**
 * Writes pixel k's bin — NO_BIN for a zero gradient, else from the lookup table by its half-plane and pseudo-angle q,
 * or EXACT_BIN where the table defers — and its magnitude (and its gradient for the exact tests); 1 when they decide.
 */
@inline function record(k: usize, flat: bool, upper: bool, q: f64, gx: f64, gy: f64, mag: f64): i32 {
  if (flat) {
    store<i32>(bins + (k << 2), NO_BIN);
    return 0;
  }
  const slot = (upper ? 0 : SLOTS + 1) + <i32>Math.ceil(q * <f64>(SLOTS / 2));
  const bin = <i32>load<i16>(slots + (<usize>slot << 1));
  store<f64>(mags + (k << 3), mag);
  if (bin >= 0) {
    store<i32>(bins + (k << 2), bin);
    return 0;
  }
  store<i32>(bins + (k << 2), EXACT_BIN);
  store<f64>(gxs + (k << 3), gx);
  store<f64>(gys + (k << 3), gy);
  return 1;
}

/** One pixel's gradient and bin, the JavaScript kernel's scalar code. */
function pixelGradient(r: i32, c: i32, vertical: bool): i32 {
  const horizontal = c > 0 && c < size - 1;
  const line = <usize>size << 3;
  const at = planes + 8 + (<usize>(r * size + c) << 3);
  let gx: f64 = horizontal ? load<f64>(at + 8) - load<f64>(at - 8) : 0;
  let gy: f64 = vertical ? load<f64>(at + line) - load<f64>(at - line) : 0;
  let best = gx * gx + gy * gy;
  for (let ch = 1; ch < channels; ch++) {
    const a = at + <usize>ch * planeBytes;
    const x: f64 = horizontal ? load<f64>(a + 8) - load<f64>(a - 8) : 0;
    const y: f64 = vertical ? load<f64>(a + line) - load<f64>(a - line) : 0;
    if (x * x + y * y > best) {
      best = x * x + y * y;
      gx = x;
      gy = y;
    }
  }
  // the slot of g's direction in its half-plane (the lower half turned by 180°); nothing of it for a zero gradient
  const flat = gx == 0 && gy == 0;
  const upper = gy > 0 || (gy == 0 && gx > 0);
  const fy = upper ? gy : -gy;
  const d = fy / (Math.abs(gx) + fy);
  const q = (upper ? gx >= 0 : gx <= 0) ? d : 2 - d;
  return record(<usize>(r * covered + c), flat, upper, q, gx, gy, Math.sqrt(gx * gx + gy * gy));
}

/** Pixels c and c + 1 of row r (both with a horizontal gradient), in float64 lanes; as pixelGradient for each. */
function pairGradients(r: i32, c: i32, vertical: bool): i32 {
  const line = <usize>size << 3;
  const zero = f64x2.splat(0);
  const at = planes + 8 + (<usize>(r * size + c) << 3);
  let gx = f64x2.sub(v128.load(at + 8), v128.load(at - 8));
  let gy = vertical ? f64x2.sub(v128.load(at + line), v128.load(at - line)) : zero;
  let best = f64x2.add(f64x2.mul(gx, gx), f64x2.mul(gy, gy));
  for (let ch = 1; ch < channels; ch++) {
    const a = at + <usize>ch * planeBytes;
    const x = f64x2.sub(v128.load(a + 8), v128.load(a - 8));
    const y = vertical ? f64x2.sub(v128.load(a + line), v128.load(a - line)) : zero;
    const m = f64x2.add(f64x2.mul(x, x), f64x2.mul(y, y));
    const larger = f64x2.gt(m, best);
    best = v128.bitselect(m, best, larger);
    gx = v128.bitselect(x, gx, larger);
    gy = v128.bitselect(y, gy, larger);
  }
  const flat = v128.and(f64x2.eq(gx, zero), f64x2.eq(gy, zero));
  const upper = v128.or(f64x2.gt(gy, zero), v128.and(f64x2.eq(gy, zero), f64x2.gt(gx, zero)));
  const fy = v128.bitselect(gy, f64x2.neg(gy), upper);
  const d = f64x2.div(fy, f64x2.add(f64x2.abs(gx), fy));
  const forward = v128.bitselect(f64x2.ge(gx, zero), f64x2.le(gx, zero), upper);
  const q = v128.bitselect(d, f64x2.sub(f64x2.splat(2), d), forward);
  const mag = f64x2.sqrt(f64x2.add(f64x2.mul(gx, gx), f64x2.mul(gy, gy)));
  const k = <usize>(r * covered + c);
  const lane0 = record(
    k,
    i64x2.extract_lane(flat, 0) != 0,
    i64x2.extract_lane(upper, 0) != 0,
    f64x2.extract_lane(q, 0),
    f64x2.extract_lane(gx, 0),
    f64x2.extract_lane(gy, 0),
    f64x2.extract_lane(mag, 0),
  );
  const lane1 = record(
    k + 1,
    i64x2.extract_lane(flat, 1) != 0,
    i64x2.extract_lane(upper, 1) != 0,
    f64x2.extract_lane(q, 1),
    f64x2.extract_lane(gx, 1),
    f64x2.extract_lane(gy, 1),
    f64x2.extract_lane(mag, 1),
  );
  return lane0 + lane1;
}

/**
 * Pass 2: the magnitudes summed into their cells' bins in pixel order (float32 sums), each sum divided by the cell's
 * area, and the blocks (block × block cells, `stride` cells apart) normalised by `norm` (0 none, 1 l1, 2 l1_sqrt, 3 l2,
 * 4 l2_hys) into `out` (float32). Scratch: sums (float32) and hist (float64), cells² · orientations each; blockValues
 * (float64), block² · orientations.
 */
export function hogBlocks(
  bins: usize,
  mags: usize,
  covered: i32,
  cell: i32,
  orientations: i32,
  block: i32,
  stride: i32,
  norm: i32,
  sums: usize,
  hist: usize,
  blockValues: usize,
  out: usize,
): void {
  const cells = covered / cell;
  const histLength = cells * cells * orientations;
  memory.fill(sums, 0, <usize>histLength << 2);
  const rowBins = cells * orientations;
  for (let r = 0; r < covered; r++) {
    const sumsRow = (r / cell) * rowBins;
    for (let c = 0; c < covered; c++) {
      const k = <usize>(r * covered + c);
      const bin = load<i32>(bins + (k << 2));
      if (bin < 0) continue;
      const at = sums + (<usize>(sumsRow + (c / cell) * orientations + bin) << 2);
      store<f32>(at, <f32>(<f64>load<f32>(at) + load<f64>(mags + (k << 3))));
    }
  }
  const area = <f64>(cell * cell);
  for (let h = 0; h < histLength; h++) {
    store<f64>(hist + (<usize>h << 3), <f64>(<f32>(<f64>load<f32>(sums + (<usize>h << 2)) / area)));
  }
  const blocks = (cells - block) / stride + 1;
  const blockLength = block * block * orientations;
  let o = out;
  for (let br = 0; br < blocks; br++) {
    for (let bc = 0; bc < blocks; bc++) {
      let v = 0;
      for (let cr = 0; cr < block; cr++) {
        const start = ((br * stride + cr) * cells + bc * stride) * orientations;
        const end = start + block * orientations;
        for (let h = start; h < end; h++) {
          store<f64>(blockValues + (<usize>v << 3), load<f64>(hist + (<usize>h << 3)));
          v++;
        }
      }
      writeBlock(blockValues, blockLength, norm, o);
      o += <usize>blockLength << 2;
    }
  }
}

/** One block normalised as skimage's _hog_normalize_block, multiplying by the reciprocal as the JavaScript kernel did. */
function writeBlock(v: usize, n: i32, norm: i32, out: usize): void {
  if (norm == 0) {
    for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>load<f64>(v + (<usize>i << 3)));
  } else if (norm <= 2) {
    let sum: f64 = 0;
    for (let i = 0; i < n; i++) sum += Math.abs(load<f64>(v + (<usize>i << 3)));
    const scale = 1 / (sum + EPS);
    if (norm == 1) {
      for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>(load<f64>(v + (<usize>i << 3)) * scale));
    } else {
      for (let i = 0; i < n; i++) {
        store<f32>(out + (<usize>i << 2), <f32>Math.sqrt(load<f64>(v + (<usize>i << 3)) * scale));
      }
    }
  } else {
    let squares: f64 = 0;
    for (let i = 0; i < n; i++) {
      const x = load<f64>(v + (<usize>i << 3));
      squares += x * x;
    }
    const scale = 1 / Math.sqrt(squares + EPS * EPS);
    if (norm == 3) {
      for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>(load<f64>(v + (<usize>i << 3)) * scale));
    } else {
      // l2_hys: clip at 0.2, then l2 again
      squares = 0;
      for (let i = 0; i < n; i++) {
        const at = v + (<usize>i << 3);
        const clipped = Math.min(load<f64>(at) * scale, 0.2);
        store<f64>(at, clipped);
        squares += clipped * clipped;
      }
      const rescale = 1 / Math.sqrt(squares + EPS * EPS);
      for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), <f32>(load<f64>(v + (<usize>i << 3)) * rescale));
    }
  }
}
