/**
 * Kernels of the native random forest, run on worker threads through the pool (or inline with FASHION_WORKERS=1).
 * Everything here is a pure function of its arguments: the same inputs give the same trees on any thread.
 *
 * - binFeatures: quantizes a range of features into ≤256 bins, written into shared memory (feature-major codes).
 * - growTree: one CART tree (Gini, best split, max_features drawn afresh at each node as scikit-learn's
 *   BestSplitter does, skipping features found constant) over the binned data, returned as flat typed arrays.
 */
import { createRng } from '../linalg/rng.js';

/** Bins per feature (codes are bytes). */
export const MAX_BINS = 256;

/** The training data once quantized; all arrays may live in shared memory. */
export interface BinnedData {
  rows: number;
  features: number;
  classes: number;
  /** Bin codes twice: feature-major (row i, feature f at f * rows + i), read by large nodes… */
  codes: Uint8Array;
  /** …and row-major (at i * features + f), read by small nodes, whose rows then stay in cache down the subtree. */
  codesByRow: Uint8Array;
  y: Uint8Array;
  /** features × MAX_BINS: smallest and largest training value that fell in each bin (for real-valued thresholds). */
  binLo: Float32Array;
  binHi: Float32Array;
}

export interface TreeOptions {
  /** Depth limit; Infinity for fully grown trees. */
  maxDepth: number;
  /** Features to examine per split (already resolved against the feature count). */
  maxFeatures: number;
  minSamplesLeaf: number;
  bootstrap: boolean;
}

/**
 * A fitted tree as flat arrays. Node 0 is the root. For a split node: x[feature] <= threshold goes to `left`, else to
 * `right`. For a leaf: feature = -1 and left is the leaf's row in `leafValue` (leaves × classes, class fractions).
 */
export interface TreeArrays {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  leafValue: Float32Array;
}

const EMPTY = 0xffffffff; // a NaN bit pattern: never a key, since non-finite values are rejected
const HASH_BITS = 9;
const HASH_SIZE = 1 << HASH_BITS;
/** Rows sampled (evenly spaced) to place quantile edges of features with more than MAX_BINS distinct values. */
const QUANTILE_SAMPLE = 50000;

function hashSlot(bits: number): number {
  return Math.imul(bits, 0x9e3779b1) >>> (32 - HASH_BITS);
}

/** Rows sampled for the first look at a feature's distinct values. */
const DISTINCT_STEP = 4;

/**
 * Adds the distinct bit patterns of column[off + i] (i = 0, step, 2·step, …) to the hash set `keys` holding `count`
 * already; returns the new count, or -1 past MAX_BINS.
 */
