import test from 'ava';
import { gramOfRows, integerGramOfRows } from '../src/linalg/gram.js';
import { createRng } from '../src/util/rng.js';

/** Integers q in [lo, hi] (rows × d), and the same as float32(q / D). */
function gridData(
  rows: number,
  d: number,
  D: number,
  lo: number,
  hi: number,
  seed: number,
): { q: Int32Array; x: Float32Array } {
  const rng = createRng(seed);
  const q = new Int32Array(rows * d);
  const x = new Float32Array(rows * d);
  for (let i = 0; i < q.length; i++) {
    // about half zeros, like image backgrounds
    q[i] = rng.float() < 0.5 ? 0 : lo + Math.floor(rng.float() * (hi - lo + 1));
    x[i] = q[i] / D;
  }
  return { q, x };
}

/** Σ a·b over rows for every pair a ≤ b, and the column sums, in plain float64 loops. */
function reference(
  v: ArrayLike<number>,
  rows: number,
  d: number,
  shift?: Float64Array,
): { gram: number[][]; sums: number[] } {
  const gram = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  const sums = new Array<number>(d).fill(0);
  for (let t = 0; t < rows; t++) {
    for (let a = 0; a < d; a++) {
      const va = v[t * d + a] - (shift?.[a] ?? 0);
      sums[a] += va;
      for (let b = a; b < d; b++) gram[a][b] += va * (v[t * d + b] - (shift?.[b] ?? 0));
    }
  }
  return { gram, sums };
}

test('8-bit data scaled by 1/255: the integer path, exactly Σqqᵀ (odd rows and features, several blocks)', (t) => {
  const rows = 515,
    d = 13,
    d4 = 16;
  const { q, x } = gridData(rows, d, 255, 0, 255, 1);
  const part = gramOfRows(x, rows, d, new Float64Array(d), [255, 1]);
  t.is(part.divisor, 255);
  const ref = reference(q, rows, d);
  for (let a = 0; a < d; a++) {
    t.is(part.sums[a], ref.sums[a]);
    for (let b = a; b < d; b++) t.is(part.gram[a * d4 + b], ref.gram[a][b], `gram ${a},${b}`);
  }
});

test('raw pixels take divisor 1, negative integers too; the shift is not applied on the integer path', (t) => {
  const rows = 300,
    d = 8;
  const { q, x } = gridData(rows, d, 1, -255, 255, 2);
  const part = gramOfRows(x, rows, d, new Float64Array(d).fill(7), [255, 1]);
  t.is(part.divisor, 1);
  const ref = reference(q, rows, d);
  for (let a = 0; a < d; a++) for (let b = a; b < d; b++) t.is(part.gram[a * d + b], ref.gram[a][b]);
  t.deepEqual(Array.from(part.sums), ref.sums);
});

test('sums past int32 are moved to float64 in time: 40 000 rows of 255 stay exact', (t) => {
  const rows = 40000,
    d = 4;
  const x = new Float32Array(rows * d).fill(255);
  const part = gramOfRows(x, rows, d, new Float64Array(d), [1]);
  t.is(part.divisor, 1);
  t.is(part.gram[0 * 4 + 3], rows * 255 * 255); // 2.6e9 > 2^31
  t.is(part.sums[2], rows * 255);
});

test('data off the grid (a value not q/255, NaN, 256) falls back to the float path over x − shift', (t) => {
  const rows = 130,
    d = 6;
  const cases: Array<[string, (x: Float32Array) => void]> = [
    ['one value nudged', (x) => (x[rows * d - 1] = Math.fround(x[rows * d - 1] + 1e-3))],
    ['a NaN', (x) => (x[17] = NaN)],
    ['a value of 256/255', (x) => (x[5] = 256 / 255)],
  ];
  for (const [what, spoil] of cases) {
    const { x } = gridData(rows, d, 255, 0, 255, 3);
    spoil(x);
    const shift = Float64Array.from({ length: d }, (_, f) => f * 0.25);
    const part = gramOfRows(x, rows, d, shift, [255, 1]);
    t.is(part.divisor, 0, what);
    if (what === 'a NaN') {
      t.true(Number.isNaN(part.sums[17 % d]), what);
      continue;
    }
    const ref = reference(x, rows, d, shift);
    for (let a = 0; a < d; a++) {
      t.true(Math.abs(part.sums[a] - ref.sums[a]) <= 1e-12 * Math.abs(ref.sums[a]) + 1e-12, `${what}: sum ${a}`);
      for (let b = a; b < d; b++) {
        // float32 products summed in float32 over 64-row blocks: within 1e-6 of float64, relative to √(G_aa·G_bb)
        const bound = 1e-6 * Math.sqrt(ref.gram[a][a] * ref.gram[b][b]);
        t.true(Math.abs(part.gram[a * 8 + b] - ref.gram[a][b]) <= bound, `${what}: gram ${a},${b}`);
      }
    }
  }
});

test('no divisors: the float path even for 8-bit data, agreeing with the integer path to rounding', (t) => {
  const rows = 257,
    d = 784;
  const { x } = gridData(rows, d, 255, 0, 255, 4);
  const exact = gramOfRows(x, rows, d, new Float64Array(d), [255]);
  const float = gramOfRows(x, rows, d, new Float64Array(d), []);
  t.is(exact.divisor, 255);
  t.is(float.divisor, 0);
  let worst = 0;
  for (let a = 0; a < d; a += 37) {
    for (let b = a; b < d; b += 11) {
      const e = exact.gram[a * d + b] / 255 / 255;
      worst = Math.max(worst, Math.abs(float.gram[a * d + b] - e) / Math.max(1, Math.abs(e)));
    }
  }
  // float32(q/255) differs from q/255 by at most 2^-24 relative; float32 sums over 64 rows add about 1e-7
  t.true(worst < 1e-6, `largest difference ${worst}`);
});

test('integerGramOfRows: the integer path alone, null for a chunk off every grid', (t) => {
  const rows = 300;
  const d = 9;
  const { q, x } = gridData(rows, d, 255, 0, 255, 1);
  const part = integerGramOfRows(x, rows, d, [255, 1]);
  t.is(part?.divisor, 255);
  t.deepEqual(part, gramOfRows(x, rows, d, new Float64Array(d), [255, 1]));
  t.is(part!.sums[0], reference(q, rows, d).sums[0]);
  x[5] += 1e-3;
  t.is(integerGramOfRows(x, rows, d, [255, 1]), null);
});
