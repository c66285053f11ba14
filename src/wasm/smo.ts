// AssemblyScript (re-exported by kernels.ts): the SMO solver's steps (src/linalg/smo.ts). Per variable t: G, Y (±1),
// QD, Gbar, and the masks up/low (0 when t is in I_up / I_low, −∞ when not), all float64; kernel rows K float32. Every
// scan gives what the plain sequential loop gives, ties included (the last index wins, as libsvm's ≥ / ≤ comparisons
// do).

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
