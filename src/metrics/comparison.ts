import { classificationReport } from './classification.js';
import {
  correctedResampledTTest,
  holm,
  mcnemar,
  MCNEMAR_EXACT_BELOW,
  pairedTTest,
  type McNemarResult,
  type PairedTTestResult,
} from './significance.js';

/** What comparing needs of a run (the parts of the run JSON layout it reads). */
export interface RunRecord {
  name: string;
  /** Stage ids in order, e.g. ['normalize', 'pca', 'random_forest']. */
  steps: string[];
  /** Training rows used (a `limit` may have taken a subset), when known. */
  trainRows?: number;
  cv: {
    k: number;
    folds_id: string;
    folds: Array<{ accuracy: number; train_rows: number; test_rows: number }>;
    mean_accuracy: number;
    std_accuracy: number;
  } | null;
  test: {
    rows: number;
    accuracy: number;
    macro_f1: number;
    class_names: string[];
    confusion_matrix: number[][];
    predictions: number[];
    labels: number[];
    fit_ms: number;
    predict_ms: number;
    /** The probabilities' calibration, when the model gives probabilities (and the run measured it). */
    calibration?: { ece: number } | null;
  } | null;
}

export interface LeaderboardRow {
  name: string;
  steps: string[];
  trainRows?: number;
  cv: { k: number; mean: number; std: number } | null;
  test: {
    rows: number;
    accuracy: number;
    macroF1: number;
    /** Expected calibration error of the test probabilities; null without probabilities. */
    ece: number | null;
    f1: number[];
    fitMs: number;
    predictMs: number;
  } | null;
}

export interface Leaderboard {
  classNames: string[];
  /** Sorted by test accuracy (runs without a test last, by CV accuracy). */
  rows: LeaderboardRow[];
  /** Row indices holding the best value of each column (ties all count). */
  best: {
    cv: number[];
    accuracy: number[];
    macroF1: number[];
    ece: number[];
    f1: number[][];
    fit: number[];
    predict: number[];
  };
}

/** All runs side by side, with the best value of every column found (highest scores, lowest times). */
export function leaderboard(runs: RunRecord[]): Leaderboard {
  const classNames = runs.find((r) => r.test)?.test?.class_names ?? [];
  const rows: LeaderboardRow[] = runs.map((r) => ({
    name: r.name,
    steps: r.steps,
    ...(r.trainRows !== undefined ? { trainRows: r.trainRows } : {}),
    cv: r.cv ? { k: r.cv.k, mean: r.cv.mean_accuracy, std: r.cv.std_accuracy } : null,
    test: r.test
      ? {
          rows: r.test.rows,
          accuracy: r.test.accuracy,
          macroF1: r.test.macro_f1,
          ece: r.test.calibration?.ece ?? null,
          f1: classificationReport(r.test.confusion_matrix).perClass.map((c) => c.f1),
          fitMs: r.test.fit_ms,
          predictMs: r.test.predict_ms,
        }
      : null,
  }));
  rows.sort((a, b) => (b.test?.accuracy ?? -1) - (a.test?.accuracy ?? -1) || (b.cv?.mean ?? -1) - (a.cv?.mean ?? -1));
  const pick = (value: (r: LeaderboardRow) => number | undefined, better: 'max' | 'min'): number[] => {
    const vals = rows.map(value);
    const defined = vals.filter((v): v is number => v !== undefined && Number.isFinite(v));
    if (defined.length === 0) return [];
    const target = better === 'max' ? Math.max(...defined) : Math.min(...defined);
    return vals.flatMap((v, i) => (v === target ? [i] : []));
  };
  return {
    classNames,
    rows,
    best: {
      cv: pick((r) => r.cv?.mean, 'max'),
      accuracy: pick((r) => r.test?.accuracy, 'max'),
      macroF1: pick((r) => r.test?.macroF1, 'max'),
      ece: pick((r) => r.test?.ece ?? undefined, 'min'),
      f1: classNames.map((_, c) => pick((r) => r.test?.f1[c], 'max')),
      fit: pick((r) => r.test?.fitMs, 'min'),
      predict: pick((r) => r.test?.predictMs, 'min'),
    },
  };
}

export interface ScoreDelta {
  a: number;
  b: number;
  /** b − a. */
  delta: number;
}

export interface ClassComparison {
  label: number;
  name: string;
  support: number;
  precision: ScoreDelta;
  recall: ScoreDelta;
  f1: ScoreDelta;
  /** McNemar on this class's test images (a recall difference); p adjusted by Holm over all classes. */
  mcnemar: McNemarResult;
  pHolm: number;
  significant: boolean;
}

export interface CellChange {
  true: number;
  predicted: number;
  a: number;
  b: number;
  delta: number;
}

export interface CvComparison {
  k: number;
  folds: Array<{ fold: number; a: number; b: number; delta: number }>;
  /** n_test / n_train of a fold (the correction term of Nadeau & Bengio). */
  testTrainRatio: number;
  corrected: PairedTTestResult;
  /** The ordinary paired t-test, shown for contrast: it ignores that fold scores are correlated. */
  naive: PairedTTestResult;
  significant: boolean;
}

export interface PairComparison {
  alpha: number;
  a: string;
  b: string;
  test: {
    rows: number;
    accuracy: ScoreDelta;
    macroF1: ScoreDelta;
    mcnemar: McNemarResult;
    exactBelow: number;
    significant: boolean;
    perClass: ClassComparison[];
    /** Off-diagonal confusion cells whose count changed, largest change first. */
    cellChanges: CellChange[];
  } | null;
  /** Why there is no test comparison, when there is none. */
  testMissing?: string;
  /** The fold comparison, or why there is none. */
  cv: CvComparison | { missing: string };
}

