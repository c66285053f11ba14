/**
 * The HOG kernel: what the Hog stage (hog.ts) runs on its rows, here apart from the stage so that a pool worker loads it
 * without the stage's parameter schema (and zod). A pure function of its arguments.
 */
import { Arena } from '../runtime/wasm.js';
import { exactBin, makeEdges } from './hog-bins.js';
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

/**
 * HOG features of `rows` images (each params.size² values, row-major) from `src`, written to `out` (rows × features,
 * the order of the Hog class comment). The per-pixel work runs in the WebAssembly kernels hogGradients and hogBlocks
 * (src/wasm/hog.ts), the arithmetic of a plain loop; the few gradients the lookup table leaves to the exact tests are
 * binned here between the two (exactBin). A pool task (writes to `out`, which is shared memory there).
 */
export function hogRows(src: Float32Array, rows: number, params: HogParams, out: Float32Array): void {
  const { size, cell, orientations: bins, block, block_stride: stride } = params;
  const channels = params.channels ?? 1;
  const { cells, features } = geometry(params, size * size * channels);
  const edges = makeEdges(bins, params.signed);
  const norm = NORMS.indexOf(params.norm);
  const values = size * size * channels;
  const covered = cells * cell; // rows and columns inside cells
  const pixels = covered * covered;
  if (params.sqrt) {
    for (let p = 0; p < rows * values; p++) {
      const x = src[p];
      if (!(x >= 0))
        throw new Error(`hog: sqrt needs pixels ≥ 0, but a row has ${x} (put hog before any centring step)`);
    }
  }
  const arena = new Arena();
  const srcAt = arena.reserve(values * 4);
  const slotsAt = arena.reserve(edges.slots.byteLength);
  const planesAt = arena.reserve(channels * (size * size + 2) * 8);
  const binsAt = arena.reserve(pixels * 4);
  const magsAt = arena.reserve(pixels * 8);
  const gxAt = arena.reserve(pixels * 8);
  const gyAt = arena.reserve(pixels * 8);
  const sumsAt = arena.reserve(cells * cells * bins * 4);
  const histAt = arena.reserve(cells * cells * bins * 8);
  const blockAt = arena.reserve(block * block * bins * 8);
  const outAt = arena.reserve(features * 4);
  const k = arena.kernels;
  new Int16Array(k.memory.buffer, slotsAt, edges.slots.length).set(edges.slots);
  const input = arena.f32(srcAt, values);
  const pixelBins = arena.i32(binsAt, pixels);
  const gx = arena.f64(gxAt, pixels);
  const gy = arena.f64(gyAt, pixels);
  const row = arena.f32(outAt, features);
  const sqrtFirst = params.sqrt ? 1 : 0;
  for (let i = 0; i < rows; i++) {
    input.set(src.subarray(i * values, (i + 1) * values));
    let exact = k.hogGradients(
      srcAt,
      size,
      channels,
      covered,
      sqrtFirst,
      slotsAt,
      planesAt,
      binsAt,
      magsAt,
      gxAt,
      gyAt,
    );
    for (let p = 0; exact > 0; p++) {
      if (pixelBins[p] !== EXACT_BIN) continue;
      pixelBins[p] = exactBin(gx[p], gy[p], edges);
      exact--;
    }
    k.hogBlocks(binsAt, magsAt, covered, cell, bins, block, stride, norm, sumsAt, histAt, blockAt, outAt);
    out.set(row, i * features);
  }
}

/** hogGradients' mark for a pixel whose bin the exact tests decide. */
const EXACT_BIN = -2;

/** Block norms by index (writeBlock takes the index: no string comparisons per block). */
const NORMS: ReadonlyArray<HogParams['norm']> = ['none', 'l1', 'l1_sqrt', 'l2', 'l2_hys'];
