/**
 * Hostile data through the real CLI: IDX files damaged in each way the parser can tell apart, gzip streams broken in
 * each way zlib can tell apart, CSV files that are not Kaggle's layout, and --no-verify for other valid IDX data.
 */
import test from 'ava';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '../../src/data/errors.js';
import { FILES, splitFromFiles } from '../../src/data/fashion-mnist.js';
import { encodeIdx } from '../../src/data/idx.js';
import { toCsv } from '../../src/data/csv.js';
import { fashionSample, fashionTestSample, tempDir } from '../helpers.js';
import { assertCleanFailure, cli, listTree } from './harness.js';

const TRAIN = 300;
const TEST = 100;
const train = fashionSample(TRAIN, 4);
const testSet = fashionTestSample(TEST, 4);
const bytes = (X: Float32Array) => Uint8Array.from(X);

/** The IDX files (decompressed) of a small valid set: 300 training and 100 test images. */
function idxFiles(): Record<string, Uint8Array> {
  return {
    [FILES.train.images.file]: encodeIdx([TRAIN, 28, 28], bytes(train.X.data)),
    [FILES.train.labels.file]: encodeIdx([TRAIN], train.y),
    [FILES.test.images.file]: encodeIdx([TEST, 28, 28], bytes(testSet.X.data)),
    [FILES.test.labels.file]: encodeIdx([TEST], testSet.y),
  };
}

/** A folder with the small set, one file replaced (`raw`: the gzip bytes as given, else gzipped here). */
function folder(change: { file?: string; idx?: Uint8Array; raw?: Uint8Array } = {}): string {
  const dir = tempDir();
  for (const [name, content] of Object.entries(idxFiles())) {
    const replaced = name === change.file;
    writeFileSync(join(dir, name), replaced && change.raw ? change.raw : gzipSync(replaced ? change.idx! : content));
  }
  return dir;
}

const PIPELINE = `name: small
data:
  limit: { train: ${TRAIN}, test: ${TEST} }
steps:
  - normalize: {}
  - knn: { k: 1 }
evaluation:
  folds: 2
`;

function pipelineFile(text = PIPELINE): { dir: string; file: string } {
  const dir = tempDir();
  writeFileSync(join(dir, 'small.yaml'), text);
  return { dir, file: join(dir, 'small.yaml') };
}

/** `pipeline run small.yaml --data <dir> …extra`, asserting a clean failure (exit 1) whose line says `says`. */
function refuses(t: import('ava').ExecutionContext, data: string, says: Array<string | RegExp>, extra: string[] = []) {
  const { dir, file } = pipelineFile();
  const out = join(dir, 'out');
  const before = listTree(dir);
  const r = cli(['run', file, '--data', data, '--out', out, '--no-pictures', ...extra], { cwd: dir });
  assertCleanFailure(t, r, { exit: 1, says, unchanged: [{ dir, before }] });
}

const labels = FILES.train.labels.file;
const images = FILES.train.images.file;
const withByte = (buffer: Uint8Array, at: number, value: number) => {
  const copy = buffer.slice();
  copy[at] = value;
  return copy;
};

test('a label outside 0–9 is named with its item, before any checksum', (t) => {
  const idx = idxFiles()[labels];
  refuses(t, folder({ file: labels, idx: withByte(idx, 8 + 5, 12) }), [`${labels}: label 12 at item 5 is outside 0–9`]);
});

test('--no-verify still applies the structural checks', (t) => {
  const idx = idxFiles()[labels];
  refuses(
    t,
    folder({ file: labels, idx: withByte(idx, 8 + 5, 12) }),
    ['label 12 at item 5 is outside 0–9'],
    ['--no-verify'],
  );
});

test('a wrong magic number says it is not an IDX file', (t) => {
  refuses(t, folder({ file: images, idx: withByte(idxFiles()[images], 0, 0x1f) }), [images, /not an IDX file/]);
});

test('a wrong element-type byte names the type found', (t) => {
  refuses(t, folder({ file: images, idx: withByte(idxFiles()[images], 2, 0x0d) }), [
    images,
    /IDX element type is float; only unsigned byte/,
  ]);
});

test('images stored as rows of 784 have the wrong number of dimensions', (t) => {
  refuses(t, folder({ file: images, idx: encodeIdx([TRAIN, 784], bytes(train.X.data)) }), [
    images,
    'an images file has 3 dimensions (count×28×28), this one has 2 (300×784)',
  ]);
});

test('images that are not 28×28 are named with their size', (t) => {
  refuses(t, folder({ file: images, idx: encodeIdx([TRAIN / 3, 56, 42], bytes(train.X.data)) }), [
    `${images}: images are 56×42 pixels; Fashion-MNIST images are 28×28`,
  ]);
});

test('a truncated IDX file: the header declares more bytes than there are', (t) => {
  const idx = idxFiles()[images];
  refuses(t, folder({ file: images, idx: idx.subarray(0, idx.length - 1000) }), [
    images,
    /dimensions 300×28×28 need 235216 bytes but the file has 234216 \(truncated\)/,
  ]);
});

test('trailing bytes after the data the header declares', (t) => {
  const idx = idxFiles()[labels];
  refuses(t, folder({ file: labels, idx: Uint8Array.from([...idx, 1, 2, 3]) }), [labels, /\(trailing data\)/]);
});

