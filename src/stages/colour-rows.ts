/**
 * The colour histogram's kernel: what the colour_histogram stage (colour-histogram.ts) runs on its rows, here apart from
 * the stage so that a pool worker loads it without the stage's parameter schema (and zod). A pure function of its
 * arguments.
 */

/** What the kernel needs of the stage's params: bins over hue, saturation and value. */
export interface ColourKernel {
  bins: readonly [number, number, number];
}

/**
 * Each RGB row's joint h × s × v histogram, divided by its pixel count, into `out`: each pixel's hue, saturation and
 * value as scikit-image 0.19's rgb2hsv (in float64, from values/255), counted as numpy's histogramdd over [0, 1] (a
 * value on an inner edge goes to the bin above it, 1 to the last bin).
 */
export function colourRows(src: Float32Array, rows: number, k: ColourKernel, out: Float32Array): void {
  const [bh, bs, bv] = k.bins;
  const cells = bh * bs * bv;
  const cols = src.length / rows;
  const pixels = cols / 3;
  const [eh, es, ev] = [edges(bh), edges(bs), edges(bv)];
  const counts = new Uint32Array(cells);
  for (let r = 0; r < rows; r++) {
    counts.fill(0);
    const at = r * cols;
    for (let p = 0; p < pixels; p++) {
      const i = at + 3 * p;
      counts[hsvCell(src[i] / 255, src[i + 1] / 255, src[i + 2] / 255, eh, es, ev, bs, bv)]++;
    }
    for (let c = 0; c < cells; c++) out[r * cells + c] = counts[c] / pixels;
  }
}

/** Bin edges as numpy's linspace(0, 1, bins + 1): i · (1 / bins), the last exactly 1. */
function edges(bins: number): Float64Array {
  const step = 1 / bins;
  const e = Float64Array.from({ length: bins + 1 }, (_, i) => i * step);
  e[bins] = 1;
  return e;
}

/** histogramdd's bin: the last inner edge ≤ x (searchsorted right − 1), with 1 in the last bin. */
function bin(e: Float64Array, x: number): number {
  let b = 0;
  while (b < e.length - 2 && e[b + 1] <= x) b++;
  return b;
}

/**
 * The histogram cell of one pixel (values 0..1): its hue, saturation and value as scikit-image 0.19's rgb2hsv (later
 * maxima, green then blue, win ties), each binned by its edges.
 */
function hsvCell(
  r: number,
  g: number,
  b: number,
  eh: Float64Array,
  es: Float64Array,
  ev: Float64Array,
  bs: number,
  bv: number,
): number {
  const v = Math.max(r, g, b);
  const delta = v - Math.min(r, g, b);
  if (delta === 0) return (bin(eh, 0) * bs + bin(es, 0)) * bv + bin(ev, v);
  let h: number;
  if (b === v) h = 4 + (r - g) / delta;
  else if (g === v) h = 2 + (b - r) / delta;
  else h = (g - b) / delta;
  h /= 6;
  // numpy's float remainder: the sign of the divisor (a tiny negative hue rounds up to 1)
  let m = h % 1;
  if (m < 0) m += 1;
  return (bin(eh, m) * bs + bin(es, delta / v)) * bv + bin(ev, v);
}
