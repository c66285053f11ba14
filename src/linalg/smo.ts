import { Arena } from '../runtime/wasm.js';
import { KernelRowCache } from './smo-cache.js';
import { FREE, LOWER, maxIterations, rhoOf, solvePair, TAU, UPPER } from './smo-steps.js';
import { powi } from './svm-predict.js';

export { maxIterations } from './smo-steps.js';

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
 *
 * Here: the loop, the working-set selection, shrinking and the gradient's reconstruction; the kernel row cache is
 * smo-cache.ts, the two-variable step and ρ smo-steps.ts.
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
  /** The most iterations (scikit-learn's max_iter); default libsvm's bound, max(10⁷, 100·rows). */
  maxIterations?: number;
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

  const cache = new KernelRowCache(
    w,
    { xAt, d4, normsAt, kind: KIND[o.kernel], gamma: o.gamma, coef0: o.coef0, degree: o.degree },
    l,
    budget,
    cacheAt,
    K,
  );
  const { wide } = cache;
  const row = (i: number, n: number) => cache.row(i, n);
  const at = (offset: number) => cache.pointer(offset);

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
    cache.swap(i, j);
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
      w.smoAxpy(gbarAt, yAt, at(row(i, l)), c, 0, l);
      return;
    }
    w.smoAxpy(gbarAt, yAt, at(row(i, active)), c, 0, active);
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
        cache.compute(pos[id], from, to, wide + from);
        w.smoAxpy(gbarAt, yAt, at(wide), c, from, to);
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
      for (let i = active; i < l; i++) G[i] += Y[i] * w.smoDot(wAt, at(row(i, active)), active);
    } else {
      for (let t = 0; t < active; t++) {
        if (status[t] === FREE) w.smoAxpy(gAt, yAt, at(row(t, l)), W[t], active, l);
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
    const j = w.smoSelectJ(gAt, yAt, lowAt, qdAt, at(ri), active, Gmax, QD[i], TAU, outAt);
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
      if (cache.stride < l) cache.setStride(l);
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
    cache.applySwaps();
    if (active < 0.75 * cache.stride) cache.setStride(active);
  };

  const pair = new Float64Array(2);
  const maxIter = o.maxIterations ?? maxIterations(l);
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
      if (cache.stride < l) cache.setStride(l);
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
    solvePair(yi, yj, G[i], G[j], QD[i], QD[j], Qij, oldAi, oldAj, C, pair);
    const ai = pair[0];
    const aj = pair[1];
    alpha[i] = ai;
    alpha[j] = aj;
    // G_t += Q_ti Δα_i + Q_tj Δα_j over the active variables
    w.smoUpdateGradient(gAt, yAt, at(ri), at(rj), yi * (ai - oldAi), yj * (aj - oldAj), active);

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

  const rho = rhoOf(Y, G, status, l);
  let obj = 0;
  for (let t = 0; t < l; t++) obj += alpha[t] * (G[t] - 1);
  const result = new Float64Array(l);
  for (let t = 0; t < l; t++) result[perm[t]] = alpha[t];
  return { alpha: result, rho, obj: obj / 2, iterations: iter };
}
