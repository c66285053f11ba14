/**
 * A photo model's catalogue: a folder of photos, decoded as the model decodes the photos it classifies.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { extname, isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../config/errors.js';
import { DataError } from '../data/errors.js';
import { PHOTO_EXTENSIONS, readPhotoFile } from '../data/image-folder.js';
import { decodePhoto, decoderVersion, photoShape, type PhotoSpec } from '../data/photo-decode.js';
import type { ProgressSink } from '../evaluate/progress.js';
import type { Matrix } from '../linalg/matrix.js';
import { shapeSize, type ImageShape } from '../linalg/shape.js';
import type { ModelInfo } from '../model/provenance.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { codeVersion } from '../util/code-version.js';
import { digest } from '../util/hash.js';
import { computeFeatures, readCache, writeCache, type SkippedPhoto } from './catalogue-store.js';

/** Photos transformed per batch (a 64×64 RGB photo is 12,288 values: 256 of them are 12 MB as float32). */
const PHOTO_BATCH = 256;
/** Photos decoded at once (libvips works on its own threads). */
const DECODE_CONCURRENCY = 4;
/** Folders below a photo catalogue's folder that are searched for photos (as a training folder's class folders). */
const MAX_DEPTH = 8;

/** What a Catalogue is made of (catalogue.ts makes it). */
export interface PhotoCatalogueParts {
  source: string;
  features: Matrix;
  labels: Uint8Array;
  names: string[];
  pixels: Uint8Array;
  shape: ImageShape;
  skipped: SkippedPhoto[];
}

/** Where a photo catalogue comes from (loadCatalogue's options). */
export interface PhotoCatalogueOptions {
  dir?: string;
  data?: string;
  progress?: ProgressSink;
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
export async function loadPhotoCatalogue(
  model: { pipeline: Pipeline; info: ModelInfo },
  spec: PhotoSpec,
  options: PhotoCatalogueOptions,
  cacheDir: string,
): Promise<PhotoCatalogueParts> {
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
    return { source, features: cached.features, labels: cached.labels, names, pixels: cached.pixels, shape, skipped };
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
  return { source, features, labels, names, pixels, shape, skipped };
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
  options: PhotoCatalogueOptions,
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
