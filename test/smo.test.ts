import test, { type ExecutionContext } from 'ava';
import { createRequire } from 'node:module';
import { solveCSvc, type SmoKernel } from '../src/linalg/smo.js';
import { libsvm } from '../src/stages/svm-libsvm.js';
import { blobs } from './helpers.js';

/**
 * Our SMO solver (src/linalg/smo.ts) against libsvm itself (libsvm-js's SVM class, its own one-vs-one training) on a
 * small three-class problem: for every pair of classes the same support vectors, dual coefficients and ρ within a
 * tolerance, and the machines together give libsvm's predictions exactly. Shrinking on (libsvm -h 1) and off with a
 * cache of two rows (-h 0), so the selection, the shrinking and the row cache's evictions are all exercised.
 */

const ROWS = 300;
const all = blobs(2 * ROWS, 5, 3, 11, 5);
const cols = all.X.cols;
const train = { X: all.X.data.subarray(0, ROWS * cols), y: all.y.subarray(0, ROWS) };
const heldOut = all.X.data.subarray(ROWS * cols);
const rowOf = (X: Float32Array, i: number) => X.subarray(i * cols, (i + 1) * cols);

interface Case {
  kernel: SmoKernel;
  C: number;
  gamma: number;
  shrinking: boolean;
}

/** One binary machine: the decision is Σ coef[s]·K(x_sv[s], x) − rho, positive for the pair's first class. */
interface Machine {
  sv: number[];
  coef: number[];
  rho: number;
}

function kernel(c: Case, u: Float32Array, v: Float32Array): number {
  let s = 0;
  if (c.kernel === 'rbf') {
    for (let f = 0; f < cols; f++) s += (u[f] - v[f]) ** 2;
    return Math.exp(-c.gamma * s);
  }
  for (let f = 0; f < cols; f++) s += u[f] * v[f];
  return s;
}

/**
 * libsvm's machines, pair by pair in its label order, read from its model text: the coefficients of the support
 * vectors of class i in the machine (i, j) are in column j − 1, those of class j in column i.
 */
async function libsvmMachines(c: Case): Promise<{ labels: number[]; machines: Machine[]; predictions: number[] }> {
  await libsvm(); // loaded quietly first; the require below reuses it
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- libsvm-js ships no types
  const SVM = await (createRequire(import.meta.url)('libsvm-js') as Promise<any>);
  const svm = new SVM({
    kernel: c.kernel === 'rbf' ? SVM.KERNEL_TYPES.RBF : SVM.KERNEL_TYPES.LINEAR,
    gamma: c.gamma,
    cost: c.C,
    tolerance: 0.001,
    shrinking: c.shrinking,
    cacheSize: 100,
    quiet: true,
  });
  try {
    svm.train(
      Array.from({ length: ROWS }, (_, i) => rowOf(train.X, i)),
      Array.from(train.y),
    );
    const text: string = svm.serializeModel();
    const indices: number[] = svm.getSVIndices();
    const predictions: number[] = svm.predict(Array.from({ length: ROWS }, (_, i) => rowOf(heldOut, i)));
    const field = (name: string) =>
      text
        .split('\n')
        .find((line) => line.startsWith(`${name} `))!
        .split(' ')
        .slice(1)
        .map(Number);
    const labels = field('label');
    const nSv = field('nr_sv');
    const rho = field('rho');
    const coefLines = text
      .split('\n')
      .slice(text.split('\n').indexOf('SV') + 1)
      .filter((line) => line.trim() !== '');
    const coef = coefLines.map((line) =>
      line
        .trim()
        .split(' ')
        .slice(0, labels.length - 1)
        .map(Number),
    );
    const start = nSv.map((_, k) => nSv.slice(0, k).reduce((s, n) => s + n, 0));
    const machines: Machine[] = [];
    let p = 0;
    for (let i = 0; i < labels.length; i++) {
      for (let j = i + 1; j < labels.length; j++) {
        const m: Machine = { sv: [], coef: [], rho: rho[p++] };
        for (const [cls, column] of [
          [i, j - 1],
          [j, i],
        ]) {
          for (let s = start[cls]; s < start[cls] + nSv[cls]; s++) {
            if (coef[s][column] === 0) continue;
            m.sv.push(indices[s]);
            m.coef.push(coef[s][column]);
          }
        }
        machines.push(m);
      }
    }
    return { labels, machines, predictions };
  } finally {
    svm.free();
  }
}

