import { existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { UsageError } from '../config/errors.js';
import { DataError } from '../data/errors.js';
import { FASHION_SHAPE, loadSplit, PIXELS, resolveDataDir } from '../data/fashion-mnist.js';
import { prepareImage } from '../data/image.js';
import { readPhotoFile } from '../data/image-folder.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { matrix, type Matrix } from '../linalg/matrix.js';
import { shapeSize, type ImageShape } from '../linalg/shape.js';
import { modelInput, type ModelInfo } from '../model/provenance.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { SimilarItem } from '../report/summaries.js';
import { codeVersion } from '../util/code-version.js';
import { digest } from '../util/hash.js';
import { computeFeatures, readCache, writeCache, type SkippedPhoto } from './catalogue-store.js';
import { loadPhotoCatalogue } from './photo-catalogue.js';

export type { SkippedPhoto } from './catalogue-store.js';

/** Image endings taken from a catalogue folder. */
const IMAGE_ENDINGS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.bmp']);

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
  if (input.kind === 'photo') {
    const p = await loadPhotoCatalogue(model, input.image, options, cacheDir);
    return new Catalogue(p.source, p.features, p.labels, p.names, p.pixels, model.info.classes, p.shape, p.skipped);
  }
  if (options.dir === undefined) {
    const train = loadSplit(resolveDataDir(options.data), 'train', options);
    const key = digest(codeVersion(), '|', model.info.fit_key, '|', train.checksums);
    const file = join(cacheDir, `${key}.features`);
    const names = Array.from({ length: train.y.length }, (_, i) => `train:${i}`);
    const cached = readCache(file, PIXELS);
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
  const cached = readCache(file, PIXELS);
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
