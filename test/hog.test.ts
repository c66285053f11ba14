import test from 'ava';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../src/config/errors.js';
import { parsePipeline } from '../src/config/load.js';
import { CLASS_NAMES } from '../src/data/fashion-mnist.js';
import { matrix, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { decodeModel, encodeModel } from '../src/model/format.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { Hog, HogParams, hogSpec } from '../src/stages/hog.js';
import { hogRows } from '../src/stages/hog-rows.js';
import { registry, stageNames } from '../src/stages/registry.js';
import { ParamRangeError } from '../src/stages/stage.js';

test.after.always(() => shutdownPool());

/** test/fixtures/hog-skimage.json, written by test/fixtures/make-hog-fixture.py. */
interface Fixture {
  skimage_version: string;
  indices: number[];
  /** base64 of each image's 784 bytes. */
  images: string[];
  cases: Array<{
    params: Partial<HogParams>;
    skimage: Record<string, unknown>;
    images: number[];
    features: number[][];
  }>;
}

const fixture = JSON.parse(
  readFileSync(new URL('../../test/fixtures/hog-skimage.json', import.meta.url), 'utf8'),
) as Fixture;
const images = fixture.images.map((b64) => Float32Array.from(Buffer.from(b64, 'base64')));

/** Rows of size² pixels as a matrix. */
function rowsOf(pixels: Float32Array[], size = 28): Matrix {
  const data = new Float32Array(pixels.length * size * size);
  pixels.forEach((p, i) => data.set(p, i * size * size));
  return matrix(pixels.length, size * size, data);
}

/** hog of the rows with these params (fitted on them). */
async function hog(params: Partial<HogParams>, X: Matrix): Promise<Matrix> {
  const stage = new Hog(params);
  return (await stage.fit(X, new Uint8Array(X.rows))).transform(X);
}

test('hog matches scikit-image hog (feature_vector order) within 1e-5 on Fashion-MNIST images', async (t) => {
  let worst = 0;
  for (const c of fixture.cases) {
    const out = await hog(c.params, rowsOf(c.images.map((i) => images[i])));
    t.is(out.cols, c.features[0].length, `${JSON.stringify(c.params)}: feature count`);
    t.is(out.cols, hogSpec.outputFeatures!(HogParams.parse(c.params), 784));
    c.features.forEach((expected, j) => {
      let diff = 0;
      for (let f = 0; f < expected.length; f++)
        diff = Math.max(diff, Math.abs(out.data[j * out.cols + f] - expected[f]));
      t.true(diff <= 1e-5, `${JSON.stringify(c.params)} image ${c.images[j]}: max |ours − skimage| = ${diff}`);
      worst = Math.max(worst, diff);
    });
  }
  t.log(
    `skimage ${fixture.skimage_version}: max |ours − skimage| = ${worst.toExponential(2)} over ${fixture.cases.length} cases`,
  );
});

test('block_stride 2 keeps every other block of stride 1, in the same order', async (t) => {
  const X = rowsOf(images);
  const dense = await hog({ cell: 4, block: 2 }, X);
  const strided = await hog({ cell: 4, block: 2, block_stride: 2 }, X);
  // 7 cells per side: blocks at cells 0, 2, 4 → 3×3 blocks of 2×2 cells × 9 orientations
  t.is(strided.cols, 3 * 3 * 4 * 9);
  t.is(hogSpec.outputFeatures!(HogParams.parse({ block_stride: 2 }), 784), 324);
  t.is(dense.cols, 6 * 6 * 36);
  for (let i = 0; i < X.rows; i++) {
    for (let br = 0; br < 3; br++) {
      for (let bc = 0; bc < 3; bc++) {
        const from = i * strided.cols + (br * 3 + bc) * 36;
        const denseFrom = i * dense.cols + (2 * br * 6 + 2 * bc) * 36;
        t.deepEqual(
          Array.from(strided.data.subarray(from, from + 36)),
          Array.from(dense.data.subarray(denseFrom, denseFrom + 36)),
        );
      }
    }
  }
});

test('cells that do not tile the image leave the remainder out (as skimage): pixels past it change nothing', async (t) => {
  // size 28, cell 6: 4 cells cover rows and columns 0..23; gradients there read up to row/column 24
  const original = images[0];
  const changed = original.slice();
  for (let r = 0; r < 28; r++)
    for (let c = 0; c < 28; c++) if (r >= 25 || c >= 25) changed[r * 28 + c] = (r * 31 + c * 17) % 256;
  const params = { cell: 6, block: 2 };
  const a = await hog(params, rowsOf([original]));
  const b = await hog(params, rowsOf([changed]));
  t.is(a.cols, 3 * 3 * 4 * 9);
  t.deepEqual(Array.from(b.data), Array.from(a.data));
  const near = original.slice();
  near[24 * 28 + 5] += 50; // row 24 feeds the vertical gradient of row 23
  t.notDeepEqual(Array.from((await hog(params, rowsOf([near]))).data), Array.from(a.data));
});

/** A 4×4 image from a function of (row, column). */
function image4(f: (r: number, c: number) => number): Float32Array {
  const out = new Float32Array(16);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) out[r * 4 + c] = f(r, c);
  return out;
}

