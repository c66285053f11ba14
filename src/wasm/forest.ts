// AssemblyScript (re-exported by kernels.ts): growing one CART tree of the random forest over its binned data (Gini,
// best split, max_features drawn afresh at each node as scikit-learn's BestSplitter does, skipping features found
// constant). src/stages/random-forest/grow.ts lays the data out and reads the tree back; the generator is
// src/util/rng.ts's (sfc32 seeded through splitmix32), so a seed gives the same tree here as it did in JavaScript.
//
// The tree header (int32 fields written by the JavaScript side; the kernel fills in the outputs):
const H_ROWS = 0;
const H_FEATURES = 1;
const H_CLASSES = 2;
const H_CODES = 3; // u8, feature-major: feature f of row i at f·rows + i
const H_CODES_BY_ROW = 4; // u8, row-major: at i·features + f
const H_Y = 5; // u8 per row
const H_MAX_DEPTH = 6;
const H_MAX_FEATURES = 7;
const H_MIN_LEAF = 8;
const H_BOOTSTRAP = 9;
const H_SCRATCH = 10; // treeScratchBytes(rows, features, classes) bytes
// outputs
const H_NODES = 11;
const H_LEAVES = 12;
const H_FEATURE = 13; // i32 per node: split feature, or −1 for a leaf
const H_LEFT = 14; // i32 per node: left child, or the leaf's row in leafValue
const H_RIGHT = 15; // i32 per node: right child, or −1
const H_LAST_LEFT = 16; // i32 per split node: the last bin that goes left…
const H_FIRST_RIGHT = 17; // …and the first bin that goes right (the threshold lies between their values)
const H_LEAF_VALUE = 18; // f32, leaves × classes: class fractions

// 19 fields in all (TREE_HEADER_FIELDS on the JavaScript side).

/** Bins per feature (codes are bytes). */
const MAX_BINS: i32 = 256;
/**
 * Nodes at or below this many samples read row-major codes: their rows stay in cache down the subtree. 1,024 over 2,048
 * and 512: rf-raw's fit 2–5 % faster in alternating runs (2026-12-08, in JavaScript; the same trees either way).
 */
const ROW_LAYOUT_MAX = 1024;
/** Nodes at or below this many samples find splits by sorting their codes rather than by a 256-bin histogram. */
const SMALL_NODE = 48;
/** Nodes at or below this many samples (and above SMALL_NODE) find splits by a counting sort of their codes. */
const COUNTING_MAX = 1024;
/** Positions in a sort key: enough for COUNTING_MAX. */
const KEY_BITS = 10;
const KEY_MASK = (1 << KEY_BITS) - 1;
/** Each histogram cell adds weight × COUNT_SPAN + 1: weight and sample count in one exact double (counts < 2^24). */
const COUNT_SPAN: f64 = 16777216.0;

// ---- the generator: src/util/rng.ts's sfc32, the same numbers ----
let ra: u32 = 0;
let rb: u32 = 0;
let rc: u32 = 0;
let rd: u32 = 0;
let mix: u32 = 0;

function splitmix32(): u32 {
  mix += 0x9e3779b9;
  let z = mix;
  z = (z ^ (z >>> 16)) * 0x85ebca6b;
  z = (z ^ (z >>> 13)) * 0xc2b2ae35;
  return z ^ (z >>> 16);
}

@inline function nextU32(): u32 {
  const t = ra + rb + rd;
  rd += 1;
  ra = rb ^ (rb >>> 9);
  rb = rc + (rc << 3);
  rc = (rc << 21) | (rc >>> 11);
  rc += t;
  return t;
}

function seedRng(seed: u32): void {
  mix = seed;
  ra = splitmix32();
  rb = splitmix32();
  rc = splitmix32();
  rd = splitmix32();
  for (let i = 0; i < 12; i++) nextU32();
}

/** A uniform integer in [0, n): floor(next / 2^32 · n), as rng.int. */
@inline function randomInt(n: i32): i32 {
  return <i32>Math.floor((<f64>nextU32() / 4294967296.0) * <f64>n);
}