test('a header that claims 2^31 images fails at once, without allocating them', (t) => {
  const idx = encodeIdx([2 ** 31 - 1, 28, 28], new Uint8Array(784));
  // refused by the header's arithmetic against the bytes present, before any row is read or allocated
  const says = `need ${16 + (2 ** 31 - 1) * 784} bytes but the file has 800 (truncated)`;
  refuses(t, folder({ file: images, idx }), [images, says]);
  // the same bytes in this process: the same refusal, and no array of the claimed size made
  const before = process.memoryUsage().arrayBuffers;
  const file = (name: string, bytes: Uint8Array) => ({ path: name, bytes, gzip: false });
  t.throws(() => splitFromFiles(file(images, idx), file(labels, idxFiles()[labels]), 'train', { verify: false }), {
    instanceOf: DataError,
    message: `${images}: dimensions ${2 ** 31 - 1}×28×28 ${says}`,
  });
  t.true(process.memoryUsage().arrayBuffers - before < 2 ** 20, 'no array of the claimed size');
});

test('image and label files whose counts disagree', (t) => {
  refuses(t, folder({ file: labels, idx: encodeIdx([TRAIN - 1], train.y.subarray(1)) }), [
    `${images} has 300 images but`,
    `${labels} has 299 labels`,
  ]);
});

test('a gzip stream with a bad CRC', (t) => {
  const gz = gzipSync(idxFiles()[labels]);
  refuses(t, folder({ file: labels, raw: withByte(gz, gz.length - 8, gz[gz.length - 8] ^ 0xff) }), [
    `${labels}: the gzip CRC-32 does not match the data`,
  ]);
});

test('a truncated gzip stream', (t) => {
  const gz = gzipSync(idxFiles()[images]);
  refuses(t, folder({ file: images, raw: gz.subarray(0, gz.length >> 1) }), [
    `${images}: the gzip stream ends early: the file is truncated`,
  ]);
});

test('a .gz file that is not gzip at all', (t) => {
  refuses(t, folder({ file: images, raw: idxFiles()[images] }), [
    `${images}: not a gzip file (it starts with 00 00, gzip with 1f 8b)`,
  ]);
});

test('a folder in place of a data file', (t) => {
  const dir = folder();
  rmSync(join(dir, labels));
  mkdirSync(join(dir, labels));
  refuses(t, dir, [`${labels}: not a regular file`]);
});

test('a structurally valid file that is not the official one is "altered", with the checksum it should have', (t) => {
  refuses(t, folder(), [
    images,
    /SHA-256 of the decompressed data is [0-9a-f]{64}, expected c59f468a.*; the file is altered or truncated/,
  ]);
});

test('--no-verify reads other valid IDX data and the report says it was not verified', (t) => {
  const { dir, file } = pipelineFile();
  const data = folder();
  const out = join(dir, 'out');
  const r = cli(['run', file, '--data', data, '--out', out, '--no-pictures', '--no-verify', '-q'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  const json = JSON.parse(readFileSync(join(out, 'small.json'), 'utf8'));
  t.is(json.data.verified, false);
  t.is(json.data.train_rows, TRAIN);
  t.regex(readFileSync(join(out, 'small.md'), 'utf8'), /Not verified against the official Fashion-MNIST checksums/);
});

test('--no-verify refuses a set with no images', (t) => {
  const empty = { file: images, idx: encodeIdx([0, 28, 28], new Uint8Array(0)) };
  const dir = folder(empty);
  writeFileSync(join(dir, labels), gzipSync(encodeIdx([0], new Uint8Array(0))));
  refuses(t, dir, [images, /no images/], ['--no-verify']);
});

function csvPipeline(trainCsv: string): { dir: string; file: string } {
  const p = pipelineFile(
    PIPELINE.replace('data:\n', 'data:\n  format: csv\n  train: train.csv\n  test: test.csv\n').replace(
      / {2}limit: .*\n/,
      '',
    ),
  );
  writeFileSync(join(p.dir, 'train.csv'), trainCsv);
  writeFileSync(join(p.dir, 'test.csv'), toCsv(testSet));
  return p;
}

function csvRefuses(t: import('ava').ExecutionContext, trainCsv: string, says: Array<string | RegExp>) {
  const { dir, file } = csvPipeline(trainCsv);
  const before = listTree(dir);
  const r = cli(['run', file, '--out', join(dir, 'out'), '--no-pictures'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 1, says, unchanged: [{ dir, before }] });
}

const goodCsv = () => toCsv(train).split('\n');

test('CSV: a label outside 0–9 is named with its line', (t) => {
  const lines = goodCsv();
  lines[3] = lines[3].replace(/^\d+,/, '12,');
  csvRefuses(t, lines.join('\n'), [/train\.csv:4: label 12 is not a class/]);
});

test('CSV: a row with too few columns, and a pixel that is not a number', (t) => {
  const lines = goodCsv();
  lines[2] = lines[2].split(',').slice(0, 700).join(',');
  csvRefuses(t, lines.join('\n'), [/train\.csv:3: 700 columns, expected 785/]);
  const other = goodCsv();
  other[5] = other[5].replace(/,(\d+)$/, ',0x1');
  csvRefuses(t, other.join('\n'), [/train\.csv:6: column 785 is not a whole number \(found "x"\)/]);
});

test('CSV: millions of short lines fail on the first one without allocating a row for each', (t) => {
  const lines = goodCsv();
  const text = `${lines[0]}\n${lines[1]}\n${'0\n'.repeat(4_000_000)}${lines[2]}\n`;
  csvRefuses(t, text, [/train\.csv:3: 1 columns, expected 785/]);
});

test('CSV: a training file with only its header has no rows to learn from', (t) => {
  csvRefuses(t, `${goodCsv()[0]}\n`, [/train\.csv: no data rows \(header only\)/]);
});
