import type { LoadedData } from '../data/load.js';
import {
  accuracy,
  classificationReport,
  confusionMatrix,
  meanStd,
  type ClassificationReport,
} from '../metrics/classification.js';
import { calibration, type Calibration } from '../metrics/calibration.js';
import { Pipeline, Timings, type StageTiming } from '../pipeline/pipeline.js';
import type { SharedView } from '../pipeline/shared-fit.js';
import { stepsKey, type PipelineConfig } from '../pipeline/steps.js';
import { environment, type Environment } from './environment.js';
import { dataKey, FoldSource, type FoldResult, type JobResult } from './fit-and-score.js';
import type { ProgressSink } from './progress.js';
import { crossValidateCandidates, InterruptedError } from './search.js';

export type { FoldResult };

export interface CvResult {
  k: number;
  seed: number;
  /** SHA-256 of the fold assignment, so two runs can tell they used the same folds (paired tests need it). */
  folds_id: string;
  folds: FoldResult[];
  mean_accuracy: number;
  std_accuracy: number;
  mean_macro_f1: number;
  std_macro_f1: number;
  timings_ms: Record<string, StageTiming>;
  /**
   * true when the folds shared the union's row-wise features and the Gram matrices (pipeline/shared-fit.ts): the first
   * fold's fit time includes that work for every fold. Absent in reports written before it.
   */
  shared_fit?: boolean;
}

export interface TestResult {
  rows: number;
  accuracy: number;
  macro_f1: number;
  report: ClassificationReport;
  class_names: string[];
  confusion_matrix: number[][];
  /** Predicted label of every test row, in the order of the test set (paired comparisons between runs need it). */
  predictions: number[];
  /** True labels in the same order. */
  labels: number[];
  /**
   * Probability the model gave its predicted class, per test row (rounded to 4 decimals), or null when the estimator
   * gives no probabilities (svm). Mistake galleries sort by it.
   */
  confidence: number[] | null;
  /**
   * How far the probabilities can be trusted (ECE, log-loss, Brier score, reliability bins: metrics/calibration.ts), or
   * null when the estimator gives none.
   */
  calibration: Calibration | null;
  fit_ms: number;
  predict_ms: number;
  timings_ms: Record<string, StageTiming>;
}

export interface RunResult {
  name: string;
  file: string;
  config: PipelineConfig;
  seed: number;
  data: LoadedData['info'];
  cv: CvResult | null;
  test: TestResult | null;
  started_at: string;
  duration_ms: number;
  environment: Environment;
}

/** The numbers, plus the data they came from (pictures need the images; reports never see this part). */
export interface RunOutcome {
  result: RunResult;
  data: LoadedData;
  /** The pipeline fitted on all training rows (when asked for with keepFitted, or when it was tested). */
  fitted: Pipeline | null;
}

export interface RunOptions {
  config: PipelineConfig;
  /** The pipeline file (or other source) it came from, for the report. */
  file: string;
  data: LoadedData;
  progress?: ProgressSink;
  /** Also fit on all training rows when there is no test evaluation to do it (for saving the model). */
  keepFitted?: boolean;
  /** Aborting stops between two fold fits (InterruptedError). */
  signal?: AbortSignal;
}

/**
 * Cross-validates the pipeline on the training set (stratified, seeded folds, through the one fit-and-score unit: a
 * search with one candidate), then fits it on the whole training set and evaluates it once on the test set. Returns
 * numbers only; nothing is written.
 */
export async function runPipeline(options: RunOptions): Promise<RunOutcome> {
  const { config, data, file, progress } = options;
  const { folds: k, seed, test: withTest } = config.evaluation;
  const startedAt = new Date();
  const t0 = performance.now();
  const unitsPerFit = config.steps.length + 1;
  const finalFit = withTest || options.keepFitted === true;
  progress?.begin((k + (finalFit ? 1 : 0)) * unitsPerFit, config.name);
  try {
    // the folds, and the row-wise features and Gram matrices that every fit on their rows can share (shared-fit.ts)
    const source = k > 0 ? new FoldSource(data.train, k, seed) : null;
    const cv = source ? await crossValidate(config, data, source, progress, options.signal) : null;
    let test: TestResult | null = null;
    let fitted: Pipeline | null = null;
    if (options.signal?.aborted) throw new InterruptedError(k);
    const shared = source?.shared(0, 'train');
    if (withTest) {
      ({ test, fitted } = await evaluateOnTest(Pipeline.fromSteps(config.steps), data, progress, shared));
    } else if (finalFit) {
      fitted = await Pipeline.fromSteps(config.steps).fit(data.train.X, data.train.y, {
        onStep: (id) => progress?.advance(`final fit ${id}`),
        shared,
      });
      progress?.advance('done');
    }
    const result: RunResult = {
      name: config.name,
      file,
      config,
      seed,
      data: data.info,
      cv,
      test,
      started_at: startedAt.toISOString(),
      duration_ms: Math.round(performance.now() - t0),
      environment: environment(),
    };
    return { result, data, fitted };
  } finally {
    progress?.end();
  }
}

