import { z } from 'zod';
import type { RunResult, TestResult } from '../evaluate/run.js';

/** Version of the JSON layout below; bump when a field changes meaning. */
export const RUN_JSON_VERSION = 1;
export const RUN_FORMAT = 'fashion-pipeline/run';

const nums = z.array(z.number());
const stageTimings = z.record(
  z.string(),
  z.object({ fit_ms: z.number(), transform_ms: z.number(), predict_ms: z.number() }),
);
const scores = z.object({ precision: z.number(), recall: z.number(), f1: z.number(), support: z.number() });

/**
 * The run JSON (results/<name>.json), one schema for the writer (runToJson's type), `compare`'s reader and the tests.
 * Keys are snake_case throughout.
 */
export const RunJson = z.object({
  format: z.literal(RUN_FORMAT),
  format_version: z.number().int(),
  name: z.string(),
  file: z.string(),
  started_at: z.string(),
  duration_ms: z.number(),
  seed: z.number(),
  config: z
    .object({
      name: z.string(),
      steps: z.array(z.object({ id: z.string(), stage: z.string(), params: z.record(z.string(), z.unknown()) })),
    })
    .loose(),
  data: z
    .object({
      train_rows: z.number(),
      checksums: z.record(z.string(), z.string()),
      // IDX checked against the official SHA-256 (false: --no-verify; null: CSV); absent in JSON written before it
      verified: z.boolean().nullable().optional(),
    })
    .loose(),
  cv: z
    .object({
      k: z.number().int(),
      seed: z.number(),
      folds_id: z.string(),
      folds: z.array(
        z.object({
          fold: z.number().int(),
          train_rows: z.number(),
          test_rows: z.number(),
          accuracy: z.number(),
          macro_f1: z.number(),
          fit_ms: z.number(),
          predict_ms: z.number(),
        }),
      ),
      mean_accuracy: z.number(),
      std_accuracy: z.number(),
      mean_macro_f1: z.number(),
      std_macro_f1: z.number(),
      shared_fit: z.boolean().optional(),
    })
    .nullable(),
  test: z
    .object({
      rows: z.number().int(),
      accuracy: z.number(),
      macro_f1: z.number(),
      per_class: z.array(scores.extend({ name: z.string(), label: z.number().int() })),
      macro_avg: scores,
      weighted_avg: scores,
      class_names: z.array(z.string()),
      confusion_matrix: z.array(nums),
      fit_ms: z.number(),
      predict_ms: z.number(),
      predictions: nums,
      labels: nums,
      confidence: nums.nullable(),
      // runs written before calibration was measured have none
      calibration: z
        .object({
          ece: z.number(),
          mce: z.number(),
          log_loss: z.number(),
          brier: z.number(),
          bins: z.array(
            z.object({
              lo: z.number(),
              hi: z.number(),
              count: z.number().int(),
              confidence: z.number().nullable(),
              accuracy: z.number().nullable(),
            }),
          ),
        })
        .nullable()
        .optional(),
    })
    .nullable(),
  timings_ms: z.object({ cv: stageTimings.nullable(), final: stageTimings.nullable() }),
  environment: z
    .object({ node: z.string(), peak_rss_mb: z.number(), versions: z.record(z.string(), z.string()) })
    .loose(),
});
export type RunJson = z.infer<typeof RunJson>;

/** The run as plain JSON-ready data: every number in the markdown report, plus per-sample test predictions. */
export function runToJson(result: RunResult): RunJson {
  const test = result.test;
  return {
    format: RUN_FORMAT,
    format_version: RUN_JSON_VERSION,
    name: result.name,
    file: result.file,
    started_at: result.started_at,
    duration_ms: result.duration_ms,
    seed: result.seed,
    config: { ...result.config },
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
          ...(result.cv.shared_fit ? { shared_fit: true } : {}),
        }
      : null,
    test: test ? testToJson(test) : null,
    timings_ms: {
      cv: result.cv?.timings_ms ?? null,
      final: test?.timings_ms ?? null,
    },
    environment: { ...result.environment },
  };
}

/** The test-set evaluation as JSON: scores, per-class report, confusion matrix and every prediction. */
export function testToJson(test: TestResult): NonNullable<RunJson['test']> {
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
    calibration: test.calibration,
  };
}

/** JSON with two-space indentation, but arrays of numbers kept on one line (predictions, matrix rows). */
export function stringifyJson(value: unknown): string {
  return (
    JSON.stringify(value, null, 2).replace(
      /\[\s*(-?[\d.eE+-]+(?:,\s*-?[\d.eE+-]+)*)\s*\]/g,
      (_, body: string) => `[${body.replace(/\s+/g, '')}]`,
    ) + '\n'
  );
}