// ---- the node being split and the split search's scratch (one tree at a time on a thread) ----
let C: i32 = 0;
let msl: i32 = 0;
let samples: usize = 0; // i32 row index by position; each node is a range of positions
let sy: usize = 0; // u8 label by position
let sw: usize = 0; // f64 weight (bootstrap count) by position
let nodeStart: i32 = 0;
let nodeEnd: i32 = 0;
let wTotal: f64 = 0;
let sqTotal: f64 = 0;
let codeData: usize = 0; // feature f of row i at codeData + f·colStep + i·stride
let colStep: usize = 0;
let stride: usize = 0;
let total: usize = 0; // f64 per class: the node's weighted class counts
let leftCount: usize = 0;
let hist: usize = 0; // f64, bins × classes (two, taking alternate samples)
let hist2: usize = 0;
let seen: usize = 0; // u8 per bin
let binCount: usize = 0; // i32 per bin
let keys: usize = 0; // i32: the node's positions sorted by code, as code << KEY_BITS | (position − start)
let nodeCodes: usize = 0; // u8 by position − start
let bestProxy: f64 = 0;
let bestFeature: i32 = -1;
let bestLastLeft: i32 = 0;
let bestFirstRight: i32 = 0;

@inline function f64At(base: usize, i: i32): f64 {
  return load<f64>(base + (<usize>i << 3));
}

@inline function i32At(base: usize, i: i32): i32 {
  return load<i32>(base + (<usize>i << 2));
}

@inline function codeOf(colBase: usize, position: i32): i32 {
  return <i32>load<u8>(codeData + colBase + <usize>i32At(samples, position) * stride);
}

@inline function setBest(proxy: f64, f: i32, lastLeft: i32, firstRight: i32): void {
  bestProxy = proxy;
  bestFeature = f;
  bestLastLeft = lastLeft;
  bestFirstRight = firstRight;
}

/** Best split of the node on feature f (updates the best when better); true when f is constant in the node. */
function splitOnFeature(f: i32): bool {
  const size = nodeEnd - nodeStart;
  if (size <= SMALL_NODE) return splitBySorting(f);
  if (size <= COUNTING_MAX) return splitByCounting(f);
  return splitByHistogram(f);
}

/**
 * By a histogram of (bin, class) weights, for large nodes. Two histograms take alternate samples, so that runs of
 * equal bins do not chain every update on the one before. The proxy maximized is Σ L_c²/W_L + Σ R_c²/W_R,
 * scikit-learn's proxy impurity improvement up to a constant.
 */