function collectDistinct(keys: Uint32Array, bits: Uint32Array, off: number, rows: number, step: number, count: number): number {
  let last = EMPTY;
  for (let i = 0; i < rows; i += step) {
    const b = bits[off + i];
    if (b === last) continue;
    last = b;
    let h = hashSlot(b);
    for (;;) {
      const key = keys[h];
      if (key === b) break;
      if (key === EMPTY) {
        if (count === MAX_BINS) return -1;
        keys[h] = b;
        count++;
        break;
      }
      h = (h + 1) & (HASH_SIZE - 1);
    }
  }
  return count;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/**
 * One bin per value of the hash set (in increasing order): fills binLo/binHi and the feature's codes. Returns false,
 * leaving them half-written, when a row holds a value missing from the set.
 */
function codeExact(
  keys: Uint32Array,
  slotBin: Uint8Array,
  bits: Uint32Array,
  off: number,
  rows: number,
  codes: Uint8Array,
  codeOff: number,
  binLo: Float32Array,
  binHi: Float32Array,
  binOff: number,
  count: number,
): boolean {
  const values = new Float32Array(count);
  let v = 0;
  for (let h = 0; h < HASH_SIZE; h++) {
    if (keys[h] !== EMPTY) {
      scratchU32[0] = keys[h];
      values[v++] = scratchF32[0];
    }
  }
  values.sort();
  for (let j = 0; j < count; j++) {
    scratchF32[0] = values[j];
    const b = scratchU32[0];
    let h = hashSlot(b);
    while (keys[h] !== b) h = (h + 1) & (HASH_SIZE - 1);
    slotBin[h] = j;
    binLo[binOff + j] = values[j];
    binHi[binOff + j] = values[j];
  }
  let lastBits = EMPTY;
  let lastCode = 0;
  for (let i = 0; i < rows; i++) {
    const b = bits[off + i];
    if (b !== lastBits) {
      let h = hashSlot(b);
      for (;;) {
        const key = keys[h];
        if (key === b) break;
        if (key === EMPTY) return false;
        h = (h + 1) & (HASH_SIZE - 1);
      }
      lastBits = b;
      lastCode = slotBin[h];
    }
    codes[codeOff + i] = lastCode;
  }
  return true;
}

/** Features binned together: copied into a feature-major buffer first, so that every later pass reads sequentially. */
const TILE = 64;
const ROW_BLOCK = 64;

/**
 * Bins features [f0, f1) of the row-major matrix X (rows × features). A feature with at most MAX_BINS distinct values
 * gets one bin per value (exact: raw or scaled pixels lose nothing); others get quantile bins from an evenly spaced
 * sample of rows. Writes both code layouts, binLo and binHi for those features.
 */
export function binFeatures(
  X: Float32Array,
  rows: number,
  features: number,
  f0: number,
  f1: number,
  codes: Uint8Array,
  codesByRow: Uint8Array,
  binLo: Float32Array,
  binHi: Float32Array,
): void {
  const column = new Float32Array(rows * Math.min(TILE, f1 - f0));
  const columnBits = new Uint32Array(column.buffer);
  const keys = new Uint32Array(HASH_SIZE);
  const slotBin = new Uint8Array(HASH_SIZE);
  for (let t0 = f0; t0 < f1; t0 += TILE) {
    const t1 = Math.min(f1, t0 + TILE);
    const width = t1 - t0;
    // Transpose the tile in blocks of rows (-0 folded into +0, non-finite values rejected).
    for (let r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
      const r1 = Math.min(rows, r0 + ROW_BLOCK);
      for (let k = 0; k < width; k++) {
        const colOff = k * rows;
        for (let i = r0, at = r0 * features + t0 + k; i < r1; i++, at += features) {
          const x = X[at];
          if (x - x !== 0) throw new Error(`random_forest: X has a non-finite value (${x}) at row ${i}, feature ${t0 + k}`);
          column[colOff + i] = x + 0;
        }
      }
    }
    for (let k = 0; k < width; k++) {
      const f = t0 + k;
      const colOff = k * rows;
      const codeOff = f * rows;
      const binOff = f * MAX_BINS;
      binLo.fill(Infinity, binOff, binOff + MAX_BINS);
      binHi.fill(-Infinity, binOff, binOff + MAX_BINS);
      // One bin per distinct value when there are at most MAX_BINS of them. Values are collected from every
      // DISTINCT_STEP-th row first; a value missed there sends the feature through a full pass.
      keys.fill(EMPTY);
      let distinct = collectDistinct(keys, columnBits, colOff, rows, DISTINCT_STEP, 0);
      if (distinct >= 0 && !codeExact(keys, slotBin, columnBits, colOff, rows, codes, codeOff, binLo, binHi, binOff, distinct)) {
        distinct = collectDistinct(keys, columnBits, colOff, rows, 1, distinct);
        if (distinct >= 0) codeExact(keys, slotBin, columnBits, colOff, rows, codes, codeOff, binLo, binHi, binOff, distinct);
        else {
          binLo.fill(Infinity, binOff, binOff + MAX_BINS);
          binHi.fill(-Infinity, binOff, binOff + MAX_BINS);
        }
      }
      if (distinct < 0) {
        // Quantile bins from an evenly spaced sample: bin b holds edge[b-1] < x <= edge[b].
        const stride = Math.max(1, Math.ceil(rows / QUANTILE_SAMPLE));
        const sample = new Float32Array(Math.ceil(rows / stride));
        for (let i = 0, s = 0; i < rows; i += stride, s++) sample[s] = column[colOff + i];
        sample.sort();
        const e: number[] = [];
        for (let q = 1; q < MAX_BINS; q++) {
          const value = sample[Math.min(sample.length - 1, Math.floor((q * sample.length) / MAX_BINS))];
          if (e.length === 0 || value > e[e.length - 1]) e.push(value);
        }
        // An edge at the sample's maximum would leave the bin above it empty: drop it.
        if (e.length > 0 && e[e.length - 1] >= sample[sample.length - 1]) e.pop();
        const edges = Float32Array.from(e);
        for (let i = 0; i < rows; i++) {
          const x = column[colOff + i];
          let lo = 0;
          let hi = edges.length;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (edges[mid] < x) lo = mid + 1;
            else hi = mid;
          }
          codes[codeOff + i] = lo;
          const slot = binOff + lo;
          if (x < binLo[slot]) binLo[slot] = x;
          if (x > binHi[slot]) binHi[slot] = x;
        }
      }
    }
    // Row-major copy of the tile's codes, in blocks of rows.
    for (let r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
      const r1 = Math.min(rows, r0 + ROW_BLOCK);
      for (let k = 0; k < width; k++) {
        const codeOff = (t0 + k) * rows;
        for (let i = r0, at = r0 * features + t0 + k; i < r1; i++, at += features) codesByRow[at] = codes[codeOff + i];
      }
    }
  }
}

