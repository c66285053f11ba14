import { dirname } from 'node:path';
import type { GridResult } from '../evaluate/grid-search.js';
import { describe as describeParams } from '../evaluate/grid-search.js';
import type { RunResult } from '../evaluate/run.js';
import type { ModelInfo } from '../model/provenance.js';
import { fixed, markdownTable, seconds } from './text.js';

/** Text for the terminal: a run's summary, predictions as a table or CSV. Pure functions of result objects. */

/** Files a run wrote. */
export interface RunFiles {
  markdown: string;
  json: string;
  pictures: string[];
  model?: string;
}

export interface Prediction {
  file: string;
  label: number;
  class: string;
  /** The predicted class's probability, when the estimator gives probabilities. */
  confidence: number | null;
  /** The `top` most probable classes (empty without probabilities). */
  top: Array<{ class: string; probability: number }>;
  /** The photo was negated (light background). */
  inverted: boolean;
  /** Unlike the training data or doubtful (model/unfamiliar.ts: the threshold in the model file); null: not known. */
  unfamiliar: boolean | null;
  /** With --similar N: the nearest catalogue images in the model's feature space, nearest first. */
  similar?: SimilarItem[];
}

/** A named photo (or folder) that could not be read, and why; the others are still classified. */
export interface UnreadablePhoto {
  file: string;
  /** Why, without the file's name: "truncated PNG (no IEND chunk)". */
  error: string;
  /** Its position among the photos named (folders expanded), for listing it in place. */
  index: number;
}

/** A catalogue image near a photo in the model's feature space. */
export interface SimilarItem {
  /** Row of the catalogue (training set index, or position in the folder's sorted list). */
  index: number;
  /** `train:INDEX`, or the image file's name in the catalogue folder. */
  name: string;
  label: number;
  class: string;
  /** Euclidean distance in the model's feature space. */
  distance: number;
}

export interface PredictResult {
  /** The model file used. */
  model: string;
  info: ModelInfo;
  /** How the model was obtained: loaded from its file, or fitted now (from a pipeline file) and saved. */
  origin: 'loaded' | 'fitted';
  fitSeconds: number | null;
  /** The photos read and classified, in the order named. */
  predictions: Prediction[];
  /** The photos that could not be read (predict answers the others, and exits 1). */
  unreadable?: UnreadablePhoto[];
  /** CSV input: accuracy against the file's label column; photos in class folders: against the folders' names. */
  accuracy?: number;
  /** Photos in class folders named for the model's classes: how many, and per class how many were right. */
  labelled?: number;
  per_class?: Array<{ class: string; photos: number; correct: number }>;
}

/** A few lines for the terminal. */
export function summaryLines({ result, files }: { result: RunResult; files: RunFiles }): string[] {
  const lines = [`${result.name}: done in ${seconds(result.duration_ms)}`];
  if (result.cv)
    lines.push(
      `  ${result.cv.k}-fold CV accuracy ${fixed(result.cv.mean_accuracy)} ± ${fixed(result.cv.std_accuracy)}`,
    );
  if (result.test)
    lines.push(`  test accuracy ${fixed(result.test.accuracy)}, macro-F1 ${fixed(result.test.macro_f1)}`);
  lines.push(
    `  wrote ${files.markdown} and ${files.json}` +
      (files.pictures.length > 0 ? `, ${files.pictures.length} pictures in ${dirname(files.pictures[0])}/` : ''),
  );
  if (files.model)
    lines.push(
      `  saved the fitted pipeline to ${files.model} (classify photos with: pipeline predict ${files.model} PHOTO…)`,
    );
  return lines;
}

