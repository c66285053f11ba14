/**
 * Paired significance tests for comparing two classifiers, as pure functions returning plain numbers:
 * McNemar's test on paired test-set predictions, and paired t-tests on cross-validation fold scores, including
 * Nadeau & Bengio's corrected resampled t-test.
 */

/** Below this many discordant pairs McNemar's test uses the exact binomial distribution (the usual rule of thumb). */
export const MCNEMAR_EXACT_BELOW = 25;

export interface McNemarResult {
  /** Rows both classifiers got right. */
  bothRight: number;
  /** Rows A got right and B wrong. */
  b: number;
  /** Rows A got wrong and B right. */
  c: number;
  /** Rows both got wrong. */
  bothWrong: number;
  /** 'exact': two-sided binomial test of b against Binomial(b + c, ½); 'chi-square': with Edwards' continuity correction. */
  method: 'exact' | 'chi-square';
  /** χ² = (|b − c| − 1)² / (b + c) for 'chi-square'; min(b, c) for 'exact'. */
  statistic: number;
  /** Two-sided p-value; 1 when there are no discordant rows. */
  pValue: number;
}

/**
 * McNemar's test on two classifiers' predictions for the same rows: only the rows where exactly one of them is right
 * carry information. Uses the exact binomial test when b + c < `exactBelow`, else chi-square with continuity correction.
 */
export function mcnemar(
  yTrue: ArrayLike<number>,
  predA: ArrayLike<number>,
  predB: ArrayLike<number>,
  exactBelow = MCNEMAR_EXACT_BELOW,
): McNemarResult {
  if (predA.length !== yTrue.length || predB.length !== yTrue.length) {
    throw new Error(`mcnemar: ${yTrue.length} labels but ${predA.length} and ${predB.length} predictions`);
  }
  let bothRight = 0,
    b = 0,
    c = 0,
    bothWrong = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const a = predA[i] === yTrue[i];
    const bb = predB[i] === yTrue[i];
    if (a && bb) bothRight++;
    else if (a) b++;
    else if (bb) c++;
    else bothWrong++;
  }
  return { bothRight, bothWrong, ...mcnemarFromCounts(b, c, exactBelow) };
}

/** McNemar's test from the two discordant counts alone (b: only A right, c: only B right). */
export function mcnemarFromCounts(
  b: number,
  c: number,
  exactBelow = MCNEMAR_EXACT_BELOW,
): Pick<McNemarResult, 'b' | 'c' | 'method' | 'statistic' | 'pValue'> {
  const n = b + c;
  if (n < exactBelow) {
    return { b, c, method: 'exact', statistic: Math.min(b, c), pValue: binomialTwoSided(Math.min(b, c), n) };
  }
  const statistic = (Math.abs(b - c) - 1) ** 2 / n;
  return { b, c, method: 'chi-square', statistic, pValue: chiSquare1Sf(statistic) };
}

/**
 * Two-sided exact p-value of seeing k or fewer (or as many or more, by symmetry) successes in n fair coin flips:
 * min(1, 2 · P(X ≤ k)) for k ≤ n/2, as scipy's binomtest gives for p = ½.
 */
export function binomialTwoSided(k: number, n: number): number {
  if (n === 0) return 1;
  const low = Math.min(k, n - k);
  let sum = 0;
  for (let i = 0; i <= low; i++) sum += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, 2 * sum);
}

/** P(χ²₁ > x): the upper tail of chi-square with one degree of freedom, erfc(√(x/2)). */
export function chiSquare1Sf(x: number): number {
  if (x <= 0) return 1;
  return erfc(Math.sqrt(x / 2));
}

export interface PairedTTestResult {
  /** Folds (pairs). */
  k: number;
  /** Mean of b − a. */
  meanDifference: number;
  /** Sample standard deviation of the differences (ddof = 1). */
  sdDifference: number;
  /** Degrees of freedom, k − 1. */
  df: number;
  /** t statistic; ±Infinity when all differences are equal and non-zero, 0 when all are zero. */
  t: number;
  /** Two-sided p-value. */
  pValue: number;
}

