import test, { type ExecutionContext } from 'ava';
import { createRequire } from 'node:module';
import type { LabelledRows } from '../src/data/dataset.js';
import { matrix, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { Arena } from '../src/runtime/wasm.js';
import { powi, restrictToClass, svmPredictModel, svmPredictTask } from '../src/linalg/svm-predict.js';
import { NotFittedError, ParamRangeError } from '../src/stages/stage.js';
import { resolveGamma, Svm, SvmParams, svmSpec } from '../src/stages/svm.js';
import { libsvm, predictRows } from '../src/stages/svm-libsvm.js';
import { blobs, fashionSample, fashionTestSample, withEnv } from './helpers.js';

test.after.always(() => shutdownPool());

/** Pixels scaled to 0..1, as the pipelines feed the svm. */
function scaled(d: LabelledRows): LabelledRows {
  return {
    X: matrix(
      d.X.rows,
      d.X.cols,
      d.X.data.map((v) => v / 255),
    ),
    y: d.y,
  };
}

/** Numbers in −2..2 from a seed (an LCG in doubles: not every bit random, enough for fixtures compared to a loop). */
function spread(seed: number): () => number {
  return () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 4;
}

const train = scaled(fashionSample(1000, 5));
const heldOut = scaled(fashionTestSample(500, 5));
const smallTrain = scaled(fashionSample(400, 6));
const smallHeldOut = scaled(fashionTestSample(300, 6));

function accuracy(pred: Uint8Array, y: Uint8Array): number {
  let hits = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) hits++;
  return hits / y.length;
}

/** One default rbf fit on the 1000 rows, shared by the tests that only read it. */
let shared: Promise<{ svm: Svm; pred: Uint8Array }> | null = null;
function rbfFit() {
  shared ??= (async () => {
    const svm = await new Svm({ C: 10, engine: 'libsvm' }).fit(train.X, train.y);
    return { svm, pred: await svm.predict(heldOut.X) };
  })();
  return shared;
}

function withWorkers<T>(n: string, run: () => Promise<T>): Promise<T> {
  return withEnv('FASHION_WORKERS', n, run);
}

/**
 * The native predict against libsvm's own (WebAssembly) predict on the same model: labels must be equal, except on a
 * row where some machine's decision value is within 1e-9 of 0 (libsvm sums (x − sv)², we use ‖x‖² + ‖sv‖² − 2x·sv, so
 * the last bits differ): a genuine floating-point tie, allowed for at most 2 rows.
 */
async function agreesWithLibsvm(t: ExecutionContext, svm: Svm, X: Matrix, what: string): Promise<void> {
  const native = await svm.predict(X);
  const wasm = await svm.predictLibsvm(X);
  const decision = await svm.decisionValues(X);
  const pairs = svm.fitted.machines;
  t.is(native.length, X.rows);
  t.is(decision.length, X.rows * pairs);
  const differing: number[] = [];
  for (let i = 0; i < X.rows; i++) if (native[i] !== wasm[i]) differing.push(i);
  for (const i of differing) {
    const closest = Math.min(...Array.from(decision.subarray(i * pairs, (i + 1) * pairs), Math.abs));
    const why = `${what}: row ${i} differs (native ${native[i]}, libsvm ${wasm[i]}), closest decision ${closest}`;
    t.true(closest <= 1e-9, why);
  }
  t.true(differing.length <= 2, `${what}: ${differing.length} rows differ`);
  if (differing.length > 0) t.log(`${what}: rows ${differing.join(', ')} are floating-point ties`);
}

/**
 * Decision values straight from the model text, as libsvm's svm_predict_values computes them (dense rows, rbf as
 * Σ(x − sv)², one sum per machine over class i's then class j's support vectors).
 */
