/**
 * The row-wise part of a union, for fits shared across folds (pipeline/shared-fit.ts): which branches split into
 * row-wise steps then standard steps (splitRowwise), and the standard steps and weights applied to the row-wise output
 * (applyTails, on the workers for large outputs). Union.fitMoments and Union.transformRowwise use them.
 */
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { runAll, sharedFloat32, splitRange, workerCount } from '../runtime/pool.js';
import { stages } from './stage-catalogue.js';
import type { BranchStep, UnionParams } from './union.js';

/** One branch of the union's standard steps after its row-wise part (applyTails). */
export interface TailBranch {
  cols: number;
  weight: number;
  steps: Array<{ mean: Float64Array; scale: Float64Array }>;
}

/** Values from which applyTails splits its rows over the workers. */
const PARALLEL_TAIL = 1 << 22;

/**
 * Pool task (and the inline path) of applyTails: output rows r0..r1−1, from the rows of U that `rows` lists
 * (rows[0] is output row r0's; null: U's rows r0..r1−1), each branch's columns through its standard steps and weight,
 * every product rounded to float32 as the stages round them.
 */
export function tailRows(
  U: Float32Array,
  total: number,
  rows: Int32Array | null,
  r0: number,
  r1: number,
  out: Float32Array,
  branches: TailBranch[],
): void {
  for (let i = r0; i < r1; i++) {
    const src = (rows ? rows[i - r0] : i) * total;
    const dst = i * total;
    let offset = 0;
    for (const { cols, weight, steps } of branches) {
      const o = dst + offset;
      out.set(U.subarray(src + offset, src + offset + cols), o);
      for (const { mean, scale } of steps)
        for (let j = 0; j < cols; j++) out[o + j] = (out[o + j] - mean[j]) * scale[j];
      if (weight !== 1) for (let j = 0; j < cols; j++) out[o + j] *= weight;
      offset += cols;
    }
  }
}

/**
 * A union's row-wise part, for fits shared across folds (pipeline/shared-fit.ts): when every branch is one or more
 * row-wise steps (StageSpec.rowwise) followed by zero or more `normalize: standard`, `rowwise` is the union of the
 * row-wise steps alone (weights 1: its output for a row depends on that row only) and `tails[b]` is where branch b's
 * standard steps start; otherwise null.
 */
export function splitRowwise(params: UnionParams): { rowwise: UnionParams; tails: number[] } | null {
  const rowwise: UnionParams = {};
  const tails: number[] = [];
  for (const [name, branch] of Object.entries(params)) {
    const isRowwise = (s: BranchStep) =>
      stages()
        .get(s.stage)
        ?.rowwise?.(s.params as never) === true;
    const isStandard = (s: BranchStep) => s.stage === 'normalize' && s.params.method === 'standard';
    let tail = 0;
    while (tail < branch.steps.length && isRowwise(branch.steps[tail])) tail++;
    if (tail === 0 || !branch.steps.slice(tail).every(isStandard)) return null;
    rowwise[name] = { steps: branch.steps.slice(0, tail), weight: 1 };
    tails.push(tail);
  }
  return { rowwise, tails };
}

/**
 * The union's output from its row-wise part's output U: for the rows of U listed in `rows` (all, in order, when left
 * out), each branch's standard steps and weight on its columns, in one pass (row ranges on the workers from
 * PARALLEL_TAIL values, each writing its part of the shared output: the same values). `into` (shared, n × columns)
 * takes the output instead of a new array: a caller going block by block reuses one.
 */
export async function applyTails(
  name: string,
  U: Matrix,
  branches: TailBranch[],
  rows?: Int32Array,
  into?: Float32Array,
): Promise<Matrix> {
  const total = branches.reduce((a, b) => a + b.cols, 0);
  if (U.cols !== total) throw new Error(`${name}: row-wise output has ${U.cols} columns, expected ${total}`);
  const n = rows ? rows.length : U.rows;
  if (into && !(into.buffer instanceof SharedArrayBuffer && into.length === n * total))
    throw new Error(`${name}: the output buffer should be shared memory of ${n} × ${total} values`);
  const out = into ?? sharedFloats(n * total);
  const list = rows ?? null;
  if (n * total < PARALLEL_TAIL || workerCount() < 2) {
    tailRows(U.data, total, list, 0, n, out, branches);
    return matrix(n, total, out);
  }
  const source = sharedFloat32(U.data);
  await runAll(
    splitRange(n, workerCount()).map(([r0, r1]) => ({
      module: import.meta.url,
      fn: 'tailRows',
      args: [source, total, list ? list.subarray(r0, r1) : null, r0, r1, out, branches],
    })),
  );
  return matrix(n, total, out);
}
