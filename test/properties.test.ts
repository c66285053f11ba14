/**
 * Property tests for the text and data parsers: whatever the bytes, the pipeline-file loader gives a PipelineConfig or
 * a ConfigError, the IDX reader (and its gzip layer) a Dataset or a DataError, the CSV reader a Dataset or a DataError.
 */
import test from 'ava';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { stringify } from 'yaml';
import { ConfigError } from '../src/config/errors.js';
import { parsePipeline } from '../src/config/load.js';
import { parseCsv, toCsv } from '../src/data/csv.js';
import { DataError } from '../src/data/errors.js';
import { splitFromFiles } from '../src/data/fashion-mnist.js';
import { encodeIdx } from '../src/data/idx.js';
import { matrix } from '../src/linalg/matrix.js';
import { holds, mutated } from './properties-helpers.js';

const PIPELINE = `name: tiny
description: a small pipeline
data:
  limit: { train: 300, test: 100 }
steps:
  - normalize: { method: minmax }
  - pca: { components: 5 }
  - knn: { k: 3, weights: distance }
evaluation:
  folds: 3
  seed: 7
grid:
  knn.k: [1, 3]
  pca.components: [5, 10]
`;

const isConfigError = (err: unknown) => err instanceof ConfigError;
const isDataError = (err: unknown) => err instanceof DataError;
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

test.serial('pipeline files: random text is a PipelineConfig or a ConfigError', async (t) => {
  await holds(t, fc.string({ maxLength: 300, unit: 'binary' }), (s) => parsePipeline('p.yaml', s), isConfigError, {
    runs: 300,
  });
});

test.serial('pipeline files: mutated bytes of a valid file are a PipelineConfig or a ConfigError', async (t) => {
  const base = new TextEncoder().encode(PIPELINE);
  await holds(t, mutated(base, base.length), (b) => parsePipeline('p.yaml', text(b)), isConfigError, { runs: 400 });
});

test.serial('pipeline files: any YAML value in any section is a PipelineConfig or a ConfigError', async (t) => {
  const valid = { name: 'tiny', steps: [{ normalize: {} }, { knn: { k: 3 } }], evaluation: { folds: 3 } };
  const section = fc.constantFrom('name', 'steps', 'evaluation', 'data', 'grid', 'description', 'other');
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(-1, 0, 1e308, 2 ** 53, '', '..', '1e999'));
  const input = fc.tuple(section, value).map(([key, v]) => stringify({ ...valid, [key]: v }));
  await holds(t, input, (s) => parsePipeline('p.yaml', s), isConfigError, { runs: 300 });
});

const ROWS = 6;
const pixels = Uint8Array.from({ length: ROWS * 784 }, (_, i) => (i * 37) % 256);
const labels = Uint8Array.from({ length: ROWS }, (_, i) => i % 10);
const imagesIdx = encodeIdx([ROWS, 28, 28], pixels);
const labelsIdx = encodeIdx([ROWS], labels);
/** A dataset read from mutated IDX bytes still has one label per 784-pixel row, every label a class. */
function readSplit(images: Uint8Array, labelBytes: Uint8Array, gzipped: boolean, verify: boolean) {
  const img = { path: 'images.gz', bytes: images, gzip: gzipped };
  const split = splitFromFiles(img, { path: 'labels.gz', bytes: labelBytes, gzip: gzipped }, 'test', { verify });
  if (split.X.rows !== split.y.length || split.X.cols !== 784 || split.X.data.length !== split.y.length * 784) {
    throw new Error(`inconsistent dataset: ${split.X.rows} rows, ${split.y.length} labels`);
  }
  if (split.y.some((y) => y > 9)) throw new Error('a label outside 0–9 was accepted');
  return split;
}

test.serial('IDX: mutated image or label files are a Dataset or a DataError (verify off and on)', async (t) => {
  const input = fc.tuple(fc.boolean(), mutated(imagesIdx, 32), mutated(labelsIdx, 16), fc.boolean());
  await holds(
    t,
    input,
    ([which, img, lbl, verify]) => readSplit(which ? img : imagesIdx, which ? labelsIdx : lbl, false, verify),
    isDataError,
    { runs: 400 },
  );
});

test.serial('IDX gzip layer: mutated gzip streams are a Dataset or a DataError', async (t) => {
  const gzImages = gzipSync(imagesIdx);
  const gzLabels = gzipSync(labelsIdx);
  const input = fc.tuple(fc.boolean(), mutated(gzImages, gzImages.length), mutated(gzLabels, gzLabels.length));
  await holds(
    t,
    input,
    ([which, img, lbl]) => readSplit(which ? img : gzImages, which ? gzLabels : lbl, true, false),
    isDataError,
    { runs: 400 },
  );
});

test.serial('IDX: a header that claims 2^31 items (or any count) never allocates what it claims', async (t) => {
  const dims = fc.array(fc.nat({ max: 2 ** 32 - 1 }), { minLength: 1, maxLength: 4 });
  const input = dims.map((d) => encodeIdx(d, pixels.subarray(0, 100)));
  await holds(t, input, (idx) => readSplit(idx, labelsIdx, false, false), isDataError, {
    runs: 300,
  });
});

const csv = new TextEncoder().encode(
  toCsv({ X: matrix(3, 784, Float32Array.from(pixels.subarray(0, 3 * 784))), y: labels.subarray(0, 3) }),
);

test.serial('CSV: mutated bytes of a valid file are a Dataset or a DataError', async (t) => {
  const parse = (b: Uint8Array) => {
    const d = parseCsv(text(b), 'f.csv');
    if (d.X.rows !== d.y.length || d.X.data.length !== d.y.length * 784) throw new Error('inconsistent dataset');
    if (d.X.data.some((v) => !(v >= 0 && v <= 255))) throw new Error('a pixel outside 0..255 was accepted');
  };
  await holds(t, mutated(csv, csv.length), parse, isDataError, { runs: 400 });
});

test.serial(
  'CSV: random text is a DataError; many short lines are refused at the first, in little memory',
  async (t) => {
    const parse = (s: string) => parseCsv(s, 'f.csv');
    await holds(t, fc.string({ maxLength: 400, unit: 'binary' }), parse, isDataError, { runs: 60 });
    // up to two million lines after the header: refused at line 2, so the rest is never parsed into rows
    const header = toCsv({ X: matrix(0, 784, new Float32Array(0)), y: new Uint8Array(0) });
    const lines = fc
      .tuple(fc.string({ maxLength: 8 }), fc.integer({ min: 1, max: 2_000_000 }))
      .map(([l, n]) => header + `${l}\n`.repeat(n) + 'x');
    const atLine2 = (err: unknown) => isDataError(err) && (err as Error).message.startsWith('f.csv:2: ');
    await holds(t, lines, parse, atLine2, { runs: 60 });
  },
);