function referenceDecisions(modelText: string, X: Matrix, rows: number): Float64Array {
  const lines = modelText.split('\n');
  const header = new Map<string, string>();
  let at = 0;
  for (; lines[at] !== 'SV'; at++) {
    const space = lines[at].indexOf(' ');
    header.set(lines[at].slice(0, space), lines[at].slice(space + 1));
  }
  const k = Number(header.get('nr_class'));
  const kernel = header.get('kernel_type');
  const gamma = Number(header.get('gamma') ?? 0);
  const coef0 = Number(header.get('coef0') ?? 0);
  const degree = Number(header.get('degree') ?? 3);
  const rho = header.get('rho')!.split(' ').map(Number);
  const nSV = header.get('nr_sv')!.split(' ').map(Number);
  const svs: Float64Array[] = [];
  const coef: number[][] = Array.from({ length: k - 1 }, () => []);
  for (const line of lines.slice(at + 1)) {
    if (line === '') continue;
    const fields = line.trim().split(' ');
    const sv = new Float64Array(X.cols);
    fields.forEach((field, c) => {
      if (c < k - 1) coef[c].push(Number(field));
      else {
        const [index, value] = field.split(':');
        sv[Number(index) - 1] = Number(value);
      }
    });
    svs.push(sv);
  }
  const start = [0];
  for (let c = 1; c < k; c++) start.push(start[c - 1] + nSV[c - 1]);
  const pairs = (k * (k - 1)) / 2;
  const out = new Float64Array(rows * pairs);
  for (let r = 0; r < rows; r++) {
    const x = X.data.subarray(r * X.cols, (r + 1) * X.cols);
    const K = svs.map((sv) => {
      let s = 0;
      if (kernel === 'rbf') {
        for (let f = 0; f < X.cols; f++) s += (x[f] - sv[f]) ** 2;
        return Math.exp(-gamma * s);
      }
      for (let f = 0; f < X.cols; f++) s += x[f] * sv[f];
      return kernel === 'linear' ? s : powi(gamma * s + coef0, degree);
    });
    let p = 0;
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        let sum = 0;
        for (let n = 0; n < nSV[i]; n++) sum += coef[j - 1][start[i] + n] * K[start[i] + n];
        for (let n = 0; n < nSV[j]; n++) sum += coef[i][start[j] + n] * K[start[j] + n];
        out[r * pairs + p] = sum - rho[p];
        p++;
      }
    }
  }
  return out;
}

function closeDecisions(t: ExecutionContext, actual: Float64Array, expected: Float64Array, what: string): void {
  t.is(actual.length, expected.length);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i])));
  }
  t.true(worst <= 1e-9, `${what}: decision values differ by up to ${worst}`);
}

// Serial tests run before the others: the first one sees libsvm load in this process.
test.serial('loading libsvm prints nothing and leaves no process-wide handler behind', async (t) => {
  const handlers = process.listeners('unhandledRejection').length;
  const warn = console.warn;
  const warned: unknown[][] = [];
  console.warn = (...args: unknown[]) => void warned.push(args);
  try {
    await libsvm();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    console.warn = warn;
  }
  t.deepEqual(warned, []);
  t.is(process.listeners('unhandledRejection').length, handlers);
});

test.serial('1 worker, 2 workers and the default give the same model, predictions and decision values', async (t) => {
  const run = (workers: string) =>
    withWorkers(workers, async () => {
      const svm = await new Svm({ C: 10, engine: 'libsvm' }).fit(train.X, train.y);
      return {
        text: svm.modelText(),
        pred: Array.from(await svm.predict(heldOut.X)),
        decision: Array.from(await svm.decisionValues(heldOut.X)),
        wasm: Array.from(await svm.predictLibsvm(heldOut.X)),
      };
    });
  const one = await run('1');
  for (const workers of ['2', '']) {
    const other = await run(workers);
    t.is(other.text, one.text, `model, workers "${workers}"`);
    t.deepEqual(other.pred, one.pred, `native predictions, workers "${workers}"`);
    t.deepEqual(other.decision, one.decision, `decision values (bit for bit), workers "${workers}"`);
    t.deepEqual(other.wasm, one.wasm, `libsvm predictions, workers "${workers}"`);
  }
});

test('params: defaults, frozen, strict', (t) => {
  const svm = new Svm();
  t.deepEqual(svm.params, {
    kernel: 'rbf',
    C: 1,
    gamma: 'scale',
    degree: 3,
    coef0: 0,
    tolerance: 0.001,
    cache_mb: 200,
    engine: 'native',
  });
  t.true(Object.isFrozen(svm.params));
  t.is(new Svm({ gamma: 0.5 }).params.gamma, 0.5);
  t.is(svmSpec.schema.parse({ gamma: 'auto' }).gamma, 'auto');
  for (const bad of [
    { C: 0 },
    { gamma: 'big' },
    { gamma: -1 },
    { degree: 2.5 },
    { degree: 0 },
    { kernel: 'sigmoid' },
    { cost: 1 },
  ]) {
    t.false(SvmParams.safeParse(bad).success, JSON.stringify(bad));
  }
});

