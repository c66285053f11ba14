import { z } from 'zod';
import { registry, stageNames } from '../stages/registry.js';
import { MODEL_MAGIC } from '../stages/snapshot.js';
import { didYouMean } from '../util/suggest.js';
import { ConfigError, UsageError } from './errors.js';
import { sourceShape } from '../data/load.js';
import type { ImageShape } from '../data/dataset.js';
import { bindShapes, featureFlowProblem, type PipelineConfig, type StepConfig } from '../pipeline/steps.js';
import { checkGrid, expandGrid, parseGridSection, type GridMap } from './param-grid.js';
import { SourceMap } from './positions.js';
import { EvaluationSection, PipelineFile, type DataSection } from './schema.js';
import { FileReadError, readRegularFile } from '../util/read-file.js';

export type { PipelineConfig, StepConfig };

export interface LoadedConfig {
  /** The pipeline file as given on the command line. */
  file: string;
  config: PipelineConfig;
  /** The file's `grid:` section, validated against the steps (empty when there is none). */
  grid: GridMap[];
  /** Evaluation values that came from the command line (errors about them name the option, not the file). */
  overridden: Set<keyof EvaluationOverrides>;
  /** Positions in the file, for errors found after loading (e.g. folds against the class counts). */
  source: SourceMap;
  /** The shape of the data's images (what the first step receives). */
  shape: ImageShape;
}

/** Command-line values that replace the file's `evaluation` values before stage seeds are filled in. */
export interface EvaluationOverrides {
  folds?: number;
  seed?: number;
  test?: boolean;
}

/** What loading checks of the `grid:` section: `expand` (every candidate valid, for grid and predict) or `parse` (its shape only: run ignores it). */
export interface LoadOptions {
  grid?: 'expand' | 'parse';
}

/** Reads and validates a pipeline file; every problem is a ConfigError with the file's line and column. */
export function loadPipelineFile(
  file: string,
  overrides: EvaluationOverrides = {},
  options: LoadOptions = {},
): LoadedConfig {
  return parsePipeline(file, readPipelineText(file), overrides, options);
}

/** Pipeline files are a few hundred bytes; beyond this a file is not one (and parsing it would take seconds and GBs). */
export const MAX_PIPELINE_BYTES = 2 ** 20;

