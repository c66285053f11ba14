import test, { type ExecutionContext } from 'ava';
import { createRequire } from 'node:module';
import { loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import { knnTreeTask } from '../src/linalg/kd-search.js';
import { buildKdTree, treeRows } from '../src/linalg/kd-tree.js';
import { matrix, takeRows, toNested, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { createRng } from '../src/util/rng.js';
import { Arena } from '../src/runtime/wasm.js';
import { Knn, KnnParams, knnSpec } from '../src/stages/knn.js';
import { Pca } from '../src/stages/pca.js';
import { NotFittedError, ParamRangeError } from '../src/stages/stage.js';

test.after.always(async () => {
  await shutdownPool();
});

type MlKnn = new (
  X: number[][],
  y: number[],
  o: { k: number; distance?: (a: number[], b: number[]) => number },
) => {
  predict(rows: number[][]): number[];
};
const MlKnnClass = createRequire(import.meta.url)('ml-knn') as MlKnn;

interface Data {
  Xtr: Matrix;
  ytr: Uint8Array;
  Xte: Matrix;
  yte: Uint8Array;
}

/** 2000 training and 600 test images (pixels / 255), projected on 16 principal components of the training part. */
const fashion = (() => {
  let cached: Promise<Data> | null = null;
  return (): Promise<Data> => {
    cached ??= (async () => {
      const split = loadSplit(resolveDataDir(), 'train');
      const X = takeRows(
        split.X,
        Array.from({ length: 2600 }, (_, i) => i),
      );
      for (let i = 0; i < X.data.length; i++) X.data[i] /= 255;
      const tr = takeRows(
        X,
        Array.from({ length: 2000 }, (_, i) => i),
      );
      const te = takeRows(
        X,
        Array.from({ length: 600 }, (_, i) => 2000 + i),
      );
      const ytr = split.y.slice(0, 2000);
      const pca = await new Pca({ components: 16 }).fit(tr, ytr);
      return { Xtr: await pca.transform(tr), ytr, Xte: await pca.transform(te), yte: split.y.slice(2000, 2600) };
    })();
    return cached;
  };
})();

/** Plain reference: every distance in natural feature order, stable sort by (distance, index), weighted vote. */
function reference(
  Xtr: Matrix,
  ytr: Uint8Array,
  Xte: Matrix,
  params: Pick<KnnParams, 'k' | 'weights' | 'metric'>,
): { index: number[][]; distance: number[][]; proba: number[][]; pred: number[] } {
  const { k, weights, metric } = params;
  const d = Xtr.cols;
  let nClasses = 0;
  for (const l of ytr) nClasses = Math.max(nClasses, l + 1);
  const out = { index: [] as number[][], distance: [] as number[][], proba: [] as number[][], pred: [] as number[] };
  for (let q = 0; q < Xte.rows; q++) {
    const all: Array<[number, number]> = [];
    for (let i = 0; i < Xtr.rows; i++) {
      let s = 0;
      for (let f = 0; f < d; f++) {
        const diff = Xte.data[q * d + f] - Xtr.data[i * d + f];
        s += metric === 'euclidean' ? diff * diff : Math.abs(diff);
      }
      all.push([metric === 'euclidean' ? Math.sqrt(s) : s, i]);
    }
    all.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const near = all.slice(0, k);
    const anyZero = near.some(([dist]) => dist === 0);
    const w = near.map(([dist]) => (weights === 'uniform' ? 1 : anyZero ? (dist === 0 ? 1 : 0) : 1 / dist));
    const votes = new Array<number>(nClasses).fill(0);
    near.forEach(([, i], j) => (votes[ytr[i]] += w[j]));
    const total = votes.reduce((a, b) => a + b, 0);
    let best = 0;
    for (let l = 1; l < nClasses; l++) if (votes[l] > votes[best]) best = l;
    out.index.push(near.map(([, i]) => i));
    out.distance.push(near.map(([dist]) => dist));
    out.proba.push(votes.map((v) => v / total));
    out.pred.push(best);
  }
  return out;
}

test('params: defaults, strict schema, frozen', (t) => {
  const m = new Knn();
  t.deepEqual(m.params, { k: 5, weights: 'uniform', metric: 'euclidean', engine: 'native', algorithm: 'kd_tree' });
  t.true(Object.isFrozen(m.params));
  t.throws(() => new Knn({ k: 0 }));
  t.throws(() => knnSpec.schema.parse({ k: 3, neighbours: 2 }));
  t.throws(() => knnSpec.schema.parse({ metric: 'cosine' }));
});

test('unfitted use throws NotFittedError; k > rows is a ParamRangeError at fit; clone; params untouched', async (t) => {
  const m = new Knn({ k: 3, weights: 'distance' });
  const X = matrix(2, 2, Float32Array.from([0, 0, 1, 1]));
  await t.throwsAsync(m.predict(X), { instanceOf: NotFittedError });
  await t.throwsAsync(m.predictProba(X), { instanceOf: NotFittedError });
  await t.throwsAsync(m.kneighbors(X), { instanceOf: NotFittedError });
  const err = await t.throwsAsync(m.fit(X, Uint8Array.from([0, 1])), { instanceOf: ParamRangeError });
  t.is(err!.param, 'k');
  const before = { ...m.params };
  const X4 = matrix(4, 2, Float32Array.from([0, 0, 1, 1, 2, 2, 3, 3]));
  await m.fit(X4, Uint8Array.from([0, 1, 1, 2]));
  t.deepEqual({ ...m.params }, before);
  const c = m.clone();
  t.not(c, m);
  t.deepEqual({ ...c.params }, before);
  await t.throwsAsync(c.predict(X4), { instanceOf: NotFittedError });
  t.is((await m.predict(X4)).length, 4);
  await t.throwsAsync(m.predict(matrix(1, 3)), { message: /3 features/ });
});

test('uniform votes: predictions equal ml-knn where the vote has no tie', async (t) => {
  const { Xtr, ytr, Xte } = await fashion();
  const ours = await new Knn({ k: 5 }).fit(Xtr, ytr);
  const pred = await ours.predict(Xte);
  const proba = await ours.predictProba(Xte);
  const ml = new MlKnnClass(toNested(Xtr), Array.from(ytr), { k: 5 });
  const mlPred = ml.predict(toNested(Xte));
  let compared = 0;
  for (let i = 0; i < Xte.rows; i++) {
    const row = Array.from(proba.data.subarray(i * proba.cols, (i + 1) * proba.cols));
    const top = Math.max(...row);
    if (row.filter((p) => p === top).length > 1) continue; // a tie: ml-knn breaks it by its heap order
    compared++;
    t.is(pred[i], mlPred[i], `row ${i}`);
  }
  t.true(compared > 0.9 * Xte.rows, `${compared} rows without a tie`);
  // the mljs engine is ml-knn
  const viaEngine = await new Knn({ k: 5, engine: 'mljs' }).fit(Xtr, ytr);
  t.deepEqual(Array.from(await viaEngine.predict(Xte)), mlPred);
});

for (const [weights, metric] of [
  ['distance', 'euclidean'],
  ['uniform', 'manhattan'],
  ['distance', 'manhattan'],
  ['uniform', 'euclidean'],
] as const) {
  test(`${weights} weights, ${metric}: kd_tree and brute equal the plain reference`, async (t) => {
    const { Xtr, ytr, Xte: all } = await fashion();
    const Xte = takeRows(
      all,
      Array.from({ length: 203 }, (_, i) => i),
    );
    await matchesReference(t, Xtr, ytr, Xte, { k: 7, weights, metric }, 10, true);
  });
}

test('ties: equal distances go to the lower training index, equal votes to the lower label', async (t) => {
  // points on a small integer grid: many exactly equal distances, duplicates with different labels
  const rng = createRng(5);
  const n = 301;
  const d = 3;
  const Xtr = matrix(
    n,
    d,
    Float32Array.from({ length: n * d }, () => rng.int(4)),
  );
  const ytr = Uint8Array.from({ length: n }, () => rng.int(4));
  const Xte = matrix(
    61,
    d,
    Float32Array.from({ length: 61 * d }, () => rng.int(4) + (rng.int(2) ? 0.5 : 0)),
  );
  for (const metric of ['euclidean', 'manhattan'] as const) {
    for (const weights of ['uniform', 'distance'] as const) {
      await matchesReference(t, Xtr, ytr, Xte, { k: 6, weights, metric }, 4, false);
    }
  }
});

test('distance weights: an exact match takes all the weight', async (t) => {
  const Xtr = matrix(5, 2, Float32Array.from([0, 0, 0, 0, 1, 0, 0, 1, 5, 5]));
  const ytr = Uint8Array.from([2, 1, 0, 0, 0]);
  const m = await new Knn({ k: 4, weights: 'distance' }).fit(Xtr, ytr);
  // (0,0) is rows 0 and 1 (labels 2 and 1): they share the weight; the two at distance 1 get none
  const proba = await m.predictProba(matrix(1, 2, Float32Array.from([0, 0])));
  t.deepEqual(Array.from(proba.data), [0, 0.5, 0.5]);
  t.deepEqual(Array.from(await m.predict(matrix(1, 2, Float32Array.from([0, 0])))), [1]);
  // elsewhere 1/d: (0.5, 0): d = 0.5, 0.5, 0.5, √1.25 → labels 2, 1, 0, 0
  const p2 = await m.predictProba(matrix(1, 2, Float32Array.from([0.5, 0])));
  const w = [2, 2, 2, 1 / Math.sqrt(1.25)];
  const total = w.reduce((a, b) => a + b);
  t.true(Math.abs(p2.data[0] - (w[2] + w[3]) / total) < 1e-6);
  t.true(Math.abs(p2.data[1] - w[1] / total) < 1e-6);
});

test('the mljs engine with distance weights agrees with native', async (t) => {
  const { Xtr, ytr, Xte } = await fashion();
  const a = await new Knn({ k: 5, weights: 'distance', engine: 'mljs' }).fit(Xtr, ytr);
  const b = await new Knn({ k: 5, weights: 'distance' }).fit(Xtr, ytr);
  const pa = await a.predictProba(Xte);
  const pb = await b.predictProba(Xte);
  for (let i = 0; i < pa.data.length; i++) t.true(Math.abs(pa.data[i] - pb.data[i]) < 1e-5);
  t.deepEqual(await a.predict(Xte), await b.predict(Xte));
});

test.serial('FASHION_WORKERS=1 and the default pool give identical output (several query chunks)', async (t) => {
  const rng = createRng(9);
  const d = 10;
  const Xtr = matrix(
    3001,
    d,
    Float32Array.from({ length: 3001 * d }, () => rng.float()),
  );
  const ytr = Uint8Array.from({ length: 3001 }, () => rng.int(10));
  const Xte = matrix(
    1501,
    d,
    Float32Array.from({ length: 1501 * d }, () => rng.float()),
  );
  const saved = process.env.FASHION_WORKERS;
  try {
    for (const algorithm of ['kd_tree', 'brute'] as const) {
      process.env.FASHION_WORKERS = '1';
      const one = await new Knn({ k: 5, weights: 'distance', algorithm }).fit(Xtr, ytr);
      const nbOne = await one.kneighbors(Xte);
      const probaOne = await one.predictProba(Xte);
      process.env.FASHION_WORKERS = '2';
      const two = await new Knn({ k: 5, weights: 'distance', algorithm }).fit(Xtr, ytr);
      const nbTwo = await two.kneighbors(Xte);
      const probaTwo = await two.predictProba(Xte);
      t.deepEqual(nbOne.index, nbTwo.index);
      t.deepEqual(nbOne.distance, nbTwo.distance);
      t.deepEqual(probaOne.data, probaTwo.data);
    }
  } finally {
    if (saved === undefined) delete process.env.FASHION_WORKERS;
    else process.env.FASHION_WORKERS = saved;
  }
});

/**
 * Both search algorithms against the plain reference: neighbour indices, predictions and probabilities per row (and
 * distances when `distances` is set), with the reference's tie rules.
 */
async function matchesReference(
  t: ExecutionContext,
  Xtr: Matrix,
  ytr: Uint8Array,
  Xte: Matrix,
  params: { k: number; weights: 'uniform' | 'distance'; metric: 'euclidean' | 'manhattan' },
  labels: number,
  distances: boolean,
): Promise<void> {
  const { k } = params;
  const ref = reference(Xtr, ytr, Xte, params);
  for (const algorithm of ['kd_tree', 'brute'] as const) {
    const m = await new Knn({ ...params, algorithm }).fit(Xtr, ytr);
    const nb = await m.kneighbors(Xte);
    const pred = await m.predict(Xte);
    const proba = await m.predictProba(Xte);
    t.is(proba.cols, labels);
    for (let i = 0; i < Xte.rows; i++) {
      t.deepEqual(
        Array.from(nb.index.subarray(i * k, i * k + k)),
        ref.index[i],
        `${params.metric} ${algorithm} row ${i}`,
      );
      if (distances)
        for (let j = 0; j < k; j++)
          t.true(Math.abs(nb.distance[i * k + j] - ref.distance[i][j]) < 1e-9 * (1 + ref.distance[i][j]));
      t.is(pred[i], ref.pred[i], `${algorithm} row ${i}`);
      for (let l = 0; l < labels; l++) t.true(Math.abs(proba.data[i * labels + l] - ref.proba[i][l]) < 1e-6);
    }
  }
}

test('shared search: one k = 9 search gives every k ≤ 9 and both weightings the labels their own predict gives', async (t) => {
  const { Xtr, ytr, Xte: queries } = await fashion();
  const train = { X: Xtr, y: ytr };
  t.deepEqual(knnSpec.sharedWork!(KnnParams.parse({ k: 5, weights: 'distance' })), {
    key: 'euclidean|kd_tree',
    size: 5,
  });
  t.is(knnSpec.sharedWork!(KnnParams.parse({ k: 5, engine: 'mljs' })), null, 'ml-knn searches are not shared');
  const first = await new Knn({ k: 9, algorithm: 'brute' }).fit(train.X, train.y);
  const shared = await first.predictSharing!(queries, null, 9);
  t.deepEqual(Array.from(shared.labels), Array.from(await first.predict(queries)));
  for (const k of [1, 3, 5]) {
    for (const weights of ['uniform', 'distance'] as const) {
      const knn = await new Knn({ k, weights, algorithm: 'brute' }).fit(train.X, train.y);
      const out = await knn.predictSharing!(queries, shared.work, k);
      t.is(out.work, shared.work, `k=${k} ${weights}: the remembered search is used, not redone`);
      t.deepEqual(Array.from(out.labels), Array.from(await knn.predict(queries)), `k=${k} ${weights}`);
    }
  }
  // a remembered search for fewer neighbours than k is not enough: searched again, for max(k, size)
  const small = await new Knn({ k: 3 }).fit(train.X, train.y);
  const few = await small.predictSharing!(queries, null, 2);
  t.is((few.work as { k: number }).k, 3);
  const wider = await new Knn({ k: 7 }).fit(train.X, train.y);
  const again = await wider.predictSharing!(queries, few.work, 7);
  t.not(again.work, few.work);
  t.deepEqual(Array.from(again.labels), Array.from(await wider.predict(queries)));
});

test('k-d tree kept in kernel memory: another tree or another kernel in between makes the search copy it again', (t) => {
  const rng = createRng(11);
  const rows = (n: number, d: number) =>
    matrix(
      n,
      d,
      Float32Array.from({ length: n * d }, () => rng.float()),
    );
  const a = buildKdTree(rows(700, 12));
  const b = buildKdTree(rows(500, 12));
  const queries = rows(40, 12).data;
  const first = knnTreeTask(a, queries, 40, 6, 'euclidean');
  t.deepEqual(knnTreeTask(a, queries, 40, 6, 'euclidean'), first); // searched again from the copy already there
  const other = knnTreeTask(b, queries, 40, 6, 'euclidean');
  t.notDeepEqual(other.index, first.index);
  t.deepEqual(knnTreeTask(a, queries, 40, 6, 'euclidean'), first); // a copied back over b
  // a plain arena (another kernel's task) may overwrite the region: filled with garbage, the tree is copied again
  const arena = new Arena();
  const at = arena.reserve(1 << 22);
  arena.f32(at, 1 << 20).fill(-3);
  t.deepEqual(knnTreeTask(a, queries, 40, 6, 'euclidean'), first);
  // the rows read back from the tree are the rows it was built on
  const X = rows(300, 7);
  t.deepEqual(treeRows(buildKdTree(X)).data, X.data);
});

test('k-d tree on very large and very small values (float32 overflow and underflow in its first pass) equals the plain reference', async (t) => {
  const rng = createRng(23);
  for (const scale of [3e19, 1e-30, 1]) {
    const make = (n: number) =>
      matrix(
        n,
        11,
        Float32Array.from({ length: n * 11 }, () => (rng.float() - 0.5) * scale),
      );
    const Xtr = make(900);
    const Xte = make(60);
    const ytr = Uint8Array.from({ length: 900 }, () => rng.int(4));
    const ref = reference(Xtr, ytr, Xte, { k: 4, weights: 'uniform', metric: 'euclidean' });
    const nb = await new Knn({ k: 4 }).fit(Xtr, ytr).then((m) => m.kneighbors(Xte));
    for (let i = 0; i < Xte.rows; i++) {
      t.deepEqual(Array.from(nb.index.subarray(i * 4, i * 4 + 4)), ref.index[i], `scale ${scale} row ${i}`);
      for (let j = 0; j < 4; j++)
        t.true(Math.abs(nb.distance[i * 4 + j] - ref.distance[i][j]) <= 1e-9 * ref.distance[i][j]);
    }
  }
});

test('k-d tree: squared distances in float32 subnormals (rounding there is absolute) still give the exact nearest row', (t) => {
  // |row 0|² = 3·e² < |row 1|² = y², both far below float32's normal range; one row per leaf
  const e = Math.sqrt(0.6 * 2 ** -149);
  const y = Math.sqrt(1.9 * 2 ** -149);
  const X = matrix(2, 3, Float32Array.from([e, e, e, y, 0, 0]));
  t.true(3 * Math.fround(e) ** 2 < Math.fround(y) ** 2);
  const tree = buildKdTree(X, 1);
  const found = knnTreeTask(tree, new Float32Array(3), 1, 1, 'euclidean');
  t.is(found.index[0], 0);
});
