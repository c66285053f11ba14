import { Arena } from '../runtime/wasm.js';

/**
 * A C-SVC dual solver: sequential minimal optimization with second-order working-set selection and shrinking, the
 * algorithm of libsvm's Solver (Fan, Chen & Lin, "Working set selection using second order information for training
 * support vector machines", JMLR 2005; Chang & Lin, "LIBSVM: a library for support vector machines", 2011), written
 * afresh on typed arrays.
 *
 *   min_α ½ αᵀQα − eᵀα   subject to 0 ≤ α_t ≤ C, yᵀα = 0,   Q_st = y_s y_t K(x_s, x_t)
 *
 * Each step picks the pair (i, j) that violates the optimality conditions most (i by the gradient, j by the second-order
 * gain given i), solves the two-variable problem exactly and updates the gradient G = Qα − e with two kernel rows. It
 * stops when the largest violation m(α) − M(α) is below `tolerance`, as libsvm's -e.
 *
 * Kernel rows come from the WebAssembly SIMD kernel kernelRow (float32, as libsvm caches Q in float32) into an LRU cache
 * of rows in this thread's WebAssembly memory; α, G and everything the steps decide on are float64. Shrinking (libsvm's
 * heuristic) moves variables that sit at a bound and look set to stay there past the end of the active prefix, so the
 * selection, the gradient update and new kernel rows only touch active variables; like libsvm, the rows themselves are
 * swapped (data, state and the columns of cached rows), so every loop runs over a contiguous prefix. The whole gradient
 * is rebuilt before the final optimality check.
 */

export type SmoKernel = 'linear' | 'poly' | 'rbf';

export interface SmoOptions {
  kernel: SmoKernel;
  gamma: number;
  coef0: number;
  degree: number;
  C: number;
  /** Stopping tolerance on the maximal violating pair (libsvm -e). */
  tolerance: number;
  /** Kernel row cache in MB. */
  cacheMb: number;
  /** libsvm's shrinking heuristic (-h 1); default true. */
  shrinking?: boolean;
}

export interface SmoSolution {
  /** α per problem row, in the order given. */
  alpha: Float64Array;
  /** The decision function is Σ y_t α_t K(x_t, x) − ρ. */
  rho: number;
  /** Dual objective ½αᵀQα − eᵀα at the solution. */
  obj: number;
  iterations: number;
}

const KIND: Record<SmoKernel, number> = { linear: 0, poly: 1, rbf: 2 };
const LOWER = 0;
const UPPER = 1;
const FREE = 2;
/** libsvm's TAU: the curvature used when a pair's is not positive. */
const TAU = 1e-12;

/** base^times by repeated squaring (libsvm's powi). */
function powi(base: number, times: number): number {
  let tmp = base;
  let ret = 1;
  for (let t = times; t > 0; t = Math.floor(t / 2)) {
    if (t % 2 === 1) ret *= tmp;
    tmp *= tmp;
  }
  return ret;
}

/**
 * Solves the C-SVC dual on rows `rows` of X (row-major float32, `cols` wide) with labels `y` (+1/−1, one per entry of
 * rows). Deterministic: the result depends on the data and options only.
 */
