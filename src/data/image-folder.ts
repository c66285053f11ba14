import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { shapeSize } from '../linalg/shape.js';
import { digest, sha256Hex } from '../util/hash.js';
import { datasetFromBytes, type Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { decodePhoto, decoderVersion, photoShape, type PhotoSpec } from './photo-decode.js';
import { readChecked, unpackedFolder, writeChecked } from './unpacked.js';
import { FileReadError, readRegularFileAsync } from '../util/read-file.js';

/**
 * Labelled photos in the ImageFolder layout (torchvision's, Keras' image_dataset_from_directory): one sub-folder per
 * class, named for it, optionally under train/, validation/ and test/. Class names are the sub-folder names in
 * code-point order, label i the i-th; photos are found at any depth below a class folder.
 */

/** File name endings read as photos (case-insensitive); other files are counted and left alone. */
export const PHOTO_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp', '.avif', '.gif', '.tif', '.tiff', '.heic', '.heif'];
/** A photo file larger than this is refused unread (a 12 MP phone JPEG is 3–8 MB). */
export const MAX_PHOTO_FILE_BYTES = 50 * 2 ** 20;
/** Labels are bytes. */
const MAX_CLASSES = 256;
/** Folders below a class folder that are searched for photos. */
const MAX_DEPTH = 8;
const SPLITS = ['train', 'validation', 'test'] as const;
export type FolderSplit = (typeof SPLITS)[number];

export interface PhotoFile {
  /** Path relative to the data folder, with / separators: the photo's name in reports. */
  name: string;
  label: number;
}

export interface FolderListing {
  classes: string[];
  /** split layout: the photos of each split folder present; flat layout: every photo under `all`. */
  layout: 'splits' | 'flat';
  photos: Partial<Record<FolderSplit | 'all', PhotoFile[]>>;
  /** Files that are not photos by their name (left out). */
  ignored: number;
}

const isHidden = (name: string) => name.startsWith('.');
const isPhotoName = (name: string) => PHOTO_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));

