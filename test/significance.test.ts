import test from 'ava';
import fc from 'fast-check';
import {
  binomialTwoSided,
  chiSquare1Sf,
  correctedResampledTTest,
  erfc,
  holm,
  mcnemar,
  mcnemarFromCounts,
  pairedTTest,
  studentTTwoSided,
} from '../src/metrics/significance.js';

const close = (actual: number, expected: number, rel = 1e-9) =>
  Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300);

// Reference values from scipy 1.x (binomtest, chi2.sf, t.sf, ttest_rel, special.erfc), pasted as constants.

test('McNemar b=10, c=2: exact binomial p = 2·(1+12+66)/4096 = 0.0385742…', (t) => {
  const r = mcnemarFromCounts(10, 2);
  t.is(r.method, 'exact');
  t.is(r.statistic, 2);
  t.true(close(r.pValue, 158 / 4096), String(r.pValue));
  t.true(close(r.pValue, 0.03857421875));
});

test('McNemar b=10, c=2 with the chi-square form: χ² = 49/12, p = 0.0433081…', (t) => {
  const r = mcnemarFromCounts(10, 2, 0);
  t.is(r.method, 'chi-square');
  t.true(close(r.statistic, 49 / 12));
  t.true(close(r.pValue, 0.04330814281079206, 1e-7), String(r.pValue));
});

test('McNemar switches to chi-square at 25 discordant pairs', (t) => {
  t.is(mcnemarFromCounts(20, 4).method, 'exact');
  t.true(close(mcnemarFromCounts(20, 4).pValue, 0.001543879508972168));
  const big = mcnemarFromCounts(300, 240);
  t.is(big.method, 'chi-square');
  t.true(close(big.statistic, 6.446296296296296));
  t.true(close(big.pValue, 0.01111838850785766, 1e-7));
});

test('McNemar edge cases: no discordant pairs gives p = 1; symmetric counts give p = 1', (t) => {
  t.is(mcnemarFromCounts(0, 0).pValue, 1);
  t.is(mcnemarFromCounts(6, 6).pValue, 1);
  t.true(close(mcnemarFromCounts(0, 5).pValue, 0.0625));
  t.true(close(mcnemarFromCounts(7, 5).pValue, 0.7744140625));
});

test('mcnemar counts the 2×2 table from predictions', (t) => {
  const y = [0, 1, 2, 3, 4, 5, 6, 7];
  const a = [0, 1, 2, 3, 9, 9, 6, 9];
  const b = [0, 1, 9, 9, 4, 5, 9, 9];
  const r = mcnemar(y, a, b);
  t.deepEqual(
    { bothRight: r.bothRight, b: r.b, c: r.c, bothWrong: r.bothWrong },
    { bothRight: 2, b: 3, c: 2, bothWrong: 1 },
  );
  t.throws(() => mcnemar(y, a, b.slice(1)));
});

test('binomialTwoSided is symmetric and never above 1', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 60 }), (k, extra) => {
      const n = k + extra;
      const p = binomialTwoSided(k, n);
      return p > 0 && p <= 1 && close(p, binomialTwoSided(n - k, n), 1e-12);
    }),
  );
  t.pass();
});

test('chi-square and erfc tails match scipy, tiny tails included', (t) => {
  t.true(close(chiSquare1Sf(3.841458820694124), 0.05, 1e-9));
  t.true(close(chiSquare1Sf(0.5), 0.47950012218695337, 1e-12));
  t.true(close(chiSquare1Sf(50), 1.537459794428033e-12, 1e-9));
  t.true(close(chiSquare1Sf(100), 1.5239706048320995e-23, 1e-9));
  t.true(close(erfc(0.1), 0.8875370839817152, 1e-13));
  t.true(close(erfc(1.5), 0.03389485352468927, 1e-12));
  t.true(close(erfc(2.5), 0.00040695201744495886, 1e-12));
  t.true(close(erfc(6), 2.1519736712498913e-17, 1e-10));
});

test("Student's t two-sided p-values match scipy", (t) => {
  t.true(close(studentTTwoSided(2.5, 4), 0.06676654481198814, 1e-10));
  t.true(close(studentTTwoSided(1.0, 9), 0.3434363961379136, 1e-10));
  t.true(close(studentTTwoSided(10, 2), 0.00985245702332569, 1e-10));
  t.true(close(studentTTwoSided(-10, 2), 0.00985245702332569, 1e-10));
  t.is(studentTTwoSided(0, 3), 1);
});

// Fold accuracies of the real pca-rf and rf-raw runs (5 folds, same folds).
const pcaRf = [0.8695, 0.87, 0.8669166666666667, 0.8618333333333333, 0.86575];
const rfRaw = [0.8824166666666666, 0.8841666666666667, 0.8855, 0.879, 0.8805];

test('paired t-test equals scipy ttest_rel', (t) => {
  const r = pairedTTest(pcaRf, rfRaw);
  t.is(r.df, 4);
  t.true(close(r.t, 15.036679643697353, 1e-9));
  t.true(close(r.pValue, 0.00011398441901679748, 1e-7));
});

test('Nadeau–Bengio corrected resampled t-test: variance × (1/k + 1/(k−1)), by hand with numpy', (t) => {
  const r = correctedResampledTTest(pcaRf, rfRaw);
  t.true(close(r.t, 10.024453095798235, 1e-9));
  t.true(close(r.pValue, 0.0005567141386945184, 1e-7));
  // The correction only ever shrinks t: |t_corrected| = |t| / sqrt(1 + k/(k−1)).
  t.true(close(r.t, pairedTTest(pcaRf, rfRaw).t / Math.sqrt(1 + 5 / 4)));
  t.true(close(correctedResampledTTest(pcaRf, rfRaw, 0.25).t, r.t));
});

test('t-tests on identical or constant differences do not divide by zero', (t) => {
  const same = correctedResampledTTest([0.8, 0.9, 0.85], [0.8, 0.9, 0.85]);
  t.is(same.t, 0);
  t.is(same.pValue, 1);
  const shifted = correctedResampledTTest([0.8, 0.9, 0.85], [0.81, 0.91, 0.86]);
  t.is(shifted.pValue, 0);
  t.is(shifted.t, Infinity);
  t.throws(() => pairedTTest([1], [2]));
});

test('Holm adjustment by hand', (t) => {
  const adjusted = holm([0.01, 0.04, 0.03, 0.005]);
  const expected = [0.03, 0.06, 0.06, 0.02];
  adjusted.forEach((p, i) => t.true(close(p, expected[i], 1e-12), `${i}: ${p}`));
  t.deepEqual(holm([]), []);
  t.deepEqual(holm([0.9, 0.8]), [1, 1]);
});
