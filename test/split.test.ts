import test from 'ava';
import fc from 'fast-check';
import { foldsId } from '../src/evaluate/fit-and-score.js';
import { smallestClassCount, stratifiedKFold, stratifiedSubset } from '../src/data/split.js';

const labelsArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 10, maxLength: 400 });

test('property: folds are disjoint, cover every row once, and train = complement of test', (t) => {
  fc.assert(
    fc.property(labelsArb, fc.integer({ min: 2, max: 6 }), fc.nat(), (y, k, seed) => {
      fc.pre(smallestClassCount(y) >= k);
      const folds = stratifiedKFold(y, k, seed);
      const seen = new Int32Array(y.length);
      for (const f of folds) {
        for (const i of f.test) seen[i]++;
        if (f.train.length + f.test.length !== y.length) return false;
        const inTest = new Set(f.test);
        if (f.train.some((i) => inTest.has(i))) return false;
      }
      return seen.every((c) => c === 1) && folds.length === k;
    }),
    { numRuns: 200 },
  );
  t.pass();
});

test('property: each class is spread over folds within one row, fold sizes within one', (t) => {
  fc.assert(
    fc.property(labelsArb, fc.integer({ min: 2, max: 6 }), fc.nat(), (y, k, seed) => {
      fc.pre(smallestClassCount(y) >= k);
      const folds = stratifiedKFold(y, k, seed);
      const sizes = folds.map((f) => f.test.length);
      if (Math.max(...sizes) - Math.min(...sizes) > 1) return false;
      for (const c of new Set(y)) {
        const perFold = folds.map((f) => Array.from(f.test).filter((i) => y[i] === c).length);
        if (Math.max(...perFold) - Math.min(...perFold) > 1) return false;
      }
      return true;
    }),
    { numRuns: 200 },
  );
  t.pass();
});

test('folds depend on the seed and only on the seed', (t) => {
  const y = Array.from({ length: 100 }, (_, i) => i % 3);
  const a = stratifiedKFold(y, 5, 1);
  t.deepEqual(a, stratifiedKFold(y, 5, 1));
  t.notDeepEqual(
    a.map((f) => Array.from(f.test)),
    stratifiedKFold(y, 5, 2).map((f) => Array.from(f.test)),
  );
});

test('too many folds for the smallest class is refused', (t) => {
  t.throws(() => stratifiedKFold([0, 0, 0, 1, 1], 3, 0), { message: /3 folds but the smallest class has only 2 rows/ });
  t.throws(() => stratifiedKFold([0, 1], 1, 0), { message: /integer ≥ 2/ });
});

test('property: stratified subsets have the asked size and keep class proportions within one row', (t) => {
  fc.assert(
    fc.property(labelsArb, fc.integer({ min: 1, max: 400 }), fc.nat(), (y, size, seed) => {
      const rows = stratifiedSubset(y, size, seed);
      const n = Math.min(size, y.length);
      if (rows.length !== n) return false;
      if (new Set(rows).size !== rows.length) return false;
      for (let i = 1; i < rows.length; i++) if (rows[i] <= rows[i - 1]) return false;
      for (const c of new Set(y)) {
        const have = Array.from(rows).filter((i) => y[i] === c).length;
        const total = y.filter((v) => v === c).length;
        if (Math.abs(have - (total * n) / y.length) >= 1) return false;
      }
      return true;
    }),
    { numRuns: 200 },
  );
  t.pass();
});

test('fold ids tell apart partitions whose concatenated test indices are equal', (t) => {
  const fold = (test: number[]) => ({ train: new Int32Array(0), test: Int32Array.from(test) });
  t.not(foldsId([fold([0, 1]), fold([2])]), foldsId([fold([0]), fold([1, 2])]));
  t.is(foldsId([fold([0, 1]), fold([2])]), foldsId([fold([0, 1]), fold([2])]));
});
