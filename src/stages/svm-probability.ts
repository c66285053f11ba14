import { matrix, takeLabels, takeRows, type Matrix } from '../linalg/matrix.js';
import { pairwiseToProbabilities, sigmoidTrain } from '../linalg/platt.js';
import { foldRows, stratifiedFolds } from './folds.js';
import { ParamRangeError } from './stage.js';

/** Each pairwise machine's sigmoid, P(class i | f) = 1 / (1 + exp(A·f + B)), machines (i, j), i < j. */
export interface Platt {
  A: Float64Array;
  B: Float64Array;
}

/**
 * Fits an svm of the stage's params on some rows; gives its decision values (rows × machines) on others, given their
 * labels: only the machines of each row's own class are read.
 */
export type InnerFit = (
  X: Matrix,
  y: Uint8Array,
) => Promise<(rows: Matrix, labels: Uint8Array) => Promise<Float64Array>>;

/**
 * Samples of each class in a fold from which held-out 'auto' fits the sigmoids on one fold: at 100 a class (2,000
 * Fashion-MNIST rows, 2 folds) one fold's probabilities were 0.0086 from libsvm's on average against 0.0040 with every
 * fold; at 3,000 (pca-svm) one fold gave log-loss 0.3088 and Brier 0.1583 against 0.3079 and 0.1582 for about half the
 * extra cost.
 */
export const ONE_FOLD_SAMPLES = 1000;

/**
 * Each machine's sigmoid, fitted to its decision values on held-out rows: the training rows in stratified, seeded folds,
 * an svm fitted on all folds but one, its decision values on that one (libsvm's svm_binary_svc_probability, done for
 * every pair at once: a pair's machine trained on those rows is trained on the pair's rows among them). `heldOut`
 * 'all' does that for every fold (each training row held out once, as libsvm); 'one' for the first fold only, whose rows
 * alone then teach the sigmoids (Platt's hold-out set: one internal fit instead of `folds`); 'auto' is 'one' when every
 * class has ONE_FOLD_SAMPLES samples in a fold, else 'all'.
 */
export async function fitSigmoids(
  X: Matrix,
  y: Uint8Array,
  classes: number[],
  counts: Map<number, number>,
  folds: number,
  fitInner: InnerFit,
  groups?: Int32Array,
  heldOut: 'auto' | 'one' | 'all' = 'auto',
): Promise<Platt> {
  // with groups (a photo and its augmented copies) a fold takes whole groups: a class needs a group per fold
  const samples = groups ? groupCounts(y, groups) : counts;
  for (const c of classes) {
    if (samples.get(c)! < folds) {
      throw new ParamRangeError(
        'probability_folds',
        `svm probability: class ${c} has ${samples.get(c)} training ${groups ? 'samples (with their augmented copies)' : 'rows'}, fewer than the ${folds} folds of its internal cross-validation`,
      );
    }
  }
  const one =
    heldOut === 'one' || (heldOut === 'auto' && classes.every((c) => samples.get(c)! >= ONE_FOLD_SAMPLES * folds));
  const fold = stratifiedFolds(y, folds, 1, groups);
  const k = classes.length;
  const machines = (k * (k - 1)) / 2;
  const decision = new Float64Array(y.length * machines);
  const taught = new Uint8Array(y.length);
  for (let f = 0; f < (one ? 1 : folds); f++) {
    const { train, held } = foldRows(fold, f);
    const decide = await fitInner(takeRows(X, train), takeLabels(y, train));
    const d = await decide(takeRows(X, held), takeLabels(y, held));
    held.forEach((row, t) => {
      decision.set(d.subarray(t * machines, (t + 1) * machines), row * machines);
      taught[row] = 1;
    });
  }
  const A = new Float64Array(machines);
  const B = new Float64Array(machines);
  let m = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++, m++) {
      const f: number[] = [];
      const positive: number[] = [];
      for (let row = 0; row < y.length; row++) {
        if (!taught[row] || (y[row] !== classes[i] && y[row] !== classes[j])) continue;
        f.push(decision[row * machines + m]);
        positive.push(y[row] === classes[i] ? 1 : 0);
      }
      ({ A: A[m], B: B[m] } = sigmoidTrain(f, positive));
    }
  }
  return { A, B };
}

/** Distinct groups per label (a group counted under the label of its first row, as stratifiedFolds takes it). */
function groupCounts(y: Uint8Array, groups: Int32Array): Map<number, number> {
  const seen = new Set<number>();
  const counts = new Map<number, number>();
  y.forEach((label, i) => {
    if (seen.has(groups[i])) return;
    seen.add(groups[i]);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  });
  return counts;
}

/**
 * Class probabilities of rows from their decision values (columns up to the largest class, 0 for classes not seen) and
 * the most probable class of each (the first of equals, as libsvm's svm_predict_probability).
 */
export function classProbabilities(
  decision: Float64Array,
  rows: number,
  classes: readonly number[],
  platt: Platt,
): { labels: Uint8Array; proba: Matrix } {
  const k = classes.length;
  const p = pairwiseToProbabilities(decision, rows, k, platt.A, platt.B);
  const cols = Math.max(...classes) + 1;
  const proba = matrix(rows, cols);
  const labels = new Uint8Array(rows);
  for (let row = 0; row < rows; row++) {
    let best = 0;
    for (let c = 0; c < k; c++) {
      proba.data[row * cols + classes[c]] = p[row * k + c];
      if (p[row * k + c] > p[row * k + best]) best = c;
    }
    labels[row] = classes[best];
  }
  return { labels, proba };
}
