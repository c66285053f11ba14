/**
 * Solver auto of the pca stage: which native solver (the exact covariance, linalg/covariance-pca.ts, or the randomized
 * SVD, linalg/randomized-pca.ts) fits a shape, from estimates of their costs.
 */
import { powerIterations, sampleWidth } from '../linalg/randomized-pca.js';
import type { PcaParams } from './pca.js';

/** The most bytes the full solver's Gram matrices may take before solver auto turns to the randomized one. */
export const GRAM_MEMORY_LIMIT = 2 * 2 ** 30;
/**
 * The full solver's d×d float64 matrices counted by solver auto: two workers' partial Gram matrices, their sum and the
 * covariance (as on a 2-core machine; more workers hold more, but the choice must not depend on the machine).
 */
const GRAM_COPIES = 4;

/**
 * Estimated flops below which solver auto keeps the full solver whatever the estimates say (about half a second here):
 * on small inputs the exact answer costs next to nothing.
 */
const SMALL_FIT = 2e10;

/**
 * Weights of solver auto's estimates: flops of a Gram matrix (float32 SIMD on every worker, ~43 GFLOP/s on this
 * 2-core machine) count 1, and the randomized solver's products with X as much (measured a little faster); float64 work
 * costs more: the Lanczos solve on one thread (memory-bound matrix-vector products: measured ~4.9 GFLOP/s, weight 8),
 * the randomized solver's basis changes on the d×l side on the workers (~2 × 14 GFLOP/s, weight 1.5) and its l×l
 * factorisations on one thread (weight 8). Each round of pool tasks costs about a millisecond (5e7).
 */
const EIGEN_WEIGHT = 8;
const BASIS_WEIGHT = 1.5;
const ROUND_COST = 5e7;

/**
 * Which native solver fits n rows of d features to k components: `params.solver` unless it is auto. Auto takes the
 * randomized solver only when the full solver's Gram matrices ((d rounded up to 4)² float64: GRAM_COPIES of them)
 * would take more than GRAM_MEMORY_LIMIT, or when its estimated cost is under half the full solver's (and the full fit
 * is not small):
 *
 * - full: the Gram matrix, n·d² flops (its upper triangle, as bench/roofline.ts counts it), plus the Lanczos solve,
 *   about s = 2.5·k + 10 steps (measured 2.5k–3k) of a d×d matrix-vector product and two Gram–Schmidt passes,
 *   2·s·d² + 4·s²·d flops;
 * - randomized: 2q + 2 products of X with d×l or n×l matrices (l = k + oversamples, q power iterations), 2·n·d·l flops
 *   each, plus per power iteration three d×l·l×l products (6·d·l² flops), the Gram matrix of the n×l basis (n·l²)
 *   and two l×l Cholesky factorisations, and 4q + 3 rounds of pool tasks.
 *
 * Not scikit-learn's shape rule: its full solver is a LAPACK SVD of X, far dearer than our Gram matrix, which is why
 * its rule prefers the randomized solver so often. Every shipped pipeline keeps full (test/randomized-pca.test.ts).
 * The choice depends on the shape and the params only, never on the machine (its worker count), so a pipeline gives
 * the same figures everywhere.
 */
export function chooseSolver(
  n: number,
  d: number,
  k: number,
  params: Pick<PcaParams, 'solver' | 'iterated_power' | 'oversamples'>,
): 'full' | 'randomized' {
  if (params.solver !== 'auto') return params.solver;
  const d4 = (d + 3) & ~3;
  if (d4 * d4 * 8 * GRAM_COPIES > GRAM_MEMORY_LIMIT) return 'randomized';
  const full = fullCost(n, d, k);
  return full > SMALL_FIT && randomizedCost(n, d, k, params) < 0.5 * full ? 'randomized' : 'full';
}

/** The full solver's estimated cost in Gram-matrix flops (chooseSolver). */
export function fullCost(n: number, d: number, k: number): number {
  const d4 = (d + 3) & ~3;
  const s = Math.min(d, 2.5 * k + 10);
  return n * d4 * (d4 + 1) + EIGEN_WEIGHT * (2 * s * d * d + 4 * s * s * d);
}

/** The randomized solver's estimated cost in Gram-matrix flops (chooseSolver). */
export function randomizedCost(
  n: number,
  d: number,
  k: number,
  params: Pick<PcaParams, 'iterated_power' | 'oversamples'>,
): number {
  const q = powerIterations(n, d, k, params.iterated_power);
  const l = sampleWidth(n, d, k, params.oversamples);
  const products = (2 * q + 2) * 2 * n * d * l;
  const bases = q * (BASIS_WEIGHT * 6 * d * l * l + n * l * l + (EIGEN_WEIGHT * (2 * l * l * l)) / 3);
  return products + bases + (4 * q + 3) * ROUND_COST;
}
