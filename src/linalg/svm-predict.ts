/**
 * One-vs-one C-SVC prediction from a fitted libsvm model, natively: libsvm's svm_predict_values on typed arrays.
 *
 * For each test row, the kernel with every support vector is computed once and shared by all k(k−1)/2 machines, as
 * libsvm does. Kernel values come in blocks of test rows × support vectors from the register-blocked dotBlock
 * (rbf: exp(−γ(‖x‖² + ‖sv‖² − 2x·sv)), clamped at distance 0; linear: x·sv; poly: (γx·sv + coef0)^degree with
 * libsvm's powi), in Float64. Machine (i, j), i < j, decides Σ_{sv of i} sv_coef[j−1]·K + Σ_{sv of j} sv_coef[i]·K − ρ;
 * > 0 votes for class i, otherwise for j; the class with most votes wins, ties to the first in libsvm's label order.
 *
 * libsvm itself sums (x − sv)² feature by feature, so decision values differ from its own in the last bits, and a
 * row whose decision value is that close to 0 may in principle vote differently.
 *
 * Every sum runs over the support vectors in model order and over features from 0, whatever the blocking: results do
 * not depend on how rows are split into tasks or how many workers run them. The dot products come from the
 * WebAssembly kernel dotPanels (support vectors packed once per task as float64 panels; bit-identical to the plain
 * loop, and faster).
 */
import { squaredNorms } from './kernels.js';
import { sharedFloat32 } from '../runtime/pool.js';
import { Arena } from '../runtime/wasm.js';

export type SvmKernel = 'linear' | 'poly' | 'rbf';

/** A fitted one-vs-one model as libsvm holds it, in shared memory so workers read it without copies. */
export interface SvmPredictModel {
  kernel: SvmKernel;
  gamma: number;
  coef0: number;
  degree: number;
  features: number;
  /** Class labels in libsvm's order (the order of nSV and of the machines). */
  labels: Int32Array;
  /** Support vectors of class c are rows [classStart[c], classStart[c + 1]) of sv (k + 1 entries). */
  classStart: Int32Array;
  /** Support vectors, row-major, `features` columns, grouped by class. */
  sv: Float32Array;
  /** ‖sv‖² per support vector (rbf). */
  svNorms: Float64Array;
  /** libsvm's sv_coef, (k − 1) × total support vectors, row-major. */
  coef: Float64Array;
  /** ρ per machine, machines (i, j), i < j, in libsvm's order. */
  rho: Float64Array;
}

export interface SvmModelParts {
  kernel: SvmKernel;
  gamma: number;
  coef0: number;
  degree: number;
  labels: readonly number[];
  nSupport: readonly number[];
  /** Support vectors row-major (total × features), grouped by class in label order. */
  sv: Float32Array;
  features: number;
  /** (k − 1) × total, as libsvm's sv_coef. */
  coef: Float64Array;
  rho: Float64Array;
}

/** The model in shared memory, with support-vector norms. */
export function svmPredictModel(p: SvmModelParts): SvmPredictModel {
  const k = p.labels.length;
  const total = p.nSupport.reduce((s, n) => s + n, 0);
  if (p.sv.length !== total * p.features) throw new Error('svm model: support vectors do not match nSV × features');
  if (p.coef.length !== (k - 1) * total) throw new Error('svm model: coefficients do not match (k − 1) × total');
  if (p.rho.length !== (k * (k - 1)) / 2) throw new Error('svm model: rho needs one value per pair of classes');
  const classStart = new Int32Array(k + 1);
  for (let c = 0; c < k; c++) classStart[c + 1] = classStart[c] + p.nSupport[c];
  const sv = sharedFloat32(p.sv);
  const svNorms = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, total))).subarray(0, total);
  squaredNorms(sv, 0, total, p.features, svNorms);
  const coef = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, p.coef.length))).subarray(0, p.coef.length);
  coef.set(p.coef);
  return {
    kernel: p.kernel,
    gamma: p.gamma,
    coef0: p.coef0,
    degree: p.degree,
    features: p.features,
    labels: Int32Array.from(p.labels),
    classStart,
    sv,
    svNorms,
    coef,
    rho: Float64Array.from(p.rho),
  };
}

