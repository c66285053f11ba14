import test from 'ava';
import { readFileSync } from 'node:fs';
import { ConfusionMatrix } from 'ml-confusion-matrix';
import { accuracy, classificationReport, confusionMatrix, meanStd } from '../src/metrics/classification.js';
import { classificationReportText } from '../src/report/text.js';
import { CLASS_NAMES } from '../src/data/fashion-mnist.js';

/** Produced by scikit-learn 1.2.1 (Debian python3-sklearn): classification_report(..., digits=4) and output_dict. */
interface SklearnFixture {
  y_true: number[];
  y_pred: number[];
  text: string;
  dict: Record<string, { precision: number; recall: number; 'f1-score': number; support: number } | number>;
}
const fixture = JSON.parse(
  readFileSync(new URL('../../test/fixtures/sklearn-report.json', import.meta.url), 'utf8'),
) as SklearnFixture;

test('a hand-computed case: precision, recall, F1, supports, averages', (t) => {
  // true: 0 0 0 1 1 2 ; predicted: 0 0 1 1 1 0
  const cm = confusionMatrix([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 1, 0], 3);
  t.deepEqual(cm, [
    [2, 1, 0],
    [0, 2, 0],
    [1, 0, 0],
  ]);
  const r = classificationReport(cm);
  t.is(r.perClass[0].precision, 2 / 3);
  t.is(r.perClass[0].recall, 2 / 3);
  t.is(r.perClass[1].precision, 2 / 3);
  t.is(r.perClass[1].recall, 1);
  t.is(r.perClass[1].f1, 0.8);
  t.is(r.perClass[2].precision, 0); // never predicted: 0, as scikit-learn with zero_division=0
  t.is(r.perClass[2].f1, 0);
  t.is(r.accuracy, 4 / 6);
  t.is(r.support, 6);
  t.true(Math.abs(r.macroAvg.f1 - (2 / 3 + 0.8 + 0) / 3) < 1e-12);
  t.true(Math.abs(r.weightedAvg.recall - (3 * (2 / 3) + 2 * 1 + 0) / 6) < 1e-12);
});

test('numbers match scikit-learn output_dict on a 300-sample, 10-class case', (t) => {
  const r = classificationReport(confusionMatrix(fixture.y_true, fixture.y_pred, 10));
  for (const c of r.perClass) {
    const ref = fixture.dict[String(c.label)] as {
      precision: number;
      recall: number;
      'f1-score': number;
      support: number;
    };
    t.true(Math.abs(c.precision - ref.precision) < 1e-12);
    t.true(Math.abs(c.recall - ref.recall) < 1e-12);
    t.true(Math.abs(c.f1 - ref['f1-score']) < 1e-12);
    t.is(c.support, ref.support);
  }
  t.true(Math.abs(r.accuracy - (fixture.dict.accuracy as number)) < 1e-12);
  const macro = fixture.dict['macro avg'] as { 'f1-score': number };
  t.true(Math.abs(r.macroAvg.f1 - macro['f1-score']) < 1e-12);
});

test('the text report is character for character scikit-learn’s layout', (t) => {
  const r = classificationReport(confusionMatrix(fixture.y_true, fixture.y_pred, 10));
  t.is(classificationReportText(r, CLASS_NAMES, 4), fixture.text);
});

test('agrees with ml-confusion-matrix on counts, accuracy and per-class scores', (t) => {
  const oracle = ConfusionMatrix.fromLabels(fixture.y_true, fixture.y_pred, { labels: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] });
  const cm = confusionMatrix(fixture.y_true, fixture.y_pred, 10);
  t.deepEqual(cm, oracle.getMatrix());
  const r = classificationReport(cm);
  t.true(Math.abs(r.accuracy - oracle.getAccuracy()) < 1e-12);
  for (let c = 0; c < 10; c++) {
    t.true(Math.abs(r.perClass[c].precision - oracle.getPositivePredictiveValue(c)) < 1e-12);
    t.true(Math.abs(r.perClass[c].recall - oracle.getTruePositiveRate(c)) < 1e-12);
  }
  t.is(accuracy(fixture.y_true, fixture.y_pred), r.accuracy);
});

test('meanStd uses the population standard deviation; length mismatches throw', (t) => {
  t.deepEqual(meanStd([1, 3]), { mean: 2, std: 1 });
  t.throws(() => confusionMatrix([0, 1], [0], 2), { message: /2 true labels but 1 predictions/ });
  t.throws(() => confusionMatrix([0, 5], [0, 1], 2), { message: /label 5 outside 0\.\.1/ });
});
