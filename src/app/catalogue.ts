import { existsSync, readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../config/errors.js';
import { DataError } from '../data/errors.js';
import { loadSplit, PIXELS, resolveDataDir } from '../data/fashion-mnist.js';
import { prepareImage } from '../data/image.js';
import { PHOTO_EXTENSIONS, readPhotoFile } from '../data/image-folder.js';
import { decodePhoto, decoderVersion, photoShape, type PhotoSpec } from '../data/photo-decode.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { matrix, type Matrix } from '../linalg/matrix.js';
import { shapeSize, type ImageShape } from '../linalg/shape.js';
import { modelInput, type ModelInfo } from '../model/provenance.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { SimilarItem } from '../report/summaries.js';
import { writeFilesAtomic } from '../report/write.js';
import { codeVersion } from '../util/code-version.js';
import { digest } from '../util/hash.js';

/** Image endings taken from a catalogue folder. */
const IMAGE_ENDINGS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp']);

/** Rows transformed per batch while building a catalogue (bounded memory, visible progress). */
const BATCH = 5000;
/** Photos transformed per batch (a 64×64 RGB photo is 12,288 values: 256 of them are 12 MB as float32). */
const PHOTO_BATCH = 256;
/** Photos decoded at once (libvips works on its own threads). */
const DECODE_CONCURRENCY = 4;
/** Folders below a photo catalogue's folder that are searched for photos (as a training folder's class folders). */
const MAX_DEPTH = 8;

/** Fashion-MNIST's images: 28×28 grey. */
const FASHION_SHAPE: ImageShape = { height: 28, width: 28, channels: 1 };

/** A photo of a catalogue folder that was left out, and why (in the tool's own words: no text read from the file). */
export interface SkippedPhoto {
  name: string;
  reason: string;
}

/**
 * Images to recommend from, in a model's feature space (the input of its estimator): the training set, or a folder of
 * the shop's own images (their class is the model's prediction, or for a photo model their class folder's). Searched by
 * brute force: with a model's few features (50 after a PCA, 256 for the clothing model) every distance is cheap enough.
 */
export class Catalogue {
  constructor(
    /** `training set`, the folder, or `<folder> (training photos)`. */
    readonly source: string,
    readonly features: Matrix,
    readonly labels: Uint8Array,
    readonly names: readonly string[],
    /**
     * The images as the model sees them (0..255), rows × the shape's values, for thumbnails: Fashion-MNIST's 28×28
     * grey images, or a photo model's prepared photos (its PhotoSpec: e.g. 64×64 RGB, channels interleaved).
     */
    readonly pixels: Float32Array | Uint8Array,
    /** The model's class names: label i is classes[i]. */
    readonly classes: readonly string[],
    /** The shape of each row of `pixels` (default Fashion-MNIST's 28×28 grey). */
    readonly shape: ImageShape = FASHION_SHAPE,
    /** Photos of the folder that could not be read or decoded: left out of the catalogue, named here. */
    readonly skipped: readonly SkippedPhoto[] = [],
  ) {}

  get size(): number {
    return this.features.rows;
  }

  /** The image of catalogue row `index`, as the model saw it (`shape`). */
  image(index: number): Float32Array | Uint8Array {
    const size = shapeSize(this.shape);
    return this.pixels.subarray(index * size, (index + 1) * size);
  }

  /** The `n` nearest rows to each query row (Euclidean distance in feature space), nearest first. */
  nearest(queries: Matrix, n: number): SimilarItem[][] {
    const { rows, cols: d, data } = this.features;
    if (queries.cols !== d) throw new Error(`catalogue: queries have ${queries.cols} features, the catalogue ${d}`);
    const k = Math.min(n, rows);
    const out: SimilarItem[][] = [];
    for (let q = 0; q < queries.rows; q++) {
      const query = queries.data.subarray(q * d, (q + 1) * d);
      const best = new Float64Array(k).fill(Infinity);
      const at = new Int32Array(k).fill(-1);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        const o = r * d;
        for (let f = 0; f < d && s < best[k - 1]; f++) {
          const v = data[o + f] - query[f];
          s += v * v;
        }
        if (s >= best[k - 1]) continue;
        let j = k - 1;
        while (j > 0 && best[j - 1] > s) {
          best[j] = best[j - 1];
          at[j] = at[j - 1];
          j--;
        }
        best[j] = s;
        at[j] = r;
      }
      const items: SimilarItem[] = [];
      for (let j = 0; j < k; j++) {
        const index = at[j];
        if (index < 0) continue;
        const label = this.labels[index];
        items.push({
          index,
          name: this.names[index],
          label,
          class: this.classes[label] ?? `class ${label}`,
          distance: Math.sqrt(best[j]),
        });
      }
      out.push(items);
    }
    return out;
  }
}