test('predict before fit throws NotFittedError; clone is an unfitted copy', async (t) => {
  const svm = new Svm({ kernel: 'linear', C: 2 });
  await t.throwsAsync(() => svm.predict(train.X), { instanceOf: NotFittedError });
  t.throws(() => svm.fitted, { instanceOf: NotFittedError });
  const { svm: fitted } = await rbfFit();
  const copy = fitted.clone();
  t.not(copy, fitted);
  t.deepEqual(copy.params, fitted.params);
  await t.throwsAsync(() => copy.predict(heldOut.X), { instanceOf: NotFittedError });
  t.is((await fitted.predict(heldOut.X)).length, heldOut.y.length, 'the original stays fitted');
});

test("gamma 'scale' is scikit-learn's 1 / (features · Var(X)); 'auto' is 1 / features", async (t) => {
  // Plainly: the variance of every value of X, in double precision.
  const values = Array.from(train.X.data);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length;
  const expected = 1 / (train.X.cols * variance);
  const { svm } = await rbfFit();
  t.true(Math.abs(svm.fitted.gamma - expected) <= 1e-12 * expected, `${svm.fitted.gamma} vs ${expected}`);
  t.true(svm.fitted.gamma > 0.005 && svm.fitted.gamma < 0.05);
  t.is(resolveGamma('auto', train.X), 1 / 784);
  t.is(resolveGamma(0.25, train.X), 0.25);
  t.is(resolveGamma('scale', matrix(3, 2, new Float32Array(6).fill(4))), 1, 'constant X: 1, as scikit-learn');
  t.true(svm.modelText().includes(`\ngamma ${svm.fitted.gamma}\n`), 'the model uses the resolved gamma');
});