function splitByHistogram(f: i32): bool {
  const colBase = <usize>f * colStep;
  let lo = MAX_BINS;
  let hi = -1;
  let k = nodeStart;
  for (; k + 1 < nodeEnd; k += 2) {
    const b = codeOf(colBase, k);
    const b2 = codeOf(colBase, k + 1);
    store<u8>(seen + b, 1);
    store<u8>(seen + b2, 1);
    const at = hist + (<usize>(b * C + <i32>load<u8>(sy + k)) << 3);
    store<f64>(at, load<f64>(at) + (f64At(sw, k) * COUNT_SPAN + 1));
    const at2 = hist2 + (<usize>(b2 * C + <i32>load<u8>(sy + k + 1)) << 3);
    store<f64>(at2, load<f64>(at2) + (f64At(sw, k + 1) * COUNT_SPAN + 1));
    if (b < lo) lo = b;
    if (b > hi) hi = b;
    if (b2 < lo) lo = b2;
    if (b2 > hi) hi = b2;
  }
  if (k < nodeEnd) {
    const b = codeOf(colBase, k);
    store<u8>(seen + b, 1);
    const at = hist + (<usize>(b * C + <i32>load<u8>(sy + k)) << 3);
    store<f64>(at, load<f64>(at) + (f64At(sw, k) * COUNT_SPAN + 1));
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  const size = nodeEnd - nodeStart;
  memory.fill(leftCount, 0, <usize>C << 3);
  let sqL: f64 = 0;
  let sqR = sqTotal;
  let wL: f64 = 0;
  let nL: f64 = 0;
  let prev = -1;
  let best = bestProxy;
  for (let b = lo; b <= hi; b++) {
    if (load<u8>(seen + b) == 0) continue;
    store<u8>(seen + b, 0);
    if (prev >= 0 && nL >= <f64>msl && <f64>size - nL >= <f64>msl) {
      const proxy = sqL / wL + sqR / (wTotal - wL);
      if (proxy > best) {
        best = proxy;
        setBest(proxy, f, prev, b);
      }
    }
    const row = b * C;
    for (let c = 0; c < C; c++) {
      const at = hist + (<usize>(row + c) << 3);
      const at2 = hist2 + (<usize>(row + c) << 3);
      const v = load<f64>(at) + load<f64>(at2);
      if (v != 0) {
        store<f64>(at, 0);
        store<f64>(at2, 0);
        const h = Math.floor(v / COUNT_SPAN);
        nL += v - h * COUNT_SPAN;
        const lAt = leftCount + (<usize>c << 3);
        const l = load<f64>(lAt);
        sqL += h * (2 * l + h);
        sqR += h * (h - 2 * (f64At(total, c) - l));
        store<f64>(lAt, l + h);
        wL += h;
      }
    }
    prev = b;
  }
  return lo == hi;
}

/**
 * For middle-sized nodes: a counting sort of the positions by bin, then one scan; costs O(size + bin range) rather
 * than O(size + bins × classes).
 */
function splitByCounting(f: i32): bool {
  const colBase = <usize>f * colStep;
  const size = nodeEnd - nodeStart;
  let lo = MAX_BINS;
  let hi = -1;
  for (let k = 0; k < size; k++) {
    const b = codeOf(colBase, nodeStart + k);
    store<u8>(nodeCodes + k, <u8>b);
    const at = binCount + (<usize>b << 2);
    store<i32>(at, load<i32>(at) + 1);
    if (b < lo) lo = b;
    if (b > hi) hi = b;
  }
  if (lo == hi) {
    store<i32>(binCount + (<usize>lo << 2), 0);
    return true;
  }
  let pos = 0;
  for (let b = lo; b <= hi; b++) {
    const at = binCount + (<usize>b << 2);
    const c = load<i32>(at);
    store<i32>(at, pos);
    pos += c;
  }
  for (let k = 0; k < size; k++) {
    const b = <i32>load<u8>(nodeCodes + k);
    const at = binCount + (<usize>b << 2);
    const slot = load<i32>(at);
    store<i32>(at, slot + 1);
    store<i32>(keys + (<usize>slot << 2), (b << KEY_BITS) | k);
  }
  memory.fill(binCount + (<usize>lo << 2), 0, <usize>(hi - lo + 1) << 2);
  scanSorted(f);
  return false;
}

/** For small nodes: an insertion sort of the (code, position) keys, then one scan. */
function splitBySorting(f: i32): bool {
  const colBase = <usize>f * colStep;
  const size = nodeEnd - nodeStart;
  for (let k = 0; k < size; k++) {
    const key = (codeOf(colBase, nodeStart + k) << KEY_BITS) | k;
    let j = k - 1;
    while (j >= 0) {
      const kj = i32At(keys, j);
      if (kj <= key) break;
      store<i32>(keys + (<usize>(j + 1) << 2), kj);
      j--;
    }
    store<i32>(keys + (<usize>(j + 1) << 2), key);
  }
  if (i32At(keys, 0) >>> KEY_BITS == i32At(keys, size - 1) >>> KEY_BITS) return true;
  scanSorted(f);
  return false;
}

/**
 * Scans the node's positions in keys order (by code, then position; not all one code), moving one sample at a time to
 * the left side and weighing a split wherever the code changes.
 */
function scanSorted(f: i32): void {
  const size = nodeEnd - nodeStart;
  memory.fill(leftCount, 0, <usize>C << 3);
  let sqL: f64 = 0;
  let sqR = sqTotal;
  let wL: f64 = 0;
  let prev = i32At(keys, 0) >>> KEY_BITS;
  let best = bestProxy;
  for (let j = 0; j < size; j++) {
    const key = i32At(keys, j);
    const code = key >>> KEY_BITS;
    if (code != prev) {
      if (j >= msl && size - j >= msl) {
        const proxy = sqL / wL + sqR / (wTotal - wL);
        if (proxy > best) {
          best = proxy;
          setBest(proxy, f, prev, code);
        }
      }
      prev = code;
    }
    const at = nodeStart + (key & KEY_MASK);
    const c = <i32>load<u8>(sy + at);
    const h = f64At(sw, at);
    const lAt = leftCount + (<usize>c << 3);
    const l = load<f64>(lAt);
    sqL += h * (2 * l + h);
    sqR += h * (h - 2 * (f64At(total, c) - l));
    store<f64>(lAt, l + h);
    wL += h;
  }
}

// ---- the scratch layout: one place for both the byte count and the regions ----
// Counted in 64 bits: for data too large for this memory the size comes out as it is (and the JavaScript side refuses
// it) instead of wrapping around.
let cursor: u64 = 0;

@inline function take(bytes: u64): usize {
  const at = cursor;
  cursor = (cursor + bytes + 15) & ~(<u64>15);
  return <usize>at;
}

// regions of the tree being grown besides the split search's (set by layOut)
let weight: usize = 0; // i32 per row
let tmpSamples: usize = 0;
let tmpY: usize = 0;
let tmpW: usize = 0;
let outFeature: usize = 0;
let outLeft: usize = 0;
let outRight: usize = 0;
let outLastLeft: usize = 0;
let outFirstRight: usize = 0;
let outLeafValue: usize = 0;
let feats: usize = 0;
let constFeats: usize = 0;
let stack: usize = 0;

/** Lays the scratch regions out from `base` for rows × features and classes; returns the end. */
function layOut(base: usize, rows: i32, features: i32, classes: i32): u64 {
  const n = <u64>rows;
  const p = <u64>features;
  const c = <u64>classes;
  cursor = <u64>base;
  weight = take(n << 2);
  samples = take(n << 2);
  sy = take(n);
  sw = take(n << 3);
  tmpSamples = take(n << 2);
  tmpY = take(n);
  tmpW = take(n << 3);
  outFeature = take(n << 3); // 2·rows nodes at most
  outLeft = take(n << 3);
  outRight = take(n << 3);
  outLastLeft = take(n << 3);
  outFirstRight = take(n << 3);
  outLeafValue = take((n * c) << 2);
  feats = take(p << 2);
  constFeats = take(p << 2);
  stack = take((6 * (n + 2)) << 2);
  total = take(c << 3);
  leftCount = take(c << 3);
  hist = take((<u64>MAX_BINS * c) << 3);
  hist2 = take((<u64>MAX_BINS * c) << 3);
  seen = take(MAX_BINS);
  binCount = take(MAX_BINS << 2);
  keys = take(COUNTING_MAX << 2);
  nodeCodes = take(COUNTING_MAX);
  return cursor;
}

/** Bytes of scratch growTree needs for this data (a region of that size at H_SCRATCH), as a float64 (it may pass 4 GB). */
export function treeScratchBytes(rows: i32, features: i32, classes: i32): f64 {
  return <f64>(layOut(0, rows, features, classes) + 16);
}

/**
 * Grows one tree over the data the header names, drawing the bootstrap and every feature from the generator seeded by
 * `seed`, and writes the node and leaf counts and the output regions' addresses into the header.
 */
export function growTree(header: usize, seed: u32): void {
  const n = i32At(header, H_ROWS);
  const p = i32At(header, H_FEATURES);
  C = i32At(header, H_CLASSES);
  const codes = <usize>i32At(header, H_CODES);
  const codesByRow = <usize>i32At(header, H_CODES_BY_ROW);
  const y = <usize>i32At(header, H_Y);
  const maxDepth = i32At(header, H_MAX_DEPTH);
  msl = i32At(header, H_MIN_LEAF);
  const mtry = min(i32At(header, H_MAX_FEATURES), p);
  layOut((<usize>i32At(header, H_SCRATCH) + 15) & ~(<usize>15), n, p, C);
  memory.fill(hist, 0, (<usize>(MAX_BINS * C)) << 3);
  memory.fill(hist2, 0, (<usize>(MAX_BINS * C)) << 3);
  memory.fill(seen, 0, MAX_BINS);
  memory.fill(binCount, 0, MAX_BINS << 2);
  seedRng(seed);

  // Bootstrap as integer sample weights (scikit-learn draws n indices with replacement and counts them).
  if (i32At(header, H_BOOTSTRAP) != 0) {
    memory.fill(weight, 0, <usize>n << 2);
    for (let i = 0; i < n; i++) {
      const at = weight + (<usize>randomInt(n) << 2);
      store<i32>(at, load<i32>(at) + 1);
    }
  } else {
    for (let i = 0; i < n; i++) store<i32>(weight + (<usize>i << 2), 1);
  }
  // Rows in the tree (weight > 0), kept in increasing order inside every node by stable partitions, with their labels
  // and weights alongside so the hot loops read those sequentially.
  let m = 0;
  for (let i = 0; i < n; i++) {
    const wi = i32At(weight, i);
    if (wi > 0) {
      store<i32>(samples + (<usize>m << 2), i);
      store<u8>(sy + m, load<u8>(y + i));
      store<f64>(sw + (<usize>m << 3), <f64>wi);
      m++;
    }
  }

  let nodes = 0;
  let leaves = 0;
  for (let f = 0; f < p; f++) store<i32>(feats + (<usize>f << 2), f);

  // DFS stack of (start, end, depth, knownConstants, parent, isLeft).
  let sp = 0;
  store<i32>(stack, 0);
  store<i32>(stack, m, 4);
  store<i32>(stack, 0, 8);
  store<i32>(stack, 0, 12);
  store<i32>(stack, -1, 16);
  store<i32>(stack, 0, 20);
  sp = 6;

  while (sp > 0) {
    sp -= 6;
    const top = stack + (<usize>sp << 2);
    const start = load<i32>(top);
    const end = load<i32>(top, 4);
    const depth = load<i32>(top, 8);
    const nKnown = load<i32>(top, 12);
    const parent = load<i32>(top, 16);
    const isLeftChild = load<i32>(top, 20);
    const id = nodes++;
    if (parent >= 0) store<i32>((isLeftChild != 0 ? outLeft : outRight) + (<usize>parent << 2), id);
    const size = end - start;

    memory.fill(total, 0, <usize>C << 3);
    let wSum: f64 = 0;
    for (let k = start; k < end; k++) {
      const at = total + (<usize>load<u8>(sy + k) << 3);
      const h = f64At(sw, k);
      store<f64>(at, load<f64>(at) + h);
      wSum += h;
    }
    let sq: f64 = 0;
    for (let c = 0; c < C; c++) {
      const t = f64At(total, c);
      sq += t * t;
    }
    // Large nodes read feature-major codes (one column at a time), small ones row-major codes.
    const byRow = size <= ROW_LAYOUT_MAX;
    codeData = byRow ? codesByRow : codes;
    stride = byRow ? <usize>p : 1;
    colStep = byRow ? 1 : <usize>n;
    nodeStart = start;
    nodeEnd = end;
    wTotal = wSum;
    sqTotal = sq;

    bestProxy = -Infinity;
    bestFeature = -1;
    let nTotalConst = nKnown;
    const pure = sq == wSum * wSum;
    if (!(depth >= maxDepth || size < 2 || size < 2 * msl || pure)) {
      // Draw features without replacement until mtry non-constant ones are seen (scikit-learn's BestSplitter).
      let fi = p;
      let nFound = 0;
      let nDrawn = 0;
      let nVisited = 0;
      while (fi > nTotalConst && (nVisited < mtry || nVisited <= nFound + nDrawn)) {
        nVisited++;
        let fj = nDrawn + randomInt(fi - nFound - nDrawn);
        if (fj < nKnown) {
          const t = i32At(feats, nDrawn);
          store<i32>(feats + (<usize>nDrawn << 2), i32At(feats, fj));
          store<i32>(feats + (<usize>fj << 2), t);
          nDrawn++;
          continue;
        }
        fj += nFound;
        const f = i32At(feats, fj);
        if (splitOnFeature(f)) {
          // constant in this node
          store<i32>(feats + (<usize>fj << 2), i32At(feats, nTotalConst));
          store<i32>(feats + (<usize>nTotalConst << 2), f);
          nFound++;
          nTotalConst++;
          continue;
        }
        fi--;
        store<i32>(feats + (<usize>fj << 2), i32At(feats, fi));
        store<i32>(feats + (<usize>fi << 2), f);
      }
      // Restore the known constants in their original order; record the newly found ones for the children.
      for (let k = 0; k < nKnown; k++) store<i32>(feats + (<usize>k << 2), i32At(constFeats, k));
      for (let k = nKnown; k < nTotalConst; k++) store<i32>(constFeats + (<usize>k << 2), i32At(feats, k));
    }

    const node = <usize>id << 2;
    if (bestFeature < 0) {
      store<i32>(outFeature + node, -1);
      store<i32>(outLeft + node, leaves);
      store<i32>(outRight + node, -1);
      const off = outLeafValue + ((<usize>(leaves * C)) << 2);
      for (let c = 0; c < C; c++) store<f32>(off + (<usize>c << 2), <f32>(f64At(total, c) / wSum));
      leaves++;
      continue;
    }
    store<i32>(outFeature + node, bestFeature);
    store<i32>(outLastLeft + node, bestLastLeft);
    store<i32>(outFirstRight + node, bestFirstRight);

    // Stable partition of [start, end): codes ≤ the last left bin go left.
    const colBase = <usize>bestFeature * colStep;
    let a = start;
    let r = 0;
    for (let k = start; k < end; k++) {
      const i = i32At(samples, k);
      const yk = load<u8>(sy + k);
      const wk = f64At(sw, k);
      if (<i32>load<u8>(codeData + colBase + <usize>i * stride) <= bestLastLeft) {
        store<i32>(samples + (<usize>a << 2), i);
        store<u8>(sy + a, yk);
        store<f64>(sw + (<usize>a << 3), wk);
        a++;
      } else {
        store<i32>(tmpSamples + (<usize>r << 2), i);
        store<u8>(tmpY + r, yk);
        store<f64>(tmpW + (<usize>r << 3), wk);
        r++;
      }
    }
    memory.copy(samples + (<usize>a << 2), tmpSamples, <usize>r << 2);
    memory.copy(sy + a, tmpY, <usize>r);
    memory.copy(sw + (<usize>a << 3), tmpW, <usize>r << 3);

    // Right is pushed first so the left subtree is grown first.
    const next = stack + (<usize>sp << 2);
    store<i32>(next, a);
    store<i32>(next, end, 4);
    store<i32>(next, depth + 1, 8);
    store<i32>(next, nTotalConst, 12);
    store<i32>(next, id, 16);
    store<i32>(next, 0, 20);
    store<i32>(next, start, 24);
    store<i32>(next, a, 28);
    store<i32>(next, depth + 1, 32);
    store<i32>(next, nTotalConst, 36);
    store<i32>(next, id, 40);
    store<i32>(next, 1, 44);
    sp += 12;
  }

  store<i32>(header + (H_NODES << 2), nodes);
  store<i32>(header + (H_LEAVES << 2), leaves);
  store<i32>(header + (H_FEATURE << 2), <i32>outFeature);
  store<i32>(header + (H_LEFT << 2), <i32>outLeft);
  store<i32>(header + (H_RIGHT << 2), <i32>outRight);
  store<i32>(header + (H_LAST_LEFT << 2), <i32>outLastLeft);
  store<i32>(header + (H_FIRST_RIGHT << 2), <i32>outFirstRight);
  store<i32>(header + (H_LEAF_VALUE << 2), <i32>outLeafValue);
}