export interface CatalogueOptions {
  /**
   * A folder of images; default: the model's training data (Fashion-MNIST's training set, or a photo model's training
   * folder when it is still there).
   */
  dir?: string;
  /** The training data's folder (as --data): Fashion-MNIST's, or a photo model's photo folder. */
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  /** Where computed features are kept (default .cache/fashion-pipeline/catalogue). */
  cacheDir?: string;
  progress?: ProgressSink;
}

/**
 * Cached catalogue: a JSON header line, then features (float32), pixels (uint8, folders only) and labels (uint8).
 * Photo catalogues' headers also hold the rows' shape and the photos skipped.
 */
interface CacheHeader {
  rows: number;
  cols: number;
  names?: string[];
  shape?: ImageShape;
  skipped?: SkippedPhoto[];
}

/**
 * A model's catalogue, its features computed once and cached on disk (keyed by the code, the model's fit and the
 * catalogue's content: the training files' checksums, or the folder's file names, sizes and times). A photo model's
 * catalogue is a folder of photos (loadPhotoCatalogue).
 */
export async function loadCatalogue(
  model: { pipeline: Pipeline; info: ModelInfo },
  options: CatalogueOptions = {},
): Promise<Catalogue> {
  const cacheDir = options.cacheDir ?? join('.cache', 'fashion-pipeline', 'catalogue');
  const input = modelInput(model.info);
  if (input.kind === 'photo') return loadPhotoCatalogue(model, input.image, options, cacheDir);
  if (options.dir === undefined) {
    const train = loadSplit(resolveDataDir(options.data), 'train', options);
    const key = digest(codeVersion(), '|', model.info.fit_key, '|', train.checksums);
    const file = join(cacheDir, `${key}.features`);
    const names = Array.from({ length: train.y.length }, (_, i) => `train:${i}`);
    const cached = readCache(file);
    const features =
      cached && cached.header.rows === train.y.length
        ? cached.features
        : await computeFeatures(model.pipeline, train.X, options.progress, 'catalogue: the training set');
    if (!cached) writeCache(file, features, null, null, null);
    return new Catalogue('training set', features, train.y, names, train.X.data, model.info.classes);
  }
  const dir = options.dir;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`--catalogue needs a folder, got ${dir}`);
  const files = readdirSync(dir)
    .filter((f) => IMAGE_ENDINGS.has(extname(f).toLowerCase()))
    .sort();
  if (files.length === 0) throw new DataError(`${dir}: no .png, .jpg, .jpeg, .webp, .gif or .bmp files in this folder`);
  const identity = files.map((f) => {
    const st = statSync(join(dir, f));
    return [f, st.size, Math.round(st.mtimeMs)];
  });
  const key = digest(codeVersion(), '|', model.info.fit_key, '|', identity);
  const file = join(cacheDir, `${key}.features`);
  const cached = readCache(file);
  if (cached && cached.pixels && cached.labels && cached.header.rows === files.length) {
    return new Catalogue(
      dir,
      cached.features,
      cached.labels,
      files,
      Float32Array.from(cached.pixels),
      model.info.classes,
    );
  }
  const X = matrix(files.length, PIXELS);
  for (let i = 0; i < files.length; i++) {
    const path = join(dir, files[i]);
    X.data.set((await prepareImage(await readPhotoFile(path, path), path)).pixels, i * PIXELS);
  }
  const features = await computeFeatures(model.pipeline, X, options.progress, `catalogue: ${dir}`);
  const labels = await model.pipeline.estimator.predict(features);
  writeCache(file, features, X.data, labels, files);
  return new Catalogue(dir, features, labels, files, X.data, model.info.classes);
}