/** CSV input's predictions as CSV: the file's line, label, class name and probability (empty without one). */
export function predictionCsv(result: PredictResult): string {
  const lines = ['line,label,class,probability'];
  for (const p of result.predictions) {
    lines.push(
      `${p.file.slice(p.file.lastIndexOf(':') + 1)},${p.label},${p.class},${p.confidence === null ? '' : p.confidence.toFixed(4)}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Where the model came from, one line. */
export function modelLine(result: Pick<PredictResult, 'model' | 'info' | 'origin' | 'fitSeconds'>): string {
  const how =
    result.origin === 'fitted'
      ? `fitted on ${result.info.training.rows} training images in ${fixed(result.fitSeconds!, 1)} s and saved to ${result.model}`
      : `loaded from ${result.model}`;
  return `${result.info.name}: ${how}`;
}

/** Predictions and unreadable photos in the order the photos were named. */
export function inInputOrder(result: PredictResult): Array<Prediction | UnreadablePhoto> {
  const out: Array<Prediction | UnreadablePhoto> = [...result.predictions];
  for (const u of [...(result.unreadable ?? [])].sort((a, b) => a.index - b.index)) out.splice(u.index, 0, u);
  return out;
}

/**
 * The one line for photos that could not be read: the error itself for a single photo, else "2 of 7 photos could not
 * be read: a.png (…), b.jpg (…)" (the first five named).
 */
export function unreadableLine(unreadable: readonly UnreadablePhoto[], total: number): string {
  if (total === 1 && unreadable.length === 1) return `${unreadable[0].file}: ${unreadable[0].error}`;
  const shown = unreadable.slice(0, 5).map((u) => `${u.file} (${u.error})`);
  const more = unreadable.length > 5 ? ` and ${unreadable.length - 5} more` : '';
  return `${unreadable.length} of ${total} photos could not be read: ${shown.join(', ')}${more}`;
}

/** The terminal table (markdown, so it can be pasted into a report); an unreadable photo is a row with its error. */
export function predictionTable(result: PredictResult): string {
  const withTop = result.predictions.some((p) => p.top.length > 1);
  const withFlag = result.predictions.some((p) => p.unfamiliar !== null);
  const withSimilar = result.predictions.some((p) => p.similar !== undefined);
  const header = [
    'image',
    'class',
    'probability',
    ...(withTop ? ['runners-up'] : []),
    ...(withFlag ? ['unfamiliar'] : []),
    ...(withSimilar ? ['similar (class, distance)'] : []),
  ];
  const rows = inInputOrder(result).map((p) =>
    'error' in p
      ? [p.file, `unreadable: ${p.error}`, '—', ...header.slice(3).map(() => '')]
      : predictionRow(p, withTop, withFlag, withSimilar),
  );
  return markdownTable(header, rows, [
    'l',
    'l',
    'r',
    ...(withTop ? ['l' as const] : []),
    ...(withFlag ? ['l' as const] : []),
    ...(withSimilar ? ['l' as const] : []),
  ]);
}

function predictionRow(p: Prediction, withTop: boolean, withFlag: boolean, withSimilar: boolean): string[] {
  return [
    p.file + (p.inverted ? ' (negated)' : ''),
    p.class,
    p.confidence === null ? '—' : fixed(p.confidence, 2),
    ...(withTop
      ? [
          p.top
            .slice(1)
            .filter((t) => t.probability >= 0.005)
            .map((t) => `${t.class} ${fixed(t.probability, 2)}`)
            .join(', '),
        ]
      : []),
    ...(withFlag ? [p.unfamiliar ? 'yes' : p.unfamiliar === null ? '—' : 'no'] : []),
    ...(withSimilar ? [(p.similar ?? []).map((s) => `${s.name} ${s.class} ${fixed(s.distance, 2)}`).join(', ')] : []),
  ];
}

/** Photos in class folders: accuracy over them, then recall per class (empty without class folders). */
export function folderAccuracyLines(result: PredictResult): string[] {
  if (!result.per_class || result.accuracy === undefined) return [];
  const perClass = result.per_class.map((c) => `${c.class} ${c.correct}/${c.photos}`).join(', ');
  return [
    `accuracy ${fixed(result.accuracy)} on the ${result.labelled} photos in folders named for the model's classes`,
    `  right per class: ${perClass}`,
  ];
}

/** A finished search, a few lines. */
export function gridSummaryLines({
  result,
  files,
}: {
  result: GridResult;
  files: { markdown: string; json: string; model?: string };
}): string[] {
  const lines = [
    `${result.name}: ${result.candidates.length} candidates × ${result.k} folds in ${seconds(result.duration_ms)}`,
  ];
  lines.push(
    `  best ${describeParams(result.best.params)}: CV ${result.metric} ${fixed(result.best.mean)} ± ${fixed(result.best.std)}`,
  );
  if (result.test) lines.push(`  test accuracy ${fixed(result.test.accuracy)} (refit on all training rows)`);
  lines.push(`  wrote ${files.markdown} and ${files.json}`);
  if (files.model)
    lines.push(
      `  saved the best candidate to ${files.model} (classify photos with: pipeline predict ${files.model} PHOTO…)`,
    );
  return lines;
}
