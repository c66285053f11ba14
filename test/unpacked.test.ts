import test from 'ava';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { bundledDataDir, FILES, loadSplit } from '../src/data/fashion-mnist.js';
import { tempDir, withEnv } from './helpers.js';

// Each test points $FASHION_DATA_CACHE at a folder of its own; serial, since they set the environment.
function withCache<T>(folder: string, fn: () => T): T {
  return withEnv('FASHION_DATA_CACHE', folder, fn);
}

const fingerprint = (s: ReturnType<typeof loadSplit>) => ({
  rows: s.X.rows,
  pixels: s.X.data.reduce((a, v, i) => (a + v * ((i % 97) + 1)) % 1e9, 0),
  labels: Array.from(s.y.subarray(0, 50)),
  checksums: s.checksums,
});

test.serial('the test images are kept decompressed once, and later loads from the copy give the same split', (t) => {
  const folder = join(tempDir(), 'unpacked');
  const direct = withCache('off', () => fingerprint(loadSplit(bundledDataDir(), 'test')));
  const first = withCache(folder, () => fingerprint(loadSplit(bundledDataDir(), 'test')));
  const copies = readdirSync(folder);
  t.is(copies.length, 1, 'one copy: the images (labels are too small to keep)');
  t.is(readFileSync(join(folder, copies[0])).length, 32 + FILES.test.images.bytes);
  const second = withCache(folder, () => fingerprint(loadSplit(bundledDataDir(), 'test')));
  t.deepEqual(first, direct);
  t.deepEqual(second, direct);
});

test.serial('a damaged copy is not used (the data is decompressed again and the copy replaced)', (t) => {
  const folder = join(tempDir(), 'unpacked');
  const direct = withCache('off', () => fingerprint(loadSplit(bundledDataDir(), 'test')));
  withCache(folder, () => loadSplit(bundledDataDir(), 'test'));
  const copy = join(folder, readdirSync(folder)[0]);
  const bytes = readFileSync(copy);
  bytes[32 + 16 + 5000] ^= 0x40; // one pixel of the first images
  writeFileSync(copy, bytes);
  t.deepEqual(
    withCache(folder, () => fingerprint(loadSplit(bundledDataDir(), 'test'))),
    direct,
  );
  t.notDeepEqual(readFileSync(copy), bytes, 'the damaged copy was replaced');
  writeFileSync(copy, bytes.subarray(0, 1000)); // truncated
  t.deepEqual(
    withCache(folder, () => fingerprint(loadSplit(bundledDataDir(), 'test'))),
    direct,
  );
});

test.serial('a copy that is consistent but not the official data is not used (and is replaced)', (t) => {
  const folder = join(tempDir(), 'unpacked');
  const direct = withCache('off', () => fingerprint(loadSplit(bundledDataDir(), 'test')));
  withCache(folder, () => loadSplit(bundledDataDir(), 'test'));
  const copy = join(folder, readdirSync(folder)[0]);
  const data = readFileSync(copy).subarray(32);
  data[16 + 5000] ^= 0x40;
  writeFileSync(copy, Buffer.concat([createHash('sha256').update(data).digest(), data])); // its header matches it
  t.deepEqual(
    withCache(folder, () => fingerprint(loadSplit(bundledDataDir(), 'test'))),
    direct,
  );
  t.deepEqual(
    withCache(folder, () => fingerprint(loadSplit(bundledDataDir(), 'test', { verify: false }))),
    direct,
  );
  t.is(readFileSync(copy).subarray(0, 32).toString('hex'), FILES.test.images.sha256, 'replaced by the official data');
});

test.serial('data that is not official is never kept; a changed file is not served from an older copy', (t) => {
  const folder = join(tempDir(), 'unpacked');
  const dir = tempDir();
  for (const name of [FILES.test.images.file, FILES.test.labels.file])
    copyFileSync(join(bundledDataDir(), name), join(dir, name));
  withCache(folder, () => loadSplit(dir, 'test'));
  t.is(readdirSync(folder).length, 1);
  // the same folder with the first image's pixels inverted: another gzip file, so another copy's name; unverified
  const plain = gunzipSync(readFileSync(join(bundledDataDir(), FILES.test.images.file)));
  for (let i = 16; i < 16 + 784; i++) plain[i] = 255 - plain[i];
  writeFileSync(join(dir, FILES.test.images.file), gzipSync(plain));
  const changed = withCache(folder, () => loadSplit(dir, 'test', { verify: false }));
  t.is(changed.X.data[0], 255 - withCache('off', () => loadSplit(bundledDataDir(), 'test')).X.data[0]);
  t.is(readdirSync(folder).length, 1, 'nothing kept for data that is not official');
  // verified, it is refused as altered, as without copies
  t.throws(() => withCache(folder, () => loadSplit(dir, 'test')), { message: /altered or truncated/ });
});

test.serial('a folder that cannot be made costs only the speed-up', (t) => {
  // a path below a plain file cannot be a folder, even for root
  const file = join(tempDir(), 'plain-file');
  writeFileSync(file, 'x');
  const direct = withCache('off', () => fingerprint(loadSplit(bundledDataDir(), 'test')));
  t.deepEqual(
    withCache(join(file, 'sub'), () => fingerprint(loadSplit(bundledDataDir(), 'test'))),
    direct,
  );
  t.deepEqual(readdirSync(dirname(file)), ['plain-file'], 'no temporary file left');
});
