import { z } from 'zod';
import type { Matrix } from '../linalg/matrix.js';

export const SvmParams = z
  .object({
    /** Kernel: linear x·z, rbf exp(-gamma‖x−z‖²), poly (gamma x·z + coef0)^degree. */
    kernel: z.enum(['linear', 'rbf', 'poly']).default('rbf'),
    /** Penalty of the C-SVC. */
    C: z.number().positive().default(1),
    /**
     * rbf/poly kernel coefficient: a number, or 'scale' = 1 / (features · Var(X)) with the variance over every value of
     * X (scikit-learn's default; 1 when X is constant), or 'auto' = 1 / features.
     */
    gamma: z
      .union([z.enum(['scale', 'auto']), z.number().positive()], {
        error: 'gamma must be "scale", "auto" or a number > 0',
      })
      .default('scale'),
    /** Degree of the poly kernel. */
    degree: z.number().int().min(1).default(3),
    /** Constant term of the poly kernel. */
    coef0: z.number().default(0),
    /** Stopping tolerance of the solver (libsvm -e; ml-svm tol). */
    tolerance: z.number().positive().default(0.001),
    /** Kernel-row cache per worker, in MB (native and libsvm; the WebAssembly heap of a thread is at most 2 GB). */
    cache_mb: z.number().positive().max(1024).default(200),
    /**
     * native (our SMO solver, src/linalg/smo.ts: libsvm's algorithm with kernel rows in WebAssembly SIMD), libsvm
     * (WebAssembly libsvm 3.22, the reference) or mljs (ml-svm, small data only, an independent check).
     */
    engine: z.enum(['native', 'libsvm', 'mljs']).default('native'),
    /**
     * Class probabilities as libsvm's `-b 1` gives them (scikit-learn's probability=True): a sigmoid per pairwise
     * machine fitted to its decision values on held-out rows of a cross-validation within the training rows, coupled
     * into one distribution (linalg/platt.ts); predict then answers the most probable class, as libsvm does with -b 1.
     * Costs one more fit (`probability_held_out` one) or `probability_folds` more (all), each on (folds − 1)/folds of
     * the rows and stopping at tolerance 0.01 (or the stage's own if looser; libsvm uses the stage's there too), and
     * their decision values on the held-out rows.
     */
    probability: z.boolean().optional(),
    /**
     * The most solver iterations per binary machine (scikit-learn's max_iter; engine native): a machine that reaches it
     * stops there with a warning. Default: libsvm's bound, max(10⁷, 100 · rows).
     */
    max_iter: z.number().int().positive().optional(),
    /**
     * Folds of that internal cross-validation (default 2; libsvm uses 5, about 3.4 times a plain fit of pca-svm): the
     * inner fits are made on (folds − 1)/folds of the rows.
     */
    probability_folds: z.number().int().min(2).max(10).optional(),
    /**
     * Which held-out rows teach the sigmoids: `one` fold (Platt's hold-out set: one internal fit, on the other folds, and
     * its decision values on that fold), `all` folds (a cross-validation: a fit per fold, every training row held out
     * once, as libsvm's -b 1), or `auto` (default): `one` when every class has at least 1,000 samples in a fold, else
     * `all`. On pca-svm (60,000 rows, 2 folds) `one` costs about 1.3 times a plain fit against 1.6 times for `all`, with
     * the same log-loss and Brier score; on 2,000 rows its sigmoids are noisier (bench/last-calibration.md).
     */
    probability_held_out: z.enum(['auto', 'one', 'all']).optional(),
  })
  .strict();
export type SvmParams = z.infer<typeof SvmParams>;

/**
 * gamma as scikit-learn's SVC resolves it: 'scale' = 1 / (n_features · X.var()) (variance of all values, ddof 0,
 * in double precision; 1 when it is 0), 'auto' = 1 / n_features, a number as given.
 */
export function resolveGamma(gamma: SvmParams['gamma'], X: Matrix): number {
  if (typeof gamma === 'number') return gamma;
  if (gamma === 'auto') return 1 / X.cols;
  const { data } = X;
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i];
  const mean = sum / data.length;
  let ss = 0;
  for (let i = 0; i < data.length; i++) {
    const d = data[i] - mean;
    ss += d * d;
  }
  const variance = ss / data.length;
  return variance !== 0 ? 1 / (X.cols * variance) : 1;
}
