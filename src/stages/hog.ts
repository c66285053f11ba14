import { z } from 'zod';
import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { runAll, sharedFloat32, workerCount } from '../runtime/pool.js';
import { needImage } from './flow.js';
import { exactBin, makeEdges, SLOTS } from './hog-bins.js';
import { ModelError, numberField } from './snapshot.js';
import {
  BaseStage,
  checkFeatures,
  checkXy,
  ParamRangeError,
  type Snapshot,
  type StageSpec,
  type Transformer,
  alwaysSavable,
} from './stage.js';

export const HogParams = z
  .object({
    /** Side of the square images, in pixels: each row holds size × size pixel values, row-major (any scale). */
    size: z.number().int().min(1).default(28),
    /**
     * Pixels per cell side. When cells do not tile the image (28 with cell 3), the last size mod cell rows and columns
     * are left out of every cell, as scikit-image does (cells per side = floor(size / cell)).
     */
    cell: z.number().int().min(1).default(4),
    /** Orientation bins per cell, equal-width over 0..180° (or 0..360° when signed). */
    orientations: z.number().int().min(1).max(360).default(9),
    /** Cells per block side. */
    block: z.number().int().min(1).default(2),
    /** Cells from one block to the next (scikit-image's hog has 1 only). */
    block_stride: z.number().int().min(1).default(1),
    /**
     * Block normalisation, as scikit-image (eps = 1e-5): l2_hys (l2, clip at 0.2, l2 again), l2, l1, l1_sqrt
     * (square root of l1), none (the cell histograms as they are, block by block).
     */
    norm: z.enum(['l2_hys', 'l2', 'l1', 'l1_sqrt', 'none']).default('l2_hys'),
    /**
     * false: gradient orientation modulo 180° (scikit-image); true: the direction over 0..360° (0° = brighter to the
     * right, 90° = brighter downwards, the row axis), bin i = [i·360/orientations, (i+1)·360/orientations).
     */
    signed: z.boolean().default(false),
    /** Square root of every pixel first (scikit-image's transform_sqrt, power-law compression); pixels must be ≥ 0. */
    sqrt: z.boolean().default(false),
    /**
     * 3: RGB images (channels interleaved), each pixel's gradient taken from the channel where it is largest (scikit-
     * image's channel_axis, Dalal and Triggs' colour HOG). Set from the data when hog receives RGB images; left out: grey.
     */
    channels: z.union([z.literal(1), z.literal(3)]).optional(),
  })
  .strict();
export type HogParams = z.infer<typeof HogParams>;

interface Fitted {
  features: number;
}

/** Cells and blocks for some params: what the kernel loops over and how wide its output is. */
interface Geometry {
  /** Cells per image side. */
  cells: number;
  /** Blocks per image side. */
  blocks: number;
  /** Values per block (block² · orientations). */
  blockLength: number;
  /** Output features per image. */
  features: number;
}

/** The geometry for these params on rows of `inputFeatures` values; ParamRangeError naming the param that does not fit. */
function geometry(p: HogParams, inputFeatures: number): Geometry {
  const channels = p.channels ?? 1;
  if (channels === 3 && inputFeatures !== 3 * p.size * p.size) {
    throw new ParamRangeError(
      'size',
      `size must be the side of the square RGB images it receives: ${inputFeatures} values are not ${p.size}×${p.size}×3`,
    );
  }
  if (channels === 1 && inputFeatures !== p.size * p.size) {
    const side = Math.round(Math.sqrt(inputFeatures));
    const hint = side * side === inputFeatures ? ` (use size: ${side})` : ' (not a square image)';
    throw new ParamRangeError(
      'size',
      `size must be the side of the square images it receives: ${inputFeatures} features are not ${p.size}×${p.size}${hint}`,
    );
  }
  if (p.cell > p.size) throw new ParamRangeError('cell', `cell must be ≤ the image side ${p.size}, got ${p.cell}`);
  const cells = Math.floor(p.size / p.cell);
  if (p.block > cells) {
    throw new ParamRangeError(
      'block',
      `block must be ≤ the ${cells} cells per side (size ${p.size} / cell ${p.cell}), got ${p.block}`,
    );
  }
  const blocks = Math.floor((cells - p.block) / p.block_stride) + 1;
  const blockLength = p.block * p.block * p.orientations;
  return { cells, blocks, blockLength, features: blocks * blocks * blockLength };
}

