// AssemblyScript (re-exported by kernels.ts): rows of an SVM kernel matrix (linear, polynomial, RBF) for the SMO
// solver (src/linalg/smo.ts), with the lane-wise exp and integer power they need.

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
