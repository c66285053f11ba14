import { parse as parseYamlScalar } from 'yaml';
import { z } from 'zod';
import { registry } from '../stages/registry.js';
import { closest, didYouMean } from '../util/suggest.js';
import { UsageError } from './errors.js';
import type { ImageShape } from '../data/dataset.js';
import { bindShapes, featureFlowProblem, stepsKey, type StepConfig } from '../pipeline/steps.js';
import type { SourceMap } from './positions.js';

/** Where a grid value came from: a place in the pipeline file, or a --param option. */
export type Origin = { path: PropertyKey[] } | { option: string };

interface GridValue {
  value: unknown;
  origin: Origin;
}

/** One grid map: `stage.param` → the values to try (all maps of a conditional grid are expanded separately). */
export type GridMap = Map<string, GridValue[]>;

/** One point of the grid: the params it sets and the resulting steps. */
export interface Candidate {
  /** Stable id of the resolved steps (same params → same key, across runs): checkpoints and caches use it. */
  key: string;
  /** The grid params, `stage.param` → value, in the order the keys were written. */
  params: Record<string, unknown>;
  /** Where each of those values was written (errors found while fitting point there). */
  origins: Record<string, Origin>;
  steps: StepConfig[];
}

const GridSection = z.union([
  z.record(z.string(), z.array(z.unknown()).min(1, 'a grid key needs at least one value')),
  z.array(z.record(z.string(), z.array(z.unknown()).min(1, 'a grid key needs at least one value'))).min(1),
]);

/** Reads the file's `grid:` section (a map, or a list of maps for conditional grids); [] when there is none. */
export function parseGridSection(source: SourceMap, raw: unknown): GridMap[] {
  if (raw === undefined || raw === null) return [];
  const parsed = GridSection.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw source.error(
      ['grid', ...issue.path],
      `grid: ${issue.message === 'Invalid input' ? 'expected `stage.param: [values]` entries, or a list of such maps' : issue.message}`,
    );
  }
  const maps = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
  const list = Array.isArray(parsed.data);
  return maps.map((m, mi) => {
    const map: GridMap = new Map();
    for (const [key, values] of Object.entries(m)) {
      const base = list ? ['grid', mi, key] : ['grid', key];
      map.set(
        key,
        values.map((value, vi) => ({ value, origin: { path: [...base, vi] } })),
      );
    }
    return map;
  });
}

/**
 * Applies `--param stage.param=a,b,c` options: each adds the key to every grid map or replaces its values there.
 * Values are read as YAML scalars (numbers, booleans, null, strings).
 */
export function applyParamOptions(grid: GridMap[], options: readonly string[]): GridMap[] {
  const maps = grid.length > 0 ? grid.map((m) => new Map(m)) : [new Map() as GridMap];
  for (const option of options) {
    const eq = option.indexOf('=');
    if (eq <= 0 || eq === option.length - 1) {
      throw new UsageError(`--param ${option}: expected stage.param=value[,value…], e.g. --param pca.components=30,50`);
    }
    const key = option.slice(0, eq).trim();
    const values = option
      .slice(eq + 1)
      .split(',')
      .map((text) => ({ value: parseYamlScalar(text.trim()) as unknown, origin: { option: `--param ${option}` } }));
    for (const m of maps) m.set(key, values);
  }
  return maps.filter((m) => m.size > 0);
}

/** The most candidates a search takes (each is several fits; beyond this a grid is almost surely a mistake). */
export const MAX_CANDIDATES = 10_000;

/**
 * Checks every key names a step and one of its params and every value is valid for that param, then expands each map
 * into its cartesian product. Problems are ConfigErrors at the value's place in the file (or UsageErrors naming the
 * --param option).
 */
