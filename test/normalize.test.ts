import test from 'ava';
import { matrix } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { createRng } from '../src/util/rng.js';
import { Normalize } from '../src/stages/normalize.js';
import { withEnv } from './helpers.js';

test.after.always(async () => {
  await shutdownPool();
});

/** Runs `fn` with $FASHION_WORKERS set (1: every step on this thread). */
const withWorkers = <T>(n: string, fn: () => Promise<T>): Promise<T> => withEnv('FASHION_WORKERS', n, fn);

test.serial('large inputs are scaled on the workers: every method gives the values of one thread', async (t) => {
  const rng = createRng(3);
  const rows = 1500;
  const cols = 784; // over a million values: the parallel path
  const X = matrix(
    rows,
    cols,
    Float32Array.from({ length: rows * cols }, () => rng.int(256)),
  );
  for (const method of ['minmax', 'sqrt', 'standard', 'l2'] as const) {
    const one = await withWorkers('1', async () =>
      (await new Normalize({ method }).fit(X, new Uint8Array(rows))).transform(X),
    );
    const two = await withWorkers('2', async () =>
      (await new Normalize({ method }).fit(X, new Uint8Array(rows))).transform(X),
    );
    t.deepEqual(two.data, one.data, method);
  }
});

test.serial('sqrt refuses a negative value naming the first bad row, on the workers as on one thread', async (t) => {
  const rows = 1500;
  const cols = 784;
  const X = matrix(rows, cols, new Float32Array(rows * cols).fill(4));
  X.data[1400 * cols + 3] = -1; // in the second worker's rows
  X.data[500 * cols + 7] = -2; // in the first's
  for (const workers of ['1', '2']) {
    await t.throwsAsync(
      withWorkers(workers, async () =>
        (await new Normalize({ method: 'sqrt' }).fit(X, new Uint8Array(rows))).transform(X),
      ),
      { message: 'normalize: method sqrt needs values ≥ 0, got -2 (row 501)' },
      `${workers} worker(s)`,
    );
  }
});