/**
 * The part of a model that decides for rows of one class: its machines (c, j) need the support vectors of class c and,
 * of each other class j, those with a non-zero coefficient in machine (c, j). The decision values of those machines
 * are the whole model's bit for bit (a dropped term adds 0); the other machines' values are meaningless. The
 * probability fit reads held-out rows only through their own class's machines, and a class needs about a third of the
 * support vectors (pca-svm: 22–60 %).
 */
export function restrictToClass(model: SvmPredictModel, c: number): SvmPredictModel {
  const { labels, classStart, features: d, coef } = model;
  const k = labels.length;
  const total = classStart[k];
  const kept: number[] = [];
  const counts: number[] = [];
  for (let j = 0; j < k; j++) {
    const before = kept.length;
    const row = c < j ? c : c - 1; // sv_coef row of machine (c, j) for class j's support vectors
    for (let s = classStart[j]; s < classStart[j + 1]; s++) if (j === c || coef[row * total + s] !== 0) kept.push(s);
    counts.push(kept.length - before);
  }
  const n = kept.length;
  const sv = new Float32Array(new SharedArrayBuffer(4 * Math.max(1, n * d))).subarray(0, n * d);
  const svNorms = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, n))).subarray(0, n);
  const sub = new Float64Array(new SharedArrayBuffer(8 * Math.max(1, (k - 1) * n))).subarray(0, (k - 1) * n);
  kept.forEach((s, t) => {
    sv.set(model.sv.subarray(s * d, (s + 1) * d), t * d);
    svNorms[t] = model.svNorms[s];
    for (let m = 0; m < k - 1; m++) sub[m * n + t] = coef[m * total + s];
  });
  const start = new Int32Array(k + 1);
  for (let j = 0; j < k; j++) start[j + 1] = start[j] + counts[j];
  return { ...model, classStart: start, sv, svNorms, coef: sub };
}

/** libsvm's powi: base^times by repeated squaring (bit-identical to libsvm's poly kernel for the same base). */
export function powi(base: number, times: number): number {
  let tmp = base;
  let ret = 1;
  for (let t = times; t > 0; t = Math.floor(t / 2)) {
    if (t % 2 === 1) ret *= tmp;
    tmp *= tmp;
  }
  return ret;
}

/** Test rows per block and support vectors per block (a multiple of 8, the panel width): an sv block stays in L2. */
const ROW_BLOCK = 16;
const SV_BLOCK = 1024;

export interface SvmPrediction {
  /** Predicted label per row of the range. */
  labels: Uint8Array;
  /** Decision values, rows × machines (libsvm's order), when asked for. */
  decision: Float64Array | null;
}

/**
 * Pool task: predicts rows [start, end) of X (row-major, model.features columns), as libsvm's svm_predict does for a
 * C-SVC. With `withDecision`, also returns the decision value of every machine for every row.
 */
