/**
 * How far predicted probabilities can be trusted, as pure numbers: expected calibration error over equal-width bins of
 * the top probability (Guo et al. 2017; the reliability diagram's bins), log-loss (scikit-learn's log_loss: the true
 * class's probability clipped to [1e-15, 1 − 1e-15], rows renormalised first) and the multi-class Brier score (the mean
 * over rows of Σₖ (pₖ − [y = k])², Brier's original form: 0 is perfect, 2 the worst).
 */

export interface CalibrationBin {
  /** The bin's range of top probabilities, [lo, hi) (the last bin includes 1). */
  lo: number;
  hi: number;
  /** Rows whose top probability falls in the bin. */
  count: number;
  /** Mean top probability of those rows (null when empty). */
  confidence: number | null;
  /** Share of those rows predicted right (null when empty). */
  accuracy: number | null;
}

export interface Calibration {
  /** Σ over bins of (count / rows) · |accuracy − confidence|. */
  ece: number;
  /** The largest |accuracy − confidence| over non-empty bins. */
  mce: number;
  log_loss: number;
  brier: number;
  bins: CalibrationBin[];
}

/** Bins of the reliability diagram and the ECE (15, as Guo et al. and most reports since). */
export const CALIBRATION_BINS = 15;

/**
 * The calibration of probabilities `proba` (rows × classes, row-major) for true labels `y` and predictions `predicted`
 * (the label the model answers: the largest probability, or the estimator's own tie rule).
 */
export function calibration(
  y: ArrayLike<number>,
  predicted: ArrayLike<number>,
  proba: ArrayLike<number>,
  classes: number,
  bins = CALIBRATION_BINS,
): Calibration {
  const rows = y.length;
  if (rows === 0) throw new Error('calibration: no rows');
  if (predicted.length !== rows || proba.length !== rows * classes) {
    throw new Error(
      `calibration: ${rows} labels, ${predicted.length} predictions, ${proba.length} probabilities for ${classes} classes`,
    );
  }
  const count = new Float64Array(bins);
  const confidenceSum = new Float64Array(bins);
  const rightSum = new Float64Array(bins);
  let logLoss = 0;
  let brier = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * classes;
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += proba[o + k];
    if (!(sum > 0)) throw new Error(`calibration: row ${i} has no probability mass`);
    const label = y[i];
    if (label >= classes) throw new Error(`calibration: label ${label} outside 0..${classes - 1}`);
    const top = proba[o + predicted[i]] / sum;
    const b = Math.min(bins - 1, Math.floor(top * bins));
    count[b]++;
    confidenceSum[b] += top;
    if (predicted[i] === label) rightSum[b]++;
    const p = Math.min(1 - 1e-15, Math.max(1e-15, proba[o + label] / sum));
    logLoss -= Math.log(p);
    for (let k = 0; k < classes; k++) {
      const d = proba[o + k] / sum - (k === label ? 1 : 0);
      brier += d * d;
    }
  }
  let ece = 0;
  let mce = 0;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const n = count[b];
    const confidence = n > 0 ? confidenceSum[b] / n : null;
    const accuracy = n > 0 ? rightSum[b] / n : null;
    if (n > 0) {
      const gap = Math.abs(accuracy! - confidence!);
      ece += (n / rows) * gap;
      mce = Math.max(mce, gap);
    }
    out.push({ lo: b / bins, hi: (b + 1) / bins, count: n, confidence, accuracy });
  }
  return { ece, mce, log_loss: logLoss / rows, brier: brier / rows, bins: out };
}
