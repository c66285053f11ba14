import { KERNEL_PIXELS, kernelRgbaAt, photoKernels } from './photo-kernels.js';
import type { Rgba } from './png.js';

/** A pixel belongs to the background when it is within 5% of full intensity of the border's mean (Zalando's rule). */
export const TRIM = 0.05 * 255;
/** Within this of TRIM, a pixel's distance from the background may round differently once negated (floats near 255). */
export const NEAR_LIMIT = 1e-4;

/** What the first passes over a photo find (image.ts prepareDecoded decides from it). */
export interface PhotoStats {
  /** Mean grey of the outermost rows and columns. */
  border: number;
  /** Sum of (grey − border) over the pixels further than TRIM from it, and their number. */
  deviation: number;
  count: number;
  /** Their bounding box (x1 < 0: none) and lowest and highest grey. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  lo: number;
  hi: number;
  /** Whether a pixel lies within NEAR_LIMIT of the limit (it may stand out on one side of negation only). */
  nearLimit: boolean;
}

/** Where and how to crop a photo, and the size to resize the crop to. */
export interface Crop {
  x0: number;
  y0: number;
  bw: number;
  bh: number;
  inverted: boolean;
  background: number;
  gain: number;
  w: number;
  h: number;
}

/**
 * The passes over a photo's pixels that prepareDecoded needs; grey values are worked out where needed, never stored.
 * The kernel passes copy the pixels into kernel memory when made and read them there in each call: use them at once,
 * with no await in between (another photo on this thread would take their place).
 */
export interface PixelPasses {
  stats(): PhotoStats;
  /** The box and peak of the pixels that stand out from `background` once negated (float32(255 − grey)). */
  negatedBox(background: number): { x0: number; y0: number; x1: number; y1: number; peak: number };
  /**
   * The bw×bh crop at (x0, y0): its grey (negated when `inverted`), less `background`, times `gain`, clamped to 0..255,
   * resized to w×h by area averaging (resizeArea).
   */
  small(crop: Crop): Float32Array;
}

/**
 * The passes for a decoded photo: in the photo kernels (src/wasm/photo.ts) up to KERNEL_PIXELS, else (or with
 * `reference`) in JavaScript. Both do the same double operations in the same order, so their results are identical
 * (test/png.test.ts checks it); the JavaScript is the readable statement of what the kernels do.
 */
export function pixelPasses(image: Rgba, reference = false): PixelPasses {
  return reference || image.width * image.height > KERNEL_PIXELS ? referencePasses(image) : kernelPasses(image);
}

function kernelPasses({ width: W, height: H, rgba }: Rgba): PixelPasses {
  const rgbaAt = kernelRgbaAt();
  // a photo decodePng left in kernel memory is there already (a view made before any growth below)
  const resident = rgba.buffer === photoKernels().memory.buffer && rgba.byteOffset === rgbaAt;
  const outAt = (rgbaAt + 4 * W * H + 15) & ~15;
  const cropAt = outAt + 80;
  const smallAt = (cropAt + 4 * W * H + 15) & ~15;
  const scratchAt = smallAt + 4 * 28 * 28;
  const k = photoKernels(scratchAt + 4 * 28 * H + 16 * (W + H + 56) + 64);
  if (!resident) new Uint8Array(k.memory.buffer, rgbaAt, 4 * W * H).set(rgba);
  // views are made after each call: the memory does not grow between them, but a fresh view costs nothing
  const out = (n: number) => new Float64Array(k.memory.buffer, outAt, n);
  return {
    stats() {
      k.photoStats(rgbaAt, W, H, TRIM, NEAR_LIMIT, outAt);
      const [border, deviation, count, x0, y0, x1, y1, lo, hi, near] = out(10);
      return { border, deviation, count, x0, y0, x1, y1, lo, hi, nearLimit: near === 1 };
    },
    negatedBox(background) {
      k.negatedBox(rgbaAt, W, H, background, TRIM, outAt);
      const [x0, y0, x1, y1, peak] = out(5);
      return { x0, y0, x1, y1, peak };
    },
    small({ x0, y0, bw, bh, inverted, background, gain, w, h }) {
      k.cropGrey(rgbaAt, W, x0, y0, bw, bh, inverted ? 1 : 0, background, gain, cropAt);
      k.resizeArea(cropAt, bw, bh, w, h, smallAt, scratchAt);
      return new Float32Array(k.memory.buffer, smallAt, w * h).slice();
    },
  };
}

