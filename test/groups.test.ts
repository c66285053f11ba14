import test from 'ava';
import { matrix, type Matrix } from '../src/linalg/matrix.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { stratifiedFolds } from '../src/stages/folds.js';
import { Knn } from '../src/stages/knn.js';
import type { FitOptions } from '../src/stages/stage.js';
import { registry } from '../src/stages/registry.js';

test.after.always(() => shutdownPool());

test('in-fit folds keep a sample and its augmented copies together, and stay stratified', (t) => {
  const n = 60;
  const y = Uint8Array.from({ length: 2 * n }, (_, i) => (i % n) % 3);
  const groups = Int32Array.from({ length: 2 * n }, (_, i) => i % n); // rows n.. are copies of rows 0..
  const fold = stratifiedFolds(y, 4, 1, groups);
  for (let i = 0; i < n; i++) t.is(fold[i], fold[i + n], `row ${i} and its copy`);
  for (let f = 0; f < 4; f++) {
    for (let c = 0; c < 3; c++) {
      const count = Array.from(y.keys()).filter((i) => fold[i] === f && y[i] === c).length;
      t.is(count, 10, `fold ${f} class ${c}`); // 20 samples of a class: 5 a fold, 2 rows each
    }
  }
  t.deepEqual(
    Array.from(stratifiedFolds(y.subarray(0, n), 4, 1)),
    Array.from(fold.subarray(0, n)),
    "without copies, the same samples' folds",
  );
});

test('a pipeline that flips its training photos tells its estimator which rows are copies of which', async (t) => {
  const seen: Array<Int32Array | undefined> = [];
  class Recording extends Knn {
    override async fit(X: Matrix, y: Uint8Array, options?: FitOptions): Promise<this> {
      seen.push(options?.groups);
      return super.fit(X, y);
    }
  }
  const rows = 12;
  const X = matrix(
    rows,
    4 * 4,
    Float32Array.from({ length: rows * 16 }, (_, i) => (i * 37) % 255),
  );
  const y = Uint8Array.from({ length: rows }, (_, i) => i % 2);
  const flip = registry.get('flip')!.create({ image: { height: 4, width: 4, channels: 1 } });
  await new Pipeline([
    { id: 'flip', stage: flip },
    { id: 'knn', stage: new Recording({ k: 1 }) },
  ]).fit(X, y);
  t.deepEqual(Array.from(seen[0]!), [
    ...Array.from({ length: rows }, (_, i) => i),
    ...Array.from({ length: rows }, (_, i) => i),
  ]);
  seen.length = 0;
  await new Pipeline([{ id: 'knn', stage: new Recording({ k: 1 }) }]).fit(X, y);
  t.is(seen[0], undefined, 'no augmentation: no groups');
});
