import { maxIterations, solveCSvc } from '../linalg/smo.js';
import type { LibsvmParams, PairModel } from './svm-libsvm.js';

/** A binary machine from our solver, with what the tests compare against libsvm. */
export interface NativePairModel extends PairModel {
  /** Dual objective at the solution. */
  obj: number;
  iterations: number;
  /** False when the solver stopped at libsvm's iteration bound (maxIterations) before the tolerance was met. */
  converged: boolean;
}

/**
 * Trains the binary C-SVC of class a (decision > 0) against class b with our SMO solver (src/linalg/smo.ts) on the rows
 * of X labelled a or b, taken as libsvm's one-vs-one does: the rows of a in their order, then those of b. The result
 * has the shape of the libsvm engine's (svm-libsvm.ts trainPair), so the same model assembly and predict serve both.
 * A pool task: X and y are shared memory, the result is plain data.
 */
export function trainPairNative(
  X: Float32Array,
  cols: number,
  y: Uint8Array,
  a: number,
  b: number,
  params: LibsvmParams,
): NativePairModel {
  let countA = 0;
  let count = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === a) countA++;
    if (y[i] === a || y[i] === b) count++;
  }
  if (countA === 0 || countA === count) throw new Error(`svm: classes ${a} and ${b} both need rows to train a pair`);
  const rows = new Int32Array(count);
  const labels = new Int8Array(count);
  let at = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === a) rows[at++] = i;
  for (let i = 0; i < y.length; i++) if (y[i] === b) rows[at++] = i;
  labels.fill(1, 0, countA).fill(-1, countA);
  const solution = solveCSvc(X, cols, rows, labels, {
    kernel: params.kernel,
    gamma: params.gamma,
    coef0: params.coef0,
    degree: params.degree,
    C: params.C,
    tolerance: params.tolerance,
    cacheMb: params.cacheMb,
    ...(params.maxIterations !== undefined ? { maxIterations: params.maxIterations } : {}),
  });
  const { alpha } = solution;
  let n = 0;
  let svOfA = 0;
  for (let t = 0; t < count; t++) {
    if (alpha[t] > 0) {
      n++;
      if (t < countA) svOfA++;
    }
  }
  const sv = new Int32Array(n);
  const coef = new Float64Array(n);
  n = 0;
  for (let t = 0; t < count; t++) {
    if (alpha[t] > 0) {
      sv[n] = rows[t];
      coef[n++] = labels[t] * alpha[t];
    }
  }
  return {
    a,
    b,
    rho: solution.rho,
    sv,
    countA: svOfA,
    coef,
    obj: solution.obj,
    iterations: solution.iterations,
    converged: solution.iterations < (params.maxIterations ?? maxIterations(count)),
  };
}