/**
 * A photo model's catalogue: the photos of `--catalogue DIR`, or by default of the folder the model was trained on,
 * each decoded exactly as the model decodes a photo sent to /predict (decodePhoto with its PhotoSpec). A photo's class
 * is the first folder on its path, from the catalogue's folder down, named for one of the model's classes (a folder of
 * class folders, with or without train/ and test/ above them, as the training folder's layout); a photo in no such
 * folder (a flat folder's) gets the model's prediction. A photo that cannot be read or decoded is left out and named
 * in `skipped`. The features, the prepared photos (the thumbnails) and the labels are cached, keyed by the code, the
 * model's fit, the decoder's version and the photos' names, sizes and times.
 */
async function loadPhotoCatalogue(
  model: { pipeline: Pipeline; info: ModelInfo },
  spec: PhotoSpec,
  options: CatalogueOptions,
  cacheDir: string,
): Promise<Catalogue> {
  const classes = model.info.classes;
  const { dir, source, training } = photoCatalogueFolder(model.info, options);
  const listed = listCataloguePhotos(dir, classes, training);
  if (listed.length === 0) {
    throw new DataError(
      `${source}: no photos (${[...CATALOGUE_PHOTO_ENDINGS].join(', ')}) in this folder or its sub-folders`,
    );
  }
  const identity = listed.map((p) => {
    const st = statSync(join(dir, p.name), { throwIfNoEntry: false });
    return [p.name, st?.size ?? -1, st ? Math.round(st.mtimeMs) : -1];
  });
  const shape = photoShape(spec);
  const size = shapeSize(shape);
  const key = digest(codeVersion(), '|', model.info.fit_key, '|', await decoderVersion(), '|', identity);
  const file = join(cacheDir, `${key}.features`);
  const cached = readCache(file, size);
  if (
    cached &&
    cached.pixels &&
    cached.labels &&
    cached.header.names &&
    cached.header.names.length === cached.header.rows &&
    cached.header.rows > 0 &&
    JSON.stringify(cached.header.shape) === JSON.stringify(shape)
  ) {
    const { names, skipped = [] } = cached.header;
    return new Catalogue(source, cached.features, cached.labels, names, cached.pixels, classes, shape, skipped);
  }
  const { pixels, kept, skipped } = await decodeCataloguePhotos(dir, listed, spec, options.progress, source);
  if (kept.length === 0) {
    throw new DataError(
      `${source}: none of its ${listed.length} photos could be decoded (${skipped[0].name}: ${skipped[0].reason})`,
    );
  }
  const features = await computeFeatures(
    model.pipeline,
    {
      rows: kept.length,
      cols: size,
      slice: (r0, r1) => Float32Array.from(pixels.subarray(r0 * size, r1 * size)),
    },
    options.progress,
    `catalogue: ${source}`,
    PHOTO_BATCH,
    'photos',
  );
  const labels = Uint8Array.from(kept, (p) => Math.max(0, p.label));
  if (kept.some((p) => p.label < 0)) {
    const predicted = (await model.pipeline.labelsAndProba(features)).labels;
    kept.forEach((p, i) => {
      if (p.label < 0) labels[i] = predicted[i];
    });
  }
  const names = kept.map((p) => p.name);
  writeCache(file, features, pixels, labels, names, { shape, skipped });
  return new Catalogue(source, features, labels, names, pixels, classes, shape, skipped);
}

/** File name endings tried as photos in a photo catalogue (the training folder's, and BMP: refused by name if so). */
const CATALOGUE_PHOTO_ENDINGS = new Set([...PHOTO_EXTENSIONS, '.bmp']);

/**
 * The folder of a photo model's catalogue: --catalogue, else --data, else the folder its model info records it was
 * trained on (`training.data`: `folder <path>`, as shown when it was fitted: relative to the working folder then) when
 * it is still there. None: a UsageError saying what to do (the service answers /similar with it: 503 no_catalogue).
 */
