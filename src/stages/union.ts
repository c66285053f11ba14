import { z } from 'zod';
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { shapeSize, type ImageShape } from '../linalg/shape.js';
import { bindFlow, flowThrough } from './flow.js';
import { stages } from './stage-catalogue.js';
import { applyTails, splitRowwise, type TailBranch } from './union-rowwise.js';
import type { Normalize } from './normalize.js';
import { listField, ModelError, objectField } from './snapshot.js';
import {
  BaseStage,
  checkFeatures,
  checkXy,
  ParamRangeError,
  type Snapshot,
  type StageSpec,
  type Transformer,
} from './stage.js';

/** A step inside a branch: its id (the stage name, or name-1, name-2 when repeated), stage and validated params. */
export interface BranchStep {
  id: string;
  stage: string;
  params: Record<string, unknown>;
}

export interface Branch {
  steps: BranchStep[];
  /** Every output column of the branch is multiplied by it (as scikit-learn's transformer_weights). */
  weight: number;
}

export type UnionParams = Record<string, Branch>;

/** Rows per block in transform (bounds each branch's intermediates: 8,192 rows × 2,592 HOG features = 85 MB). */
const TRANSFORM_BLOCK = 8192;

const BRANCH_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * Validates the branches: each a name → `{steps: [{stage: params}, …], weight}`; every nested step a transformer of
 * the registry with valid params (defaults filled in), ids numbered as in a pipeline. Issues carry the path inside the
 * union's params, so a pipeline file reports them at their line and column.
 */
const UnionSchema: z.ZodType<UnionParams> = z
  .record(
    z
      .string()
      .regex(BRANCH_NAME, 'a branch name is letters, digits and _ (it names grid keys: union.<branch>.<step>.<param>)'),
    z
      .object({
        steps: z.array(z.unknown()).min(1, 'a branch needs at least one step'),
        weight: z.number().positive().default(1),
      })
      .strict(),
  )
  .superRefine((branches, ctx) => {
    if (Object.keys(branches).length < 1) ctx.addIssue({ code: 'custom', message: 'union needs at least one branch' });
  })
  .transform((branches, ctx) => {
    const out: UnionParams = {};
    for (const [name, branch] of Object.entries(branches)) {
      const steps: BranchStep[] = [];
      branch.steps.forEach((item, i) => {
        const path = [name, 'steps', i];
        // a step as written ({stage: params}), or as validated before ({id, stage, params}: clones, model files)
        const validated = isBranchStep(item);
        if (
          !validated &&
          (item === null || typeof item !== 'object' || Array.isArray(item) || Object.keys(item).length !== 1)
        ) {
          ctx.addIssue({ code: 'custom', path, message: 'each branch step is a one-key map {stage: params}' });
          return;
        }
        const [stage, raw] = validated ? [item.stage, item.params] : Object.entries(item as object)[0];
        const spec = stages().get(stage);
        if (spec?.augments) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, stage],
            message: `${stage} adds training rows, so it belongs in the pipeline's own steps, before the union`,
          });
          return;
        }
        if (!spec || spec.kind !== 'transformer') {
          const allowed = stages()
            .names()
            .filter((n) => stages().get(n)!.kind === 'transformer');
          ctx.addIssue({
            code: 'custom',
            path: [...path, stage],
            message: `unknown transformer "${stage}"; branch steps: ${allowed.join(', ')}`,
          });
          return;
        }
        const parsed = spec.schema.safeParse(raw ?? {});
        if (!parsed.success) {
          for (const issue of parsed.error.issues)
            ctx.addIssue({ ...issue, path: [...path, stage, ...issue.path] } as never);
          return;
        }
        steps.push({ id: stage, stage, params: parsed.data as Record<string, unknown> });
      });
      numberIds(steps);
      out[name] = { steps, weight: branch.weight };
    }
    return out;
  }) as unknown as z.ZodType<UnionParams>;

function isBranchStep(item: unknown): item is BranchStep {
  if (item === null || typeof item !== 'object') return false;
  const o = item as Record<string, unknown>;
  return (
    Object.keys(o).length === 3 &&
    typeof o.id === 'string' &&
    typeof o.stage === 'string' &&
    typeof o.params === 'object'
  );
}

