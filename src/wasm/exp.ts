// AssemblyScript (re-exported by kernels.ts): e^x in float64, bit for bit the value of JavaScript's Math.exp in V8,
// which is fdlibm's exp; and the RBF kernel values of SVM predict built on it (src/linalg/svm-predict.ts).
//
// fdlibm's method: x = k·ln2 + r with |r| ≤ ln2/2 (k = 0 when |x| ≤ ln2/2; ln2 split in a high part whose products with k
// are exact and a low part), e^r = 1 − ((lo − r·c/(2 − c)) − hi) with c = r − r²·P(r²), P of degree 4, then scaled by
// 2^k. The lanes of a pair take one path: where fdlibm branches (k = 0, k = ±1, the rest) the same expressions give
// the same bits when k is 0 or ±1 (k·ln2 exact, 0 − q = −q up to a sign of zero that the next subtraction drops), so
// only |x| < 2^−28, |x| > 707 (subnormal or overflowing results), x = 1 and non-finite x take the scalar path, which
// follows fdlibm step by step (with their neighbours in a group of four). test/svm.test.ts compares both with Math.exp
// on millions of arguments.

const LN2_HI: f64 = 6.9314718036912381649e-1;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const INV_LN2: f64 = 1.442695040888963387;
const P1: f64 = 1.66666666666666019037e-1;
const P2: f64 = -2.77777777770155933842e-3;
const P3: f64 = 6.61375632143793436117e-5;
const P4: f64 = -1.65339022054652515390e-6;
const P5: f64 = 4.13813679705723846039e-8;
const TWO_M1000: f64 = 9.33263618503218878990e-302;
const OVER: f64 = 7.09782712893383973096e2;
const UNDER: f64 = -7.45133219101941108420e2;
/** |x| ≥ this ⟺ the high word of |x| is above 0x3fd62e42 (fdlibm's |x| > ln2/2). */
const HALF_LN2_BOUND: f64 = reinterpret<f64>(0x3fd62e4300000000);
/** 2^−28: below, e^x = 1 + x. */
const TINY: f64 = reinterpret<f64>(0x3e30000000000000);
/** The pair path's largest |x|: 2^k stays a normal number. */
const FAST_MAX: f64 = 707;

/** 2^n for n in the normal exponent range. */
@inline function pow2(n: i32): f64 {
  return reinterpret<f64>(<u64>(n + 1023) << 52);
}

