/**
 * The LBP kernel: what the lbp stage (lbp.ts) runs on its rows, here apart from the stage so that a pool worker loads it
 * without the stage's parameter schema (and zod). Pure functions of their arguments.
 */
import { Arena } from '../runtime/wasm.js';
import { greyPixels } from './grey-rows.js';

/** What the kernel needs of the stage's params: the images' shape, the circle and the cells. */
export interface LbpKernel {
  height: number;
  width: number;
  channels: 1 | 3;
  points: number;
  radius: number;
  cell: number;
}

/**
 * Each row's code histograms, cell by cell (floor(height / cell) × floor(width / cell) cells of points + 2 bins, each
 * divided by the cell's pixels), into `out`. RGB rows are made grey first as the grey stage does (bt709).
 */
export function lbpRows(src: Float32Array, rows: number, k: LbpKernel, out: Float32Array): void {
  const { height, width, channels, points, cell } = k;
  const pixels = height * width;
  const bins = points + 2;
  const [cellsY, cellsX] = [Math.floor(height / cell), Math.floor(width / cell)];
  const features = cellsY * cellsX * bins;
  const grey = new Float32Array(pixels);
  const codes = new Uint8Array(pixels);
  const code = lbpCoder(height, width, circle(points, k.radius));
  for (let r = 0; r < rows; r++) {
    const row = src.subarray(r * pixels * channels, (r + 1) * pixels * channels);
    code(channels === 3 ? greyPixels(row, grey) : row, codes);
    const at = r * features;
    out.fill(0, at, at + features);
    for (let y = 0; y < cellsY * cell; y++) {
      const cellRow = Math.floor(y / cell) * cellsX;
      for (let x = 0; x < cellsX * cell; x++)
        out[at + (cellRow + Math.floor(x / cell)) * bins + codes[y * width + x]]++;
    }
    for (let f = at; f < at + features; f++) out[f] /= cell * cell;
  }
}

/** numpy's round(x, 5): x·10⁵ to the nearest integer (halves to even), divided by 10⁵. */
function round5(x: number): number {
  const y = x * 1e5;
  let n = Math.round(y);
  if (n - y === 0.5 && n % 2 !== 0) n -= 1;
  return n / 1e5;
}

/** The neighbours' offsets (rows, columns) as scikit-image computes them: R in single precision, rounded to 5 places. */
export function circle(points: number, radius: number): { dr: Float64Array; dc: Float64Array } {
  const R = Math.fround(radius);
  const dr = new Float64Array(points);
  const dc = new Float64Array(points);
  for (let i = 0; i < points; i++) {
    const angle = (2 * Math.PI * i) / points;
    dr[i] = round5(-R * Math.sin(angle));
    dc[i] = round5(R * Math.cos(angle));
  }
  return { dr, dc };
}

/**
 * A function writing each pixel's uniform LBP code (0..P + 1) of a grey image of this shape, as scikit-image 0.19 (see
 * Lbp) computes it on the same values (the grey stage's float32 ones, for RGB rows): its bilinear interpolation term
 * for term, on a copy of the image inside a border of zeros (its 0 outside), with each neighbour's fractions taken from
 * r + dr and c + dc as scikit-image does (they depend on r and c in their last bits). The interpolations run in the
 * WebAssembly kernel lbpCodes (src/wasm/lbp.ts); the offsets and fractions are computed here, once per coder.
 */
export function lbpCoder(
  height: number,
  width: number,
  offsets: { dr: Float64Array; dc: Float64Array },
): (image: Float32Array, codes: Uint8Array) => void {
  const { dr, dc } = offsets;
  const P = dr.length;
  let pad = 1;
  for (let i = 0; i < P; i++) pad = Math.max(pad, Math.ceil(Math.abs(dr[i])), Math.ceil(Math.abs(dc[i])));
  // per neighbour: floor and ceiling of the row and column offsets, whether both are whole; its fractions as
  // scikit-image takes them, from r + dr and c + dc (exact offsets: dr and dc have 5 decimals)
  const steps = new Int32Array(5 * P);
  const fc = new Float64Array(P * width);
  const fr = new Float64Array(P * height);
  for (let i = 0; i < P; i++) {
    steps.set([Math.floor(dr[i]), Math.ceil(dr[i]), Math.floor(dc[i]), Math.ceil(dc[i])], 5 * i);
    steps[5 * i + 4] = Number.isInteger(dr[i]) && Number.isInteger(dc[i]) ? 1 : 0;
    for (let c = 0; c < width; c++) fc[i * width + c] = c + dc[i] - Math.floor(c + dc[i]);
    for (let r = 0; r < height; r++) fr[i * height + r] = r + dr[i] - Math.floor(r + dr[i]);
  }
  const pixels = height * width;
  return (image, codes) => {
    // laid out on every call: other work on this thread may have used the kernel memory in between
    const arena = new Arena();
    const imageAt = arena.reserve(pixels * 4);
    const stepsAt = arena.reserve(steps.byteLength);
    const fcAt = arena.reserve(fc.byteLength);
    const frAt = arena.reserve(fr.byteLength);
    const paddedAt = arena.reserve((height + 2 * pad) * (width + 2 * pad) * 8);
    const patternsAt = arena.reserve(pixels * 8);
    const codesAt = arena.reserve(pixels);
    arena.f32(imageAt, pixels).set(image);
    arena.i32(stepsAt, steps.length).set(steps);
    arena.f64(fcAt, fc.length).set(fc);
    arena.f64(frAt, fr.length).set(fr);
    arena.kernels.lbpCodes(imageAt, height, width, pad, P, stepsAt, fcAt, frAt, paddedAt, patternsAt, codesAt);
    codes.set(arena.u8(codesAt, pixels));
  };
}