/** The text of a pipeline file: a readable file, not too large, UTF-8 text (not a model file or other binary data). */
function readPipelineText(file: string): string {
  const fail = (message: string, line = 1, col = 1) => new ConfigError(file, line, col, message);
  let bytes: Buffer;
  try {
    bytes = readRegularFile(file, MAX_PIPELINE_BYTES);
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    if (err.reason === 'missing') throw fail('no such pipeline file');
    if (err.reason === 'folder') throw fail('is a folder; name a pipeline file (.yaml) in it');
    if (err.reason === 'too large') throw fail(`${err.message} (a pipeline file lists steps and params, not data)`);
    throw fail(err.message);
  }
  if (bytes.subarray(0, MODEL_MAGIC.length).toString('latin1') === MODEL_MAGIC) {
    throw fail('a model file (written by --save-model), not a pipeline file; `pipeline predict` takes it');
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) throw fail(`binary data (a zero byte at offset ${nul}), not YAML text`, ...lineCol(bytes, nul));
  const bad = invalidUtf8(bytes);
  if (bad >= 0) {
    throw fail(
      `not UTF-8 text: byte 0x${bytes[bad].toString(16).padStart(2, '0')} at offset ${bad} (save the file as UTF-8)`,
      ...lineCol(bytes, bad),
    );
  }
  const text = bytes.toString('utf8');
  // a report of `run` or `grid` (JSON, whose first key names its format) is YAML too, but no pipeline file
  const report = /^\s*\{\s*"format"\s*:\s*"fashion-pipeline\/(run|grid)"/.exec(text);
  if (report) {
    throw fail(`a report of \`pipeline ${report[1]}\` (JSON), not a pipeline file; \`pipeline compare\` reads reports`);
  }
  return text;
}

/** The 1-based line and column (in bytes) of a byte offset. */
function lineCol(bytes: Buffer, offset: number): [number, number] {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  return [line, offset - start + 1];
}

/** Offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
function invalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const n = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    for (let j = 1; j <= n; j++) if (i + j >= bytes.length || (bytes[i + j] & 0xc0) !== 0x80) return i;
    // overlong forms, UTF-16 surrogates and code points above U+10FFFF
    const second = bytes[i + 1];
    if ((b === 0xe0 && second < 0xa0) || (b === 0xed && second > 0x9f)) return i;
    if ((b === 0xf0 && second < 0x90) || (b === 0xf4 && second > 0x8f)) return i;
    i += n + 1;
  }
  return -1;
}

/** Validates pipeline YAML text (exported for tests). */
export function parsePipeline(
  file: string,
  text: string,
  overrides: EvaluationOverrides = {},
  options: LoadOptions = {},
): LoadedConfig {
  const { map: source, errors } = SourceMap.parse(file, text);
  if (errors.length > 0) {
    const { message, pos } = errors[0];
    throw new ConfigError(file, pos.line, pos.col, `YAML syntax: ${readable(message)}`);
  }
  let raw: unknown;
  try {
    raw = source.toJS();
  } catch (err) {
    // the yaml package refuses aliases that expand too far (a "billion laughs" file) while building the value
    throw new ConfigError(file, 1, 1, `YAML: ${readable((err as Error).message.split('\n')[0])}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(file, 1, 1, 'a pipeline file is a map with keys name, data, steps, evaluation');
  }
  const top = PipelineFile.safeParse(raw);
  if (!top.success) throw fromZod(source, [], top.error, PipelineFile);
  const evaluation: EvaluationSection = { ...top.data.evaluation };
  const overridden = new Set<keyof EvaluationOverrides>();
  for (const key of ['folds', 'seed', 'test'] as const) {
    if (overrides[key] === undefined) continue;
    const checked = EvaluationSection.shape[key].safeParse(overrides[key]);
    if (!checked.success)
      throw new UsageError(`--${key} ${String(overrides[key])}: ${checked.error.issues[0].message}`);
    (evaluation[key] as unknown) = checked.data;
    overridden.add(key);
  }
  const parsed = top.data.steps.map((item, i) => parseStep(source, item, i, evaluation.seed));
  assignIds(parsed.map((p) => p.step));
  checkData(source, top.data.data);
  const shape = sourceShape(top.data.data);
  // the shape each step receives, bound into the params of stages that need it, before the flow is checked
  bindShapes(
    parsed.map((p) => p.step),
    shape,
  ).forEach((step, i) => (parsed[i].step = step));
  checkChain(source, parsed, shape);
  const steps = parsed.map((p) => p.step);
  const config: PipelineConfig = {
    name: top.data.name,
    ...(top.data.description !== undefined ? { description: top.data.description } : {}),
    data: top.data.data,
    steps,
    evaluation,
  };
  if (config.data.format === 'csv' && !config.data.train) {
    throw source.error(
      ['data', 'format'],
      'data.format csv needs data.train (and data.test when evaluation.test is true): paths to Kaggle-layout CSV files',
    );
  }
  if (config.data.format === 'csv' && evaluation.test && !config.data.test) {
    throw source.error(['data'], 'data.test is missing: give the test CSV file, or set evaluation.test: false');
  }
  const grid = parseGridSection(source, top.data.grid);
  // run ignores the grid, but a key naming no step or a value of the wrong type is still a mistake in the file
  if (options.grid === 'parse') checkGrid(grid, steps, source);
  else expandGrid(grid, steps, source, shape);
  return { file, config, grid, source, overridden, shape };
}

interface ParsedStep {
  step: StepConfig;
  /** Params written in the file (the others are defaults): errors point at the param, or at the stage when unset. */
  given: Set<string>;
}

/**
 * Validates one `{stage: params}` entry. A stage with a `seed` param that the file leaves unset takes the evaluation
 * seed, so one seed reproduces the whole run.
 */
function parseStep(source: SourceMap, item: unknown, i: number, seed: number): ParsedStep {
  const here = ['steps', i];
  if (item === null || typeof item !== 'object' || Array.isArray(item) || Object.keys(item).length !== 1) {
    throw source.error(here, `each step is a one-key map {stage: params}; stages: ${stageNames().join(', ')}`);
  }
  const [stage, rawParams] = Object.entries(item)[0];
  const spec = registry.get(stage);
  if (!spec) {
    throw source.error(
      [...here, stage],
      `unknown stage "${stage}"; stages: ${stageNames().join(', ')}${didYouMean(stage, stageNames())}`,
      true,
    );
  }
  const params = (rawParams ?? {}) as Record<string, unknown>;
  const given = new Set(typeof params === 'object' ? Object.keys(params) : []);
  const parsed = spec.schema.safeParse(params);
  if (!parsed.success) throw fromZod(source, [...here, stage], parsed.error, spec.schema, spec.name);
  const full = parsed.data as Record<string, unknown>;
  if ('seed' in full && !given.has('seed')) full.seed = seed;
  return { step: { id: stage, stage, params: full }, given };
}

/** Stage names as ids; repeated stages become name-1, name-2 (scikit-learn's make_pipeline does the same). */
function assignIds(steps: StepConfig[]): void {
  const counts = new Map<string, number>();
  for (const s of steps) counts.set(s.stage, (counts.get(s.stage) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const s of steps) {
    if ((counts.get(s.stage) ?? 0) > 1) {
      const n = (seen.get(s.stage) ?? 0) + 1;
      seen.set(s.stage, n);
      s.id = `${s.stage}-${n}`;
    }
  }
}

/** The data section's keys that belong to one format only, used with another (a mistake, not a no-op). */
function checkData(source: SourceMap, data: DataSection): void {
  const photoKeys = ['image', 'validation', 'test_fraction', 'bad_photos'] as const;
  if (data.format !== 'folder') {
    const stray = photoKeys.find((k) => data[k] !== undefined);
    if (stray)
      throw source.error(['data', stray], `data.${stray} is for photo folders (format: folder), not ${data.format}`);
  } else {
    if (!data.dir)
      throw source.error(['data', 'format'], 'data.format folder needs data.dir: the folder of class folders');
    const stray = (['train', 'test'] as const).find((k) => data[k] !== undefined);
    if (stray) {
      throw source.error(
        ['data', stray],
        `data.${stray} is for CSV files; a photo folder's splits are its train/, validation/ and test/ folders`,
      );
    }
  }
}