/**
 * Histograms of oriented gradients, numerically as scikit-image 0.19's `skimage.feature.hog` (grey images):
 * - optional square root of the pixels (transform_sqrt);
 * - gradients by central differences, d/dcol = x[r][c+1] − x[r][c−1] and d/drow = x[r+1][c] − x[r−1][c], zero on the
 *   image's first and last column (row); magnitude √(gc² + gr²);
 * - each pixel's whole magnitude goes to one bin: the angle atan2(gr, gc) taken modulo 180° (360° when signed) falls in
 *   bin i when i·w ≤ angle < (i+1)·w (no interpolation between bins or cells), w = 180°/orientations (360° signed);
 * - a cell's histogram is summed in float32, in row-major pixel order, and divided by the cell's area (as skimage's
 *   Cython kernel); cells cover the first floor(size/cell)·cell rows and columns;
 * - blocks of block×block cells, every block_stride cells, each normalised on its own (eps 1e-5);
 * - output order: block row, block column, cell row within the block, cell column, orientation — skimage's
 *   feature_vector order for block_stride 1.
 * A pixel's bin is found without its angle: the pseudo-angle of its direction (one division) picks a slot of a lookup
 * table that holds the bin wherever no bin edge is near; near one, cross-product signs against the edges' directions
 * decide exactly; and within 1e-11 of an edge, where skimage's own rounding decides, skimage's arithmetic is repeated
 * with a correctly rounded atan2. That equals skimage on numpy's portable build (tested on 1500 images × 9 param sets);
 * numpy's AVX-512 atan2 is a few ulps off, so on such CPUs skimage itself puts some gradients lying on an edge to the
 * last bit (√3 ratios after sqrt, say) in the other bin.
 */
export class Hog extends BaseStage<HogParams, Fitted> implements Transformer<HogParams> {
  readonly name = 'hog';
  readonly kind = 'transformer' as const;

  constructor(params: Partial<HogParams> = {}) {
    super(HogParams, params);
  }

  /** Checks the params fit the images (size² features, cells and blocks inside them); learns nothing else. */
  async fit(X: Matrix, y: Uint8Array): Promise<this> {
    checkXy(this.name, X, y);
    geometry(this.params, X.cols);
    this.state = { features: X.cols };
    return this;
  }

  /** Rows are independent: blocks of them go to the worker pool, each writing its part of the shared output. */
  async transform(X: Matrix): Promise<Matrix> {
    checkFeatures(this.name, X, this.state.features);
    const { rows, cols } = X;
    const { features } = geometry(this.params, cols);
    const out = sharedFloats(rows * features);
    if (rows <= TASK_ROWS || workerCount() <= 1) {
      hogRows(X.data, rows, this.params, out);
    } else {
      const source = sharedFloat32(X.data);
      const tasks = [];
      for (let r0 = 0; r0 < rows; r0 += TASK_ROWS) {
        const r1 = Math.min(rows, r0 + TASK_ROWS);
        const args = [
          source.subarray(r0 * cols, r1 * cols),
          r1 - r0,
          this.params,
          out.subarray(r0 * features, r1 * features),
        ];
        tasks.push({ module: import.meta.url, fn: 'hogRows', args });
      }
      await runAll(tasks);
    }
    return matrix(rows, features, out);
  }

  protected encode(f: Fitted): Snapshot {
    return { features: f.features };
  }