test('libsvm rbf on 1000 Fashion-MNIST rows: sane accuracy; the mljs engine agrees', async (t) => {
  const { svm, pred } = await rbfFit();
  const acc = accuracy(pred, heldOut.y);
  t.true(acc > 0.75 && acc < 0.92, `libsvm accuracy ${acc}`);
  t.deepEqual(svm.fitted.classes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  t.is(svm.fitted.machines, 45);
  t.is(svm.fitted.n_support.length, 10);

  const mljs = await new Svm({ C: 10, engine: 'mljs' }).fit(train.X, train.y);
  const accMljs = accuracy(await mljs.predict(heldOut.X), heldOut.y);
  t.log(`rbf accuracy: libsvm ${acc}, mljs ${accMljs}`);
  t.true(Math.abs(acc - accMljs) <= 0.03, `libsvm ${acc} vs mljs ${accMljs}`);
  t.is(mljs.fitted.gamma, svm.fitted.gamma);
});

test("the model equals libsvm's own one-vs-one training (libsvm-js SVM class) on the same rows", async (t) => {
  const { svm, pred } = await rbfFit();
  await libsvm(); // loaded quietly first; the require below then reuses it
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- libsvm-js ships no types
  const SVM = await (createRequire(import.meta.url)('libsvm-js') as Promise<any>);
  // libsvm orders classes by first appearance; in label order they come out ascending, as scikit-learn sorts them.
  const order = Array.from(train.y.keys()).sort((a, b) => train.y[a] - train.y[b] || a - b);
  const rowOf = (X: Matrix, i: number) => X.data.subarray(i * X.cols, (i + 1) * X.cols);
  const reference = new SVM({
    kernel: SVM.KERNEL_TYPES.RBF,
    gamma: svm.fitted.gamma,
    cost: 10,
    cacheSize: 200,
    tolerance: 0.001,
    quiet: true,
  });
  try {
    reference.train(
      order.map((i) => rowOf(train.X, i)),
      order.map((i) => train.y[i]),
    );
    const expected: number[] = reference.predict(Array.from({ length: heldOut.X.rows }, (_, i) => rowOf(heldOut.X, i)));
    t.deepEqual(Array.from(pred), expected);
    t.is(
      reference.getSVIndices().length,
      svm.fitted.n_support.reduce((s, n) => s + n, 0),
    );
  } finally {
    reference.free();
  }
});

test("rbf: the native predict gives libsvm's predictions; decision values as libsvm computes them", async (t) => {
  const { svm } = await rbfFit();
  await agreesWithLibsvm(t, svm, heldOut.X, 'rbf');
  const decision = await svm.decisionValues(heldOut.X);
  const rows = 25;
  closeDecisions(t, decision.subarray(0, rows * 45), referenceDecisions(svm.modelText(), heldOut.X, rows), 'rbf');
  // rows taken at another offset (other blocks of rows) give bit-identical values
  const from = 7;
  const part = matrix(30, heldOut.X.cols, heldOut.X.data.slice(from * heldOut.X.cols, (from + 30) * heldOut.X.cols));
  t.deepEqual(Array.from(await svm.decisionValues(part)), Array.from(decision.subarray(from * 45, (from + 30) * 45)));
  t.is((await svm.predict(matrix(0, heldOut.X.cols))).length, 0);
});

test("native voting is libsvm's: decision exactly 0 votes for the second class, tied votes go to the first label", async (t) => {
  // 3 classes (labels 2, 5, 7), linear kernel on one feature, one support vector each (value 1), so that on row x the
  // machines decide (2 vs 5) x, (2 vs 7) x − 1, (5 vs 7) 2 − x.
  const text = [
    'svm_type c_svc',
    'kernel_type linear',
    'nr_class 3',
    'total_sv 3',
    'rho 0 1 -2',
    'label 2 5 7',
    'nr_sv 1 1 1',
    'SV',
    '1 1 1:1 ',
    '0 -1 1:1 ',
    '0 0 1:1 ',
    '',
  ].join('\n');
  const X = Float32Array.from([3, 1.5, 1, 0.5, 0, -1, 2]);
  // x = 0.5 and x = 1 (decision 0 → class 7): one vote each, so the first label wins; x = 0 (decision 0 → class 5)
  const expected = [2, 2, 2, 2, 5, 5, 2];
  const wasm = await predictRows(new Uint8Array(Buffer.from(text, 'latin1')), X, 1, 0, X.length);
  const model = svmPredictModel({
    kernel: 'linear',
    gamma: 1,
    coef0: 0,
    degree: 3,
    labels: [2, 5, 7],
    nSupport: [1, 1, 1],
    sv: Float32Array.from([1, 1, 1]),
    features: 1,
    coef: Float64Array.from([1, 0, 0, 1, -1, 0]),
    rho: Float64Array.from([0, 1, -2]),
  });
  const native = svmPredictTask(model, X, 0, X.length, true);
  t.deepEqual(Array.from(wasm), expected);
  t.deepEqual(Array.from(native.labels), expected);
  t.deepEqual(Array.from(native.decision!.subarray(3 * 3, 4 * 3)), [0.5, -0.5, 1.5]);
});

test('fitting twice gives the same model and predictions; fit leaves params alone', async (t) => {
  const { svm, pred } = await rbfFit();
  const params = JSON.stringify(svm.params);
  const again = await new Svm({ C: 10, engine: 'libsvm' }).fit(train.X, train.y);
  t.is(again.modelText(), svm.modelText());
  t.deepEqual(Array.from(await again.predict(heldOut.X)), Array.from(pred));
  t.is(JSON.stringify(again.params), params);
  t.true(Object.isFrozen(again.params));
});

for (const kernel of ['linear', 'poly'] as const) {
  test(`${kernel} kernel: sane accuracy, mljs agrees, refit identical`, async (t) => {
    const params = { kernel, C: 1, coef0: 1 };
    const svm = await new Svm(params).fit(smallTrain.X, smallTrain.y);
    const pred = await svm.predict(smallHeldOut.X);
    const acc = accuracy(pred, smallHeldOut.y);
    t.true(acc > 0.7 && acc < 0.92, `${kernel} native accuracy ${acc}`);
    await agreesWithLibsvm(t, svm, smallHeldOut.X, kernel);
    const rows = 20;
    const decision = (await svm.decisionValues(smallHeldOut.X)).subarray(0, rows * 45);
    closeDecisions(t, decision, referenceDecisions(svm.modelText(), smallHeldOut.X, rows), kernel);
    t.true(svm.modelText().startsWith(`svm_type c_svc\nkernel_type ${kernel === 'poly' ? 'polynomial' : 'linear'}\n`));

    const mljs = await new Svm({ ...params, engine: 'mljs' }).fit(smallTrain.X, smallTrain.y);
    const predMljs = await mljs.predict(smallHeldOut.X);
    const accMljs = accuracy(predMljs, smallHeldOut.y);
    t.log(`${kernel} accuracy: native ${acc}, mljs ${accMljs}`);
    t.true(Math.abs(acc - accMljs) <= 0.04, `${kernel}: native ${acc} vs mljs ${accMljs}`);
    const mljsAgain = await new Svm({ ...params, engine: 'mljs' }).fit(smallTrain.X, smallTrain.y);
    t.deepEqual(Array.from(await mljsAgain.predict(smallHeldOut.X)), Array.from(predMljs), 'mljs is seeded');
  });
}

test('labels need not be 0..k-1; ties and pairs follow the sorted labels', async (t) => {
  const d = blobs(90, 4, 3, 21);
  const y = d.y.map((c) => [7, 2, 5][c]);
  for (const engine of ['native', 'libsvm', 'mljs'] as const) {
    const svm = await new Svm({ engine }).fit(d.X, y);
    t.deepEqual(svm.fitted.classes, [2, 5, 7]);
    t.true(accuracy(await svm.predict(d.X), y) > 0.95, engine);
  }
});

test('refuses bad input: one class, other feature count, non-finite values, mljs on large data', async (t) => {
  const d = blobs(30, 3, 2, 4);
  await t.throwsAsync(() => new Svm().fit(d.X, new Uint8Array(30)), { message: /at least 2 classes/ });
  const svm = await new Svm().fit(d.X, d.y);
  await t.throwsAsync(() => svm.predict(matrix(1, 4)), { message: /features/ });
  const bad = matrix(30, 3, d.X.data.slice());
  bad.data[7] = Number.NaN;
  await t.throwsAsync(() => new Svm().fit(bad, d.y), { message: /non-finite/ });
  const big = blobs(3002, 2, 2, 4);
  const err = await t.throwsAsync(() => new Svm({ engine: 'mljs' }).fit(big.X, big.y), { instanceOf: ParamRangeError });
  t.is(err?.param, 'engine');
});

test('decision values are the plain double loop bit for bit (SIMD dot products over packed panels)', (t) => {
  // odd sizes everywhere: rows, features and support vectors that fill no block or panel
  const d = 7;
  const total = 1037;
  const labels = [0, 1, 2];
  const nSupport = [500, 300, 237];
  const r = spread(11);
  const sv = Float32Array.from({ length: total * d }, r);
  const X = Float32Array.from({ length: 37 * d }, r);
  const coef = Float64Array.from({ length: 2 * total }, r);
  const rho = Float64Array.from([0.1, -0.2, 0.3]);
  const gamma = 0.3;
  const model = svmPredictModel({
    kernel: 'rbf',
    gamma,
    coef0: 0,
    degree: 3,
    labels,
    nSupport,
    sv,
    features: d,
    coef,
    rho,
  });
  const got = svmPredictTask(model, X, 3, 37, true).decision!;
  const starts = [0, 500, 800, 1037];
  for (let q = 3; q < 37; q++) {
    let xn = 0;
    for (let f = 0; f < d; f++) xn += X[q * d + f] * X[q * d + f];
    const acc = [0, 1, 2].map(() => [0, 0]);
    for (let c = 0; c < 3; c++)
      for (let s = starts[c]; s < starts[c + 1]; s++) {
        let dot = 0;
        let sn = 0;
        for (let f = 0; f < d; f++) {
          dot += X[q * d + f] * sv[s * d + f];
          sn += sv[s * d + f] * sv[s * d + f];
        }
        const kv = Math.exp(-gamma * Math.max(0, xn + sn - 2 * dot));
        for (let m = 0; m < 2; m++) acc[c][m] += coef[m * total + s] * kv;
      }
    const expected = [acc[0][0] + acc[1][0] - rho[0], acc[0][1] + acc[2][0] - rho[1], acc[1][1] + acc[2][1] - rho[2]];
    t.deepEqual(Array.from(got.subarray((q - 3) * 3, (q - 2) * 3)), expected, `row ${q}`);
  }
});

test("the kernels' float64 exp is Math.exp bit for bit (fdlibm's algorithm; paired lanes and the scalar path)", (t) => {
  const arena = new Arena();
  const n = 1 << 20;
  const at = arena.reserve(8 * n);
  const values = arena.f64(at, n);
  // xorshift32: every 32-bit pattern equally likely, so "any double" below spreads over all bits
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
  const uniform = () => next() / 2 ** 32;
  const bits = new DataView(new ArrayBuffer(8));
  const fromBits = (hi: number, lo: number) => {
    bits.setUint32(0, hi >>> 0);
    bits.setUint32(4, lo >>> 0);
    return bits.getFloat64(0);
  };
  const step = (x: number, ulps: number) => {
    bits.setFloat64(0, x);
    bits.setBigUint64(0, bits.getBigUint64(0) + BigInt(ulps));
    return bits.getFloat64(0);
  };
  // where fdlibm and the paired path branch, on both sides, in both signs
  const borders = [
    fromBits(0x3fd62e43, 0), // |x| > ln2/2 from here
    fromBits(0x3ff0a2b2, 0), // |x| < 1.5·ln2 below here
    2 ** -28, // 1 + x below here
    707, // the paired path's end
    709.782712893384, // overflow
    745.1332191019411, // underflow
    1, // exp(1) is E
    0.5 * Math.LN2,
    1.5 * Math.LN2,
  ];
  const edges = [0, -0, NaN, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE, 1e-300, -1e-300, 1000, -1000];
  for (const b of borders) for (const u of [-2, -1, 0, 1, 2]) edges.push(step(b, u), -step(b, u));
  let mismatches = 0;
  let first = '';
  for (let round = 0; round < 8; round++) {
    for (let i = 0; i < n; i++) {
      const kind = i % 4;
      if (i < edges.length * 4 && kind === 0) values[i] = edges[(i / 4) | 0];
      else if (kind === 0)
        values[i] = (uniform() - 0.5) * 1500; // the whole range, both paths
      else if (kind === 1)
        values[i] = -uniform() * 40; // where RBF kernel values live
      else if (kind === 2)
        values[i] = (uniform() - 0.5) * 3; // around k = 0 and k = ±1
      else values[i] = fromBits(next(), next()); // any double
      // a neighbour of the previous value, to pair near-equal arguments in one vector
      if (round % 2 === 1 && i % 2 === 1) values[i] = values[i - 1] * (1 + 2 ** -52);
    }
    const args = Float64Array.from(values);
    arena.kernels.expInPlace(at, n);
    for (let i = 0; i < n; i++) {
      if (!Object.is(values[i], Math.exp(args[i]))) {
        mismatches++;
        first ||= `exp(${args[i]}) = ${values[i]}, Math.exp gives ${Math.exp(args[i])}`;
      }
    }
  }
  t.true(edges.length > 90);
  t.is(mismatches, 0, first);
});

test("a class's restricted model gives its machines' decision values bit for bit, with fewer support vectors", (t) => {
  const d = 5;
  const labels = [0, 1, 2, 3];
  const nSupport = [40, 33, 27, 51];
  const total = 151;
  const r = spread(5);
  const sv = Float32Array.from({ length: total * d }, r);
  const X = Float32Array.from({ length: 23 * d }, r);
  // coefficients as a fit leaves them: a support vector is one in some of its machines only
  const coef = Float64Array.from({ length: 3 * total }, (_, i) => (i % 3 === 0 || i % 7 === 1 ? 0 : r()));
  const model = svmPredictModel({
    kernel: 'rbf',
    gamma: 0.2,
    coef0: 0,
    degree: 3,
    labels,
    nSupport,
    sv,
    features: d,
    coef,
    rho: Float64Array.from({ length: 6 }, r),
  });
  const full = svmPredictTask(model, X, 0, 23, true).decision!;
  const machinesOf = (c: number) => {
    const list: number[] = [];
    let m = 0;
    for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++, m++) if (i === c || j === c) list.push(m);
    return list;
  };
  for (let c = 0; c < 4; c++) {
    const part = restrictToClass(model, c);
    t.true(part.classStart[4] < total, `class ${c} keeps ${part.classStart[4]} of ${total} support vectors`);
    t.is(part.classStart[c + 1] - part.classStart[c], nSupport[c], 'all of its own class');
    const got = svmPredictTask(part, X, 0, 23, true).decision!;
    for (let q = 0; q < 23; q++) {
      for (const m of machinesOf(c)) t.true(Object.is(got[q * 6 + m], full[q * 6 + m]), `row ${q}, machine ${m}`);
    }
  }
});