function photoCatalogueFolder(
  info: ModelInfo,
  options: CatalogueOptions,
): { dir: string; source: string; training: boolean } {
  if (options.dir !== undefined) {
    const stat = statSync(options.dir, { throwIfNoEntry: false });
    if (!stat?.isDirectory()) throw new UsageError(`--catalogue needs a folder of photos, got ${options.dir}`);
    return { dir: options.dir, source: options.dir, training: false };
  }
  const recorded = /^folder (.+)$/s.exec(info.training.data)?.[1];
  const location = options.data ?? recorded;
  if (location === undefined) {
    throw new UsageError(
      `no catalogue: the model file does not say which photo folder it was trained on; start the server with --catalogue DIR, a folder of photos`,
    );
  }
  if (!statSync(location, { throwIfNoEntry: false })?.isDirectory()) {
    const where = isAbsolute(location) ? location : `${location} (in ${resolve('.')})`;
    throw new UsageError(
      `no catalogue: the photos this model was trained on are not there (${where}); start the server with --catalogue DIR, a folder of photos to recommend from`,
    );
  }
  return { dir: location, source: `${location} (training photos)`, training: true };
}

/** A photo of a catalogue folder: its path below the folder (/ separators) and its class folder's label (-1: none). */
interface CataloguePhoto {
  name: string;
  label: number;
}

/**
 * The photos of a catalogue folder and its sub-folders (hidden files and folders left out, links to folders not
 * followed, at most MAX_DEPTH levels down), in code-point order of path. A photo's label is that of the first folder
 * on its path named for one of `classes`. For the training folder (`training`), a top-level test/ beside a train/ is
 * left out: those photos were held out of the fit.
 */
