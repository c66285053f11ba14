/**
 * The closed-form parts of libsvm's Solver, apart from the loop that drives them (smo.ts): the two-variable subproblem
 * solved and clipped to the box, ρ from the final gradient, and libsvm's constants.
 */

/** Where a variable sits: at 0, at C, or between. */
export const LOWER = 0;
export const UPPER = 1;
export const FREE = 2;

/** libsvm's TAU: the curvature used when a pair's is not positive. */
export const TAU = 1e-12;

/** libsvm's bound on SMO iterations for l variables: max(10⁷, 100·l), at most 2³¹ − 1. */
export function maxIterations(l: number): number {
  return Math.max(10_000_000, l > 21_474_836 ? 2 ** 31 - 1 : 100 * l);
}

/**
 * The new (α_i, α_j) of the working pair, written to out[0] and out[1]: the exact minimum of the objective along the
 * constraint yᵀα = 0, clipped to the box [0, C]² (libsvm's Solver::solve, for yi ≠ yj and yi = yj). G, QD and Qij =
 * y_i y_j K(x_i, x_j) as the solver holds them.
 */
export function solvePair(
  yi: number,
  yj: number,
  Gi: number,
  Gj: number,
  QDi: number,
  QDj: number,
  Qij: number,
  oldAi: number,
  oldAj: number,
  C: number,
  out: Float64Array,
): void {
  let ai = oldAi;
  let aj = oldAj;
  if (yi !== yj) {
    let a = QDi + QDj + 2 * Qij;
    if (a <= 0) a = TAU;
    const delta = (-Gi - Gj) / a;
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
    let a = QDi + QDj - 2 * Qij;
    if (a <= 0) a = TAU;
    const delta = (Gi - Gj) / a;
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
  out[0] = ai;
  out[1] = aj;
}

/**
 * ρ of the decision function Σ y_t α_t K(x_t, x) − ρ: the mean of y_t G_t over the free variables, else the middle of
 * the interval the bounded ones leave (libsvm's calculate_rho).
 */
export function rhoOf(Y: Float64Array, G: Float64Array, status: Uint8Array, l: number): number {
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
  return free > 0 ? sumFree / free : (ub + lb) / 2;
}
