import type { RunResult, TestResult } from '../evaluate/run.js';

/** Version of the JSON layout below; bump when a field changes meaning. */
export const RUN_JSON_VERSION = 1;

/** The run as plain JSON-ready data: every number in the markdown report, plus per-sample test predictions. */
export function runToJson(result: RunResult): Record<string, unknown> {
  const test = result.test;
  return {
    format: 'fashion-pipeline/run',
    format_version: RUN_JSON_VERSION,
    name: result.name,
    file: result.file,
    started_at: result.started_at,
    duration_ms: result.duration_ms,
    seed: result.seed,
    config: result.config,
    data: result.data,
    cv: result.cv
      ? {
          k: result.cv.k,
          seed: result.cv.seed,
          folds_id: result.cv.folds_id,
          folds: result.cv.folds,
          mean_accuracy: result.cv.mean_accuracy,
          std_accuracy: result.cv.std_accuracy,
          mean_macro_f1: result.cv.mean_macro_f1,
          std_macro_f1: result.cv.std_macro_f1,
        }
      : null,
    test: test ? testToJson(test) : null,
    timings_ms: {
      cv: result.cv?.timings_ms ?? null,
      final: test?.timings_ms ?? null,
    },
    environment: result.environment,
  };
}

/** The test-set evaluation as JSON: scores, per-class report, confusion matrix and every prediction. */
export function testToJson(test: TestResult): Record<string, unknown> {
  return {
    rows: test.rows,
    accuracy: test.accuracy,
    macro_f1: test.macro_f1,
    per_class: test.report.perClass.map((c) => ({ name: test.class_names[c.label], ...c })),
    macro_avg: test.report.macroAvg,
    weighted_avg: test.report.weightedAvg,
    class_names: test.class_names,
    confusion_matrix: test.confusion_matrix,
    fit_ms: test.fit_ms,
    predict_ms: test.predict_ms,
    predictions: test.predictions,
    labels: test.labels,
    confidence: test.confidence,
  };
}

/** JSON with two-space indentation, but arrays of numbers kept on one line (predictions, matrix rows). */
export function stringifyJson(value: unknown): string {
  return (
    JSON.stringify(value, null, 2).replace(/\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g, (_, body: string) => `[${body.replace(/\s+/g, '')}]`) +
    '\n'
  );
}