test('signed orientations: 0° = brighter to the right, 90° = brighter downwards, bins [i·w, (i+1)·w) over 360°', async (t) => {
  // one 4×4 cell, no normalisation: each bin is (sum of magnitudes) / 16; interior gradients are 20 per step of 10
  const params = { size: 4, cell: 4, block: 1, norm: 'none' as const, orientations: 4, signed: true };
  const ramp = async (f: (r: number, c: number) => number) =>
    Array.from((await hog(params, rowsOf([image4(f)], 4))).data);
  // 2 interior columns × 4 rows of magnitude 20 → 160 / 16 = 10
  t.deepEqual(await ramp((_r, c) => 10 * c), [10, 0, 0, 0], 'brighter to the right: 0°');
  t.deepEqual(await ramp((r) => 10 * r), [0, 10, 0, 0], 'brighter downwards: 90°');
  t.deepEqual(await ramp((_r, c) => 100 - 10 * c), [0, 0, 10, 0], 'brighter to the left: 180°');
  t.deepEqual(await ramp((r) => 100 - 10 * r), [0, 0, 0, 10], 'brighter upwards: 270°');
  // unsigned folds opposite directions together
  const unsigned = { ...params, signed: false, orientations: 2 };
  t.deepEqual(Array.from((await hog(unsigned, rowsOf([image4((_r, c) => 100 - 10 * c)], 4))).data), [10, 0]);

  // a diagonal ramp, 8 bins of 45°: inside, gradients (20, 20) lie exactly on the 45° edge and count in [45°, 90°);
  // on the border rows (columns) only the horizontal (vertical) difference is left: 0° (90°)
  const diagonal = Array.from(
    (await hog({ ...params, orientations: 8 }, rowsOf([image4((r, c) => 10 * (r + c))], 4))).data,
  );
  const expected = [(4 * 20) / 16, (4 * 20 * Math.SQRT2) / 16, (4 * 20) / 16, 0, 0, 0, 0, 0];
  expected.forEach((v, i) => t.true(Math.abs(diagonal[i] - v) < 1e-5, `bin ${i}: ${diagonal[i]} vs ${v}`));
  const reversed = Array.from(
    (await hog({ ...params, orientations: 8 }, rowsOf([image4((r, c) => 100 - 10 * (r + c))], 4))).data,
  );
  const turned = [0, 0, 0, 0, ...expected.slice(0, 4)]; // 180°, 225° (on the edge), 270°
  turned.forEach((v, i) => t.true(Math.abs(reversed[i] - v) < 1e-5, `reversed bin ${i}: ${reversed[i]} vs ${v}`));
});

test('signed with 2n bins folds onto unsigned with n bins (bin i + bin i+n), on real images', async (t) => {
  for (const n of [4, 9]) {
    const X = rowsOf(images);
    const cellsOnly = { cell: 4, block: 1, norm: 'none' as const };
    const signed = await hog({ ...cellsOnly, orientations: 2 * n, signed: true }, X);
    const unsigned = await hog({ ...cellsOnly, orientations: n }, X);
    t.is(signed.cols, 2 * unsigned.cols);
    let worst = 0;
    for (let cell = 0; cell < X.rows * 49; cell++) {
      for (let b = 0; b < n; b++) {
        const folded = signed.data[cell * 2 * n + b] + signed.data[cell * 2 * n + b + n];
        worst = Math.max(
          worst,
          Math.abs(folded - unsigned.data[cell * n + b]) / Math.max(1, unsigned.data[cell * n + b]),
        );
      }
    }
    t.true(worst < 1e-5, `n = ${n}: worst relative difference ${worst}`); // float32 sums in two parts vs one
  }
});

