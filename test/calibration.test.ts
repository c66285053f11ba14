import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { calibration } from '../src/metrics/calibration.js';

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../test/fixtures/calibration/sklearn.json', import.meta.url)), 'utf8'),
) as {
  classes: number;
  y: number[];
  proba: number[];
  predicted: number[];
  log_loss: number;
  brier: number;
  ece: number;
  bins: Array<{ lo: number; hi: number; count: number; confidence: number | null; accuracy: number | null }>;
};

test('log-loss, Brier score, ECE and the reliability bins agree with scikit-learn / NumPy on 500 rows of 4 classes', (t) => {
  const c = calibration(fixture.y, fixture.predicted, Float32Array.from(fixture.proba), fixture.classes);
  t.true(Math.abs(c.log_loss - fixture.log_loss) < 1e-9, `log-loss ${c.log_loss} vs ${fixture.log_loss}`);
  t.true(Math.abs(c.brier - fixture.brier) < 1e-9, `Brier ${c.brier} vs ${fixture.brier}`);
  t.true(Math.abs(c.ece - fixture.ece) < 1e-9, `ECE ${c.ece} vs ${fixture.ece}`);
  t.is(c.bins.length, fixture.bins.length);
  c.bins.forEach((bin, b) => {
    const want = fixture.bins[b];
    t.is(bin.count, want.count, `bin ${b} count`);
    t.true(Math.abs(bin.lo - want.lo) < 1e-12 && Math.abs(bin.hi - want.hi) < 1e-12);
    for (const key of ['confidence', 'accuracy'] as const) {
      if (want[key] === null) t.is(bin[key], null);
      else t.true(Math.abs(bin[key]! - want[key]) < 1e-9, `bin ${b} ${key}`);
    }
  });
});

test('perfect and hopeless probabilities: ECE 0 and log-loss 0 when sure and right; sure and wrong is capped at 1e-15', (t) => {
  const right = calibration([0, 1, 2], [0, 1, 2], [1, 0, 0, 0, 1, 0, 0, 0, 1], 3);
  t.is(right.ece, 0);
  t.true(right.log_loss < 1e-12);
  t.is(right.brier, 0);
  const wrong = calibration([1], [0], [1, 0], 2);
  t.is(wrong.ece, 1);
  t.true(Math.abs(wrong.log_loss - -Math.log(1e-15)) < 1e-9);
  t.is(wrong.brier, 2);
});

test('refuses rows without probability mass and mismatched lengths, naming them', (t) => {
  t.throws(() => calibration([0], [0], [0, 0], 2), { message: /row 0 has no probability mass/ });
  t.throws(() => calibration([0, 1], [0], [1, 0, 0, 1], 2), { message: /2 labels, 1 predictions/ });
});
