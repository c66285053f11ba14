import { atan2Rounded } from '../linalg/atan2.js';

/**
 * How HOG puts a gradient in its orientation bin exactly as scikit-image does, without computing its angle (hog.ts's
 * kernel): a lookup table by pseudo-angle where no bin edge is near, cross-product signs against the edges near one,
 * and scikit-image's own arithmetic with a correctly rounded atan2 within 1e-11 of an edge.
 */
/**
 * A gradient whose direction lies within this (relative) distance of a bin edge or of the 0°/180° line is binned by
 * skimage's floating-point arithmetic itself (referenceBin) rather than by the cross-product tests: there the two could
 * round differently. Both are exact far beyond it (errors below 1e-14), so elsewhere they always agree.
 */
const AMBIGUOUS = 1e-11;

/** Degrees per radian as numpy's rad2deg multiplies by it. */
const DEGREES = 180 / Math.PI;

/**
 * Slots of the direction lookup table per half-plane. A direction g = (x, y) with y ≥ 0 has the pseudo-angle
 * q = y / (|x| + y) when x ≥ 0, else 2 − that: increasing with the angle, 0 at 0°, 1 at 90°, 2 at 180°, and one
 * division to compute. Slot 0 holds q = 0 exactly, slot s ≥ 1 the q in ((s − 1)·w, s·w], w = 2 / SLOTS. A slot gives
 * the bin of every direction in it, or −1 where a bin edge lies in or near it, or next to the 0°/180° line (slots 1
 * and SLOTS): there the exact tests decide.
 */
export const SLOTS = 1024;
/** How near (in q) an edge may come to a slot before the slot defers to the exact tests: far above q's rounding. */
const SLOT_MARGIN = 1e-9;

/**
 * Bin edges as directions, for the exact tests, and as skimage computes them in degrees, for referenceBin. A gradient
 * in the upper half-plane (0° ≤ angle < 180°) is tested against the upper edges; one in the lower half is turned by
 * 180° and tested against the lower edges, turned the same way (unsigned: the same edges and bins).
 */
export interface Edges {
  /** Edge directions, the upper edges then (signed) the lower ones, each in increasing angle. */
  x: Float64Array;
  y: Float64Array;
  /** 1 where an edge's direction is exact (multiples of 45°) and skimage's degrees put a gradient lying on it past it. */
  exact: Uint8Array;
  upperCount: number;
  /** Where the lower edges start in x, y and exact (unsigned: 0, the upper ones), and how many. */
  lowerStart: number;
  lowerCount: number;
  /** Bins before the lower half-plane's first edge (unsigned: 0). */
  lowerBase: number;
  /** Lookup table (SLOTS + 1 per half-plane, upper then lower): the bin of the directions in a slot, or −1. */
  slots: Int16Array;
  /** Degrees modulo which skimage's angles are taken: 180, or 360 when signed. */
  span: number;
  /** Bin i holds angles from from[i] (inclusive) to from[i + 1] (exclusive), computed as skimage does. */
  from: Float64Array;
}

/** The pseudo-angle of a direction in the upper half-plane (see SLOTS). */
function pseudoAngle(x: number, y: number): number {
  const d = y / (Math.abs(x) + y);
  return x >= 0 ? d : 2 - d;
}