export function solveCSvc(X: Float32Array, cols: number, rows: Int32Array, y: Int8Array, o: SmoOptions): SmoSolution {
  const l = rows.length;
  const C = o.C;
  const eps = o.tolerance;
  const shrinking = o.shrinking ?? true;
  const d4 = (cols + 3) & ~3;

  // --- WebAssembly memory: the rows (permuted along with the solver's variables), their norms, the solver's float64
  // vectors, the row cache. Nothing is reserved after the views are taken.
  const arena = new Arena();
  const w = arena.kernels;
  const xAt = arena.reserve((l + 3) * d4 * 4);
  const normsAt = arena.reserve((l + 3) * 4);
  const vec = () => arena.reserve(8 * l);
  const gAt = vec();
  const yAt = vec();
  const qdAt = vec();
  const gbarAt = vec();
  const upAt = vec();
  const lowAt = vec();
  const wAt = vec();
  const outAt = arena.reserve(16);
  // the cache: `budget` floats of rows (at least two full ones), then one full row of scratch
  const budget = Math.max(2 * l, Math.floor((o.cacheMb * 1048576) / 4));
  const cacheAt = arena.reserve(4 * (budget + l));
  const Xw = arena.f32(xAt, (l + 3) * d4);
  const norms = arena.f32(normsAt, l + 3);
  const G = arena.f64(gAt, l);
  const Y = arena.f64(yAt, l);
  const QD = arena.f64(qdAt, l);
  /** G_bar_t = C · Σ_{s at upper bound} Q_ts: the part of the gradient that shrunk variables keep. */
  const Gbar = arena.f64(gbarAt, l);
  /** 0 when t ∈ I_up (y = +1 below C, or y = −1 above 0), −∞ when not; low likewise for I_low. */
  const up = arena.f64(upAt, l);
  const low = arena.f64(lowAt, l);
  const W = arena.f64(wAt, l);
  const out = arena.f64(outAt, 2);
  const K = arena.f32(cacheAt, budget + l);
  const wide = budget;
  Xw.fill(0);
  norms.fill(0);

  /** perm: the problem row at each position; pos: the position of each problem row. */
  const perm = new Int32Array(l);
  const pos = new Int32Array(l);
  for (let t = 0; t < l; t++) {
    const from = rows[t] * cols;
    let n = 0;
    for (let f = 0; f < cols; f++) {
      const v = X[from + f];
      Xw[t * d4 + f] = v;
      n += v * v;
    }
    norms[t] = n;
    Y[t] = y[t];
    perm[t] = t;
    pos[t] = t;
    QD[t] = o.kernel === 'rbf' ? 1 : o.kernel === 'linear' ? n : powi(o.gamma * n + o.coef0, o.degree);
  }
  const kind = KIND[o.kernel];
  const { gamma, coef0, degree } = o;

  // --- LRU cache of kernel rows. Rows are `stride` floats apart: l at first, then the active size once shrinking has
  // made it much smaller (so that, as libsvm's cache of variable-length rows does, the cache holds more of the rows
  // that matter). Slot s holds the row of position owner[s], valid on [0, len[s]).
  let stride = l;
  let slots = Math.min(l, Math.floor(budget / stride));
  const slotOf = new Int32Array(l).fill(-1);
  const owner = new Int32Array(l).fill(-1);
  const len = new Int32Array(l);
  const prev = new Int32Array(l + 1);
  const next = new Int32Array(l + 1);
  const head = l; // sentinel: next[head] is the least recently used slot, prev[head] the most recent
  prev[head] = head;
  next[head] = head;
  let used = 0;
  const unlink = (s: number) => {
    next[prev[s]] = next[s];
    prev[next[s]] = prev[s];
  };
  const append = (s: number) => {
    prev[s] = prev[head];
    next[s] = head;
    next[prev[head]] = s;
    prev[head] = s;
  };
  const compute = (i: number, from: number, to: number, at: number) =>
    w.kernelRow(xAt, d4, normsAt, i, from, to, kind, gamma, coef0, degree, cacheAt + 4 * at);
  /** Offset in K of row i, valid at least on [0, n). Rows longer than the stride are built in the scratch row. */
  const row = (i: number, n: number): number => {
    let s = slotOf[i];
    if (n > stride) {
      const have = s >= 0 ? len[s] : 0;
      if (have > 0) K.copyWithin(wide, s * stride, s * stride + have);
      compute(i, have, n, wide + have);
      return wide;
    }
    if (s >= 0) {
      unlink(s);
      if (len[s] < n) {
        compute(i, len[s], n, s * stride + len[s]);
        len[s] = n;
      }
    } else {
      if (used < slots) s = used++;
      else {
        s = next[head];
        unlink(s);
        slotOf[owner[s]] = -1;
      }
      slotOf[i] = s;
      owner[s] = i;
      compute(i, 0, n, s * stride);
      len[s] = n;
    }
    append(s);
    return s * stride;
  };
  /**
   * Lays the cache out with a new stride. Narrower: the most recently used rows that fit are kept (cut to the new
   * stride), moved down in place. Wider (the whole set active again): the cache starts empty, as most rows would be
   * cut by the next shrinking anyway.
   */
  const setStride = (newStride: number) => {
    const newSlots = Math.max(2, Math.min(l, Math.floor(budget / newStride)));
    const keep: number[] = [];
    if (newStride < stride) for (let s = prev[head]; s !== head && keep.length < newSlots; s = prev[s]) keep.push(s);
    const kept = new Set(keep);
    for (let s = 0; s < used; s++) if (!kept.has(s)) slotOf[owner[s]] = -1;
    // ascending old slots get ascending new ones, so a row never moves up onto one not yet moved
    const byOld = [...keep].sort((u, v) => u - v);
    const newSlot = new Map<number, number>();
    const newOwner = new Int32Array(byOld.length);
    const newLen = new Int32Array(byOld.length);
    byOld.forEach((s, k) => {
      const n = Math.min(len[s], newStride);
      K.copyWithin(k * newStride, s * stride, s * stride + n);
      newSlot.set(s, k);
      newOwner[k] = owner[s];
      newLen[k] = n;
    });
    prev[head] = head;
    next[head] = head;
    for (let k = 0; k < byOld.length; k++) {
      owner[k] = newOwner[k];
      len[k] = newLen[k];
      slotOf[owner[k]] = k;
    }
    for (let q = keep.length - 1; q >= 0; q--) append(newSlot.get(keep[q])!);
    used = byOld.length;
    stride = newStride;
    slots = newSlots;
  };

  // --- solver state, by current position
  const alpha = new Float64Array(l);
  G.fill(-1);
  Gbar.fill(0);
  const status = new Uint8Array(l); // all LOWER
  let active = l;
  const setStatus = (t: number) => {
    const a = alpha[t];
    const st = a >= C ? UPPER : a <= 0 ? LOWER : FREE;
    status[t] = st;
    const pos = Y[t] > 0;
    up[t] = (pos ? st !== UPPER : st !== LOWER) ? 0 : -Infinity;
    low[t] = (pos ? st !== LOWER : st !== UPPER) ? 0 : -Infinity;
  };
  for (let t = 0; t < l; t++) setStatus(t);

  /** Swaps positions i and j: data, state, cache ownership; the cached rows' columns are swapped by applySwaps. */
  const swaps: number[] = [];
  const swapRows = (i: number, j: number) => {
    let tmp: number;
    for (const v of [Y, QD, G, Gbar, up, low, alpha]) {
      tmp = v[i];
      v[i] = v[j];
      v[j] = tmp;
    }
    tmp = status[i];
    status[i] = status[j];
    status[j] = tmp;
    tmp = perm[i];
    perm[i] = perm[j];
    perm[j] = tmp;
    pos[perm[i]] = i;
    pos[perm[j]] = j;
    tmp = norms[i];
    norms[i] = norms[j];
    norms[j] = tmp;
    const a = i * d4;
    const b = j * d4;
    for (let f = 0; f < d4; f++) {
      tmp = Xw[a + f];
      Xw[a + f] = Xw[b + f];
      Xw[b + f] = tmp;
    }
    const si = slotOf[i];
    const sj = slotOf[j];
    slotOf[i] = sj;
    slotOf[j] = si;
    if (si >= 0) owner[si] = j;
    if (sj >= 0) owner[sj] = i;
    swaps.push(Math.min(i, j), Math.max(i, j));
  };
  /** The swaps made since the last call, applied to every cached row in turn (one row at a time stays in cache). */
  const applySwaps = () => {
    const m = swaps.length;
    if (m === 0) return;
    for (let s = 0; s < used; s++) {
      const base = s * stride;
      let n = len[s];
      for (let q = 0; q < m; q += 2) {
        const lo = swaps[q];
        const hi = swaps[q + 1];
        if (n > hi) {
          const tmp = K[base + lo];
          K[base + lo] = K[base + hi];
          K[base + hi] = tmp;
        } else if (n > lo) n = lo; // the rest of the row is recomputed when asked for
      }
      len[s] = n;
    }
    swaps.length = 0;
  };

  /**
   * G_bar += c·y_t·K(x_i, x_t) for all t, when α_i reaches or leaves C. The active part is applied at once from the
   * cached row; the inactive part, which only the next gradient reconstruction reads, waits until then (flushGbar), so
   * that a variable going to C and back costs nothing there and no row is computed beyond the active size meanwhile.
   * The inactive positions keep their rows until that reconstruction (shrinking only swaps active positions).
   */
  const pendingId: number[] = [];
  const pendingFrom: number[] = [];
  const pendingC: number[] = [];
  const updateGbar = (i: number, c: number) => {
    if (active === l) {
      w.smoAxpy(gbarAt, yAt, cacheAt + 4 * row(i, l), c, 0, l);
      return;
    }
    w.smoAxpy(gbarAt, yAt, cacheAt + 4 * row(i, active), c, 0, active);
    pendingId.push(perm[i]);
    pendingFrom.push(active);
    pendingC.push(c);
  };
  const flushGbar = () => {
    const events = new Map<number, number[]>();
    for (let e = 0; e < pendingId.length; e++) {
      const list = events.get(pendingId[e]);
      if (list) list.push(e);
      else events.set(pendingId[e], [e]);
    }
    for (const [id, list] of events) {
      // position t ≥ pendingFrom[e] receives event e: the net coefficient is constant between breakpoints
      const cuts = [...new Set(list.map((e) => pendingFrom[e]))].sort((u, v) => u - v);
      for (let q = 0; q < cuts.length; q++) {
        let c = 0;
        for (const e of list) if (pendingFrom[e] <= cuts[q]) c += pendingC[e];
        if (c === 0) continue;
        const from = cuts[q];
        const to = q + 1 < cuts.length ? cuts[q + 1] : l;
        compute(pos[id], from, to, wide + from);
        w.smoAxpy(gbarAt, yAt, cacheAt + 4 * wide, c, from, to);
      }
    }
    pendingId.length = 0;
    pendingFrom.length = 0;
    pendingC.length = 0;
  };

  /** Rebuilds G of the inactive variables from G_bar and the free variables (after shrinking). */
  const reconstructGradient = () => {
    if (active === l) return;
    flushGbar();
    for (let t = active; t < l; t++) G[t] = Gbar[t] - 1;
    let free = 0;
    for (let t = 0; t < active; t++) {
      if (status[t] === FREE) {
        free++;
        W[t] = alpha[t] * Y[t];
      } else W[t] = 0;
    }
    if (free * l > 2 * active * (l - active)) {
      for (let i = active; i < l; i++) G[i] += Y[i] * w.smoDot(wAt, cacheAt + 4 * row(i, active), active);
    } else {
      for (let t = 0; t < active; t++) {
        if (status[t] === FREE) w.smoAxpy(gAt, yAt, cacheAt + 4 * row(t, l), W[t], active, l);
      }
    }
  };

  /**
   * Second-order working set (WSS 3 of Fan, Chen & Lin): i maximizes −y_t G_t over I_up; j, among I_low with
   * −y_j G_j < −y_i G_i, maximizes the decrease of the objective (b²/a). Returns false when optimal within eps.
   */
  let outI = -1;
  let outJ = -1;
  const select = (): boolean => {
    const i = w.smoSelectI(gAt, yAt, upAt, active);
    if (i < 0) return false;
    const Gmax = -Y[i] * G[i];
    const ri = row(i, active);
    const j = w.smoSelectJ(gAt, yAt, lowAt, qdAt, cacheAt + 4 * ri, active, Gmax, QD[i], TAU, outAt);
    if (Gmax + out[0] < eps || j === -1) return false;
    outI = i;
    outJ = j;
    return true;
  };

  const beShrunk = (t: number, Gmax1: number, Gmax2: number): boolean => {
    if (status[t] === UPPER) return Y[t] > 0 ? -G[t] > Gmax1 : -G[t] > Gmax2;
    if (status[t] === LOWER) return Y[t] > 0 ? G[t] > Gmax2 : G[t] > Gmax1;
    return false;
  };

  let unshrunk = false;
  const shrink = () => {
    let Gmax1 = -Infinity; // max over I_up of −y G
    let Gmax2 = -Infinity; // max over I_low of y G
    for (let t = 0; t < active; t++) {
      const yg = Y[t] * G[t];
      if (up[t] === 0 && -yg >= Gmax1) Gmax1 = -yg;
      if (low[t] === 0 && yg >= Gmax2) Gmax2 = yg;
    }
    if (!unshrunk && Gmax1 + Gmax2 <= eps * 10) {
      // close to the end: bring everything back once, so variables shrunk too early can still move
      unshrunk = true;
      reconstructGradient();
      active = l;
      if (stride < l) setStride(l);
    }
    for (let t = 0; t < active; t++) {
      if (!beShrunk(t, Gmax1, Gmax2)) continue;
      active--;
      while (active > t) {
        if (!beShrunk(active, Gmax1, Gmax2)) {
          swapRows(t, active);
          break;
        }
        active--;
      }
    }
    applySwaps();
    if (active < 0.75 * stride) setStride(active);
  };

  const maxIter = maxIterations(l);
  let counter = Math.min(l, 1000) + 1;
  let iter = 0;
  while (iter < maxIter) {
    if (--counter === 0) {
      counter = Math.min(l, 1000);
      if (shrinking) shrink();
    }
    if (!select()) {
      reconstructGradient();
      active = l;
      if (stride < l) setStride(l);
      if (!select()) break;
      counter = 1; // shrink at the next step
    }
    iter++;
    const i = outI;
    const j = outJ;
    const ri = row(i, active);
    const rj = row(j, active);
    const yi = Y[i];
    const yj = Y[j];
    const Qij = yi * yj * K[ri + j];
    const oldAi = alpha[i];
    const oldAj = alpha[j];
    let ai = oldAi;
    let aj = oldAj;
    if (yi !== yj) {
      let a = QD[i] + QD[j] + 2 * Qij;
      if (a <= 0) a = TAU;
      const delta = (-G[i] - G[j]) / a;
      const diff = ai - aj;
      ai += delta;
      aj += delta;
      if (diff > 0) {
        if (aj < 0) {
          aj = 0;
          ai = diff;
        }
      } else if (ai < 0) {
        ai = 0;
        aj = -diff;
      }
      if (diff > 0) {
        if (ai > C) {
          ai = C;
          aj = C - diff;
        }
      } else if (aj > C) {
        aj = C;
        ai = C + diff;
      }
    } else {
      let a = QD[i] + QD[j] - 2 * Qij;
      if (a <= 0) a = TAU;
      const delta = (G[i] - G[j]) / a;
      const sum = ai + aj;
      ai -= delta;
      aj += delta;
      if (sum > C) {
        if (ai > C) {
          ai = C;
          aj = sum - C;
        }
      } else if (aj < 0) {
        aj = 0;
        ai = sum;
      }
      if (sum > C) {
        if (aj > C) {
          aj = C;
          ai = sum - C;
        }
      } else if (ai < 0) {
        ai = 0;
        aj = sum;
      }
    }
    alpha[i] = ai;
    alpha[j] = aj;
    // G_t += Q_ti Δα_i + Q_tj Δα_j over the active variables
    w.smoUpdateGradient(gAt, yAt, cacheAt + 4 * ri, cacheAt + 4 * rj, yi * (ai - oldAi), yj * (aj - oldAj), active);

    const wasUpperI = status[i] === UPPER;
    const wasUpperJ = status[j] === UPPER;
    setStatus(i);
    setStatus(j);
    if (wasUpperI !== (status[i] === UPPER)) updateGbar(i, (wasUpperI ? -C : C) * yi);
    if (wasUpperJ !== (status[j] === UPPER)) updateGbar(j, (wasUpperJ ? -C : C) * yj);
  }
  if (active < l) {
    reconstructGradient();
    active = l;
  }

  // ρ: the mean of y_t G_t over free variables, else the middle of the feasible interval
  let ub = Infinity;
  let lb = -Infinity;
  let sumFree = 0;
  let free = 0;
  for (let t = 0; t < l; t++) {
    const yG = Y[t] * G[t];
    if (status[t] === UPPER) {
      if (Y[t] < 0) ub = Math.min(ub, yG);
      else lb = Math.max(lb, yG);
    } else if (status[t] === LOWER) {
      if (Y[t] > 0) ub = Math.min(ub, yG);
      else lb = Math.max(lb, yG);
    } else {
      free++;
      sumFree += yG;
    }
  }
  const rho = free > 0 ? sumFree / free : (ub + lb) / 2;
  let obj = 0;
  for (let t = 0; t < l; t++) obj += alpha[t] * (G[t] - 1);
  const result = new Float64Array(l);
  for (let t = 0; t < l; t++) result[perm[t]] = alpha[t];
  return { alpha: result, rho, obj: obj / 2, iterations: iter };
}

/** libsvm's bound on SMO iterations for l variables: max(10⁷, 100·l), at most 2³¹ − 1. */
export function maxIterations(l: number): number {
  return Math.max(10_000_000, l > 21_474_836 ? 2 ** 31 - 1 : 100 * l);
}
