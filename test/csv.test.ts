import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseCsv, readCsv, toCsv } from '../src/data/csv.js';
import { DataError } from '../src/data/errors.js';
import { matrix } from '../src/linalg/matrix.js';
import { fashionSample, tempDir } from './helpers.js';

const header = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i + 1}`)].join(',');
const rowOf = (label: number | string, fill = '0') => [String(label), ...new Array(784).fill(fill)].join(',');

test('a CSV written from real images reads back identical (CRLF and trailing newline tolerated)', (t) => {
  const sample = fashionSample(30);
  const text = toCsv(sample);
  const back = parseCsv(text, 'x.csv');
  t.deepEqual(Array.from(back.y), Array.from(sample.y));
  t.deepEqual(Array.from(back.X.data), Array.from(sample.X.data));
  const crlf = parseCsv(text.replace(/\n/g, '\r\n') + '\r\n', 'x.csv');
  t.deepEqual(Array.from(crlf.X.data), Array.from(sample.X.data));
  const spaced = parseCsv(text.replace(/,/g, ' , '), 'x.csv');
  t.deepEqual(Array.from(spaced.y), Array.from(sample.y), 'spaces around values are allowed');
});

test('malformed lines are errors with the line number', (t) => {
  const cases: Array<[string, RegExp]> = [
    [`${header}\n${rowOf(3)}\n${rowOf(11)}\n`, /f\.csv:3: label 11 is not a class/],
    [`${header}\n${rowOf(3, '256')}\n`, /f\.csv:2: pixel1 is 256, expected 0\.\.255/],
    [`${header}\n${rowOf(3, '1.5')}\n`, /f\.csv:2: column 2 is not a whole number \(found "\."\)/],
    [`${header}\n${rowOf(3)},0\n`, /f\.csv:2: more than 785 columns/],
    [`${header}\n${rowOf(3).split(',').slice(0, 700).join(',')}\n`, /f\.csv:2: 700 columns, expected 785/],
    [`${header}\n3,,${new Array(783).fill(0).join(',')}\n`, /f\.csv:2: column 2 is empty/],
    [`label,a,b\n1,2,3\n`, /f\.csv:1: header must be label,pixel1/],
    ['', /empty file/],
    [`${header}\n3,1 2,${new Array(783).fill(0).join(',')}\n`, /f\.csv:2: column 2 has a space inside the number/],
  ];
  for (const [text, message] of cases) t.throws(() => parseCsv(text, 'f.csv'), { instanceOf: DataError, message });
});

test('property: any valid dataset survives toCsv → parseCsv', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.uint8Array({ minLength: 784, maxLength: 784 })), {
        minLength: 1,
        maxLength: 5,
      }),
      (rows) => {
        const X = new Float32Array(rows.length * 784);
        rows.forEach(([, px], i) => X.set(px, i * 784));
        const data = { X: matrix(rows.length, 784, X), y: Uint8Array.from(rows.map(([l]) => l)) };
        const back = parseCsv(toCsv(data), 'p.csv');
        return back.y.every((v, i) => v === data.y[i]) && back.X.data.every((v, i) => v === X[i]);
      },
    ),
    { numRuns: 30 },
  );
  t.pass();
});

test('readCsv names a missing file', (t) => {
  const dir = tempDir();
  t.throws(() => readCsv(join(dir, 'nope.csv')), { message: /nope\.csv: no such file/ });
  writeFileSync(join(dir, 'one.csv'), `${header}\n${rowOf(4, '9')}\n`);
  t.is(readCsv(join(dir, 'one.csv')).y[0], 4);
});