function entries(dir: string, what: string) {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => !isHidden(e.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (err) {
    throw new DataError(`${what}: cannot read the folder (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** The class folders of one folder: sub-folders, in code-point order. */
function classFolders(dir: string, what: string): string[] {
  return entries(dir, what)
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
}

/** Photos below one class folder (any depth, symbolic links to folders not followed), in code-point order of path. */
function photosUnder(root: string, rel: string, label: number, out: PhotoFile[], counts: { ignored: number }, depth = 0) {
  for (const e of entries(join(root, rel), rel)) {
    const name = `${rel}/${e.name}`;
    if (e.isDirectory()) {
      if (depth < MAX_DEPTH) photosUnder(root, name, label, out, counts, depth + 1);
    } else if ((e.isFile() || e.isSymbolicLink()) && isPhotoName(e.name)) out.push({ name, label });
    else counts.ignored++;
  }
}

/** Lists a photo folder: its layout, classes and photos (nothing is read yet). */
export function listImageFolder(dir: string, what = dir): FolderListing {
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat) throw new DataError(`${what}: no such folder`);
  if (!stat.isDirectory()) throw new DataError(`${what}: not a folder (format folder reads a folder of class folders)`);
  const top = classFolders(dir, what);
  const splits = SPLITS.filter((s) => top.includes(s));
  const counts = { ignored: 0 };
  if (splits.length > 0) {
    if (!splits.includes('train')) {
      throw new DataError(`${what}: has ${splits.join(' and ')}/ but no train/ folder of class folders`);
    }
    const trainClasses = [...new Set([...classFolders(join(dir, 'train'), `${what}/train`)])];
    const classes = trainClasses.sort();
    checkClassCount(classes, what);
    const photos: FolderListing['photos'] = {};
    for (const split of splits) {
      const list: PhotoFile[] = [];
      for (const name of classFolders(join(dir, split), `${what}/${split}`)) {
        const label = classes.indexOf(name);
        if (label < 0) {
          throw new DataError(
            `${what}/${split}/${name}: a class with no train/ folder (classes come from train/: ${classes.join(', ')})`,
          );
        }
        photosUnder(dir, `${split}/${name}`, label, list, counts);
      }
      photos[split] = list;
    }
    return { classes, layout: 'splits', photos, ignored: counts.ignored };
  }
  const classes = top;
  if (classes.length === 0) {
    throw new DataError(`${what}: no class folders (expected <class>/photo.jpg, or train/<class>/photo.jpg)`);
  }
  checkClassCount(classes, what);
  const all: PhotoFile[] = [];
  classes.forEach((name, label) => photosUnder(dir, name, label, all, counts));
  return { classes, layout: 'flat', photos: { all }, ignored: counts.ignored };
}

function checkClassCount(classes: string[], what: string): void {
  if (classes.length < 2) throw new DataError(`${what}: ${classes.length} class folder; a classifier needs at least 2`);
  if (classes.length > MAX_CLASSES) {
    throw new DataError(`${what}: ${classes.length} class folders; at most ${MAX_CLASSES} classes are supported`);
  }
}

/** Every class has photos to learn from (a class with none would be a label the model can never give). */
export function checkClassesPresent(classes: readonly string[], photos: readonly PhotoFile[], what: string): void {
  const seen = new Uint32Array(classes.length);
  for (const p of photos) seen[p.label]++;
  const empty = classes.filter((_, c) => seen[c] === 0);
  if (empty.length > 0) {
    throw new DataError(`${what}: no photos of class ${empty.map((c) => `"${c}"`).join(', ')} to learn from`);
  }
}

/** A photo file's bytes: a regular file (after links), at most MAX_PHOTO_FILE_BYTES, read through one descriptor. */
export async function readPhotoFile(path: string, what: string, signal?: AbortSignal): Promise<Uint8Array> {
  try {
    return await readRegularFileAsync(path, MAX_PHOTO_FILE_BYTES, signal);
  } catch (err) {
    if (err instanceof FileReadError) throw new DataError(`${what}: ${err.message}`);
    throw err;
  }
}

export interface DecodeOptions {
  /** A photo that cannot be read: stop (refuse) or leave it out and name it in `skipped` (skip). */
  badPhotos: 'refuse' | 'skip';
  /** Called after each photo: how many are done of how many. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Photos decoded at once (libvips works on its own threads). */
  concurrency?: number;
  /** Photo bytes kept from the checksum pass for decoding (default HELD_PHOTO_BYTES); the rest are read again. */
  heldBytes?: number;
}

export interface DecodedPhotos {
  data: Dataset;
  /** Names of the photos left out (badPhotos skip), each with the reason. */
  skipped: Array<{ name: string; reason: string }>;
  /**
   * SHA-256 over the decoding (spec, decoder version) and the photos' names and contents, in order: the rows' identity
   * in reports, fit keys and cache keys.
   */
  checksum: string;
  /** True when the rows came from the decoded-photo cache. */
  cached: boolean;
}

/**
 * Reads and decodes photos into a Dataset (rows in the listing's order). Decoded rows are kept in the user's cache
 * folder (beside the IDX copies, named by the photos' checksum, the spec and the decoder's version, with a SHA-256
 * header checked on every read), so the next command reads them back instead of decoding.
 */
export async function decodePhotos(
  root: string,
  photos: readonly PhotoFile[],
  classes: readonly string[],
  spec: PhotoSpec,
  options: DecodeOptions,
): Promise<DecodedPhotos> {
  const shape = photoShape(spec);
  const size = shapeSize(shape);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const read = (i: number) => readPhotoFile(join(root, photos[i].name), photos[i].name, options.signal);
  // first pass: the photos' checksums, which name the cached rows; the bytes are kept for decoding, up to a budget
  const sums = new Array<string>(photos.length);
  const held = new Array<Uint8Array | undefined>(photos.length);
  let heldBytes = 0;
  await eachIndex(photos.length, concurrency, async (i) => {
    const bytes = await read(i);
    sums[i] = sha256Hex(bytes);
    if (heldBytes + bytes.length <= (options.heldBytes ?? HELD_PHOTO_BYTES)) {
      held[i] = bytes;
      heldBytes += bytes.length;
    }
  });
  // the rows' identity: which photos, their bytes, and how they are decoded (so every key built on it tells them apart)
  const decoding = `${JSON.stringify(spec)}\0${await decoderVersion()}\n`;
  const checksum = sha256Hex(decoding + photos.map((p, i) => `${p.name}\0${sums[i]}\n`).join(''));
  const folder = unpackedFolder();
  const cachePath = folder === null ? null : join(folder, 'photos', `${digest(checksum)}.rows`);
  const copy = cachePath === null ? null : readChecked(cachePath, photos.length * size);
  if (copy && copy.length === photos.length * size) {
    options.onProgress?.(photos.length, photos.length);
    const y = Uint8Array.from(photos, (p) => p.label);
    return { data: datasetFromBytes(copy, y, shape, classes, root), skipped: [], checksum, cached: true };
  }
  const pixels = new Uint8Array(photos.length * size);
  const ok = new Uint8Array(photos.length);
  const skipped: DecodedPhotos['skipped'] = [];
  let done = 0;
  await eachIndex(photos.length, concurrency, async (i) => {
    // the bytes the checksum was taken of, or read again and checked against it
    let bytes = held[i];
    held[i] = undefined;
    if (!bytes) {
      bytes = await read(i);
      if (sha256Hex(bytes) !== sums[i]) throw new DataError(`${photos[i].name}: changed while the folder was being read`);
    }
    try {
      pixels.set(await decodePhoto(bytes, spec, photos[i].name), i * size);
      ok[i] = 1;
    } catch (err) {
      if (!(err instanceof DataError) || options.badPhotos === 'refuse') throw err;
      skipped.push({ name: photos[i].name, reason: err.message.slice(photos[i].name.length + 2) });
    }
    options.onProgress?.(++done, photos.length);
  });
  skipped.sort((a, b) => (a.name < b.name ? -1 : 1));
  const kept = photos.flatMap((_, i) => (ok[i] ? [i] : []));
  const rows = kept.length === photos.length ? pixels : concatRows(pixels, kept, size);
  if (cachePath !== null && skipped.length === 0) writeChecked(join(folder!, 'photos'), cachePath, rows);
  const y = Uint8Array.from(kept, (i) => photos[i].label);
  return { data: datasetFromBytes(rows, y, shape, classes, root), skipped, checksum, cached: false };
}

/**
 * Photo bytes kept from the checksum pass for the decoding pass (beyond it, photos are read again and checked against
 * their checksum): the whole of a shop-sized folder of small photos, a bounded part of a large one.
 */
const HELD_PHOTO_BYTES = 256 * 2 ** 20;

/** Runs `body` for 0..n-1, at most `concurrency` at once, in index order of starting; the first error stops the rest. */
async function eachIndex(n: number, concurrency: number, body: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (next < n && !failed) {
      const i = next++;
      try {
        await body(i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, lane));
}

function concatRows(pixels: Uint8Array, kept: number[], size: number): Uint8Array {
  const out = new Uint8Array(kept.length * size);
  kept.forEach((i, r) => out.set(pixels.subarray(i * size, (i + 1) * size), r * size));
  return out;
}
