/**
 * Classification metrics as pure numbers. Conventions follow scikit-learn: a class with no predicted (or no true)
 * samples gets precision (or recall) 0 rather than NaN; macro averages weigh classes equally, weighted averages by support.
 */

/** counts[t][p] = number of samples of true label t predicted as p. */
export function confusionMatrix(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, nClasses: number): number[][] {
  if (yTrue.length !== yPred.length) {
    throw new Error(`confusionMatrix: ${yTrue.length} true labels but ${yPred.length} predictions`);
  }
  const cm = Array.from({ length: nClasses }, () => new Array<number>(nClasses).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i];
    const p = yPred[i];
    if (t >= nClasses || p >= nClasses)
      throw new Error(`confusionMatrix: label ${Math.max(t, p)} outside 0..${nClasses - 1}`);
    cm[t][p]++;
  }
  return cm;
}

export interface ClassScores {
  label: number;
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface AverageScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface ClassificationReport {
  perClass: ClassScores[];
  accuracy: number;
  macroAvg: AverageScores;
  weightedAvg: AverageScores;
  /** Total samples. */
  support: number;
}

/** Per-class precision, recall, F1 and support plus accuracy, macro and weighted averages, from a confusion matrix. */
export function classificationReport(cm: number[][]): ClassificationReport {
  const n = cm.length;
  const perClass: ClassScores[] = [];
  let total = 0;
  let correct = 0;
  for (let c = 0; c < n; c++) {
    let support = 0;
    let predicted = 0;
    for (let k = 0; k < n; k++) {
      support += cm[c][k];
      predicted += cm[k][c];
    }
    const tp = cm[c][c];
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ label: c, precision, recall, f1, support });
    total += support;
    correct += tp;
  }
  const average = (weight: (s: ClassScores) => number): AverageScores => {
    const w = perClass.reduce((acc, s) => acc + weight(s), 0);
    const avg = (key: 'precision' | 'recall' | 'f1') =>
      w > 0 ? perClass.reduce((acc, s) => acc + weight(s) * s[key], 0) / w : 0;
    return { precision: avg('precision'), recall: avg('recall'), f1: avg('f1'), support: total };
  };
  return {
    perClass,
    accuracy: total > 0 ? correct / total : 0,
    macroAvg: average(() => 1),
    weightedAvg: average((s) => s.support),
    support: total,
  };
}

/** Fraction of equal entries. */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length !== yPred.length)
    throw new Error(`accuracy: ${yTrue.length} true labels but ${yPred.length} predictions`);
  let hits = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hits++;
  return yTrue.length > 0 ? hits / yTrue.length : 0;
}

/** Mean and population standard deviation (ddof = 0, as numpy's std() that scikit-learn users quote). */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}