/** Our machine for classes a (+1) and b (−1), on their rows taken as libsvm takes them: those of a, then those of b. */
function ourMachine(c: Case, a: number, b: number): Machine & { iterations: number } {
  const rows: number[] = [];
  for (let i = 0; i < ROWS; i++) if (train.y[i] === a) rows.push(i);
  const countA = rows.length;
  for (let i = 0; i < ROWS; i++) if (train.y[i] === b) rows.push(i);
  const y = new Int8Array(rows.length).fill(1, 0, countA).fill(-1, countA);
  const solution = solveCSvc(train.X, cols, Int32Array.from(rows), y, {
    kernel: c.kernel,
    gamma: c.gamma,
    coef0: 0,
    degree: 3,
    C: c.C,
    tolerance: 0.001,
    // no shrinking: a cache of two rows, so rows are evicted and recomputed all the time
    cacheMb: c.shrinking ? 100 : 0,
    shrinking: c.shrinking,
  });
  const m = { sv: [] as number[], coef: [] as number[], rho: solution.rho, iterations: solution.iterations };
  rows.forEach((row, t) => {
    if (solution.alpha[t] > 0) {
      m.sv.push(row);
      m.coef.push(y[t] * solution.alpha[t]);
    }
  });
  return m;
}

/** One-vs-one votes as libsvm counts them: decision > 0 votes for the first class, ties go to the first label. */
function predict(c: Case, labels: number[], machines: Machine[], x: Float32Array): number {
  const votes = new Array<number>(labels.length).fill(0);
  let p = 0;
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const m = machines[p++];
      let d = -m.rho;
      m.sv.forEach((s, k) => (d += m.coef[k] * kernel(c, rowOf(train.X, s), x)));
      votes[d > 0 ? i : j]++;
    }
  }
  return labels[votes.indexOf(Math.max(...votes))];
}

async function agrees(t: ExecutionContext, c: Case) {
  const reference = await libsvmMachines(c);
  t.deepEqual(reference.labels, [0, 1, 2], 'libsvm orders the classes by first appearance');
  const ours: Machine[] = [];
  let p = 0;
  for (let i = 0; i < 3; i++) {
    for (let j = i + 1; j < 3; j++) {
      const theirs = reference.machines[p++];
      const mine = ourMachine(c, i, j);
      ours.push(mine);
      const coefOf = (m: Machine) => new Map(m.sv.map((s, k) => [s, m.coef[k]]));
      const a = coefOf(mine);
      const b = coefOf(theirs);
      const union = [...new Set([...a.keys(), ...b.keys()])];
      const onlyOne = union.filter((s) => a.has(s) !== b.has(s));
      const worst = Math.max(...union.map((s) => Math.abs((a.get(s) ?? 0) - (b.get(s) ?? 0))));
      const pair = `${c.kernel} ${i}/${j}`;
      t.log(
        `${pair}: ${mine.sv.length} support vectors (libsvm ${theirs.sv.length}, ${onlyOne.length} in one only), ` +
          `|Δcoef| ${worst.toExponential(2)}, |Δρ| ${Math.abs(mine.rho - theirs.rho).toExponential(2)}, ${mine.iterations} iterations`,
      );
      t.true(
        onlyOne.length <= 0.02 * theirs.sv.length,
        `${pair}: support vectors ${onlyOne.join(', ')} in one set only`,
      );
      t.true(worst <= 1e-3 * c.C, `${pair}: a dual coefficient differs by ${worst}`);
      // libsvm's model text gives ρ to 6 significant digits
      t.true(Math.abs(mine.rho - theirs.rho) <= 1e-3, `${pair}: ρ ${mine.rho}, libsvm ${theirs.rho}`);
    }
  }
  const predictions = Array.from({ length: ROWS }, (_, r) => predict(c, reference.labels, ours, rowOf(heldOut, r)));
  t.deepEqual(predictions, reference.predictions);
}

for (const c of [
  { kernel: 'rbf', C: 10, gamma: 0.05, shrinking: true },
  { kernel: 'rbf', C: 10, gamma: 0.05, shrinking: false },
  { kernel: 'linear', C: 1, gamma: 0, shrinking: true },
  { kernel: 'linear', C: 1, gamma: 0, shrinking: false },
] as Case[]) {
  test(`${c.kernel}, C ${c.C}, shrinking ${c.shrinking ? 'on' : 'off'}: libsvm's machines and predictions`, (t) =>
    agrees(t, c));
}