test('the pool gives the same features as one thread (rows split into tasks)', async (t) => {
  // 4100 rows: more than one task's worth
  const rows = Array.from({ length: 4100 }, (_, i) => {
    const p = images[i % images.length].slice();
    p[(i * 37) % 784] = (i * 13) % 256;
    return p;
  });
  const X = rowsOf(rows);
  const params = HogParams.parse({ cell: 7, norm: 'l1_sqrt', sqrt: true });
  const pooled = await hog(params, X);
  const direct = new Float32Array(pooled.data.length);
  hogRows(X.data, X.rows, params, direct);
  let differing = 0;
  for (let i = 0; i < direct.length; i++) if (!Object.is(pooled.data[i], direct[i])) differing++;
  t.is(differing, 0); // (t.deepEqual on a million values takes seconds)
});

test('params that do not fit the images are ParamRangeErrors naming the param; config reports them in place', async (t) => {
  const features = (p: Partial<HogParams>, cols = 784) => hogSpec.outputFeatures!(HogParams.parse(p), cols);
  t.is(features({}), 6 * 6 * 2 * 2 * 9);
  t.is(features({ cell: 3, block: 3, orientations: 8 }), 7 * 7 * 3 * 3 * 8); // 28 = 9 × 3 + 1
  t.throws(() => features({}, 700), {
    instanceOf: ParamRangeError,
    message: /700 features are not 28×28 \(not a square image\)/,
  });
  t.throws(() => features({}, 36), { instanceOf: ParamRangeError, message: /use size: 6/ });
  t.throws(() => features({ cell: 29 }), { instanceOf: ParamRangeError, message: /cell must be ≤ the image side 28/ });
  const err = t.throws(() => features({ cell: 10, block: 3 }), { instanceOf: ParamRangeError });
  t.is(err?.param, 'block');
  await t.throwsAsync(() => new Hog().fit(matrix(2, 8, new Float32Array(16)), new Uint8Array(2)), {
    instanceOf: ParamRangeError,
  });
  t.throws(() => new Hog({ norm: 'l3' as never }));

  const text = 'name: h\nsteps:\n  - hog: { cell: 14, block: 3 }\n  - knn: { k: 1 }\n';
  const error = t.throws(() => parsePipeline('p.yaml', text), { instanceOf: ConfigError });
  t.regex(error!.message, /^p\.yaml:3:29: hog\.block: block must be ≤ the 2 cells per side/);
  t.notThrows(() =>
    parsePipeline(
      'p.yaml',
      'name: h\nsteps:\n  - normalize: {}\n  - hog: { cell: 7, signed: true }\n  - pca: { components: 100 }\n  - knn: {}\n',
    ),
  );
  t.throws(
    () => parsePipeline('p.yaml', 'name: h\nsteps:\n  - hog: { cell: 7 }\n  - pca: { components: 400 }\n  - knn: {}\n'),
    {
      message: /pca\.components: components must be ≤ the 324 features it receives/,
    },
  );
});

test('sqrt refuses negative pixels instead of returning NaN', async (t) => {
  const X = rowsOf([images[0].map((v) => v - 100)]);
  await t.throwsAsync(() => hog({ sqrt: true }, X), { message: /hog: sqrt needs pixels ≥ 0/ });
});

test('hog is in the registry, and a fitted hog → knn pipeline survives a model file', async (t) => {
  t.true(Object.is(registry.get('hog'), hogSpec));
  t.true(stageNames().includes('hog'));
  const X = rowsOf(Array.from({ length: 12 }, (_, i) => images[i % 4].map((v, p) => (p % 29 === i ? 255 - v : v))));
  const y = Uint8Array.from({ length: 12 }, (_, i) => i % 4);
  const steps = [
    { id: 'hog', stage: 'hog', params: HogParams.parse({ cell: 7, signed: true }) },
    { id: 'knn', stage: 'knn', params: { k: 1 } },
  ];
  const pipeline = await Pipeline.fromSteps(steps).fit(X, y);
  const info = {
    name: 't',
    source: 't.yaml',
    tool: '0',
    created: '',
    classes: [...CLASS_NAMES],
    training: { rows: 12, data: 'fixture' },
    fit_key: '',
  };
  const back = decodeModel(encodeModel(pipeline, steps, info));
  t.deepEqual(Array.from(await back.pipeline.predict(X)), Array.from(await pipeline.predict(X)));
});
