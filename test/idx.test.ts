import test from 'ava';
import { mkdirSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '../src/data/errors.js';
import { bundledDataDir, CLASS_NAMES, FILES, loadSplit } from '../src/data/fashion-mnist.js';
import { encodeIdx, parseIdx } from '../src/data/idx.js';
import { tempDir } from './helpers.js';

test('parseIdx reads dimensions and data of a crafted file', (t) => {
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
  const parsed = parseIdx(encodeIdx([2, 3, 4], data), 'x');
  t.deepEqual(parsed.dims, [2, 3, 4]);
  t.deepEqual(Array.from(parsed.data), Array.from(data));
});

test('parseIdx rejects a bad magic number, unknown types, truncation and trailing bytes', (t) => {
  const good = encodeIdx([2, 2], new Uint8Array(4));
  const badMagic = good.slice();
  badMagic[0] = 1;
  t.throws(() => parseIdx(badMagic, 'f'), { instanceOf: DataError, message: /f: not an IDX file/ });
  const badType = good.slice();
  badType[2] = 0x42;
  t.throws(() => parseIdx(badType, 'f'), { message: /unknown IDX element type 0x42/ });
  const floats = good.slice();
  floats[2] = 0x0d;
  t.throws(() => parseIdx(floats, 'f'), { message: /only unsigned byte/ });
  t.throws(() => parseIdx(good.subarray(0, good.length - 1), 'f'), {
    message: /need 16 bytes but the file has 15 \(truncated\)/,
  });
  const longer = new Uint8Array(good.length + 3);
  longer.set(good);
  t.throws(() => parseIdx(longer, 'f'), { message: /trailing data/ });
  t.throws(() => parseIdx(good.subarray(0, 6), 'f'), { message: /truncated header/ });
});

test('the bundled files load with their recorded checksums: 60k and 10k images, 10 balanced classes', (t) => {
  const train = loadSplit(bundledDataDir(), 'train');
  const test_ = loadSplit(bundledDataDir(), 'test');
  t.is(train.X.rows, 60000);
  t.is(train.X.cols, 784);
  t.is(test_.X.rows, 10000);
  t.is(train.checksums.images, FILES.train.images.sha256);
  const counts = new Array(CLASS_NAMES.length).fill(0);
  for (const label of test_.y) counts[label]++;
  t.deepEqual(counts, new Array(10).fill(1000));
  t.true(train.X.data.every((v) => v >= 0 && v <= 255));
});

function fakeFolder(images: Uint8Array, labels: Uint8Array): string {
  const dir = tempDir();
  writeFileSync(join(dir, FILES.test.images.file), gzipSync(images));
  writeFileSync(join(dir, FILES.test.labels.file), gzipSync(labels));
  return dir;
}

test('an altered file is named with the checksum it should have', (t) => {
  const images = encodeIdx([2, 28, 28], new Uint8Array(2 * 784));
  const labels = encodeIdx([2], Uint8Array.from([1, 2]));
  const dir = fakeFolder(images, labels);
  const err = t.throws(() => loadSplit(dir, 'test'), { instanceOf: DataError });
  t.regex(
    err!.message,
    /t10k-images-idx3-ubyte\.gz: SHA-256 of the decompressed data is [0-9a-f]{64}, expected 5b4141f0/,
  );
  t.notRegex(err!.message, /\n/);
});

test('verify:false reads other IDX data and still checks that the files agree', (t) => {
  const images = encodeIdx([2, 28, 28], new Uint8Array(2 * 784).fill(7));
  const ok = loadSplit(fakeFolder(images, encodeIdx([2], Uint8Array.from([3, 9]))), 'test', { verify: false });
  t.deepEqual(Array.from(ok.y), [3, 9]);
  t.is(ok.X.data[5], 7);
  t.throws(() => loadSplit(fakeFolder(images, encodeIdx([3], Uint8Array.from([1, 2, 3]))), 'test', { verify: false }), {
    message: /has 2 images but .* has 3 labels/,
  });
  t.throws(() => loadSplit(fakeFolder(images, encodeIdx([2], Uint8Array.from([1, 12]))), 'test', { verify: false }), {
    message: /label 12 at item 1 is outside 0–9/,
  });
  t.throws(
    () =>
      loadSplit(
        fakeFolder(encodeIdx([2, 27, 29], new Uint8Array(2 * 27 * 29)), encodeIdx([2], Uint8Array.from([1, 2]))),
        'test',
        { verify: false },
      ),
    {
      message: /images are 27×29 pixels; Fashion-MNIST images are 28×28/,
    },
  );
});

test('missing and truncated gzip files are one-line errors naming the file', (t) => {
  const empty = tempDir();
  t.throws(() => loadSplit(empty, 'test'), {
    instanceOf: DataError,
    message: /missing data file .*t10k-images-idx3-ubyte\.gz/,
  });
  const dir = tempDir();
  mkdirSync(dir, { recursive: true });
  const gz = gzipSync(encodeIdx([1, 28, 28], new Uint8Array(784)));
  writeFileSync(join(dir, FILES.test.images.file), gz.subarray(0, gz.length - 10));
  copyFileSync(join(bundledDataDir(), FILES.test.labels.file), join(dir, FILES.test.labels.file));
  t.throws(() => loadSplit(dir, 'test'), {
    message: /t10k-images-idx3-ubyte\.gz: the gzip stream ends early: the file is truncated/,
  });
});
