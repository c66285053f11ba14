import { sha256Hex } from '../util/hash.js';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { datasetFromBytes, type Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { parseIdx } from './idx.js';

/** Class names by label, in Zalando's order. The one place they are spelled. */
export const CLASS_NAMES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export const IMAGE_SIDE = 28;
export const PIXELS = IMAGE_SIDE * IMAGE_SIDE;

export type Split = 'train' | 'test';

/** The four official files, their decompressed sizes and SHA-256 (of the decompressed bytes). */
export const FILES = {
  train: {
    images: {
      file: 'train-images-idx3-ubyte.gz',
      bytes: 47040016,
      sha256: 'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888',
    },
    labels: {
      file: 'train-labels-idx1-ubyte.gz',
      bytes: 60008,
      sha256: 'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9',
    },
  },
  test: {
    images: {
      file: 't10k-images-idx3-ubyte.gz',
      bytes: 7840016,
      sha256: '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b',
    },
    labels: {
      file: 't10k-labels-idx1-ubyte.gz',
      bytes: 10008,
      sha256: '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34',
    },
  },
} as const;

/** The repository's data folder (data/fashion-mnist beside package.json). */
export function bundledDataDir(): string {
  // dist/src/data/fashion-mnist.js → package root is three levels up from dist/src/data
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..', '..', 'data', 'fashion-mnist');
}

/** --data, else $FASHION_MNIST_DIR, else the bundled copy. */
export function resolveDataDir(explicit?: string): string {
  return resolve(explicit ?? process.env.FASHION_MNIST_DIR ?? bundledDataDir());
}

export interface LoadedSplit extends Dataset {
  /** SHA-256 of the decompressed images and labels files. */
  checksums: { images: string; labels: string };
}

/**
 * Reads one split from an IDX folder (files gzipped, as shipped, or already decompressed without `.gz`),
 * verifying each file's SHA-256; `verify: false` skips the check for folders of other IDX data.
 */
export function loadSplit(dir: string, split: Split, options: { verify?: boolean } = {}): LoadedSplit {
  const verify = options.verify ?? true;
  const spec = FILES[split];
  const images = readChecked(dir, spec.images, verify);
  const labels = readChecked(dir, spec.labels, verify);
  const imgIdx = parseIdx(images.bytes, images.path);
  const lblIdx = parseIdx(labels.bytes, labels.path);
  if (imgIdx.dims.length !== 3 || imgIdx.dims[1] !== IMAGE_SIDE || imgIdx.dims[2] !== IMAGE_SIDE) {
    throw new DataError(`${images.path}: expected images of ${IMAGE_SIDE}×${IMAGE_SIDE}, got dimensions ${imgIdx.dims.join('×')}`);
  }
  if (lblIdx.dims.length !== 1) {
    throw new DataError(`${labels.path}: expected a 1-dimensional label file, got dimensions ${lblIdx.dims.join('×')}`);
  }
  if (imgIdx.dims[0] !== lblIdx.dims[0]) {
    throw new DataError(`${images.path} has ${imgIdx.dims[0]} images but ${labels.path} has ${lblIdx.dims[0]} labels`);
  }
  for (let i = 0; i < lblIdx.data.length; i++) {
    if (lblIdx.data[i] >= CLASS_NAMES.length) {
      throw new DataError(`${labels.path}: label ${lblIdx.data[i]} at index ${i} is not a class (0..${CLASS_NAMES.length - 1})`);
    }
  }
  const dataset = datasetFromBytes(imgIdx.data, lblIdx.data, PIXELS, images.path);
  return { ...dataset, checksums: { images: images.sha256, labels: labels.sha256 } };
}

/** The largest decompressed IDX file read without checksum verification (1 GiB: 20 times the official images). */
export const UNVERIFIED_MAX_BYTES = 2 ** 30;

function readChecked(
  dir: string,
  spec: { file: string; bytes: number; sha256: string },
  verify: boolean,
): { path: string; bytes: Uint8Array; sha256: string } {
  const gz = join(dir, spec.file);
  const plain = join(dir, spec.file.replace(/\.gz$/, ''));
  let path: string;
  let bytes: Uint8Array;
  if (existsSync(gz)) {
    path = gz;
    // decompression stops past the size the file may have (the official size; other data: UNVERIFIED_MAX_BYTES), so a
    // gzip bomb costs a bounded amount of memory and is named
    const limit = verify ? spec.bytes : UNVERIFIED_MAX_BYTES;
    try {
      bytes = gunzipSync(readFileSync(gz), { maxOutputLength: limit + 1 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        throw new DataError(`${gz}: decompresses to more than ${limit} bytes, the most this file may hold; it is not ${spec.file}`);
      }
      throw new DataError(`${gz}: cannot decompress (${(err as Error).message}); the file is damaged or truncated`);
    }
    if (bytes.length > limit) {
      throw new DataError(`${gz}: decompresses to more than ${limit} bytes, the most this file may hold; it is not ${spec.file}`);
    }
  } else if (existsSync(plain)) {
    path = plain;
    bytes = readFileSync(plain);
  } else {
    throw new DataError(`missing data file ${gz} (or ${plain}); point --data or FASHION_MNIST_DIR at a folder with the four Fashion-MNIST IDX files`);
  }
  const sha256 = sha256Hex(bytes);
  if (verify && sha256 !== spec.sha256) {
    throw new DataError(
      `${path}: SHA-256 of the decompressed data is ${sha256}, expected ${spec.sha256} (${spec.bytes} bytes, got ${bytes.length}); the file is altered or truncated`,
    );
  }
  return { path, bytes, sha256 };
}