/**
 * The ordinary paired t-test of b − a (as scipy's ttest_rel). On cross-validation folds it is too liberal: the folds'
 * training sets overlap, so fold scores are correlated and the variance is underestimated; prefer
 * {@link correctedResampledTTest} there.
 */
export function pairedTTest(a: readonly number[], b: readonly number[]): PairedTTestResult {
  return tTest(a, b, (k) => 1 / k);
}

/**
 * Nadeau & Bengio's corrected resampled t-test (Machine Learning 52, 2003, "Inference for the generalization error"):
 * the variance of the mean difference is (1/k + n_test/n_train) · s² instead of s²/k, which accounts for the overlap
 * between training sets. For k-fold cross-validation n_test/n_train = 1/(k − 1).
 *
 * @param testTrainRatio n_test / n_train of one fold; defaults to 1/(k − 1), k-fold cross-validation.
 */
export function correctedResampledTTest(
  a: readonly number[],
  b: readonly number[],
  testTrainRatio?: number,
): PairedTTestResult {
  return tTest(a, b, (k) => 1 / k + (testTrainRatio ?? 1 / (k - 1)));
}

function tTest(a: readonly number[], b: readonly number[], varianceFactor: (k: number) => number): PairedTTestResult {
  if (a.length !== b.length) throw new Error(`paired t-test: ${a.length} and ${b.length} scores`);
  const k = a.length;
  if (k < 2) throw new Error(`paired t-test: needs at least 2 pairs, got ${k}`);
  const d = a.map((v, i) => b[i] - v);
  const mean = d.reduce((s, v) => s + v, 0) / k;
  const variance = d.reduce((s, v) => s + (v - mean) ** 2, 0) / (k - 1);
  const sd = Math.sqrt(variance);
  const df = k - 1;
  // Fold scores equal to the last digit leave rounding noise in the variance; treat that as zero.
  const degenerate = sd <= 1e-12 * Math.max(1, Math.abs(mean));
  if (degenerate) {
    const zero = Math.abs(mean) <= 1e-12;
    return {
      k,
      meanDifference: mean,
      sdDifference: sd,
      df,
      t: zero ? 0 : Math.sign(mean) * Infinity,
      pValue: zero ? 1 : 0,
    };
  }
  const t = mean / Math.sqrt(varianceFactor(k) * variance);
  return { k, meanDifference: mean, sdDifference: sd, df, t, pValue: studentTTwoSided(t, df) };
}

/** Two-sided p-value of Student's t with `df` degrees of freedom: I_{df/(df+t²)}(df/2, ½). */
export function studentTTwoSided(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  return regularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/**
 * Holm's step-down adjustment of several p-values (controls the family-wise error), as statsmodels'
 * multipletests(method='holm'): adjusted p-values in the input order, monotone, capped at 1.
 */
export function holm(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/** ln C(n, k). */
function logChoose(n: number, k: number): number {
  return logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; about 15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const g = 7;
  const coef = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = coef[0];
  const t = z + g + 0.5;
  for (let i = 1; i < g + 2; i++) a += coef[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Complementary error function: the Taylor series of erf below 2, Lentz's continued fraction above (tiny tails stay exact). */
export function erfc(x: number): number {
  if (x < 0) return 2 - erfc(-x);
  if (x < 2) {
    // erf series: 2/√π Σ (−1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction (Lentz): erfc(x) = exp(−x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + …))))
  const tiny = 1e-300;
  let f = x;
  let C = x;
  let D = 0;
  for (let n = 1; n < 500; n++) {
    const an = n / 2;
    D = x + an * D;
    D = Math.abs(D) < tiny ? tiny : D;
    C = x + an / C;
    C = Math.abs(C) < tiny ? tiny : C;
    D = 1 / D;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** I_x(a, b), the regularized incomplete beta function (continued fraction, Numerical Recipes' betacf). */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x);
  if (x < (a + 1) / (a + b + 2)) return (Math.exp(lnFront) * betaContinuedFraction(x, a, b)) / a;
  return 1 - (Math.exp(lnFront) * betaContinuedFraction(1 - x, b, a)) / b;
}

function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}