function referencePasses({ width: W, height: H, rgba }: Rgba): PixelPasses {
  return {
    stats() {
      const border = borderMean(rgba, W, H);
      // One pass for both questions: what stands out from the border (pixels further from it than TRIM) and on which
      // side, its bounding box and its extremes.
      let deviation = 0;
      let count = 0;
      let x0 = W, y0 = H, x1 = -1, y1 = -1;
      let lo = Infinity, hi = -Infinity;
      let nearLimit = false;
      for (let y = 0, i = 0; y < H; y++) {
        let first = -1;
        let last = -1;
        for (let x = 0; x < W; x++, i += 4) {
          const g = greyAt(rgba, i);
          const dv = g - border;
          const adv = Math.abs(dv);
          if (adv > TRIM) {
            deviation += dv;
            count++;
            if (first < 0) first = x;
            last = x;
            if (g < lo) lo = g;
            if (g > hi) hi = g;
            if (adv < TRIM + NEAR_LIMIT) nearLimit = true;
          } else if (adv > TRIM - NEAR_LIMIT) nearLimit = true;
        }
        if (first >= 0) {
          if (first < x0) x0 = first;
          if (last > x1) x1 = last;
          if (y0 === H) y0 = y;
          y1 = y;
        }
      }
      return { border, deviation, count, x0, y0, x1, y1, lo, hi, nearLimit };
    },
    negatedBox(background) {
      let x0 = W, y0 = H, x1 = -1, y1 = -1;
      let peak = background;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const v = Math.fround(255 - greyAt(rgba, 4 * (y * W + x)));
          if (Math.abs(v - background) > TRIM) {
            if (x < x0) x0 = x;
            if (x > x1) x1 = x;
            if (y < y0) y0 = y;
            if (y > y1) y1 = y;
            if (v > peak) peak = v;
          }
        }
      }
      return { x0, y0, x1, y1, peak };
    },
    small({ x0, y0, bw, bh, inverted, background, gain, w, h }) {
      const crop = new Float32Array(bw * bh);
      for (let y = 0; y < bh; y++) {
        const row = (y0 + y) * W + x0;
        for (let x = 0; x < bw; x++) {
          const g = greyAt(rgba, 4 * (row + x));
          const v = ((inverted ? Math.fround(255 - g) : g) - background) * gain;
          crop[y * bw + x] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
      return resizeArea(crop, bw, bh, w, h);
    },
  };
}

/**
 * The grey value of the pixel at byte `j` of RGBA data, as a float (0..255): its luminance, with transparent parts over
 * white (product cut-outs).
 */
function greyAt(rgba: Uint8Array | Uint8ClampedArray, j: number): number {
  const lum = 0.299 * rgba[j] + 0.587 * rgba[j + 1] + 0.114 * rgba[j + 2];
  const alpha = rgba[j + 3];
  if (alpha === 255) return Math.fround(lum);
  const a = alpha / 255;
  return Math.fround(lum * a + 255 * (1 - a));
}

/** Mean grey of the outermost rows and columns. */
function borderMean(rgba: Uint8Array | Uint8ClampedArray, W: number, H: number): number {
  let sum = 0;
  let count = 0;
  for (let x = 0; x < W; x++) {
    sum += greyAt(rgba, 4 * x) + (H > 1 ? greyAt(rgba, 4 * ((H - 1) * W + x)) : 0);
    count += H > 1 ? 2 : 1;
  }
  for (let y = 1; y < H - 1; y++) {
    sum += greyAt(rgba, 4 * y * W) + (W > 1 ? greyAt(rgba, 4 * (y * W + W - 1)) : 0);
    count += W > 1 ? 2 : 1;
  }
  return sum / count;
}

/**
 * Resamples a W×H image to w×h by area averaging: each output pixel is the mean of the input area it covers (partly
 * covered input pixels count by the covered fraction). Separable: rows first, then columns.
 */
export function resizeArea(src: Float32Array, W: number, H: number, w: number, h: number): Float32Array {
  const rows = new Float32Array(w * H);
  const wx = coverage(W, w);
  for (let y = 0; y < H; y++) {
    for (const { out, from, weights } of wx) {
      let s = 0;
      for (let i = 0; i < weights.length; i++) s += src[y * W + from + i] * weights[i];
      rows[y * w + out] = s;
    }
  }
  const dst = new Float32Array(w * h);
  const wy = coverage(H, h);
  for (const { out, from, weights } of wy) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let i = 0; i < weights.length; i++) s += rows[(from + i) * w + x] * weights[i];
      dst[out * w + x] = s;
    }
  }
  return dst;
}

/** For each of n output pixels over N input pixels: the first input pixel it covers and the weights (summing to 1). */
function coverage(N: number, n: number): Array<{ out: number; from: number; weights: Float64Array }> {
  const step = N / n;
  const out = [];
  for (let o = 0; o < n; o++) {
    const a = o * step;
    const b = (o + 1) * step;
    const from = Math.floor(a);
    const to = Math.min(N, Math.ceil(b));
    const weights = new Float64Array(to - from);
    for (let i = from; i < to; i++) weights[i - from] = (Math.min(b, i + 1) - Math.max(a, i)) / step;
    out.push({ out: o, from, weights });
  }
  return out;
}