/** Transformers first, exactly one estimator, last; features flow from the data's images through every transformer. */
function checkChain(source: SourceMap, steps: ParsedStep[], shape: ImageShape): void {
  steps.forEach(({ step }, i) => {
    const spec = registry.get(step.stage)!;
    const last = i === steps.length - 1;
    if (spec.kind === 'estimator' && !last) {
      throw source.error(
        ['steps', i, step.stage],
        `estimator "${step.stage}" must be the last step (found at step ${i + 1} of ${steps.length})`,
        true,
      );
    }
    if (last && spec.kind !== 'estimator') {
      const estimators = [...registry.values()].filter((s) => s.kind === 'estimator').map((s) => s.name);
      throw source.error(
        ['steps', i, step.stage],
        `the last step must be an estimator (${estimators.join(', ')}); "${step.stage}" is a transformer`,
        true,
      );
    }
  });
  const problem = featureFlowProblem(
    steps.map((p) => p.step),
    shape,
  );
  if (problem) {
    const { index, param, message } = problem;
    const stage = steps[index].step.stage;
    const given = steps[index].given.has(param);
    throw source.error(
      given ? ['steps', index, stage, param] : ['steps', index, stage],
      `${stage}.${param}: ${message}`,
      !given,
    );
  }
}

function fromZod(
  source: SourceMap,
  base: PropertyKey[],
  error: z.ZodError,
  schema: z.ZodType,
  stage?: string,
): ConfigError {
  const issue = error.issues[0];
  const path = [...base, ...issue.path];
  const where = stage ? `${stage}` : 'pipeline file';
  if (issue.code === 'unrecognized_keys') {
    const keys = allowedKeys(schema, issue.path);
    const what = stage ? `param "${issue.keys[0]}" for stage ${stage}` : `key "${issue.keys[0]}"`;
    return source.error(
      [...path, issue.keys[0]],
      `unknown ${what}; allowed: ${keys.join(', ')}${didYouMean(issue.keys[0], keys)}`,
      true,
    );
  }
  const name = issue.path.length > 0 ? issue.path.join('.') : where;
  return source.error(path, `${stage && issue.path.length > 0 ? `${stage}.` : ''}${name}: ${issue.message}`);
}

/** The keys a (nested) object schema accepts, for "allowed: …" lists. */
function allowedKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
  let s: z.ZodType | undefined = schema;
  for (const step of path) {
    s = unwrap(s);
    if (s instanceof z.ZodObject) s = (s.shape as Record<string, z.ZodType>)[String(step)];
    else if (s instanceof z.ZodArray) s = s.element as z.ZodType;
    else return [];
  }
  s = unwrap(s);
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

function unwrap(s: z.ZodType | undefined): z.ZodType | undefined {
  let cur = s;
  while (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) {
    cur = cur.unwrap() as z.ZodType;
  }
  return cur;
}

/** A parser message a user can act on: the yaml package's stack overflow on deeply nested input says what it is. */
function readable(message: string): string {
  return /call stack/i.test(message) ? 'nested too deeply to read (a pipeline file needs a few levels)' : message;
}