/** Thrown when two runs cannot be paired (different test labels, nothing in common). */
export class IncomparableRunsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncomparableRunsError';
  }
}

const delta = (a: number, b: number): ScoreDelta => ({ a, b, delta: b - a });

/**
 * Compares run B against run A: per-class precision/recall/F1 deltas, confusion-cell changes, McNemar's test on the
 * paired test predictions (overall and per class, Holm-adjusted), and Nadeau & Bengio's corrected resampled t-test
 * on fold accuracies when both runs used the same folds. Throws {@link IncomparableRunsError} when the test labels differ.
 */
export function comparePair(a: RunRecord, b: RunRecord, alpha = 0.05): PairComparison {
  let test: PairComparison['test'] = null;
  let testMissing: string | undefined;
  if (a.test && b.test) {
    const ta = a.test;
    const tb = b.test;
    if (ta.labels.length !== tb.labels.length || ta.labels.some((v, i) => v !== tb.labels[i])) {
      throw new IncomparableRunsError(
        ta.labels.length !== tb.labels.length
          ? `${a.name} was tested on ${ta.labels.length} images and ${b.name} on ${tb.labels.length}; paired tests need the same test set`
          : `${a.name} and ${b.name} have different test labels (first difference at row ${ta.labels.findIndex((v, i) => v !== tb.labels[i])}); paired tests need the same test set in the same order`,
      );
    }
    const labels = ta.labels;
    const n = ta.class_names.length;
    const ra = classificationReport(ta.confusion_matrix);
    const rb = classificationReport(tb.confusion_matrix);
    const perClassMcnemar = Array.from({ length: n }, (_, c) => {
      const rows = labels.flatMap((v, i) => (v === c ? [i] : []));
      return mcnemar(
        rows.map((i) => labels[i]),
        rows.map((i) => ta.predictions[i]),
        rows.map((i) => tb.predictions[i]),
      );
    });
    const adjusted = holm(perClassMcnemar.map((m) => m.pValue));
    const perClass: ClassComparison[] = ra.perClass.map((ca, c) => {
      const cb = rb.perClass[c];
      return {
        label: c,
        name: ta.class_names[c],
        support: ca.support,
        precision: delta(ca.precision, cb.precision),
        recall: delta(ca.recall, cb.recall),
        f1: delta(ca.f1, cb.f1),
        mcnemar: perClassMcnemar[c],
        pHolm: adjusted[c],
        significant: adjusted[c] < alpha,
      };
    });
    const cellChanges: CellChange[] = [];
    for (let t = 0; t < n; t++) {
      for (let p = 0; p < n; p++) {
        const va = ta.confusion_matrix[t][p];
        const vb = tb.confusion_matrix[t][p];
        if (t !== p && va !== vb) cellChanges.push({ true: t, predicted: p, a: va, b: vb, delta: vb - va });
      }
    }
    cellChanges.sort((x, y) => Math.abs(y.delta) - Math.abs(x.delta) || x.true - y.true || x.predicted - y.predicted);
    const overall = mcnemar(labels, ta.predictions, tb.predictions);
    test = {
      rows: labels.length,
      accuracy: delta(ta.accuracy, tb.accuracy),
      macroF1: delta(ta.macro_f1, tb.macro_f1),
      mcnemar: overall,
      exactBelow: MCNEMAR_EXACT_BELOW,
      significant: overall.pValue < alpha,
      perClass,
      cellChanges,
    };
  } else {
    testMissing = [a, b]
      .filter((r) => !r.test)
      .map((r) => `${r.name} has no test results`)
      .join('; ');
  }

  let cv: PairComparison['cv'];
  if (!a.cv || !b.cv) {
    cv = {
      missing: [a, b]
        .filter((r) => !r.cv)
        .map((r) => `${r.name} was not cross-validated`)
        .join('; '),
    };
  } else if (a.cv.folds_id !== b.cv.folds_id || a.cv.k !== b.cv.k) {
    cv = {
      missing: `the runs used different folds (${a.name}: ${a.cv.k} folds, id ${a.cv.folds_id}; ${b.name}: ${b.cv.k} folds, id ${b.cv.folds_id}), so fold scores cannot be paired`,
    };
  } else {
    const fa = a.cv.folds.map((f) => f.accuracy);
    const fb = b.cv.folds.map((f) => f.accuracy);
    const f0 = a.cv.folds[0];
    const testTrainRatio = f0.train_rows > 0 ? f0.test_rows / f0.train_rows : 1 / (a.cv.k - 1);
    const corrected = correctedResampledTTest(fa, fb, testTrainRatio);
    cv = {
      k: a.cv.k,
      folds: fa.map((v, i) => ({ fold: i + 1, a: v, b: fb[i], delta: fb[i] - v })),
      testTrainRatio,
      corrected,
      naive: pairedTTest(fa, fb),
      significant: corrected.pValue < alpha,
    };
  }
  if (!test && 'missing' in cv) {
    throw new IncomparableRunsError(`nothing to compare: ${testMissing}; ${cv.missing}`);
  }
  return { alpha, a: a.name, b: b.name, test, ...(testMissing ? { testMissing } : {}), cv };
}