/** Nodes at or below this many samples find splits by sorting their codes rather than by a 256-bin histogram. */
const SMALL_NODE = 48;
/** Nodes at or below this many samples read row-major codes: their rows (features bytes each) stay in cache. */
const ROW_LAYOUT_MAX = 2048;
/** Nodes at or below this many samples (and above SMALL_NODE) find splits by a counting sort of their codes. */
const COUNTING_MAX = 1024;

/** The rows of the tree being grown and the scratch arrays of the split search (one per tree). */
interface Work {
  classes: number;
  minSamplesLeaf: number;
  /** Row index, label and weight (bootstrap count) by position; each node is a range of positions. */
  samples: Int32Array;
  sy: Uint8Array;
  sw: Float64Array;
  /** Weighted class counts of the current node. */
  total: Float64Array;
  leftCount: Float64Array;
  hist: Float64Array;
  hist2: Float64Array;
  seen: Uint8Array;
  binCount: Int32Array;
  keys: Int32Array;
  /** Codes of the node's samples and their order by code (splitByCounting). */
  nodeCodes: Uint8Array;
  order: Int32Array;
  /** Best split of the current node so far: [proxy, feature, last bin on the left, first bin on the right]. */
  best: Float64Array;
}

/** Each histogram cell adds weight × COUNT_SPAN + 1: weight and sample count in one exact double (counts < 2^24). */
const COUNT_SPAN = 2 ** 24;

/**
 * Best Gini split of positions [start, end) on one feature, by a histogram of (bin, class) weights; updates w.best
 * when better (the proxy is Σ L_c²/W_L + Σ R_c²/W_R, scikit-learn's proxy impurity improvement up to a constant).
 * Returns true when the feature is constant in the node. Two histograms take alternate samples, so that runs of equal
 * bins do not chain every update on the one before.
 */
