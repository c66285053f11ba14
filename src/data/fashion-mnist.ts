import { sha256Hex } from '../util/hash.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { datasetFromBytes, type Dataset, type ImageShape } from './dataset.js';
import { DataError } from './errors.js';
import { parseIdx } from './idx.js';
import { gunzipCached } from './unpacked.js';

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
/** The shape of a Fashion-MNIST row. */
export const FASHION_SHAPE: ImageShape = Object.freeze({ height: IMAGE_SIDE, width: IMAGE_SIDE, channels: 1 });

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

/** One of the four files as stored: its path, its bytes as read, and whether they are gzip (the `.gz` name). */
export interface StoredFile {
  path: string;
  bytes: Uint8Array;
  gzip: boolean;
}

/** The largest decompressed IDX file read without checksum verification (1 GiB: 20 times the official images). */
export const UNVERIFIED_MAX_BYTES = 2 ** 30;

/**
 * Slack over an official file's size before decompression stops: room to report a few trailing bytes as such, while a
 * gzip bomb still costs a bounded amount of memory.
 */
const VERIFIED_SLACK_BYTES = 2 ** 20;

/**
 * Reads one split from an IDX folder (files gzipped, as shipped, or already decompressed without `.gz`). Each file's
 * structure is checked first (gzip stream, IDX header against the bytes present, 28×28 images, counts that agree,
 * labels 0–9) and a problem there is named; then each file's SHA-256 is checked against the official one. `verify:
 * false` skips only the SHA-256 check, for folders of other IDX data (relabelled or re-split).
 */
export function loadSplit(dir: string, split: Split, options: { verify?: boolean } = {}): LoadedSplit {
  const spec = FILES[split];
  return splitFromFiles(readStored(dir, spec.images.file), readStored(dir, spec.labels.file), split, options);
}

/** loadSplit over files already read (see loadSplit); the property tests feed it mutated bytes. */
export function splitFromFiles(
  imageFile: StoredFile,
  labelFile: StoredFile,
  split: Split,
  options: { verify?: boolean } = {},
): LoadedSplit {
  const verify = options.verify ?? true;
  const spec = FILES[split];
  const { bytes: imageBytes, sha256: imageSha } = decompressed(imageFile, spec.images, verify);
  const images = parseIdx(imageBytes, imageFile.path);
  const [count, rows, cols] = images.dims;
  if (images.dims.length !== 3) {
    throw new DataError(
      `${imageFile.path}: an images file has 3 dimensions (count×${IMAGE_SIDE}×${IMAGE_SIDE}), this one has ${images.dims.length} (${images.dims.join('×')})`,
    );
  }
  if (rows !== IMAGE_SIDE || cols !== IMAGE_SIDE) {
    throw new DataError(`${imageFile.path}: images are ${rows}×${cols} pixels; Fashion-MNIST images are 28×28`);
  }
  if (count === 0) throw new DataError(`${imageFile.path}: the header declares no images`);
  const { bytes: labelBytes, sha256: labelSha } = decompressed(labelFile, spec.labels, verify);
  const labels = parseIdx(labelBytes, labelFile.path);
  if (labels.dims.length !== 1) {
    throw new DataError(
      `${labelFile.path}: a labels file has 1 dimension (count), this one has ${labels.dims.length} (${labels.dims.join('×')})`,
    );
  }
  if (count !== labels.dims[0]) {
    throw new DataError(`${imageFile.path} has ${count} images but ${labelFile.path} has ${labels.dims[0]} labels`);
  }
  const last = CLASS_NAMES.length - 1;
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i] > last) {
      throw new DataError(`${labelFile.path}: label ${labels.data[i]} at item ${i} is outside 0–${last}`);
    }
  }
  const checksums = {
    images: verified(imageFile.path, imageBytes, imageSha, spec.images, verify),
    labels: verified(labelFile.path, labelBytes, labelSha, spec.labels, verify),
  };
  return { ...datasetFromBytes(images.data, labels.data, FASHION_SHAPE, CLASS_NAMES, imageFile.path), checksums };
}

/**
 * The file's IDX bytes, gzip decompressed at most to the size it may have (verify: the official size, plus slack), and
 * their SHA-256: large official files come from a decompressed copy kept in the user's cache folder (data/unpacked.ts).
 */
function decompressed(
  file: StoredFile,
  spec: { file: string; bytes: number; sha256: string },
  verify: boolean,
): { bytes: Uint8Array; sha256: string } {
  const limit = verify ? spec.bytes + VERIFIED_SLACK_BYTES : UNVERIFIED_MAX_BYTES;
  if (file.gzip) return gunzipCached(file.bytes, limit, file.path, spec.file, spec.sha256);
  if (file.bytes.length > limit) {
    throw new DataError(`${file.path}: ${file.bytes.length} bytes, more than the ${limit} this file may hold`);
  }
  return { bytes: file.bytes, sha256: sha256Hex(file.bytes) };
}

/** The SHA-256 of a structurally valid file, which (verify) must be the official one. */
function verified(
  path: string,
  bytes: Uint8Array,
  sha256: string,
  spec: { bytes: number; sha256: string },
  verify: boolean,
): string {
  if (verify && sha256 !== spec.sha256) {
    throw new DataError(
      `${path}: SHA-256 of the decompressed data is ${sha256}, expected ${spec.sha256} (${spec.bytes} bytes, got ${bytes.length}); the file is altered or truncated`,
    );
  }
  return sha256;
}

/** The `.gz` file, else the decompressed one; a file too large to be either is refused before it is read. */
function readStored(dir: string, name: string): StoredFile {
  const gz = join(dir, name);
  const plain = join(dir, name.replace(/\.gz$/, ''));
  const path = existsSync(gz) ? gz : existsSync(plain) ? plain : null;
  if (path === null) {
    throw new DataError(
      `missing data file ${gz} (or ${plain}); point --data or FASHION_MNIST_DIR at a folder with the four Fashion-MNIST IDX files`,
    );
  }
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new DataError(`${path}: not a regular file`);
    const size = stat.size;
    // gzip never grows data by more than a few bytes per 16 KB block
    if (size > UNVERIFIED_MAX_BYTES * 1.01 + 1024) {
      throw new DataError(`${path}: ${size} bytes, more than any IDX file this tool reads (${UNVERIFIED_MAX_BYTES})`);
    }
    return { path, bytes: readFileSync(path), gzip: path === gz };
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
