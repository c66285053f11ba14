import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UsageError } from '../config/errors.js';
import { DataError } from '../data/errors.js';
import { loadSplit, PIXELS, resolveDataDir } from '../data/fashion-mnist.js';
import { prepareImage } from '../data/image.js';
import { readPhotoFile } from '../data/image-folder.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { matrix, type Matrix } from '../linalg/matrix.js';
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

/**
 * Images to recommend from, in a model's feature space (the input of its estimator): the training set, or a folder of
 * the shop's own images (their class is the model's prediction). Searched by brute force: with a model's few features
 * (50 after a PCA) every distance is cheap enough.
 */
export class Catalogue {
  constructor(
    /** `training set` or the folder. */
    readonly source: string,
    readonly features: Matrix,
    readonly labels: Uint8Array,
    readonly names: readonly string[],
    /** The 28×28 images (0..255), rows × 784, for thumbnails. */
    readonly pixels: Float32Array,
    /** The model's class names: label i is classes[i]. */
    readonly classes: readonly string[],
  ) {}

  get size(): number {
    return this.features.rows;
  }

  /** The 28×28 image of catalogue row `index`. */
  image(index: number): Float32Array {
    return this.pixels.subarray(index * PIXELS, (index + 1) * PIXELS);
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
  /** A folder of images; default: the Fashion-MNIST training set. */
  dir?: string;
  /** Fashion-MNIST folder for the training set (as --data). */
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  /** Where computed features are kept (default .cache/fashion-pipeline/catalogue). */
  cacheDir?: string;
  progress?: ProgressSink;
}

/** Cached catalogue: a JSON header line, then features (float32), pixels (uint8, folders only) and labels (uint8). */
interface CacheHeader {
  rows: number;
  cols: number;
  names?: string[];
}

/**
 * A model's catalogue, its features computed once and cached on disk (keyed by the code, the model's fit and the
 * catalogue's content: the training files' checksums, or the folder's file names, sizes and times).
 */
export async function loadCatalogue(
  model: { pipeline: Pipeline; info: ModelInfo },
  options: CatalogueOptions = {},
): Promise<Catalogue> {
  if (modelInput(model.info).kind !== 'fashion-mnist') {
    throw new UsageError('/similar searches Fashion-MNIST catalogues; this model classifies photos of its own classes');
  }
  const cacheDir = options.cacheDir ?? join('.cache', 'fashion-pipeline', 'catalogue');
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
    return new Catalogue(dir, cached.features, cached.labels, files, cached.pixels, model.info.classes);
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

async function computeFeatures(
  pipeline: Pipeline,
  X: Matrix,
  progress: ProgressSink | undefined,
  label: string,
): Promise<Matrix> {
  const batches = Math.ceil(X.rows / BATCH);
  progress?.begin(batches, label);
  try {
    let out: Matrix | null = null;
    for (let b = 0; b < batches; b++) {
      const r0 = b * BATCH;
      const r1 = Math.min(X.rows, r0 + BATCH);
      const part = await pipeline.transform(matrix(r1 - r0, X.cols, X.data.subarray(r0 * X.cols, r1 * X.cols)));
      out ??= matrix(X.rows, part.cols);
      out.data.set(part.data, r0 * part.cols);
      progress?.advance(`${r1} of ${X.rows} images`);
    }
    return out ?? matrix(0, 0);
  } finally {
    progress?.end();
  }
}

function readCache(
  file: string,
): { header: CacheHeader; features: Matrix; pixels: Float32Array | null; labels: Uint8Array | null } | null {
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
    const pixels = Float32Array.from(bytes.subarray(start + 4 * n, start + 4 * n + header.rows * PIXELS));
    const labels = Uint8Array.from(bytes.subarray(start + 4 * n + header.rows * PIXELS));
    if (labels.length !== header.rows) return null;
    return { header, features: matrix(header.rows, header.cols, features), pixels, labels };
  } catch {
    return null; // damaged: computed again
  }
}

function writeCache(
  file: string,
  features: Matrix,
  pixels: Float32Array | null,
  labels: Uint8Array | null,
  names: string[] | null,
): void {
  const header: CacheHeader = { rows: features.rows, cols: features.cols, ...(names ? { names } : {}) };
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
