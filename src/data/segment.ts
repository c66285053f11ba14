import type { Rgba } from './png.js';

/** The long side of the reduced copy the mask is found on. */
const WORK_SIDE = 160;
/** The ring sampled for the backdrop's colour, as a fraction of the reduced copy's shorter side. */
const RING = 0.04;
/** The closing's radius, as a fraction of the reduced copy's longer side. */
const CLOSING = 0.02;
/** The smallest garment kept, as a fraction of the photo: below it the photo is left as it was. */
const MIN_AREA = 0.01;

/** The garment found in a photo: the photo with everything else painted the backdrop's colour, and where it lies. */
export interface Segmented extends Rgba {
  /** The garment's share of the photo's pixels. */
  area: number;
}

/**
 * Finds the garment in a photo taken on a backdrop (a bed, a floor, a wall) and paints everything else the backdrop's
 * colour, so a preparation that trims to what stands out from the border (Fashion-MNIST's) sees the garment alone.
 * On a copy reduced to WORK_SIDE pixels on the longer side (block means): each pixel's distance from the backdrop's
 * colour (the per-channel median of a ring along the border); Otsu's threshold on those distances; a closing (a
 * dilation then an erosion by a square); the largest 4-connected part with its holes filled. Returns null when nothing
 * of at least MIN_AREA of the photo stands out, and the caller keeps the photo as it was. Transparent pixels count as
 * white, as the preparation draws them.
 */
export function segmentGarment(image: Rgba): Segmented | null {
  const { width: W, height: H, rgba } = image;
  if (W < 4 || H < 4) return null;
  const step = Math.max(1, Math.ceil(Math.max(W, H) / WORK_SIDE));
  const w = Math.ceil(W / step);
  const h = Math.ceil(H / step);
  const small = reduce(image, step, w, h);
  const backdrop = ringMedian(small, w, h, Math.max(1, Math.round(RING * Math.min(w, h))));
  const distance = new Float64Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const dr = small[3 * i] - backdrop[0];
    const dg = small[3 * i + 1] - backdrop[1];
    const db = small[3 * i + 2] - backdrop[2];
    distance[i] = Math.sqrt(dr * dr + dg * dg + db * db);
  }
  const threshold = otsu(distance);
  let mask: Uint8Array = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) mask[i] = distance[i] > threshold ? 1 : 0;
  const radius = Math.max(1, Math.round(CLOSING * Math.max(w, h)));
  mask = erode(dilate(mask, w, h, radius), w, h, radius);
  const garment = fillHoles(largestPart(mask, w, h), w, h);
  let count = 0;
  for (let i = 0; i < w * h; i++) count += garment[i];
  const area = count / (w * h);
  if (area < MIN_AREA) return null;
  const out = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    const row = Math.floor(y / step) * w;
    for (let x = 0; x < W; x++) {
      const o = 4 * (y * W + x);
      if (garment[row + Math.floor(x / step)]) {
        const a = rgba[o + 3] / 255;
        for (let c = 0; c < 3; c++) out[o + c] = Math.round(rgba[o + c] * a + 255 * (1 - a));
      } else {
        out[o] = backdrop[0];
        out[o + 1] = backdrop[1];
        out[o + 2] = backdrop[2];
      }
      out[o + 3] = 255;
    }
  }
  return { width: W, height: H, rgba: out, area };
}

/** Block means of step×step pixels, RGB over white (w × h × 3). */
function reduce({ width: W, height: H, rgba }: Rgba, step: number, w: number, h: number): Float64Array {
  const sums = new Float64Array(w * h * 3);
  const counts = new Float64Array(w * h);
  for (let y = 0; y < H; y++) {
    const row = Math.floor(y / step) * w;
    for (let x = 0; x < W; x++) {
      const o = 4 * (y * W + x);
      const i = row + Math.floor(x / step);
      const a = rgba[o + 3] / 255;
      for (let c = 0; c < 3; c++) sums[3 * i + c] += rgba[o + c] * a + 255 * (1 - a);
      counts[i]++;
    }
  }
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) sums[3 * i + c] /= counts[i];
  return sums;
}

/** The per-channel median of the pixels within `ring` of the border, rounded. */
function ringMedian(small: Float64Array, w: number, h: number, ring: number): [number, number, number] {
  const values: number[][] = [[], [], []];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (x >= ring && x < w - ring && y >= ring && y < h - ring) continue;
      for (let c = 0; c < 3; c++) values[c].push(small[3 * (y * w + x) + c]);
    }
  }
  const median = (v: number[]) => {
    v.sort((a, b) => a - b);
    return Math.round(v[v.length >> 1]);
  };
  return [median(values[0]), median(values[1]), median(values[2])];
}