  protected decode(s: Snapshot): Fitted {
    const features = numberField(s, 'features', true);
    const expected = this.params.size * this.params.size * (this.params.channels ?? 1);
    if (features !== expected)
      throw new ModelError(
        `model file: hog was fitted on ${features} features, but its size ${this.params.size} needs ${expected}`,
      );
    return { features };
  }
}

/** Images per pool task (enough work to outweigh sending it to a worker); smaller inputs are done on the calling thread. */
const TASK_ROWS = 2048;

/** scikit-image's block normalisation epsilon. */
const EPS = 1e-5;

/**
 * HOG features of `rows` images (each params.size² values, row-major) from `src`, written to `out` (rows × features,
 * the order of the Hog class comment). Allocates its scratch once; nothing per pixel. A pool task (writes to `out`,
 * which is shared memory there).
 */
export function hogRows(src: Float32Array, rows: number, params: HogParams, out: Float32Array): void {
  const { size, cell, orientations: bins, block, block_stride: stride } = params;
  const channels = params.channels ?? 1;
  const { cells, blocks, blockLength, features } = geometry(params, size * size * channels);
  const edges = makeEdges(bins, params.signed);
  const { slots } = edges;
  const norm = NORMS.indexOf(params.norm);
  const pixels = size * size;
  const values = pixels * channels;
  const covered = cells * cell; // rows and columns inside cells
  const area = cell * cell;
  const image = new Float64Array(values);
  // float32 sums, as skimage's `cdef float total`
  const sums = new Float32Array(cells * cells * bins);
  const hist = new Float64Array(cells * cells * bins);
  const blockValues = new Float64Array(blockLength);
  // offset of each column's cell in `sums`
  const columnCell = new Int32Array(covered);
  for (let c = 0; c < covered; c++) columnCell[c] = Math.floor(c / cell) * bins;
  const rowBins = cells * bins;
  const halfSlots = SLOTS / 2;

  for (let i = 0; i < rows; i++) {
    const from = i * values;
    if (params.sqrt) {
      for (let p = 0; p < values; p++) {
        const x = src[from + p];
        if (!(x >= 0))
          throw new Error(`hog: sqrt needs pixels ≥ 0, but a row has ${x} (put hog before any centring step)`);
        image[p] = Math.sqrt(x);
      }
    } else {
      for (let p = 0; p < values; p++) image[p] = src[from + p];
    }
    sums.fill(0);

    for (let r = 0; r < covered; r++) {
      const rowOffset = r * size;
      const sumsRow = Math.floor(r / cell) * rowBins;
      const vertical = r > 0 && r < size - 1;
      for (let c = 0; c < covered; c++) {
        const p = rowOffset + c;
        const horizontal = c > 0 && c < size - 1;
        let gx = horizontal ? image[p + 1] - image[p - 1] : 0;
        let gy = vertical ? image[p + size] - image[p - size] : 0;
        if (channels === 3) {
          // the channel with the largest gradient magnitude (the first of equal ones, as numpy's argmax)
          const q = 3 * p;
          const line = 3 * size;
          gx = horizontal ? image[q + 3] - image[q - 3] : 0;
          gy = vertical ? image[q + line] - image[q - line] : 0;
          let best = gx * gx + gy * gy;
          for (let ch = 1; ch < 3; ch++) {
            const x = horizontal ? image[q + ch + 3] - image[q + ch - 3] : 0;
            const y = vertical ? image[q + ch + line] - image[q + ch - line] : 0;
            if (x * x + y * y > best) {
              best = x * x + y * y;
              gx = x;
              gy = y;
            }
          }
        }
        if (gx === 0 && gy === 0) continue; // adds nothing to any bin
        // the slot of g's direction in its half-plane (the lower half turned by 180°)
        const upper = gy > 0 || (gy === 0 && gx > 0);
        const fy = upper ? gy : -gy;
        const d = fy / (Math.abs(gx) + fy);
        const q = (upper ? gx >= 0 : gx <= 0) ? d : 2 - d;
        let bin = slots[(upper ? 0 : SLOTS + 1) + Math.ceil(q * halfSlots)];
        if (bin < 0) {
          bin = exactBin(gx, gy, edges);
          if (bin < 0) continue;
        }
        sums[sumsRow + columnCell[c] + bin] += Math.sqrt(gx * gx + gy * gy);
      }
    }

    for (let h = 0; h < hist.length; h++) hist[h] = Math.fround(sums[h] / area);

    let o = i * features;
    for (let br = 0; br < blocks; br++) {
      for (let bc = 0; bc < blocks; bc++) {
        let v = 0;
        for (let cr = 0; cr < block; cr++) {
          const start = ((br * stride + cr) * cells + bc * stride) * bins;
          const end = start + block * bins;
          for (let h = start; h < end; h++) blockValues[v++] = hist[h];
        }
        writeBlock(blockValues, norm, out, o);
        o += blockLength;
      }
    }
  }
}

