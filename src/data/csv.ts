import { matrix, sharedFloats } from '../linalg/matrix.js';
import type { Dataset, LabelledRows } from './dataset.js';
import { DataError } from './errors.js';
import { CLASS_NAMES, FASHION_SHAPE, PIXELS } from './fashion-mnist.js';
import { FileReadError, readRegularFile } from '../util/read-file.js';

/**
 * Parses Kaggle's Fashion-MNIST CSV layout: a header `label,pixel1,…,pixel784`, then one image a line, label first,
 * each value an integer (labels 0..9, pixels 0..255). Any malformed line is an error naming the file and line.
 */
export function parseCsv(text: string, what: string): Dataset {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  if (lines.length === 0) throw new DataError(`${what}: empty file; expected a header label,pixel1,…,pixel${PIXELS}`);
  const header = lines[0].replace(/\r$/, '').split(',');
  if (header.length !== PIXELS + 1 || header[0].trim() !== 'label') {
    throw new DataError(
      `${what}:1: header must be label,pixel1,…,pixel${PIXELS} (${PIXELS + 1} columns), got ${header.length} columns starting "${header.slice(0, 2).join(',')}"`,
    );
  }
  const n = lines.length - 1;
  // A row is at least 785 one-digit values and 784 commas. When the text is too short for n such rows, some line is
  // malformed and parsing throws on it: rows are then parsed into one scratch row, so a file of millions of short
  // lines never allocates millions of rows.
  const rowsFit = n <= Math.floor(text.length / (2 * PIXELS + 1));
  const X = sharedFloats(rowsFit ? n * PIXELS : PIXELS);
  const y = new Uint8Array(rowsFit ? n : 1);
  for (let r = 0; r < n; r++) {
    const lineNo = r + 2;
    const line = lines[r + 1];
    const row = rowsFit ? r : 0;
    let field = 0;
    let value = 0;
    let digits = 0;
    let spaceAfterDigits = false;
    const end = line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.length - 1 : line.length;
    for (let i = 0; i <= end; i++) {
      const ch = i < end ? line.charCodeAt(i) : 44;
      if (ch === 44) {
        if (digits === 0) throw new DataError(`${what}:${lineNo}: column ${field + 1} is empty or not a whole number`);
        if (field === 0) {
          if (value >= CLASS_NAMES.length) throw new DataError(`${what}:${lineNo}: label ${value} is not a class (0..${CLASS_NAMES.length - 1})`);
          y[row] = value;
        } else {
          if (field > PIXELS) throw new DataError(`${what}:${lineNo}: more than ${PIXELS + 1} columns`);
          if (value > 255) throw new DataError(`${what}:${lineNo}: pixel${field} is ${value}, expected 0..255`);
          X[row * PIXELS + field - 1] = value;
        }
        field++;
        value = 0;
        digits = 0;
        spaceAfterDigits = false;
      } else if (ch >= 48 && ch <= 57) {
        if (spaceAfterDigits) throw new DataError(`${what}:${lineNo}: column ${field + 1} has a space inside the number`);
        value = value * 10 + (ch - 48);
        digits++;
      } else if (ch === 32 || ch === 9) {
        if (digits > 0) spaceAfterDigits = true; // spaces around a value are fine, inside it they are not
      } else {
        throw new DataError(`${what}:${lineNo}: column ${field + 1} is not a whole number (found ${JSON.stringify(line[i])})`);
      }
    }
    if (field !== PIXELS + 1) throw new DataError(`${what}:${lineNo}: ${field} columns, expected ${PIXELS + 1}`);
  }
  if (!rowsFit) throw new Error(`${what}: parsed ${n} rows that cannot fit in ${text.length} characters`);
  return { X: matrix(n, PIXELS, X), y, shape: FASHION_SHAPE, classes: CLASS_NAMES };
}

/** The largest CSV file read (1 GB: Fashion-MNIST's 70,000 rows take 160 MB as CSV). */
export const MAX_CSV_BYTES = 2 ** 30;

/** Reads a CSV file from disk (`what` names it in errors). */
export function readCsv(path: string, what = path): Dataset {
  let text: string;
  try {
    text = readRegularFile(path, MAX_CSV_BYTES).toString('utf8');
  } catch (err) {
    if (err instanceof FileReadError) throw new DataError(`${what}: ${err.message}`);
    throw err;
  }
  return parseCsv(text, what);
}

/** Writes a dataset in the same layout (tests, and converting IDX to CSV). */
export function toCsv(data: LabelledRows): string {
  const header = ['label', ...Array.from({ length: PIXELS }, (_, i) => `pixel${i + 1}`)].join(',');
  const out = [header];
  for (let r = 0; r < data.y.length; r++) {
    const px = Array.from(data.X.data.subarray(r * PIXELS, (r + 1) * PIXELS), (v) => String(Math.round(v)));
    out.push(`${data.y[r]},${px.join(',')}`);
  }
  return out.join('\n') + '\n';
}