/**
 * Otsu's threshold, as scikit-image's threshold_otsu computes it for floats: 256 equal bins from the least to the
 * greatest value, the split between bins that maximises the between-class variance, the centre of the bin below it.
 * Values above the threshold are the foreground.
 */
export function otsu(values: Float64Array): number {
  const bins = 256;
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > lo)) return lo;
  const width = (hi - lo) / bins;
  const centre = (b: number) => lo + (b + 0.5) * width;
  const histogram = new Float64Array(bins);
  for (const v of values) histogram[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  let total = 0;
  let weighted = 0;
  for (let b = 0; b < bins; b++) {
    total += histogram[b];
    weighted += centre(b) * histogram[b];
  }
  let below = 0;
  let belowSum = 0;
  let best = -1;
  let at = 0;
  for (let b = 0; b < bins - 1; b++) {
    below += histogram[b];
    belowSum += centre(b) * histogram[b];
    const above = total - below;
    if (below === 0 || above === 0) continue;
    const gap = belowSum / below - (weighted - belowSum) / above;
    const between = below * above * gap * gap;
    if (between > best) {
      best = between;
      at = b;
    }
  }
  return centre(at);
}

/** A square max filter of the given radius (separable: rows, then columns). */
function dilate(mask: Uint8Array, w: number, h: number, radius: number): Uint8Array {
  return squareFilter(mask, w, h, radius, 1);
}

/** A square min filter of the given radius; outside the image counts as set, so a closing never eats the edges. */
function erode(mask: Uint8Array, w: number, h: number, radius: number): Uint8Array {
  return squareFilter(mask, w, h, radius, 0);
}

function squareFilter(mask: Uint8Array, w: number, h: number, radius: number, hit: 0 | 1): Uint8Array {
  const pass = (src: Uint8Array, along: number, across: number, at: (a: number, b: number) => number) => {
    const dst = new Uint8Array(w * h);
    for (let b = 0; b < across; b++) {
      for (let a = 0; a < along; a++) {
        let value = 1 - hit;
        for (let k = Math.max(0, a - radius); k <= Math.min(along - 1, a + radius); k++) {
          if (src[at(k, b)] === hit) {
            value = hit;
            break;
          }
        }
        dst[at(a, b)] = value;
      }
    }
    return dst;
  };
  const rows = pass(mask, w, h, (x, y) => y * w + x);
  return pass(rows, h, w, (y, x) => y * w + x);
}

/** The largest 4-connected set part of a mask (ties: the first met in row order). */
function largestPart(mask: Uint8Array, w: number, h: number): Uint8Array {
  const label = new Int32Array(w * h);
  const queue = new Int32Array(w * h);
  let best = 0;
  let bestSize = 0;
  let next = 0;
  for (let start = 0; start < w * h; start++) {
    if (!mask[start] || label[start]) continue;
    next++;
    const size = flood(start, next, (i) => mask[i] === 1 && label[i] === 0, label, queue, w, h);
    if (size > bestSize) {
      bestSize = size;
      best = next;
    }
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) out[i] = label[i] === best && best > 0 ? 1 : 0;
  return out;
}

/** The mask with every unset part that does not touch the border set. */
function fillHoles(mask: Uint8Array, w: number, h: number): Uint8Array {
  const outside = new Int32Array(w * h);
  const queue = new Int32Array(w * h);
  const open = (i: number) => mask[i] === 0 && outside[i] === 0;
  for (let x = 0; x < w; x++) {
    for (const i of [x, (h - 1) * w + x]) if (open(i)) flood(i, 1, open, outside, queue, w, h);
  }
  for (let y = 0; y < h; y++) {
    for (const i of [y * w, y * w + w - 1]) if (open(i)) flood(i, 1, open, outside, queue, w, h);
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) out[i] = outside[i] ? 0 : 1;
  return out;
}

/** Labels the 4-connected pixels reachable from `start` that `joins`, with `mark`; returns how many. */
function flood(
  start: number,
  mark: number,
  joins: (i: number) => boolean,
  label: Int32Array,
  queue: Int32Array,
  w: number,
  h: number,
): number {
  let head = 0;
  let tail = 0;
  label[start] = mark;
  queue[tail++] = start;
  while (head < tail) {
    const i = queue[head++];
    const x = i % w;
    const y = (i - x) / w;
    const visit = (j: number) => {
      if (joins(j)) {
        label[j] = mark;
        queue[tail++] = j;
      }
    };
    if (x > 0) visit(i - 1);
    if (x < w - 1) visit(i + 1);
    if (y > 0) visit(i - w);
    if (y < h - 1) visit(i + w);
  }
  return tail;
}