/** Block norms by index (writeBlock takes the index: no string comparisons per block). */
const NORMS: ReadonlyArray<HogParams['norm']> = ['none', 'l1', 'l1_sqrt', 'l2', 'l2_hys'];

/**
 * Writes one block, normalised as skimage's _hog_normalize_block, to out[o…]. Multiplies by the reciprocal where skimage
 * divides (a last-bit difference in float64, far below the float32 output's rounding).
 */
function writeBlock(v: Float64Array, norm: number, out: Float32Array, o: number): void {
  const n = v.length;
  if (norm === 0) {
    for (let i = 0; i < n; i++) out[o + i] = v[i];
  } else if (norm <= 2) {
    // l1, l1_sqrt
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.abs(v[i]);
    const scale = 1 / (sum + EPS);
    if (norm === 1) for (let i = 0; i < n; i++) out[o + i] = v[i] * scale;
    else for (let i = 0; i < n; i++) out[o + i] = Math.sqrt(v[i] * scale);
  } else {
    let squares = 0;
    for (let i = 0; i < n; i++) squares += v[i] * v[i];
    const scale = 1 / Math.sqrt(squares + EPS * EPS);
    if (norm === 3) {
      for (let i = 0; i < n; i++) out[o + i] = v[i] * scale;
    } else {
      // l2_hys: clip at 0.2, then l2 again
      squares = 0;
      for (let i = 0; i < n; i++) {
        const clipped = Math.min(v[i] * scale, 0.2);
        v[i] = clipped;
        squares += clipped * clipped;
      }
      const rescale = 1 / Math.sqrt(squares + EPS * EPS);
      for (let i = 0; i < n; i++) out[o + i] = v[i] * rescale;
    }
  }
}

export const hogSpec: StageSpec<HogParams> = {
  name: 'hog',
  kind: 'transformer',
  summary:
    'histograms of oriented gradients of size×size grey or RGB images (as scikit-image hog): cells, orientation bins, normalised blocks',
  schema: HogParams,
  savable: alwaysSavable,
  create: (params) => new Hog(params),
  // fit checks the width and keeps it; each row's histograms depend on that row alone
  rowwise: () => true,
  outputFeatures: (params, inputFeatures, shape) => {
    const image = needImage('hog', shape);
    if (image && image.channels !== (params.channels ?? 1)) {
      throw new ParamRangeError(
        'channels',
        `hog.channels is ${params.channels ?? 1}, but its input has ${image.channels}`,
      );
    }
    if (image && image.width !== image.height) {
      throw new ParamRangeError('size', `hog works on square images; its input is ${image.width}×${image.height}`);
    }
    return geometry(params, inputFeatures).features;
  },
  // colour input makes a colour HOG; grey input keeps the params as they were written (no channels key)
  bindShape: (params, shape) => {
    if (shape?.channels === 3) return { ...params, channels: 3 };
    const { channels: _channels, ...grey } = params;
    return shape ? grey : params;
  },
};