/** Cross-validation of one pipeline: the search loop with a single candidate, then the fold table and its summary. */
async function crossValidate(
  config: PipelineConfig,
  data: LoadedData,
  source: FoldSource,
  progress?: ProgressSink,
  signal?: AbortSignal,
): Promise<CvResult> {
  const { folds: k, seed } = config.evaluation;
  const candidate = { key: stepsKey(config.steps), params: {}, steps: config.steps };
  const scores = await crossValidateCandidates({
    candidates: [candidate],
    source,
    data: dataKey(data.info, config.data.limit),
    signal,
    onStep: (_c, fold, id, what) => progress?.advance(`fold ${fold}/${k} ${what === 'predict_ms' ? 'predict' : id}`),
  });
  const summary = summarizeFolds(scores.get(candidate.key)!, k, seed, source.identity.id);
  return source.sharedUsed ? { ...summary, shared_fit: true } : summary;
}

/** The CV section of a report from one candidate's fold results. */
export function summarizeFolds(list: readonly JobResult[], k: number, seed: number, foldsIdentity: string): CvResult {
  const timings = new Timings();
  for (const r of list) {
    for (const [id, t] of Object.entries(r.timings_ms)) {
      for (const kind of ['fit_ms', 'transform_ms', 'predict_ms'] as const) timings.add(id, kind, t[kind]);
    }
  }
  const folds: FoldResult[] = list.map(({ timings_ms: _t, ...r }) => r);
  const acc = meanStd(folds.map((r) => r.accuracy));
  const f1 = meanStd(folds.map((r) => r.macro_f1));
  return {
    k,
    seed,
    folds_id: foldsIdentity,
    folds,
    mean_accuracy: acc.mean,
    std_accuracy: acc.std,
    mean_macro_f1: f1.mean,
    std_macro_f1: f1.std,
    timings_ms: timings.toJSON(),
  };
}

/** Fits a clone of the pipeline on all training rows and evaluates it once on the test set; returns both. */
export async function evaluateOnTest(
  template: Pipeline,
  data: LoadedData,
  progress?: ProgressSink,
  shared?: SharedView,
): Promise<{ test: TestResult; fitted: Pipeline }> {
  const test = data.test!;
  const pipeline = template.clone();
  const timings = new Timings();
  const t0 = performance.now();
  await pipeline.fit(data.train.X, data.train.y, {
    timings,
    onStep: (id) => progress?.advance(`final fit ${id}`),
    shared,
  });
  const t1 = performance.now();
  const { labels: yPred, proba } = await pipeline.predictWithProba(test.X, {
    timings,
    onStep: () => progress?.advance('test predict'),
  });
  const t2 = performance.now();
  const confidence = proba ? Array.from(yPred, (p, i) => Math.round(proba.data[i * proba.cols + p] * 1e4) / 1e4) : null;
  const cm = confusionMatrix(test.y, yPred, test.classes.length);
  const report = classificationReport(cm);
  const result: TestResult = {
    rows: test.y.length,
    accuracy: accuracy(test.y, yPred),
    macro_f1: report.macroAvg.f1,
    report,
    class_names: [...test.classes],
    confusion_matrix: cm,
    predictions: Array.from(yPred),
    labels: Array.from(test.y),
    confidence,
    calibration:
      proba && proba.cols === test.classes.length ? calibration(test.y, yPred, proba.data, proba.cols) : null,
    fit_ms: Math.round(t1 - t0),
    predict_ms: Math.round(t2 - t1),
    timings_ms: timings.toJSON(),
  };
  return { test: result, fitted: pipeline };
}