function listCataloguePhotos(dir: string, classes: readonly string[], training: boolean): CataloguePhoto[] {
  const out: CataloguePhoto[] = [];
  const read = (rel: string): Dirent[] => {
    try {
      return readdirSync(rel === '' ? dir : join(dir, rel), { withFileTypes: true })
        .filter((e) => !e.name.startsWith('.'))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      throw new DataError(
        `${rel === '' ? dir : join(dir, rel)}: cannot read the folder (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  };
  const top = read('');
  const heldOut = training && top.some((e) => e.name === 'train' && e.isDirectory()) ? 'test' : null;
  const walk = (rel: string, entries: Dirent[], label: number, depth: number): void => {
    for (const e of entries) {
      const name = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (depth >= MAX_DEPTH || (rel === '' && e.name === heldOut)) continue;
        walk(name, read(name), label >= 0 ? label : classes.indexOf(e.name), depth + 1);
      } else if ((e.isFile() || e.isSymbolicLink()) && CATALOGUE_PHOTO_ENDINGS.has(extname(e.name).toLowerCase())) {
        out.push({ name, label });
      }
    }
  };
  walk('', top, -1, 0);
  return out;
}

/**
 * Decodes a catalogue's photos as the model decodes photos (decodePhoto with its spec), a few at once, with progress:
 * the prepared rows of the photos kept (uint8, in listing order), and the photos that could not be read or decoded.
 */
async function decodeCataloguePhotos(
  dir: string,
  photos: readonly CataloguePhoto[],
  spec: PhotoSpec,
  progress: ProgressSink | undefined,
  source: string,
): Promise<{ pixels: Uint8Array; kept: CataloguePhoto[]; skipped: SkippedPhoto[] }> {
  const size = spec.width * spec.height * spec.channels;
  const rows = new Uint8Array(photos.length * size);
  const ok = new Uint8Array(photos.length);
  const skipped: SkippedPhoto[] = [];
  let next = 0;
  let failed = false;
  progress?.begin(photos.length, `catalogue: decoding ${source}`);
  try {
    const lane = async (): Promise<void> => {
      while (next < photos.length && !failed) {
        const i = next++;
        const { name } = photos[i];
        try {
          rows.set(await decodePhoto(await readPhotoFile(join(dir, name), name), spec, name), i * size);
          ok[i] = 1;
        } catch (err) {
          if (!(err instanceof DataError)) {
            failed = true; // anything but a photo's own refusal stops the others too
            throw err;
          }
          // the message names the photo first (`name: reason`)
          skipped.push({
            name,
            reason: err.message.startsWith(`${name}: `) ? err.message.slice(name.length + 2) : err.message,
          });
        }
        progress?.advance(`${i + 1} of ${photos.length} photos`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, photos.length) }, lane));
  } finally {
    progress?.end();
  }
  skipped.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const kept = photos.filter((_, i) => ok[i] === 1);
  if (kept.length === photos.length) return { pixels: rows, kept, skipped };
  const pixels = new Uint8Array(kept.length * size);
  let r = 0;
  photos.forEach((_, i) => {
    if (ok[i]) pixels.set(rows.subarray(i * size, (i + 1) * size), r++ * size);
  });
  return { pixels, kept, skipped };
}

/** Rows to transform: their count and width, and a copy of rows r0..r1 as float32. */
interface RowSource {
  rows: number;
  cols: number;
  slice(r0: number, r1: number): Float32Array;
}

async function computeFeatures(
  pipeline: Pipeline,
  X: Matrix | RowSource,
  progress: ProgressSink | undefined,
  label: string,
  batch = BATCH,
  what = 'images',
): Promise<Matrix> {
  const slice =
    'slice' in X
      ? (r0: number, r1: number) => X.slice(r0, r1)
      : (r0: number, r1: number) => X.data.subarray(r0 * X.cols, r1 * X.cols);
  const batches = Math.ceil(X.rows / batch);
  progress?.begin(batches, label);
  try {
    let out: Matrix | null = null;
    for (let b = 0; b < batches; b++) {
      const r0 = b * batch;
      const r1 = Math.min(X.rows, r0 + batch);
      const part = await pipeline.transform(matrix(r1 - r0, X.cols, slice(r0, r1)));
      out ??= matrix(X.rows, part.cols);
      out.data.set(part.data, r0 * part.cols);
      progress?.advance(`${r1} of ${X.rows} ${what}`);
    }
    return out ?? matrix(0, 0);
  } finally {
    progress?.end();
  }
}

/** A cached catalogue; `rowSize` is the values of one image (Fashion-MNIST's 784 unless the header gives a shape). */
function readCache(
  file: string,
  rowSize = PIXELS,
): { header: CacheHeader; features: Matrix; pixels: Uint8Array | null; labels: Uint8Array | null } | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch {
    return null;
  }
  try {
    const newline = bytes.indexOf(10);
    const header = JSON.parse(bytes.toString('utf8', 0, newline)) as CacheHeader;
    const start = (newline + 4) & ~3;
    const n = header.rows * header.cols;
    const features = new Float32Array(n);
    Buffer.from(features.buffer).set(bytes.subarray(start, start + 4 * n));
    if (!header.names)
      return { header, features: matrix(header.rows, header.cols, features), pixels: null, labels: null };
    const size = header.shape ? shapeSize(header.shape) : PIXELS;
    if (size !== rowSize) return null;
    const pixels = Uint8Array.from(bytes.subarray(start + 4 * n, start + 4 * n + header.rows * size));
    const labels = Uint8Array.from(bytes.subarray(start + 4 * n + header.rows * size));
    if (labels.length !== header.rows || pixels.length !== header.rows * size) return null;
    return { header, features: matrix(header.rows, header.cols, features), pixels, labels };
  } catch {
    return null; // damaged: computed again
  }
}

function writeCache(
  file: string,
  features: Matrix,
  pixels: Float32Array | Uint8Array | null,
  labels: Uint8Array | null,
  names: string[] | null,
  photos?: { shape: ImageShape; skipped: SkippedPhoto[] },
): void {
  const header: CacheHeader = { rows: features.rows, cols: features.cols, ...(names ? { names } : {}), ...photos };
  const json = Buffer.from(JSON.stringify(header) + '\n');
  const pad = Buffer.alloc(((json.length + 3) & ~3) - json.length, 0x20);
  const parts = [json, pad, Buffer.from(features.data.buffer, features.data.byteOffset, features.data.byteLength)];
  if (pixels && labels) parts.push(Buffer.from(Uint8Array.from(pixels)), Buffer.from(labels));
  try {
    writeFilesAtomic([{ path: file, content: Buffer.concat(parts) }]);
  } catch {
    // a read-only folder only costs the next start the same computation
  }
}