export function svmPredictTask(
  model: SvmPredictModel,
  X: Float32Array,
  start: number,
  end: number,
  withDecision = false,
): SvmPrediction {
  const { kernel, gamma, coef0, degree, features: d, labels, classStart, sv, svNorms, coef, rho } = model;
  const k = labels.length;
  const km1 = k - 1;
  const pairs = (k * km1) / 2;
  const total = classStart[k];
  const n = end - start;
  // the task's rows in kernel memory, a block of support vectors packed in panels of 8, and a tile of dot products
  const arena = new Arena();
  const w = arena.kernels;
  const xAt = arena.reserve(4 * n * d);
  // one block of support vectors at a time (an SVM on raw pixels has tens of thousands of 784-wide ones)
  const svAt = arena.reserve(4 * SV_BLOCK * d);
  const panelsAt = arena.reserve(8 * SV_BLOCK * d);
  const tileAt = arena.reserve(8 * ROW_BLOCK * SV_BLOCK);
  // rbf: ‖x‖² of the task's rows and ‖sv‖² of the block's support vectors
  const xNormsAt = arena.reserve(8 * n);
  const svNormsAt = arena.reserve(8 * SV_BLOCK);
  // coefficients transposed (m2 machines per support vector, m2 = k − 1 rounded up to even, zero beyond), and
  // acc[(r·k + c)·m2 + m] = Σ over class c's support vectors s of coef[m][s]·K(x_r, s)
  const m2 = km1 + (km1 & 1);
  const coefAt = arena.reserve(8 * total * m2);
  const accAt = arena.reserve(8 * n * k * m2);
  const coefT = arena.f64(coefAt, total * m2);
  coefT.fill(0);
  for (let m = 0; m < km1; m++) for (let s = 0; s < total; s++) coefT[s * m2 + m] = coef[m * total + s];
  arena.f64(accAt, n * k * m2).fill(0);
  arena.f32(xAt, n * d).set(X.subarray(start * d, end * d));
  if (kernel === 'rbf') {
    const xNorms = arena.f64(xNormsAt, n);
    for (let r = 0; r < n; r++) {
      const a = (start + r) * d;
      let s = 0;
      for (let f = 0; f < d; f++) s += X[a + f] * X[a + f];
      xNorms[r] = s;
    }
  }
  const tile = arena.f64(tileAt, ROW_BLOCK * SV_BLOCK);
  const negGamma = -gamma;
  for (let s0 = 0; s0 < total; s0 += SV_BLOCK) {
    const s1 = Math.min(total, s0 + SV_BLOCK);
    const sn = s1 - s0;
    arena.f32(svAt, sn * d).set(sv.subarray(s0 * d, s1 * d));
    w.packPanels(svAt, d, 0, sn, panelsAt);
    if (kernel === 'rbf') arena.f64(svNormsAt, sn).set(svNorms.subarray(s0, s1));
    for (let q0 = start; q0 < end; q0 += ROW_BLOCK) {
      const q1 = Math.min(end, q0 + ROW_BLOCK);
      w.dotPanels(xAt + 4 * (q0 - start) * d, q1 - q0, d, panelsAt, Math.ceil(sn / 8), tileAt, SV_BLOCK);
      // rbf: exp(−γ·max(0, ‖x‖² + ‖sv‖² − 2x·sv)) over the whole tile, with Math.exp's bits (src/wasm/exp.ts)
      if (kernel === 'rbf') w.rbfTile(tileAt, q1 - q0, sn, SV_BLOCK, xNormsAt + 8 * (q0 - start), svNormsAt, negGamma);
      for (let q = q0; q < q1; q++) {
        const o = (q - q0) * SV_BLOCK;
        const r = q - start;
        if (kernel === 'poly') {
          for (let j = 0; j < sn; j++) tile[o + j] = powi(gamma * tile[o + j] + coef0, degree);
        }
        // the classes whose support vectors meet this block: every machine's sum at once, sequential over s
        for (let c = 0; c < k; c++) {
          const lo = Math.max(classStart[c], s0);
          const hi = Math.min(classStart[c + 1], s1);
          if (lo < hi) w.accumulateMachines(tileAt + 8 * (o - s0), coefAt, lo, hi, m2, accAt + 8 * (r * k + c) * m2);
        }
      }
    }
  }
  const out = new Uint8Array(n);
  const decision = withDecision ? new Float64Array(n * pairs) : null;
  const votes = new Int32Array(k);
  const acc = arena.f64(accAt, n * k * m2);
  for (let r = 0; r < n; r++) {
    votes.fill(0);
    const ao = r * k * m2;
    let p = 0;
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        // class i's support vectors carry the pair's coefficients in sv_coef[j − 1], class j's in sv_coef[i]
        const value = acc[ao + i * m2 + j - 1] + acc[ao + j * m2 + i] - rho[p];
        if (decision) decision[r * pairs + p] = value;
        if (value > 0) votes[i]++;
        else votes[j]++;
        p++;
      }
    }
    let best = 0;
    for (let c = 1; c < k; c++) if (votes[c] > votes[best]) best = c;
    out[r] = labels[best];
  }
  return { labels: out, decision };
}
