/**
 * Best Gini split of a node on one feature, over the binned codes (growTree calls splitOnFeature per drawn feature).
 * The proxy maximized is Σ L_c²/W_L + Σ R_c²/W_R, scikit-learn's proxy impurity improvement up to a constant.
 */
import { MAX_BINS } from './bins.js';

/** Nodes at or below this many samples find splits by sorting their codes rather than by a 256-bin histogram. */
const SMALL_NODE = 48;
/** Nodes at or below this many samples (and above SMALL_NODE) find splits by a counting sort of their codes. */
const COUNTING_MAX = 1024;

/** The rows of the tree being grown, the node being split, and the scratch arrays of the split search (one per tree). */
export interface Work {
  classes: number;
  minSamplesLeaf: number;
  /** Row index, label and weight (bootstrap count) by position; each node is a range of positions. */
  samples: Int32Array;
  sy: Uint8Array;
  sw: Float64Array;
  /** The node: positions [start, end), Σ of its class weights and of their squares. */
  start: number;
  end: number;
  wTotal: number;
  sqTotal: number;
  /** Where the node reads codes: feature f of row i at codeData[f * colStep + i * stride]. */
  codeData: Uint8Array;
  colStep: number;
  stride: number;
  /** Weighted class counts of the current node. */
  total: Float64Array;
  leftCount: Float64Array;
  hist: Float64Array;
  hist2: Float64Array;
  seen: Uint8Array;
  binCount: Int32Array;
  /** The node's positions sorted by code, as keys code << KEY_BITS | (position − start). */
  keys: Int32Array;
  /** Codes of the node's samples by position − start (splitByCounting). */
  nodeCodes: Uint8Array;
  /** Best split of the current node so far: [proxy, feature, last bin on the left, first bin on the right]. */
  best: Float64Array;
}

/** Scratch arrays for a tree of `m` in-bag rows (the node is set by the caller before each split search). */
export function createWork(classes: number, minSamplesLeaf: number, m: number): Work {
  return {
    classes,
    minSamplesLeaf,
    samples: new Int32Array(m),
    sy: new Uint8Array(m),
    sw: new Float64Array(m),
    start: 0,
    end: 0,
    wTotal: 0,
    sqTotal: 0,
    codeData: new Uint8Array(0),
    colStep: 0,
    stride: 0,
    total: new Float64Array(classes),
    leftCount: new Float64Array(classes),
    hist: new Float64Array(MAX_BINS * classes),
    hist2: new Float64Array(MAX_BINS * classes),
    seen: new Uint8Array(MAX_BINS),
    binCount: new Int32Array(MAX_BINS),
    keys: new Int32Array(COUNTING_MAX),
    nodeCodes: new Uint8Array(COUNTING_MAX),
    best: new Float64Array(4),
  };
}

/** Positions in a sort key: enough for COUNTING_MAX. */
const KEY_BITS = 10;
const KEY_MASK = (1 << KEY_BITS) - 1;

/** Each histogram cell adds weight × COUNT_SPAN + 1: weight and sample count in one exact double (counts < 2^24). */
const COUNT_SPAN = 2 ** 24;

/** Records a better split in best: its proxy, the feature, the last bin on the left and the first on the right. */
function setBest(best: Float64Array, proxy: number, f: number, lastLeft: number, firstRight: number): void {
  best[0] = proxy;
  best[1] = f;
  best[2] = lastLeft;
  best[3] = firstRight;
}

/**
 * Best split of the node (w.start … w.codeData) on feature f; updates w.best when better. Returns true when the feature
 * is constant in the node. The method goes by the node's size.
 */
export function splitOnFeature(w: Work, f: number): boolean {
  const size = w.end - w.start;
  if (size <= SMALL_NODE) return splitBySorting(w, f);
  if (size <= COUNTING_MAX) return splitByCounting(w, f);
  return splitByHistogram(w, f);
}

/**
 * By a histogram of (bin, class) weights, for large nodes; updates w.best when better. Returns true when the feature
 * is constant in the node. Two histograms take alternate samples, so that runs of equal bins do not chain every update
 * on the one before.
 */