/** Repeated stages in one branch become name-1, name-2 (as pipeline steps do). */
function numberIds(steps: BranchStep[]): void {
  const counts = new Map<string, number>();
  for (const s of steps) counts.set(s.stage, (counts.get(s.stage) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const s of steps) {
    if ((counts.get(s.stage) ?? 0) < 2) continue;
    const n = (seen.get(s.stage) ?? 0) + 1;
    seen.set(s.stage, n);
    s.id = `${s.stage}-${n}`;
  }
}

interface Fitted {
  features: number;
  /** Fitted stages of each branch, in the order of the params. */
  branches: Transformer[][];
  outputs: number[];
}

/**
 * Features out of one branch for `input` features of `shape` in (undefined: not known, at run time); a
 * ParamRangeError names the nested param as branch.step.param.
 */
function branchFeatures(name: string, branch: Branch, input: number, shape: ImageShape | null | undefined): number {
  let flow: { features: number; shape: ImageShape | null | undefined } = { features: input, shape };
  for (const step of branch.steps) {
    const spec = stages().get(step.stage)!;
    try {
      // at run time (shape unknown) only the width is followed
      flow =
        flow.shape === undefined
          ? { features: spec.outputFeatures?.(step.params, flow.features) ?? flow.features, shape: undefined }
          : flowThrough(spec, step.params, { features: flow.features, shape: flow.shape });
    } catch (err) {
      if (err instanceof ParamRangeError) throw new ParamRangeError(`${name}.${step.id}.${err.param}`, err.message);
      throw err;
    }
  }
  return flow.features;
}

/**
 * A feature union (scikit-learn's FeatureUnion): every branch — a short chain of transformers — runs on the same
 * input; their outputs, each times its branch's weight, are concatenated column-wise in the order the branches are
 * written. E.g. fine HOG, coarse HOG and the pixels themselves, side by side.
 */
export class Union extends BaseStage<UnionParams, Fitted> implements Transformer<UnionParams> {
  readonly name = 'union';
  readonly kind = 'transformer' as const;

  constructor(params: Partial<UnionParams> = {}) {
    super(UnionSchema, params);
  }

  private newBranches(): Transformer[][] {
    return Object.values(this.params).map((b) =>
      b.steps.map(
        (s) =>
          stages()
            .get(s.stage)!
            .create(s.params as never) as Transformer,
      ),
    );
  }

  async fit(X: Matrix, y: Uint8Array): Promise<this> {
    await this.fitBranches(X, y, null);
    return this;
  }

  /**
   * fit, keeping each branch's output of the training rows rather than computing it again in transform: the branch's
   * steps run once over X, its last step transforming a block of rows at a time (as transform does) straight into the
   * branch's columns, weighted. The same values as transform(X): every step maps rows independently.
   */
  async fitTransform(X: Matrix, y: Uint8Array): Promise<Matrix> {
    const widths = Object.entries(this.params).map(([name, branch]) => branchFeatures(name, branch, X.cols, undefined));
    const total = widths.reduce((a, b) => a + b, 0);
    const out = sharedFloats(X.rows * total);
    const offsets = widths.map((_, b) => widths.slice(0, b).reduce((a, w) => a + w, 0));
    const weights = Object.values(this.params).map((b) => b.weight);
    await this.fitBranches(X, y, (b, r0, part) => {
      if (part.cols !== widths[b]) throw new Error(`${this.name}: branch ${b + 1} gave ${part.cols} features`);
      placeColumns(out, total, offsets[b], r0, part, weights[b]);
    });
    return matrix(X.rows, total, out);
  }

  /**
   * Fits every branch's steps in turn on the output of the ones before. With `sink`, each branch's output of X goes
   * to `sink` as blocks of rows (its last step transforming TRANSFORM_BLOCK rows at a time, or its fitTransform's
   * output whole); without, the last output is not computed, only its width (transform is called on the union later).
   */
  private async fitBranches(
    X: Matrix,
    y: Uint8Array,
    sink: ((branch: number, r0: number, part: Matrix) => void) | null,
  ): Promise<void> {
    checkXy(this.name, X, y);
    const branches = this.newBranches();
    const names = Object.keys(this.params);
    const outputs: number[] = [];
    for (const [b, chain] of branches.entries()) {
      let current = X;
      let cols = X.cols;
      for (const [i, stage] of chain.entries()) {
        const step = this.params[names[b]].steps[i];
        const last = i === chain.length - 1;
        try {
          if (stage.fitTransform && (!last || sink)) {
            current = await stage.fitTransform(current, y);
            if (last) {
              cols = current.cols;
              sink!(b, 0, current);
            }
            continue;
          }
          await stage.fit(current, y);
        } catch (err) {
          if (err instanceof ParamRangeError)
            throw new ParamRangeError(`${names[b]}.${step.id}.${err.param}`, err.message);
          throw err;
        }
        if (!last) current = await stage.transform(current);
        else if (sink) {
          // in blocks, as transform does: the last step's output of every row is never held at once
          for (let r0 = 0; r0 < current.rows; r0 += TRANSFORM_BLOCK) {
            const r1 = Math.min(current.rows, r0 + TRANSFORM_BLOCK);
            const part = await stage.transform(rowBlock(current, r0, r1));
            cols = part.cols;
            sink(b, r0, part);
          }
        } else
          cols =
            stages()
              .get(step.stage)!
              .outputFeatures?.(step.params as never, current.cols) ?? (await stage.transform(current)).cols;
      }
      outputs.push(cols);
    }
    this.state = { features: X.cols, branches, outputs };
  }

  async transform(X: Matrix): Promise<Matrix> {
    checkFeatures(this.name, X, this.state.features);
    return this.assemble(X.rows, (r0, r1) => {
      const block = rowBlock(X, r0, r1);
      return this.state.branches.map(() => ({ input: block, from: 0 }));
    });
  }

  /**
   * transform's output from the output of the union's row-wise part (splitRowwise(params).rowwise): for the rows of U
   * listed in `rows` (all, in order, when left out), each branch's standard steps and weight on its columns, in one
   * pass. The same float32 values as transform on the rows U was computed from: each step's (x − mean)·scale and the
   * weight's product are rounded to float32 as the steps round them. `into` (shared memory of that size) takes the
   * output instead of a new array.
   */
  async transformRowwise(U: Matrix, rows?: Int32Array, into?: Float32Array): Promise<Matrix> {
    const split = splitRowwise(this.params);
    if (!split) throw new Error(`${this.name}: its branches are not row-wise steps then standard steps`);
    const { outputs } = this.state;
    const weights = Object.values(this.params).map((b) => b.weight);
    // per branch: its columns, weight, and its standard steps' means and scales
    const branches: TailBranch[] = this.state.branches.map((chain, b) => ({
      cols: outputs[b],
      weight: weights[b],
      steps: (chain.slice(split.tails[b]) as Normalize[]).map((step) => step.affine),
    }));
    return applyTails(this.name, U, branches, rows, into);
  }

  /**
   * Fits the union from moments of its row-wise part's output over the training rows rather than from the rows: the
   * row-wise steps learn only their input's width (fitted on X's first row), and each branch's standard steps fit from
   * the count, column means and Σ(u − mean)² (Normalize.fitMoments). Returns the affine map the fitted union applies to
   * the row-wise output, column by column: transformRowwise(U) = (U − alpha)·beta up to float32 rounding.
   */
  async fitMoments(
    X: Matrix,
    rows: number,
    mean: Float64Array,
    m2: Float64Array,
  ): Promise<{ alpha: Float64Array; beta: Float64Array }> {
    const split = splitRowwise(this.params);
    if (!split) throw new Error(`${this.name}: its branches are not row-wise steps then standard steps`);
    const first = matrix(1, X.cols, X.data.slice(0, X.cols));
    const label = new Uint8Array(1);
    const branches = this.newBranches();
    const weights = Object.values(this.params).map((b) => b.weight);
    const outputs: number[] = [];
    const alpha = new Float64Array(mean.length);
    const beta = new Float64Array(mean.length);
    let offset = 0;
    for (const [b, chain] of branches.entries()) {
      let current = first;
      for (const stage of chain.slice(0, split.tails[b]))
        current = await stage.fit(current, label).then((s) => s.transform(current));
      const cols = current.cols;
      const m = mean.slice(offset, offset + cols);
      const v = m2.slice(offset, offset + cols);
      const a = new Float64Array(cols);
      const s = new Float64Array(cols).fill(1);
      for (const stage of chain.slice(split.tails[b]) as Normalize[]) {
        const fitted = stage.fitMoments(rows, m.slice(), v.slice()).affine;
        for (let j = 0; j < cols; j++) {
          // (u − a)·s, then (· − μ)·σ: u − (a + μ/s), times s·σ
          a[j] += fitted.mean[j] / s[j];
          s[j] *= fitted.scale[j];
          m[j] = (m[j] - fitted.mean[j]) * fitted.scale[j];
          v[j] *= fitted.scale[j] * fitted.scale[j];
        }
      }
      for (let j = 0; j < cols; j++) {
        alpha[offset + j] = a[j];
        beta[offset + j] = s[j] * weights[b];
      }
      outputs.push(cols);
      offset += cols;
    }
    if (offset !== mean.length)
      throw new Error(`${this.name}: moments of ${mean.length} columns for ${offset} outputs`);
    this.state = { features: X.cols, branches, outputs };
    return { alpha, beta };
  }

  /**
   * The union's output, block of rows by block: `inputs(r0, r1)` gives each branch its input for rows [r0, r1) and the
   * step to start from; the branches' outputs, weighted, side by side.
   */
  private async assemble(
    rows: number,
    inputs: (r0: number, r1: number) => Array<{ input: Matrix; from: number }>,
  ): Promise<Matrix> {
    const { branches, outputs } = this.state;
    const weights = Object.values(this.params).map((b) => b.weight);
    const total = outputs.reduce((a, b) => a + b, 0);
    const out = sharedFloats(rows * total);
    // Row blocks: every branch step maps rows independently (the contract suite checks a subset of rows gives the
    // batch's rows exactly), so the output is the same, and each branch's intermediates are a block, not 60k rows.
    for (let r0 = 0; r0 < rows; r0 += TRANSFORM_BLOCK) {
      const r1 = Math.min(rows, r0 + TRANSFORM_BLOCK);
      const parts = inputs(r0, r1);
      let offset = 0;
      for (let b = 0; b < branches.length; b++) {
        let current = parts[b].input;
        for (const stage of branches[b].slice(parts[b].from)) current = await stage.transform(current);
        placeColumns(out, total, offset, r0, current, weights[b]);
        offset += current.cols;
      }
    }
    return matrix(rows, total, out);
  }

  protected encode(f: Fitted): Snapshot {
    return {
      features: f.features,
      branches: f.branches.map((chain) => chain.map((stage) => stage.snapshot())),
      outputs: f.outputs,
    };
  }

  protected decode(s: Snapshot): Fitted {
    const branches = this.newBranches();
    const saved = listField(s, 'branches', (v, b) => {
      if (!Array.isArray(v) || v.length !== branches[b]?.length)
        throw new ModelError(`model file: union branch ${b + 1} does not match its steps`);
      return v;
    });
    if (saved.length !== branches.length) throw new ModelError('model file: union branches do not match the params');
    saved.forEach((chain, b) => chain.forEach((state, i) => branches[b][i].restore(objectField({ state }, 'state'))));
    const outputs = listField(s, 'outputs', (v) => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
        throw new ModelError('model file: union outputs should be whole numbers');
      return v;
    });
    const features = s.features;
    if (typeof features !== 'number' || !Number.isInteger(features))
      throw new ModelError('model file: "features" should be a whole number');
    return { features, branches, outputs };
  }
}

