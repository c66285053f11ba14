import { createHash } from 'node:crypto';
import { UsageError } from '../config/errors.js';
import type { LoadedConfig, PipelineConfig } from '../config/load.js';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { loadData, type LoadedData } from '../data/load.js';
import { takeLabels, takeRows } from '../linalg/matrix.js';
import { accuracy, classificationReport, confusionMatrix, meanStd, type ClassificationReport } from '../metrics/classification.js';
import { Pipeline, StepParamError, Timings, type StageTiming } from '../pipeline/pipeline.js';
import type { ProgressSink } from './progress.js';
import { smallestClassCount, stratifiedKFold, type Fold } from './split.js';
import { environment, type Environment } from './environment.js';

export interface FoldResult {
  fold: number;
  train_rows: number;
  test_rows: number;
  accuracy: number;
  macro_f1: number;
  fit_ms: number;
  predict_ms: number;
}

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
  loaded: LoadedConfig;
  /** --data: IDX folder replacing the file's data section. */
  dataDir?: string;
  progress?: ProgressSink;
  /** Also fit on all training rows when there is no test evaluation to do it (for saving the model). */
  keepFitted?: boolean;
}

/**
 * Cross-validates the pipeline on the training set (stratified, seeded folds; every fold fits a fresh clone), then fits
 * a clone on the whole training set and evaluates it once on the test set. Returns numbers only; nothing is written.
 */
export async function runPipeline(options: RunOptions): Promise<RunOutcome> {
  const { config, source, file } = options.loaded;
  const { folds: k, seed, test: withTest } = config.evaluation;
  const startedAt = new Date();
  const t0 = performance.now();
  const data = loadData(config.data, { dataDir: options.dataDir, pipelineFile: file, withTest, seed });
  checkFolds(options.loaded, data);
  const template = Pipeline.fromSteps(config.steps);
  const progress = options.progress;
  const unitsPerFit = config.steps.length + 1;
  const finalFit = withTest || options.keepFitted === true;
  progress?.begin((k + (finalFit ? 1 : 0)) * unitsPerFit, config.name);
  try {
    const cv = k > 0 ? await crossValidate(template, data, k, seed, progress) : null;
    let test: TestResult | null = null;
    let fitted: Pipeline | null = null;
    if (withTest) {
      ({ test, fitted } = await evaluateOnTest(template, data, progress));
    } else if (finalFit) {
      fitted = await template.clone().fit(data.train.X, data.train.y, undefined, (id) => progress?.advance(`final fit ${id}`));
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
  } catch (err) {
    if (err instanceof StepParamError) {
      const step = config.steps[err.stepIndex];
      throw source.error(['steps', err.stepIndex, step.stage, err.param], `${step.stage}.${err.param}: ${err.detail}`);
    }
    throw err;
  } finally {
    progress?.end();
  }
}

/** Refuses more folds than the smallest class has rows (reported at evaluation.folds in the file). */
export function checkFolds({ config, source, overridden }: LoadedConfig, data: LoadedData): void {
  const k = config.evaluation.folds;
  if (k === 0) return;
  const smallest = smallestClassCount(data.train.y);
  if (k > smallest && overridden.has('folds')) {
    throw new UsageError(`--folds ${k}: the smallest class in the training data has ${smallest} rows; use at most ${smallest}`);
  }
  if (k > smallest) {
    throw source.error(['evaluation', 'folds'], `evaluation.folds: ${k} folds but the smallest class in the training data has ${smallest} rows; use at most ${smallest}`);
  }
}

/** Accuracy and macro-F1 of one fold's predictions. */
export function foldScores(yTrue: Uint8Array, yPred: Uint8Array): { accuracy: number; macro_f1: number } {
  const report = classificationReport(confusionMatrix(yTrue, yPred, CLASS_NAMES.length));
  return { accuracy: report.accuracy, macro_f1: report.macroAvg.f1 };
}

/** Identifies a fold assignment (SHA-256 of the fold count, each fold's size and test indices), so runs can tell they share folds. */
export function foldsId(folds: readonly Fold[]): string {
  const hash = createHash('sha256');
  hash.update(`k=${folds.length};`);
  for (const fold of folds) {
    // Each fold's size goes in before its indices, so two partitions of the same rows never hash alike.
    hash.update(`n=${fold.test.length};`);
    hash.update(new Uint8Array(fold.test.buffer, fold.test.byteOffset, fold.test.byteLength));
  }
  return hash.digest('hex').slice(0, 16);
}

async function crossValidate(template: Pipeline, data: LoadedData, k: number, seed: number, progress?: ProgressSink): Promise<CvResult> {
  const { X, y } = data.train;
  const folds = stratifiedKFold(y, k, seed);
  const timings = new Timings();
  const results: FoldResult[] = [];
  for (let f = 0; f < folds.length; f++) {
    const { train, test } = folds[f];
    const pipeline = template.clone();
    const label = `fold ${f + 1}/${k}`;
    const t0 = performance.now();
    await pipeline.fit(takeRows(X, train), takeLabels(y, train), timings, (id) => progress?.advance(`${label} ${id}`));
    const t1 = performance.now();
    const yTrue = takeLabels(y, test);
    const yPred = await pipeline.predict(takeRows(X, test), timings, () => progress?.advance(`${label} predict`));
    const t2 = performance.now();
    results.push({
      fold: f + 1,
      train_rows: train.length,
      test_rows: test.length,
      ...foldScores(yTrue, yPred),
      fit_ms: Math.round(t1 - t0),
      predict_ms: Math.round(t2 - t1),
    });
  }
  const acc = meanStd(results.map((r) => r.accuracy));
  const f1 = meanStd(results.map((r) => r.macro_f1));
  return {
    k,
    seed,
    folds_id: foldsId(folds),
    folds: results,
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
): Promise<{ test: TestResult; fitted: Pipeline }> {
  const test = data.test!;
  const pipeline = template.clone();
  const timings = new Timings();
  const t0 = performance.now();
  await pipeline.fit(data.train.X, data.train.y, timings, (id) => progress?.advance(`final fit ${id}`));
  const t1 = performance.now();
  const { labels: yPred, proba } = await pipeline.predictWithProba(test.X, timings, () => progress?.advance('test predict'));
  const t2 = performance.now();
  const confidence = proba ? Array.from(yPred, (p, i) => Math.round(proba.data[i * proba.cols + p] * 1e4) / 1e4) : null;
  const cm = confusionMatrix(test.y, yPred, CLASS_NAMES.length);
  const report = classificationReport(cm);
  const result: TestResult = {
    rows: test.y.length,
    accuracy: accuracy(test.y, yPred),
    macro_f1: report.macroAvg.f1,
    report,
    class_names: [...CLASS_NAMES],
    confusion_matrix: cm,
    predictions: Array.from(yPred),
    labels: Array.from(test.y),
    confidence,
    fit_ms: Math.round(t1 - t0),
    predict_ms: Math.round(t2 - t1),
    timings_ms: timings.toJSON(),
  };
  return { test: result, fitted: pipeline };
}