function splitByHistogram(
  w: Work,
  codeData: Uint8Array,
  colBase: number,
  stride: number,
  start: number,
  end: number,
  sqTotal: number,
  wTotal: number,
  f: number,
): boolean {
  const { classes: C, minSamplesLeaf: msl, samples, sy, sw, hist, hist2, seen, leftCount, total, best } = w;
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
        best[0] = proxy;
        best[1] = f;
        best[2] = prev;
        best[3] = b;
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
 * As splitByHistogram, for middle-sized nodes: a counting sort of the positions by bin, then one scan; costs O(size +
 * bin range) rather than O(size + bins × classes).
 */
function splitByCounting(
  w: Work,
  codeData: Uint8Array,
  colBase: number,
  stride: number,
  start: number,
  end: number,
  sqTotal: number,
  wTotal: number,
  f: number,
): boolean {
  const { minSamplesLeaf: msl, samples, sy, sw, binCount, nodeCodes, order, leftCount, total, best } = w;
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
  for (let k = 0; k < size; k++) order[binCount[nodeCodes[k]]++] = k;
  for (let b = lo; b <= hi; b++) binCount[b] = 0;

  leftCount.fill(0);
  let sqL = 0;
  let sqR = sqTotal;
  let wL = 0;
  let prev = lo;
  let bestProxy = best[0];
  for (let j = 0; j < size; j++) {
    const k = order[j];
    const code = nodeCodes[k];
    if (code !== prev) {
      if (j >= msl && size - j >= msl) {
        const proxy = sqL / wL + sqR / (wTotal - wL);
        if (proxy > bestProxy) {
          bestProxy = proxy;
          best[0] = proxy;
          best[1] = f;
          best[2] = prev;
          best[3] = code;
        }
      }
      prev = code;
    }
    const at = start + k;
    const c = sy[at];
    const h = sw[at];
    const l = leftCount[c];
    sqL += h * (2 * l + h);
    sqR += h * (h - 2 * (total[c] - l));
    leftCount[c] = l + h;
    wL += h;
  }
  return false;
}

/** As splitByHistogram, for small nodes: insertion-sorts (code, position) keys and scans them. */
function splitBySorting(
  w: Work,
  codeData: Uint8Array,
  colBase: number,
  stride: number,
  start: number,
  end: number,
  sqTotal: number,
  wTotal: number,
  f: number,
): boolean {
  const { minSamplesLeaf: msl, samples, sy, sw, keys, leftCount, total, best } = w;
  const size = end - start;
  for (let k = 0; k < size; k++) {
    const key = (codeData[colBase + samples[start + k] * stride] << 8) | k;
    let j = k - 1;
    while (j >= 0 && keys[j] > key) {
      keys[j + 1] = keys[j];
      j--;
    }
    keys[j + 1] = key;
  }
  if (keys[0] >>> 8 === keys[size - 1] >>> 8) return true;
  leftCount.fill(0);
  let sqL = 0;
  let sqR = sqTotal;
  let wL = 0;
  let prev = keys[0] >>> 8;
  let bestProxy = best[0];
  for (let k = 0; k < size; k++) {
    const key = keys[k];
    const code = key >>> 8;
    if (code !== prev) {
      if (k >= msl && size - k >= msl) {
        const proxy = sqL / wL + sqR / (wTotal - wL);
        if (proxy > bestProxy) {
          bestProxy = proxy;
          best[0] = proxy;
          best[1] = f;
          best[2] = prev;
          best[3] = code;
        }
      }
      prev = code;
    }
    const at = start + (key & 0xff);
    const c = sy[at];
    const h = sw[at];
    const l = leftCount[c];
    sqL += h * (2 * l + h);
    sqR += h * (h - 2 * (total[c] - l));
    leftCount[c] = l + h;
    wL += h;
  }
  return false;
}

/** Grows one tree on the binned data; `seed` drives the bootstrap and every feature draw. */
export function growTree(data: BinnedData, opts: TreeOptions, seed: number): TreeArrays {
  const { rows: n, features: p, classes: C, codes, codesByRow, y, binLo, binHi } = data;
  const { maxDepth, minSamplesLeaf: msl } = opts;
  const mtry = Math.min(opts.maxFeatures, p);
  const rng = createRng(seed);

  // Bootstrap as integer sample weights (scikit-learn draws n indices with replacement and counts them).
  const weight = new Int32Array(n);
  if (opts.bootstrap) for (let i = 0; i < n; i++) weight[rng.int(n)]++;
  else weight.fill(1);
  // Rows in the tree (weight > 0), kept in increasing order inside every node by stable partitions, with their
  // labels and weights alongside so the hot loops read those sequentially.
  let m = 0;
  for (let i = 0; i < n; i++) if (weight[i] > 0) m++;
  const w: Work = {
    classes: C,
    minSamplesLeaf: msl,
    samples: new Int32Array(m),
    sy: new Uint8Array(m),
    sw: new Float64Array(m),
    total: new Float64Array(C),
    leftCount: new Float64Array(C),
    hist: new Float64Array(MAX_BINS * C),
    hist2: new Float64Array(MAX_BINS * C),
    seen: new Uint8Array(MAX_BINS),
    binCount: new Int32Array(MAX_BINS),
    keys: new Int32Array(SMALL_NODE),
    nodeCodes: new Uint8Array(COUNTING_MAX),
    order: new Int32Array(COUNTING_MAX),
    best: new Float64Array(4),
  };
  const { samples, sy, sw, total, best } = w;
  for (let i = 0, k = 0; i < n; i++) {
    if (weight[i] > 0) {
      samples[k] = i;
      sy[k] = y[i];
      sw[k] = weight[i];
      k++;
    }
  }
  const tmpSamples = new Int32Array(m);
  const tmpY = new Uint8Array(m);
  const tmpW = new Float64Array(m);

  const cap = 2 * m;
  const feature = new Int32Array(cap);
  const threshold = new Float64Array(cap);
  const left = new Int32Array(cap);
  const right = new Int32Array(cap);
  const leafValue = new Float32Array(m * C);
  let nodes = 0;
  let leaves = 0;

  // Feature permutation and known-constant features, kept as scikit-learn's splitter keeps them.
  const feats = new Int32Array(p);
  for (let f = 0; f < p; f++) feats[f] = f;
  const constFeats = new Int32Array(p);

  // DFS stack of (start, end, depth, knownConstants, parent, isLeft).
  const stack = new Int32Array(6 * (m + 2));
  let sp = 0;
  stack[sp++] = 0;
  stack[sp++] = m;
  stack[sp++] = 0;
  stack[sp++] = 0;
  stack[sp++] = -1;
  stack[sp++] = 0;

  while (sp > 0) {
    const isLeftChild = stack[--sp];
    const parent = stack[--sp];
    const nKnown = stack[--sp];
    const depth = stack[--sp];
    const end = stack[--sp];
    const start = stack[--sp];
    const id = nodes++;
    if (parent >= 0) {
      if (isLeftChild) left[parent] = id;
      else right[parent] = id;
    }
    const size = end - start;

    total.fill(0);
    let wTotal = 0;
    for (let k = start; k < end; k++) {
      total[sy[k]] += sw[k];
      wTotal += sw[k];
    }
    let sqTotal = 0;
    for (let c = 0; c < C; c++) sqTotal += total[c] * total[c];
    // Large nodes read feature-major codes (one column at a time), small ones row-major codes.
    const byRow = size <= ROW_LAYOUT_MAX;
    const codeData = byRow ? codesByRow : codes;
    const stride = byRow ? p : 1;

    best[0] = -Infinity;
    best[1] = -1;
    let nTotalConst = nKnown;
    const pure = sqTotal === wTotal * wTotal;
    if (!(depth >= maxDepth || size < 2 || size < 2 * msl || pure)) {
      // Draw features without replacement until mtry non-constant ones are seen (scikit-learn's BestSplitter).
      let fi = p;
      let nFound = 0;
      let nDrawn = 0;
      let nVisited = 0;
      while (fi > nTotalConst && (nVisited < mtry || nVisited <= nFound + nDrawn)) {
        nVisited++;
        let fj = nDrawn + rng.int(fi - nFound - nDrawn);
        if (fj < nKnown) {
          const t = feats[nDrawn];
          feats[nDrawn] = feats[fj];
          feats[fj] = t;
          nDrawn++;
          continue;
        }
        fj += nFound;
        const f = feats[fj];
        const colBase = byRow ? f : f * n;
        const constant =
          size <= SMALL_NODE
            ? splitBySorting(w, codeData, colBase, stride, start, end, sqTotal, wTotal, f)
            : size <= COUNTING_MAX
              ? splitByCounting(w, codeData, colBase, stride, start, end, sqTotal, wTotal, f)
              : splitByHistogram(w, codeData, colBase, stride, start, end, sqTotal, wTotal, f);
        if (constant) {
          feats[fj] = feats[nTotalConst];
          feats[nTotalConst] = f;
          nFound++;
          nTotalConst++;
          continue;
        }
        fi--;
        feats[fj] = feats[fi];
        feats[fi] = f;
      }
      // Restore the known constants in their original order; record the newly found ones for the children.
      for (let k = 0; k < nKnown; k++) feats[k] = constFeats[k];
      for (let k = nKnown; k < nTotalConst; k++) constFeats[k] = feats[k];
    }

    const bestFeature = best[1];
    if (bestFeature < 0) {
      feature[id] = -1;
      left[id] = leaves;
      right[id] = -1;
      threshold[id] = 0;
      const off = leaves * C;
      for (let c = 0; c < C; c++) leafValue[off + c] = total[c] / wTotal;
      leaves++;
      continue;
    }

    // Threshold halfway between the training values on either side (scikit-learn's midpoint rule).
    const bestBin = best[2];
    feature[id] = bestFeature;
    threshold[id] = (binHi[bestFeature * MAX_BINS + bestBin] + binLo[bestFeature * MAX_BINS + best[3]]) / 2;

    // Stable partition of [start, end): codes <= bestBin to the left.
    const colBase = byRow ? bestFeature : bestFeature * n;
    let a = start;
    let r = 0;
    for (let k = start; k < end; k++) {
      const i = samples[k];
      if (codeData[colBase + i * stride] <= bestBin) {
        samples[a] = i;
        sy[a] = sy[k];
        sw[a] = sw[k];
        a++;
      } else {
        tmpSamples[r] = i;
        tmpY[r] = sy[k];
        tmpW[r] = sw[k];
        r++;
      }
    }
    samples.set(tmpSamples.subarray(0, r), a);
    sy.set(tmpY.subarray(0, r), a);
    sw.set(tmpW.subarray(0, r), a);

    // Right is pushed first so the left subtree is grown first.
    stack[sp++] = a;
    stack[sp++] = end;
    stack[sp++] = depth + 1;
    stack[sp++] = nTotalConst;
    stack[sp++] = id;
    stack[sp++] = 0;
    stack[sp++] = start;
    stack[sp++] = a;
    stack[sp++] = depth + 1;
    stack[sp++] = nTotalConst;
    stack[sp++] = id;
    stack[sp++] = 1;
  }

  return {
    feature: feature.slice(0, nodes),
    threshold: threshold.slice(0, nodes),
    left: left.slice(0, nodes),
    right: right.slice(0, nodes),
    leafValue: leafValue.slice(0, leaves * C),
  };
}

/** Rows predicted together: their values stay in cache while every tree is walked. */
const PREDICT_BLOCK = 128;

/** Sums each tree's leaf class fractions for rows [r0, r1) of X (row-major, `features` wide): (r1 - r0) × classes. */
export function accumulateLeaves(
  trees: readonly TreeArrays[],
  X: Float32Array,
  features: number,
  classes: number,
  r0: number,
  r1: number,
): Float64Array {
  const out = new Float64Array((r1 - r0) * classes);
  for (let b0 = r0; b0 < r1; b0 += PREDICT_BLOCK) {
    const b1 = Math.min(r1, b0 + PREDICT_BLOCK);
    for (const tree of trees) {
      const { feature, threshold, left, right, leafValue } = tree;
      for (let r = b0; r < b1; r++) {
        const off = r * features;
        let node = 0;
        let f = feature[0];
        while (f >= 0) {
          node = X[off + f] <= threshold[node] ? left[node] : right[node];
          f = feature[node];
        }
        const leaf = left[node] * classes;
        const o = (r - r0) * classes;
        for (let c = 0; c < classes; c++) out[o + c] += leafValue[leaf + c];
      }
    }
  }
  return out;
}
