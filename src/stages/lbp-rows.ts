/**
 * The LBP kernel: what the lbp stage (lbp.ts) runs on its rows, here apart from the stage so that a pool worker loads it
 * without the stage's parameter schema (and zod). Pure functions of their arguments.
 */
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
 * Lbp) computes it on the same values (the grey stage's float32 ones, for RGB rows): its bilinear interpolation term for term, on a copy of the image inside a border of zeros (its 0 outside), with each neighbour's fractions taken
 * from r + dr and c + dc as scikit-image does (they depend on r and c in their last bits).
 */
export function lbpCoder(
  height: number,
  width: number,
  offsets: { dr: Float64Array; dc: Float64Array },
): (image: ArrayLike<number>, codes: Uint8Array) => void {
  const { dr, dc } = offsets;
  const P = dr.length;
  let pad = 1;
  for (let i = 0; i < P; i++) pad = Math.max(pad, Math.ceil(Math.abs(dr[i])), Math.ceil(Math.abs(dc[i])));
  const stride = width + 2 * pad;
  // scratch kept from image to image: the border stays 0, the inside and the patterns are written anew
  const padded = new Float64Array((height + 2 * pad) * stride);
  const patterns = new Uint32Array(height * width);
  const fc = new Float64Array(width);
  const neighbours = P >= 32 ? 0x7fffffff : 2 ** (P - 1) - 1;
  return (image, codes) => {
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) padded[(r + pad) * stride + c + pad] = image[r * width + c];
    }
    patterns.fill(0);
    // neighbour by neighbour over the whole image, each setting its bit of every pixel's pattern
    for (let i = 0; i < P; i++) {
      const [r0, r1, c0, c1] = [Math.floor(dr[i]), Math.ceil(dr[i]), Math.floor(dc[i]), Math.ceil(dc[i])];
      const bit = 2 ** i;
      if (Number.isInteger(dr[i]) && Number.isInteger(dc[i])) {
        // whole offsets: both fractions are 0 and the interpolation gives the pixel itself, bit for bit
        for (let r = 0; r < height; r++) {
          const base = (r + pad) * stride + pad;
          const at = base + r0 * stride + c0;
          for (let c = 0; c < width; c++) if (padded[at + c] - padded[base + c] >= 0) patterns[r * width + c] += bit;
        }
        continue;
      }
      // the fractions as scikit-image takes them, from r + dr and c + dc (exact offsets: dr and dc have 5 decimals)
      for (let c = 0; c < width; c++) fc[c] = c + dc[i] - Math.floor(c + dc[i]);
      for (let r = 0; r < height; r++) {
        const fr = r + dr[i] - Math.floor(r + dr[i]);
        const base = (r + pad) * stride + pad;
        const top = base + r0 * stride;
        const bottom = base + r1 * stride;
        for (let c = 0; c < width; c++) {
          const f = fc[c];
          const t = (1 - f) * padded[top + c + c0] + f * padded[top + c + c1];
          const b = (1 - f) * padded[bottom + c + c0] + f * padded[bottom + c + c1];
          if ((1 - fr) * t + fr * b - padded[base + c] >= 0) patterns[r * width + c] += bit;
        }
      }
    }
    // uniform: at most two changes from one neighbour to the next (first to last, not around), coded by the count of ones
    for (let p = 0; p < patterns.length; p++) {
      const pattern = patterns[p];
      codes[p] = ones((pattern ^ (pattern >>> 1)) & neighbours) <= 2 ? ones(pattern) : P + 1;
    }
  };
}

/** Set bits of a 32-bit pattern. */
function ones(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}