/** e^x, fdlibm's algorithm step by step (Math.exp's value in V8 for every x). */
export function expExact(x: f64): f64 {
  const bits = reinterpret<u64>(x);
  let hx = <u32>(bits >> 32);
  const negative = hx >> 31;
  hx &= 0x7fffffff;
  if (hx >= 0x40862e42) {
    if (hx >= 0x7ff00000) {
      if (((hx & 0xfffff) | <u32>bits) != 0) return x + x; // NaN
      return negative ? 0 : x; // ±Infinity
    }
    if (x > OVER) return Infinity;
    if (x < UNDER) return 0;
  }
  let hi: f64 = 0;
  let lo: f64 = 0;
  let k: i32 = 0;
  if (hx > 0x3fd62e42) {
    if (hx < 0x3ff0a2b2) {
      if (x == 1) return 2.718281828459045; // V8 returns E exactly here
      hi = negative ? x + LN2_HI : x - LN2_HI;
      lo = negative ? -LN2_LO : LN2_LO;
      k = negative ? -1 : 1;
    } else {
      k = <i32>(INV_LN2 * x + (negative ? -0.5 : 0.5));
      const t = <f64>k;
      hi = x - t * LN2_HI;
      lo = t * LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    return 1 + x;
  }
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1 - ((x * c) / (c - 2) - x);
  const y = 1 - ((lo - (x * c) / (2 - c)) - hi);
  if (k >= -1021) return k == 1024 ? y * 2 * pow2(1023) : y * pow2(k);
  return y * pow2(k + 1000) * TWO_M1000;
}

/** Lanes the paired path computes as expExact does: 2^−28 ≤ |x| ≤ 707 and x ≠ 1 (all-ones lanes). */
@inline function usualLanes(x: v128): v128 {
  const ax = f64x2.abs(x);
  return v128.and(
    v128.and(f64x2.ge(ax, f64x2.splat(TINY)), f64x2.le(ax, f64x2.splat(FAST_MAX))),
    f64x2.ne(x, f64x2.splat(1)),
  );
}

/** expExact of each lane, one at a time. */
@inline function expLanes(x: v128): v128 {
  return f64x2.replace_lane(f64x2.splat(expExact(f64x2.extract_lane(x, 0))), 1, expExact(f64x2.extract_lane(x, 1)));
}

/** e^x lane-wise for usual lanes (usualLanes), each lane as expExact. */
@inline function expUsual(x: v128): v128 {
  // k = trunc(x/ln2 ± 1/2) where |x| > ln2/2, else 0 (all-zero bits are +0)
  const half = v128.or(v128.and(x, f64x2.splat(-0.0)), f64x2.splat(0.5));
  const k = v128.and(
    f64x2.trunc(f64x2.add(f64x2.mul(x, f64x2.splat(INV_LN2)), half)),
    f64x2.ge(f64x2.abs(x), f64x2.splat(HALF_LN2_BOUND)),
  );
  const hi = f64x2.sub(x, f64x2.mul(k, f64x2.splat(LN2_HI)));
  const lo = f64x2.mul(k, f64x2.splat(LN2_LO));
  const r = f64x2.sub(hi, lo);
  const t = f64x2.mul(r, r);
  let p = f64x2.add(f64x2.mul(t, f64x2.splat(P5)), f64x2.splat(P4));
  p = f64x2.add(f64x2.mul(t, p), f64x2.splat(P3));
  p = f64x2.add(f64x2.mul(t, p), f64x2.splat(P2));
  p = f64x2.add(f64x2.mul(t, p), f64x2.splat(P1));
  const c = f64x2.sub(r, f64x2.mul(t, p));
  const q = f64x2.div(f64x2.mul(r, c), f64x2.sub(f64x2.splat(2), c));
  const y = f64x2.sub(f64x2.splat(1), f64x2.sub(f64x2.sub(lo, q), hi));
  // 2^k: k + 1023 lands in the low bits of 2^52 + 1023 + k (exact for these k), shifted into the exponent field
  const scale = i64x2.shl(f64x2.add(k, f64x2.splat(4503599627371519)), 52);
  return f64x2.mul(y, scale);
}

/** e^x of two pairs of lanes (independent work for the CPU to overlap), each lane as expExact. */
@inline function expTwoPairs(at: usize, x0: v128, x1: v128): void {
  if (i64x2.all_true(v128.and(usualLanes(x0), usualLanes(x1)))) {
    v128.store(at, expUsual(x0));
    v128.store(at, expUsual(x1), 16);
  } else {
    v128.store(at, expLanes(x0));
    v128.store(at, expLanes(x1), 16);
  }
}

/** Math.exp of each of n float64 values at `values`, in place (for the tests and any caller in bulk). */
export function expInPlace(values: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const at = values + (<usize>i << 3);
    expTwoPairs(at, v128.load(at), v128.load(at, 16));
  }
  for (; i < n; i++) {
    const at = values + (<usize>i << 3);
    store<f64>(at, expExact(load<f64>(at)));
  }
}

/**
 * RBF kernel values from dot products, in place: for rows r < rows of the tile (float64, ld per row) and columns
 * j < n, K = e^(negGamma · dist) with dist = (‖x_r‖² + ‖s_j‖²) − 2·dot, taken as 0 where below 0 — svm-predict.ts's
 * arithmetic in its order, with Math.exp's bits.
 */
export function rbfTile(tile: usize, rows: i32, n: i32, ld: i32, xNorms: usize, svNorms: usize, negGamma: f64): void {
  const g = f64x2.splat(negGamma);
  const zero = f64x2.splat(0);
  for (let r = 0; r < rows; r++) {
    const row = tile + ((<usize>r * <usize>ld) << 3);
    const xnScalar = load<f64>(xNorms + (<usize>r << 3));
    const xn = f64x2.splat(xnScalar);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const at = row + (<usize>j << 3);
      const norms = svNorms + (<usize>j << 3);
      const dot0 = v128.load(at);
      const dot1 = v128.load(at, 16);
      let dist0 = f64x2.sub(f64x2.add(xn, v128.load(norms)), f64x2.add(dot0, dot0));
      let dist1 = f64x2.sub(f64x2.add(xn, v128.load(norms, 16)), f64x2.add(dot1, dot1));
      dist0 = v128.bitselect(zero, dist0, f64x2.lt(dist0, zero));
      dist1 = v128.bitselect(zero, dist1, f64x2.lt(dist1, zero));
      expTwoPairs(at, f64x2.mul(g, dist0), f64x2.mul(g, dist1));
    }
    for (; j < n; j++) {
      const at = row + (<usize>j << 3);
      const dot = load<f64>(at);
      let dist = xnScalar + load<f64>(svNorms + (<usize>j << 3)) - (dot + dot);
      if (dist < 0) dist = 0;
      store<f64>(at, expExact(negGamma * dist));
    }
  }
}