export function expandGrid(
  grid: GridMap[],
  steps: readonly StepConfig[],
  source: SourceMap,
  shape: ImageShape,
): Candidate[] {
  const candidates = new Map<string, Candidate>();
  // counted before anything is expanded: a grid of millions would take minutes and gigabytes just to list
  const total = grid.reduce(
    (sum, map) => sum + [...map.values()].reduce((product, values) => product * values.length, 1),
    0,
  );
  if (total > MAX_CANDIDATES) {
    const first = [...grid[0].values()][0]?.[0]?.origin ?? { path: ['grid'] };
    const where: Origin = 'path' in first ? { path: ['grid'] } : first;
    throw failAt(
      source,
      where,
      `the grid has ${total} candidates; at most ${MAX_CANDIDATES} are searched (narrow it, or split it into several files)`,
      true,
    );
  }
  for (const axes of checkGrid(grid, steps, source)) {
    for (const combo of cartesian(axes.map((a) => a.values))) {
      let resolved = steps.map((s) => ({ ...s, params: { ...s.params } }));
      const params: Record<string, unknown> = {};
      const origins: Record<string, Origin> = {};
      combo.forEach((v, i) => {
        const axis = axes[i];
        resolved[axis.index].params = withParam(resolved[axis.index], axis.path, v.value);
        params[axis.key] = v.value;
        origins[axis.key] = v.origin;
      });
      // nested params are validated (and normalised) by the stage's schema
      resolved = resolved.map((s) =>
        registry.get(s.stage)!.setParam
          ? { ...s, params: registry.get(s.stage)!.schema.parse(s.params) as Record<string, unknown> }
          : s,
      );
      resolved = bindShapes(resolved, shape);
      const problem = featureFlowProblem(resolved, shape);
      if (problem) {
        const culprit = axes.findIndex((a) => a.index === problem.index && a.param === problem.param);
        const where = culprit >= 0 ? combo[culprit].origin : { path: ['grid'] };
        throw failAt(source, where, `${resolved[problem.index].id}.${problem.param}: ${problem.message}`);
      }
      const key = stepsKey(resolved);
      if (!candidates.has(key)) candidates.set(key, { key, params, origins, steps: resolved });
    }
  }
  return [...candidates.values()];
}

/** One grid key checked against the steps: the step it names, the param path and the values to try. */
interface GridAxis {
  key: string;
  index: number;
  param: string;
  path: string[];
  values: GridValue[];
}

/** A problem at a grid value's origin: a ConfigError at its place in the file, or a UsageError naming the --param option. */
function failAt(source: SourceMap, origin: Origin, message: string, key = false): Error {
  return 'path' in origin ? source.error(origin.path, message, key) : new UsageError(`${origin.option}: ${message}`);
}

/**
 * Checks every key names a step and one of its params and every value is valid for that param, without expanding
 * anything (what `run` checks of a grid it ignores); returns each map's axes.
 */
export function checkGrid(grid: GridMap[], steps: readonly StepConfig[], source: SourceMap): GridAxis[][] {
  const ids = steps.map((s) => s.id);
  const fail = (origin: Origin, message: string, key = false) => failAt(source, origin, message, key);
  return grid.map((map) => {
    const axes: GridAxis[] = [];
    for (const [key, values] of map) {
      const keyOrigin: Origin =
        'path' in values[0].origin ? { path: values[0].origin.path.slice(0, -1) } : values[0].origin;
      const [id, ...path] = key.split('.');
      const index = ids.indexOf(id);
      if (path.length === 0 || index < 0) {
        const near = index < 0 ? closest(id, ids) : null;
        const hint = near ? `; did you mean "${[near, ...path].join('.')}"?` : '';
        throw fail(
          keyOrigin,
          `grid key "${key}" must be step.param with a step of this pipeline: ${ids.join(', ')}${hint}`,
          true,
        );
      }
      const spec = registry.get(steps[index].stage)!;
      const param = path.join('.');
      if (path.length > 1 || !(spec.schema instanceof z.ZodObject)) {
        if (!spec.setParam) {
          throw fail(keyOrigin, `grid key "${key}": stage ${steps[index].stage} has no nested params`, true);
        }
        try {
          spec.setParam(steps[index].params as never, path, values[0].value);
        } catch (err) {
          throw fail(keyOrigin, `grid key "${key}": ${(err as Error).message}`, true);
        }
      } else {
        const allowed = Object.keys(spec.schema.shape);
        if (!allowed.includes(param)) {
          throw fail(
            keyOrigin,
            `unknown param "${param}" for stage ${steps[index].stage} in grid key "${key}"; allowed: ${allowed.join(', ')}${didYouMean(param, allowed)}`,
            true,
          );
        }
      }
      for (const v of values) {
        const check = spec.schema.safeParse(withParam(steps[index], path, v.value));
        if (!check.success) throw fail(v.origin, `${key}: ${check.error.issues[0].message}`);
      }
      axes.push({ key, index, param, path, values });
    }
    return axes;
  });
}

/** A step's params with one grid value set: a top-level param, or a nested path through the stage's setParam. */
function withParam(step: StepConfig, path: string[], value: unknown): Record<string, unknown> {
  if (path.length === 1 && !registry.get(step.stage)!.setParam) return { ...step.params, [path[0]]: value };
  return registry.get(step.stage)!.setParam!(step.params as never, path, value) as Record<string, unknown>;
}

function cartesian<T>(lists: T[][]): T[][] {
  return lists.reduce<T[][]>((acc, list) => acc.flatMap((prefix) => list.map((item) => [...prefix, item])), [[]]);
}
