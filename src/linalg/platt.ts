/**
 * Probabilities from a one-vs-one SVM as libsvm gives them (`-b 1`, scikit-learn's `SVC(probability=True)`): Platt's
 * sigmoid P(class i | f) = 1 / (1 + exp(A·f + B)) fitted to each pairwise machine's decision values on held-out rows
 * (Platt 2000, with the Newton method and targets of Lin, Lin and Weng 2007), then the pairwise probabilities coupled
 * into one distribution over the classes (Wu, Lin and Weng 2004, their second method), as libsvm's sigmoid_train,
 * sigmoid_predict and multiclass_probability do.
 */

/** A sigmoid's A and B for decision values `f` whose rows are of the machine's first class where `positive` is 1. */
export function sigmoidTrain(f: ArrayLike<number>, positive: ArrayLike<number>): { A: number; B: number } {
  const n = f.length;
  let prior1 = 0;
  for (let i = 0; i < n; i++) if (positive[i]) prior1++;
  const prior0 = n - prior1;
  const maxIter = 100;
  const minStep = 1e-10;
  const sigma = 1e-12;
  const eps = 1e-5;
  const hiTarget = (prior1 + 1) / (prior1 + 2);
  const loTarget = 1 / (prior0 + 2);
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = positive[i] ? hiTarget : loTarget;
  let A = 0;
  let B = Math.log((prior0 + 1) / (prior1 + 1));
  const objective = (a: number, b: number): number => {
    let value = 0;
    for (let i = 0; i < n; i++) {
      const fApB = f[i] * a + b;
      value += fApB >= 0 ? t[i] * fApB + Math.log1p(Math.exp(-fApB)) : (t[i] - 1) * fApB + Math.log1p(Math.exp(fApB));
    }
    return value;
  };
  let fval = objective(A, B);
  for (let iter = 0; iter < maxIter; iter++) {
    // gradient and Hessian (sigma keeps the Hessian positive definite)
    let h11 = sigma;
    let h22 = sigma;
    let h21 = 0;
    let g1 = 0;
    let g2 = 0;
    for (let i = 0; i < n; i++) {
      const fApB = f[i] * A + B;
      let p: number;
      let q: number;
      if (fApB >= 0) {
        const e = Math.exp(-fApB);
        p = e / (1 + e);
        q = 1 / (1 + e);
      } else {
        const e = Math.exp(fApB);
        p = 1 / (1 + e);
        q = e / (1 + e);
      }
      const d2 = p * q;
      h11 += f[i] * f[i] * d2;
      h22 += d2;
      h21 += f[i] * d2;
      const d1 = t[i] - p;
      g1 += f[i] * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < eps && Math.abs(g2) < eps) break;
    // the Newton direction, then a backtracking line search along it
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    while (step >= minStep) {
      const newA = A + step * dA;
      const newB = B + step * dB;
      const newF = objective(newA, newB);
      if (newF < fval + 0.0001 * step * gd) {
        A = newA;
        B = newB;
        fval = newF;
        break;
      }
      step /= 2;
    }
    if (step < minStep) break; // the line search failed: keep what was reached, as libsvm does
  }
  return { A, B };
}

/** The sigmoid's probability of the machine's first class for decision value `f`. */
export function sigmoidPredict(f: number, A: number, B: number): number {
  const fApB = f * A + B;
  // 1 / (1 + exp(fApB)) without overflow
  return fApB >= 0 ? Math.exp(-fApB) / (1 + Math.exp(-fApB)) : 1 / (1 + Math.exp(fApB));
}

/** The smallest pairwise probability used (libsvm's min_prob): no pair is ever certain. */
const MIN_PROBABILITY = 1e-7;

/**
 * One distribution over `k` classes from pairwise probabilities: `r[i·k + j]` is P(i | i or j), r[j·k + i] = 1 − it.
 * Writes the k probabilities into `out` (summing to 1).
 */
export function coupleProbabilities(k: number, r: Float64Array, out: Float64Array): void {
  const Q = new Float64Array(k * k);
  const Qp = new Float64Array(k);
  const maxIter = Math.max(100, k);
  const eps = 0.005 / k;
  for (let t = 0; t < k; t++) {
    out[t] = 1 / k;
    Q[t * k + t] = 0;
    for (let j = 0; j < t; j++) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = Q[j * k + t];
    }
    for (let j = t + 1; j < k; j++) {
      Q[t * k + t] += r[j * k + t] * r[j * k + t];
      Q[t * k + j] = -r[j * k + t] * r[t * k + j];
    }
  }
  for (let iter = 0; iter < maxIter; iter++) {
    let pQp = 0;
    for (let t = 0; t < k; t++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += Q[t * k + j] * out[j];
      Qp[t] = s;
      pQp += out[t] * s;
    }
    let maxError = 0;
    for (let t = 0; t < k; t++) maxError = Math.max(maxError, Math.abs(Qp[t] - pQp));
    if (maxError < eps) break;
    for (let t = 0; t < k; t++) {
      const diff = (-Qp[t] + pQp) / Q[t * k + t];
      out[t] += diff;
      pQp = (pQp + diff * (diff * Q[t * k + t] + 2 * Qp[t])) / (1 + diff) / (1 + diff);
      for (let j = 0; j < k; j++) {
        Qp[j] = (Qp[j] + diff * Q[t * k + j]) / (1 + diff);
        out[j] /= 1 + diff;
      }
    }
  }
}

/**
 * Class probabilities of rows from their pairwise decision values (rows × machines, machines (i, j), i < j in class
 * order, > 0 for class i) and each machine's sigmoid: rows × k, in the classes' order.
 */
export function pairwiseToProbabilities(
  decision: Float64Array,
  rows: number,
  k: number,
  A: ArrayLike<number>,
  B: ArrayLike<number>,
): Float64Array {
  const machines = (k * (k - 1)) / 2;
  const out = new Float64Array(rows * k);
  const r = new Float64Array(k * k);
  const p = new Float64Array(k);
  for (let row = 0; row < rows; row++) {
    let m = 0;
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++, m++) {
        const pi = Math.min(
          Math.max(sigmoidPredict(decision[row * machines + m], A[m], B[m]), MIN_PROBABILITY),
          1 - MIN_PROBABILITY,
        );
        r[i * k + j] = pi;
        r[j * k + i] = 1 - pi;
      }
    }
    coupleProbabilities(k, r, p);
    out.set(p, row * k);
  }
  return out;
}
