/**
 * The HOG kernel: what the Hog stage (hog.ts) runs on its rows, here apart from the stage so that a pool worker loads it
 * without the stage's parameter schema (and zod). A pure function of its arguments.
 */
import { exactBin, makeEdges, SLOTS } from './hog-bins.js';
import type { HogParams } from './hog.js';
import { ParamRangeError } from './stage.js';

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
export function geometry(p: HogParams, inputFeatures: number): Geometry {
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