/** Rows [r0, r1) of X, sharing its memory. */
function rowBlock(X: Matrix, r0: number, r1: number): Matrix {
  return matrix(r1 - r0, X.cols, X.data.subarray(r0 * X.cols, r1 * X.cols));
}

/** A branch's output rows, times its weight, into columns [offset, offset + cols) of `out`'s rows from `r0` on. */
function placeColumns(out: Float32Array, total: number, offset: number, r0: number, part: Matrix, w: number): void {
  const { rows, cols, data } = part;
  for (let i = 0; i < rows; i++) {
    const src = i * cols;
    const dst = (r0 + i) * total + offset;
    if (w === 1) out.set(data.subarray(src, src + cols), dst);
    else for (let j = 0; j < cols; j++) out[dst + j] = data[src + j] * w;
  }
}

export const unionSpec: StageSpec<UnionParams> = {
  name: 'union',
  kind: 'transformer',
  summary: 'feature union: named branches of transformers on the same input, outputs weighted and side by side',
  schema: UnionSchema,
  savable: (params) => {
    for (const [name, branch] of Object.entries(params)) {
      for (const step of branch.steps) {
        const answer = stages()
          .get(step.stage)!
          .savable(step.params as never);
        if (answer !== true) return `branch ${name}, step ${step.id}: ${answer}`;
      }
    }
    return true;
  },
  create: (params) => new Union(params),
  setParam: (params, path, value) => {
    const [branchName, id, param, ...rest] = path;
    const branch = params[branchName];
    if (!branch) throw new Error(`no branch "${branchName}"; branches: ${Object.keys(params).join(', ')}`);
    if (id === 'weight' && param === undefined)
      return { ...params, [branchName]: { ...branch, weight: value as number } };
    const index = branch.steps.findIndex((s) => s.id === id);
    if (index < 0 || param === undefined || rest.length > 0) {
      throw new Error(
        `expected union.${branchName}.weight or union.${branchName}.<step>.<param> with a step of the branch: ${branch.steps.map((s) => s.id).join(', ')}`,
      );
    }
    const steps = branch.steps.map((s, i) => (i === index ? { ...s, params: { ...s.params, [param]: value } } : s));
    return { ...params, [branchName]: { ...branch, steps } };
  },
  outputFeatures: (params, inputFeatures, shape) =>
    Object.entries(params).reduce((sum, [name, branch]) => sum + branchFeatures(name, branch, inputFeatures, shape), 0),
  bindShape: (params, shape) =>
    Object.fromEntries(
      Object.entries(params).map(([name, branch]) => [
        name,
        {
          ...branch,
          steps: bindFlow(branch.steps, { features: shape ? shapeSize(shape) : 0, shape }, (s) => stages().get(s)!),
        },
      ]),
    ),
};