function splitByHistogram(w: Work, f: number): boolean {
  const { classes: C, minSamplesLeaf: msl, samples, sy, sw, hist, hist2, seen, leftCount, total, best } = w;
  const { start, end, sqTotal, wTotal, codeData, stride } = w;
  const colBase = f * w.colStep;
  let lo = MAX_BINS;
  let hi = -1;
  let k = start;
  for (; k + 1 < end; k += 2) {
    const b = codeData[colBase + samples[k] * stride];
    const b2 = codeData[colBase + samples[k + 1] * stride];
    seen[b] = 1;
    seen[b2] = 1;
    hist[b * C + sy[k]] += sw[k] * COUNT_SPAN + 1;
    hist2[b2 * C + sy[k + 1]] += sw[k + 1] * COUNT_SPAN + 1;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
    if (b2 < lo) lo = b2;
    if (b2 > hi) hi = b2;
  }
  if (k < end) {
    const b = codeData[colBase + samples[k] * stride];
    seen[b] = 1;
    hist[b * C + sy[k]] += sw[k] * COUNT_SPAN + 1;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  const size = end - start;
  leftCount.fill(0);
  let sqL = 0;
  let sqR = sqTotal;
  let wL = 0;
  let nL = 0;
  let prev = -1;
  let bestProxy = best[0];
  for (let b = lo; b <= hi; b++) {
    if (seen[b] === 0) continue;
    seen[b] = 0;
    if (prev >= 0 && nL >= msl && size - nL >= msl) {
      const proxy = sqL / wL + sqR / (wTotal - wL);
      if (proxy > bestProxy) {
        bestProxy = proxy;
        setBest(best, proxy, f, prev, b);
      }
    }
    const row = b * C;
    for (let c = 0; c < C; c++) {
      const v = hist[row + c] + hist2[row + c];
      if (v !== 0) {
        hist[row + c] = 0;
        hist2[row + c] = 0;
        const h = Math.floor(v / COUNT_SPAN);
        nL += v - h * COUNT_SPAN;
        const l = leftCount[c];
        sqL += h * (2 * l + h);
        sqR += h * (h - 2 * (total[c] - l));
        leftCount[c] = l + h;
        wL += h;
      }
    }
    prev = b;
  }
  return lo === hi;
}

/**
 * For middle-sized nodes: a counting sort of the positions by bin, then one scan; costs O(size + bin range) rather
 * than O(size + bins × classes).
 */
function splitByCounting(w: Work, f: number): boolean {
  const { samples, binCount, nodeCodes, keys, start, end, codeData, stride } = w;
  const colBase = f * w.colStep;
  const size = end - start;
  let lo = MAX_BINS;
  let hi = -1;
  for (let k = 0; k < size; k++) {
    const b = codeData[colBase + samples[start + k] * stride];
    nodeCodes[k] = b;
    binCount[b]++;
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  if (lo === hi) {
    binCount[lo] = 0;
    return true;
  }
  let pos = 0;
  for (let b = lo; b <= hi; b++) {
    const c = binCount[b];
    binCount[b] = pos;
    pos += c;
  }
  for (let k = 0; k < size; k++) {
    const b = nodeCodes[k];
    keys[binCount[b]++] = (b << KEY_BITS) | k;
  }
  for (let b = lo; b <= hi; b++) binCount[b] = 0;
  scanSorted(w, f);
  return false;
}

/** For small nodes: an insertion sort of the (code, position) keys, then one scan. */
function splitBySorting(w: Work, f: number): boolean {
  const { samples, keys, start, end, codeData, stride } = w;
  const colBase = f * w.colStep;
  const size = end - start;
  for (let k = 0; k < size; k++) {
    const key = (codeData[colBase + samples[start + k] * stride] << KEY_BITS) | k;
    let j = k - 1;
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
  if (keys[0] >>> KEY_BITS === keys[size - 1] >>> KEY_BITS) return true;
  scanSorted(w, f);
  return false;
}

/**
 * Scans the node's positions in w.keys order (by code, then position; not all one code), moving one sample at a time
 * to the left side and weighing a split wherever the code changes; updates w.best when better.
 */
function scanSorted(w: Work, f: number): void {
  const { minSamplesLeaf: msl, sy, sw, keys, leftCount, total, best, start, end, sqTotal, wTotal } = w;
  const size = end - start;
  leftCount.fill(0);
  let sqL = 0;
  let sqR = sqTotal;
  let wL = 0;
  let prev = keys[0] >>> KEY_BITS;
  let bestProxy = best[0];
  for (let j = 0; j < size; j++) {
    const key = keys[j];
    const code = key >>> KEY_BITS;
    if (code !== prev) {
      if (j >= msl && size - j >= msl) {
        const proxy = sqL / wL + sqR / (wTotal - wL);
        if (proxy > bestProxy) {
          bestProxy = proxy;
          setBest(best, proxy, f, prev, code);
        }
      }
      prev = code;
    }
    const at = start + (key & KEY_MASK);
    const c = sy[at];
    const h = sw[at];
    const l = leftCount[c];
    sqL += h * (2 * l + h);
    sqR += h * (h - 2 * (total[c] - l));
    leftCount[c] = l + h;
    wL += h;
  }
}
