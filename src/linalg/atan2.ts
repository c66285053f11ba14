/**
 * A correctly rounded atan2, for the rare gradients whose HOG bin hangs on the last bit of an angle (see stages/hog.ts).
 * Math.atan2 (V8's fdlibm port) may be 1 ulp off; the C library's (glibc) is correctly rounded in practice, so this
 * returns what glibc returns. Double-double arithmetic (a value as an unevaluated sum hi + lo) gives the ~106 bits the
 * correction needs. Slow: for occasional calls only.
 */

/** A double-double: hi + lo with |lo| ≤ ulp(hi) / 2. */
type DD = [number, number];

/** π/2 as a double-double (error below 2e-33). */
const HALF_PI: DD = [1.5707963267948966, 6.123233995736766e-17];
/** 2^27 + 1: splits a double into two 26-bit halves whose products are exact (no fused multiply-add in JavaScript). */
const SPLITTER = 134217729;

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const v = s - a;
  return [s, a - (s - v) + (b - v)];
}

function twoProduct(a: number, b: number): DD {
  const p = a * b;
  const ta = SPLITTER * a;
  const ah = ta - (ta - a);
  const al = a - ah;
  const tb = SPLITTER * b;
  const bh = tb - (tb - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function add(x: DD, y: DD): DD {
  const [s, e] = twoSum(x[0], y[0]);
  const [t, f] = twoSum(x[1], y[1]);
  const [s2, e2] = twoSum(s, e + t);
  return twoSum(s2, e2 + f);
}

function multiply(x: DD, y: DD): DD {
  const [p, e] = twoProduct(x[0], y[0]);
  return twoSum(p, e + (x[0] * y[1] + x[1] * y[0]));
}

function divideBy(x: DD, d: number): DD {
  const q = x[0] / d;
  const [p, e] = twoProduct(q, d);
  return twoSum(q, (x[0] - p - e + x[1]) / d);
}

/** sin r and cos r, |r| ≤ π/4, by their Taylor series in double-double. */
function sinCosReduced(r: DD): [DD, DD] {
  const r2 = multiply(r, r);
  let sin: DD = r;
  let cos: DD = [1, 0];
  let sinTerm: DD = r;
  let cosTerm: DD = [1, 0];
  for (let k = 1; k < 30; k++) {
    // sinTerm = (−1)^k r^(2k+1)/(2k+1)!, cosTerm = (−1)^k r^(2k)/(2k)!
    cosTerm = divideBy(multiply(cosTerm, r2), -(2 * k - 1) * (2 * k));
    sinTerm = divideBy(multiply(sinTerm, r2), -(2 * k) * (2 * k + 1));
    cos = add(cos, cosTerm);
    sin = add(sin, sinTerm);
    if (Math.abs(cosTerm[0]) < 1e-36) break;
  }
  return [sin, cos];
}

/** sin a and cos a in double-double, |a| ≤ π. */
function sinCos(a: number): [DD, DD] {
  const k = Math.round(a / HALF_PI[0]);
  // a − k·π/2: k·HALF_PI[0] is exact (|k| ≤ 2) and so is the subtraction (Sterbenz)
  const r = add(twoSum(a, -k * HALF_PI[0]), [-k * HALF_PI[1], 0]);
  const [s, c] = sinCosReduced(r);
  const neg = (x: DD): DD => [-x[0], -x[1]];
  switch (((k % 4) + 4) % 4) {
    case 0:
      return [s, c];
    case 1:
      return [c, neg(s)];
    case 2:
      return [neg(s), neg(c)];
    default:
      return [neg(c), s];
  }
}

/**
 * atan2(y, x) rounded to the nearest double. Math.atan2 is within an ulp or so; the rest of the angle, θ − a0, is
 * recovered from the rotation of (x, y) by −a0 (its cross and dot products with (cos a0, sin a0), the cross product in
 * double-double as it cancels) and added once.
 */
export function atan2Rounded(y: number, x: number): number {
  const a0 = Math.atan2(y, x);
  // axes and non-finite values: Math.atan2 gives the IEEE results (0, ±π/2 and ±π rounded, NaN)
  if (y === 0 || x === 0 || !Number.isFinite(a0) || !Number.isFinite(x) || !Number.isFinite(y)) return a0;
  const m = Math.max(Math.abs(x), Math.abs(y));
  if (m > 1e150 || m < 1e-150) {
    // keep the products below exact: scale both by a power of two (the angle is unchanged)
    const f = 2 ** -Math.round(Math.log2(m));
    x *= f;
    y *= f;
  }
  const [s, c] = sinCos(a0);
  // |g|·sin(θ − a0) = cos a0 · y − sin a0 · x
  const cross = add(add(twoProduct(c[0], y), twoProduct(c[1], y)), add(twoProduct(-s[0], x), twoProduct(-s[1], x)));
  const dot = c[0] * x + s[0] * y;
  // θ − a0 is about 1e-16, so atan(t) = t to far below the last bit
  return a0 + (cross[0] + cross[1]) / dot;
}