export function makeEdges(orientations: number, signed: boolean): Edges {
  const span = signed ? 360 : 180;
  const width = span / orientations;
  const from = new Float64Array(orientations + 1);
  for (let i = 0; i <= orientations; i++) from[i] = width * i;
  const upper: number[][] = [];
  const lower: number[][] = [];
  // edge k (1 ≤ k < orientations) at k·span/orientations degrees, kept as the integer fraction numerator/orientations
  for (let k = 1; k < orientations; k++) {
    const numerator = k * span;
    const half = numerator < 180 * orientations ? upper : lower;
    const turned = half === upper ? numerator : numerator - 180 * orientations;
    let direction: number[];
    let exact = 0;
    if (turned % (45 * orientations) === 0) {
      direction = [
        [1, 0],
        [1, 1],
        [0, 1],
        [-1, 1],
      ][turned / (45 * orientations)];
      // skimage's degrees are exact on these directions; its edge must not lie above the true one
      exact = from[k] <= numerator / orientations ? 1 : 0;
    } else {
      const radians = ((turned / orientations) * Math.PI) / 180;
      direction = [Math.cos(radians), Math.sin(radians)];
    }
    half.push([direction[0], direction[1], exact]);
  }
  const all = signed ? [...upper, ...lower] : upper;
  const slots = new Int16Array(2 * (SLOTS + 1));
  const fillHalf = (edges: number[][], base: number, offset: number) => {
    const q = edges.map(([x, y]) => pseudoAngle(x, y));
    // q = 0 exactly: past any edge lying exactly there (the 180° edge, turned, when signed)
    slots[offset] = base + q.filter((e) => e <= 0).length;
    for (let s = 1; s <= SLOTS; s++) {
      const lo = (2 * (s - 1)) / SLOTS - SLOT_MARGIN;
      const hi = (2 * s) / SLOTS + SLOT_MARGIN;
      const near = s === 1 || s === SLOTS || q.some((e) => e >= lo && e <= hi);
      slots[offset + s] = near ? -1 : base + q.filter((e) => e < lo).length;
    }
  };
  fillHalf(upper, 0, 0);
  if (signed) fillHalf(lower, upper.length, SLOTS + 1);
  else slots.copyWithin(SLOTS + 1, 0, SLOTS + 1);
  return {
    x: Float64Array.from(all, (e) => e[0]),
    y: Float64Array.from(all, (e) => e[1]),
    exact: Uint8Array.from(all, (e) => e[2]),
    upperCount: upper.length,
    lowerStart: signed ? upper.length : 0,
    lowerCount: signed ? lower.length : upper.length,
    lowerBase: signed ? upper.length : 0,
    slots,
    span,
    from,
  };
}

/**
 * The bin of gradient (gx, gy) by exact tests: in its half-plane, the number of edges at or before it, each a
 * cross-product sign. Near an edge (or the 0°/180° line), skimage's own arithmetic decides (referenceBin). −1: no bin.
 */
export function exactBin(gx: number, gy: number, edges: Edges): number {
  const upper = gy > 0 || (gy === 0 && gx > 0);
  const fx = upper ? gx : -gx;
  const fy = upper ? gy : -gy;
  const start = upper ? 0 : edges.lowerStart;
  const end = start + (upper ? edges.upperCount : edges.lowerCount);
  const { x, y } = edges;
  let k = start;
  while (k < end && x[k] * fy - y[k] * fx >= 0) k++;
  const tolerance = AMBIGUOUS * (Math.abs(gx) + Math.abs(gy));
  let ambiguous = gy !== 0 && Math.abs(gy) < AMBIGUOUS * Math.abs(gx);
  if (k > start) {
    const before = x[k - 1] * fy - y[k - 1] * fx;
    // a gradient exactly on an exact edge is past it, for skimage too
    if (before < tolerance && !(before === 0 && edges.exact[k - 1] === 1)) ambiguous = true;
  }
  if (k < end && y[k] * fx - x[k] * fy < tolerance) ambiguous = true;
  if (ambiguous) return referenceBin(gx, gy, edges);
  return (upper ? 0 : edges.lowerBase) + k - start;
}

/**
 * The bin skimage's arithmetic gives a gradient: rad2deg(atan2(gr, gc)) modulo the span (numpy's remainder, sign of
 * the divisor), then the bin whose [from, to) holds it; −1 when none does (an angle rounded up to the span, which
 * skimage drops). atan2 correctly rounded, as glibc's (which numpy calls) nearly always is.
 */
function referenceBin(gx: number, gy: number, edges: Edges): number {
  let angle = (atan2Rounded(gy, gx) * DEGREES) % edges.span;
  if (angle < 0) angle += edges.span;
  const { from } = edges;
  for (let i = 0; i + 1 < from.length; i++) if (angle >= from[i] && angle < from[i + 1]) return i;
  return -1;
}
