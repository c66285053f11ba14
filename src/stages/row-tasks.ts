import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { runAll, sharedFloat32, workerCount } from '../runtime/pool.js';

/** A kernel that turns `rows` rows of `src` into rows of `out`, each row from its own row alone. */
export type RowKernel<P> = (src: Float32Array, rows: number, params: P, out: Float32Array) => void;

/**
 * Rows through a row-wise kernel: on the calling thread for up to `taskRows` rows (or without workers), else in blocks of
 * `taskRows` on the worker pool, each block reading its part of a shared copy of X and writing its part of the shared
 * output. `module` is the kernel's module URL (one without a parameter schema, so a worker loads it cheaply) and `fn`
 * its export name, the same function as `kernel`.
 */
export async function transformRows<P>(
  X: Matrix,
  features: number,
  params: P,
  kernel: RowKernel<P>,
  task: { module: string; fn: string; taskRows: number },
): Promise<Matrix> {
  const { rows, cols } = X;
  const out = sharedFloats(rows * features);
  if (rows <= task.taskRows || workerCount() <= 1) {
    kernel(X.data, rows, params, out);
  } else {
    const source = sharedFloat32(X.data);
    const tasks = [];
    for (let r0 = 0; r0 < rows; r0 += task.taskRows) {
      const r1 = Math.min(rows, r0 + task.taskRows);
      const args = [source.subarray(r0 * cols, r1 * cols), r1 - r0, params, out.subarray(r0 * features, r1 * features)];
      tasks.push({ module: task.module, fn: task.fn, args });
    }
    await runAll(tasks);
  }
  return matrix(rows, features, out);
}
