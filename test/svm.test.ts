import test from 'ava';
import { createRequire } from 'node:module';
import type { Dataset } from '../src/data/dataset.js';
import { matrix, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/linalg/pool.js';
import { NotFittedError, ParamRangeError } from '../src/stages/stage.js';
import { resolveGamma, Svm, SvmParams, svmSpec } from '../src/stages/svm.js';
import { libsvm } from '../src/stages/svm-libsvm.js';
import { blobs, fashionSample, fashionTestSample } from './helpers.js';

test.after.always(() => shutdownPool());

/** Pixels scaled to 0..1, as the pipelines feed the svm. */
function scaled(d: Dataset): Dataset {
  return { X: matrix(d.X.rows, d.X.cols, d.X.data.map((v) => v / 255)), y: d.y };
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
    const svm = await new Svm({ C: 10 }).fit(train.X, train.y);
    return { svm, pred: await svm.predict(heldOut.X) };
  })();
  return shared;
}

async function withWorkers<T>(n: string, run: () => Promise<T>): Promise<T> {
  const before = process.env.FASHION_WORKERS;
  process.env.FASHION_WORKERS = n;
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.FASHION_WORKERS;
    else process.env.FASHION_WORKERS = before;
  }
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

test.serial('1 worker and 2 workers give the same model and predictions', async (t) => {
  const one = await withWorkers('1', async () => {
    const svm = await new Svm({ C: 10 }).fit(train.X, train.y);
    return { text: svm.modelText(), pred: await svm.predict(heldOut.X) };
  });
  const two = await withWorkers('2', async () => {
    const svm = await new Svm({ C: 10 }).fit(train.X, train.y);
    return { text: svm.modelText(), pred: await svm.predict(heldOut.X) };
  });
  t.is(one.text, two.text);
  t.deepEqual(Array.from(one.pred), Array.from(two.pred));
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
    engine: 'libsvm',
  });
  t.true(Object.isFrozen(svm.params));
  t.is(new Svm({ gamma: 0.5 }).params.gamma, 0.5);
  t.is(svmSpec.schema.parse({ gamma: 'auto' }).gamma, 'auto');
  for (const bad of [{ C: 0 }, { gamma: 'big' }, { gamma: -1 }, { degree: 2.5 }, { degree: 0 }, { kernel: 'sigmoid' }, { cost: 1 }]) {
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
    t.is(reference.getSVIndices().length, svm.fitted.n_support.reduce((s, n) => s + n, 0));
  } finally {
    reference.free();
  }
});

test('fitting twice gives the same model and predictions; fit leaves params alone', async (t) => {
  const { svm, pred } = await rbfFit();
  const params = JSON.stringify(svm.params);
  const again = await new Svm({ C: 10 }).fit(train.X, train.y);
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
    t.true(acc > 0.7 && acc < 0.92, `${kernel} libsvm accuracy ${acc}`);
    t.true(svm.modelText().startsWith(`svm_type c_svc\nkernel_type ${kernel === 'poly' ? 'polynomial' : 'linear'}\n`));

    const mljs = await new Svm({ ...params, engine: 'mljs' }).fit(smallTrain.X, smallTrain.y);
    const predMljs = await mljs.predict(smallHeldOut.X);
    const accMljs = accuracy(predMljs, smallHeldOut.y);
    t.log(`${kernel} accuracy: libsvm ${acc}, mljs ${accMljs}`);
    t.true(Math.abs(acc - accMljs) <= 0.04, `${kernel}: libsvm ${acc} vs mljs ${accMljs}`);
    const mljsAgain = await new Svm({ ...params, engine: 'mljs' }).fit(smallTrain.X, smallTrain.y);
    t.deepEqual(Array.from(await mljsAgain.predict(smallHeldOut.X)), Array.from(predMljs), 'mljs is seeded');
  });
}

test('labels need not be 0..k-1; ties and pairs follow the sorted labels', async (t) => {
  const d = blobs(90, 4, 3, 21);
  const y = d.y.map((c) => [7, 2, 5][c]);
  for (const engine of ['libsvm', 'mljs'] as const) {
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
