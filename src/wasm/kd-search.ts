// AssemblyScript (re-exported by kernels.ts): the exact k-nearest-neighbour search over a k-d tree laid out by
// src/linalg/kd-tree.ts. Leaves store their rows feature-major ("structure of arrays"): feature j of the leaf's row r
// at leafData[at + j·c8 + r], c8 = the leaf's row count rounded up to 8 (padding rows hold a far value and are never
// reported). Eight rows of a leaf are taken at once: a float32 pass rules most groups out with a safe margin, and the
// rows that may be listed are summed in float64, two per vector, feature by feature in the tree's order, so each
// listed distance is the plain sequential float64 sum, bit for bit, and the answers do not depend on the blocking.

/** 2^-100: a k-th best squared distance below it leaves the float32 pass out (see kdSearch). */
const TINY: f64 = 7.888609052210118e-31;

/** Features summed between two checks of whether any of the eight rows can still be among the k best. */
const BLOCK = 8;

// The tree header: int32 fields, byte pointers into this memory where noted.
const H_D = 0; // features
const H_BOX = 1; // features the node boxes cover (the first ones in the tree's order)
const H_NODES = 2; // (for the JavaScript side's layout; the search needs only the stack room below)
const H_DIM = 3; // i32 per node: split feature (a position in the tree's order), or −1 for a leaf
const H_SPLIT = 4; // f64 per node
const H_LEFT = 5; // i32 per node
const H_RIGHT = 6; // i32 per node
const H_LEAF_AT = 7; // i32 per node: the leaf's first float in leafData
const H_LO = 8; // i32 per node: the leaf's first row (a position in rowIndex)
const H_COUNT = 9; // i32 per node: the leaf's rows
const H_BOX_LO = 10; // f32 per node and box feature
const H_BOX_HI = 11;
const H_ROW_INDEX = 12; // i32 per stored row: its training index
const H_ORDER = 13; // i32 per feature: the query feature that comes at each position of the tree's order
const H_LEAF_DATA = 14; // f32

@inline function field(tree: usize, f: i32): i32 {
  return load<i32>(tree + (<usize>f << 2));
}

/** Puts (dist, idx) into the sorted list of k at index/distance, dropping its last pair (the caller checked it fits). */
@inline function insert(index: usize, distance: usize, k: i32, dist: f64, idx: i32): void {
  let p = k - 1;
  while (p > 0) {
    const dp = load<f64>(distance + (<usize>(p - 1) << 3));
    const ip = load<i32>(index + (<usize>(p - 1) << 2));
    if (!(dp > dist || (dp == dist && ip > idx))) break;
    store<f64>(distance + (<usize>p << 3), dp);
    store<i32>(index + (<usize>p << 2), ip);
    p--;
  }
  store<f64>(distance + (<usize>p << 3), dist);
  store<i32>(index + (<usize>p << 2), idx);
}

/**
 * The k nearest stored rows of each of nQuery queries (float32, d wide, the caller's feature order) into outIndex
 * (i32) and outDist (f64: squared euclidean, or manhattan), k per query, nearest first, ties to the lower training
 * index. Depth-first, near child first; a node is skipped when the distance to its box already exceeds the k-th best
 * (its lower bound is summed in the rows' feature order, each term at most the row's own, so it never exceeds a
 * row's computed distance); eight rows stop being summed once all eight exceed it. scratch: 32·d + 64 bytes, then the stack: 2·nodes + 64
 * i32.
 */
export function kdSearch(
  tree: usize,
  queries: usize,
  nQuery: i32,
  k: i32,
  manhattan: i32,
  outIndex: usize,
  outDist: usize,
  scratch: usize,
): void {
  const d = field(tree, H_D);
  const bd = field(tree, H_BOX);
  const dimP = <usize>field(tree, H_DIM);
  const splitP = <usize>field(tree, H_SPLIT);
  const leftP = <usize>field(tree, H_LEFT);
  const rightP = <usize>field(tree, H_RIGHT);
  const leafAtP = <usize>field(tree, H_LEAF_AT);
  const loP = <usize>field(tree, H_LO);
  const countP = <usize>field(tree, H_COUNT);
  const boxLoP = <usize>field(tree, H_BOX_LO);
  const boxHiP = <usize>field(tree, H_BOX_HI);
  const rowIndexP = <usize>field(tree, H_ROW_INDEX);
  const orderP = <usize>field(tree, H_ORDER);
  const leafData = <usize>field(tree, H_LEAF_DATA);
  const qs = scratch; // the query's features in the tree's order, each in both lanes of a vector
  const qf = qs + (<usize>d << 4); // the same in float32, in four lanes
  const sums = qf + (<usize>d << 4); // eight rows' sums
  const infinity = f32x4.splat(Infinity);
  const stack = sums + 64;
  const euclidean = manhattan == 0;
  const zero = f64x2.splat(0);
  const dBytes = <usize>d << 2;
  for (let qi = 0; qi < nQuery; qi++) {
    const src = queries + <usize>qi * dBytes;
    for (let j = 0; j < d; j++) {
      const f = load<i32>(orderP + (<usize>j << 2));
      const v = load<f32>(src + (<usize>f << 2));
      v128.store(qs + (<usize>j << 4), f64x2.splat(<f64>v));
      v128.store(qf + (<usize>j << 4), f32x4.splat(v));
    }
    const bestI = outIndex + ((<usize>qi * <usize>k) << 2);
    const bestD = outDist + ((<usize>qi * <usize>k) << 3);
    for (let p = 0; p < k; p++) {
      store<i32>(bestI + (<usize>p << 2), -1);
      store<f64>(bestD + (<usize>p << 3), Infinity);
    }
    const lastI = bestI + (<usize>(k - 1) << 2);
    const lastD = bestD + (<usize>(k - 1) << 3);
    let tau = Infinity; // the k-th best distance so far, and its training index
    let tauIdx = -1;
    let sp = 0;
    store<i32>(stack, 0);
    sp = 1;
    while (sp > 0) {
      sp--;
      const node = load<i32>(stack + (<usize>sp << 2));
      const nb = <usize>node * <usize>bd;
      let bound = 0.0;
      for (let j = 0; j < bd; j++) {
        const v = load<f64>(qs + (<usize>j << 4));
        const l = <f64>load<f32>(boxLoP + ((nb + <usize>j) << 2));
        const h = <f64>load<f32>(boxHiP + ((nb + <usize>j) << 2));
        const g = max(l - v, 0.0) + max(v - h, 0.0); // at most one is positive: boxes have l ≤ h
        bound += euclidean ? g * g : g;
      }
      if (bound > tau) continue;
      const s = load<i32>(dimP + (<usize>node << 2));
      if (s >= 0) {
        const l = load<i32>(leftP + (<usize>node << 2));
        const r = load<i32>(rightP + (<usize>node << 2));
        const nearLeft = load<f64>(qs + (<usize>s << 4)) < load<f64>(splitP + (<usize>node << 3));
        store<i32>(stack + (<usize>sp << 2), nearLeft ? r : l);
        store<i32>(stack + (<usize>(sp + 1) << 2), nearLeft ? l : r);
        sp += 2;
        continue;
      }
      const count = load<i32>(countP + (<usize>node << 2));
      const stride = <usize>((count + 7) & ~7) << 2;
      const base = leafData + (<usize>load<i32>(leafAtP + (<usize>node << 2)) << 2);
      const rows = rowIndexP + (<usize>load<i32>(loP + (<usize>node << 2)) << 2);
      for (let r = 0; r < count; r += 8) {
        // Eight rows at a time. First in float32, four rows per vector, checked every BLOCK features: once all eight
        // partial sums exceed the k-th best by more than float32's rounding could account for, each row's float64 sum
        // would exceed it too (partial sums never exceed the whole), so none can be listed. (A sum that overflowed to
        // infinity is not trusted.) Float32 sums of j non-negative terms, each a rounded difference squared, are within
        // (j + 2)·2^-24 of the exact sum, relatively: the margin allows twice that.
        let p0 = f32x4.splat(0);
        let p1 = p0;
        let col = base + (<usize>r << 2);
        let j = 0;
        let ruledOut = false;
        for (;;) {
          const end = min(j + BLOCK, d);
          for (; j < end; j++) {
            const qj = v128.load(qf + (<usize>j << 4));
            let e0 = f32x4.sub(qj, v128.load(col));
            let e1 = f32x4.sub(qj, v128.load(col, 16));
            if (euclidean) {
              e0 = f32x4.mul(e0, e0);
              e1 = f32x4.mul(e1, e1);
            } else {
              e0 = f32x4.abs(e0);
              e1 = f32x4.abs(e1);
            }
            p0 = f32x4.add(p0, e0);
            p1 = f32x4.add(p1, e1);
            col += stride;
          }
          // (below TINY the float32 terms are subnormal, where rounding is absolute, not relative: nothing is ruled out)
          const limit = tau < TINY ? infinity : f32x4.splat(<f32>(tau * (1 + <f64>(j + 3) * 1.1920928955078125e-7)));
          const out0 = v128.and(f32x4.gt(p0, limit), f32x4.lt(p0, infinity));
          const out1 = v128.and(f32x4.gt(p1, limit), f32x4.lt(p1, infinity));
          if (i32x4.all_true(v128.and(out0, out1))) {
            ruledOut = true;
            break;
          }
          if (j >= d) break;
        }
        if (ruledOut) continue;
        // The rows that may be listed: their sums in float64, each the plain sequential sum in the tree's feature order
        // (two rows per vector, four independent sums)
        let a0 = zero;
        let a1 = zero;
        let a2 = zero;
        let a3 = zero;
        col = base + (<usize>r << 2);
        for (j = 0; j < d; j++) {
          const t = v128.load(col);
          const u = v128.load(col, 16);
          const qj = v128.load(qs + (<usize>j << 4));
          let e0 = f64x2.sub(qj, f64x2.promote_low_f32x4(t));
          let e1 = f64x2.sub(qj, f64x2.promote_low_f32x4(v128.shuffle<f32>(t, t, 2, 3, 0, 1)));
          let e2 = f64x2.sub(qj, f64x2.promote_low_f32x4(u));
          let e3 = f64x2.sub(qj, f64x2.promote_low_f32x4(v128.shuffle<f32>(u, u, 2, 3, 0, 1)));
          if (euclidean) {
            e0 = f64x2.mul(e0, e0);
            e1 = f64x2.mul(e1, e1);
            e2 = f64x2.mul(e2, e2);
            e3 = f64x2.mul(e3, e3);
          } else {
            e0 = f64x2.abs(e0);
            e1 = f64x2.abs(e1);
            e2 = f64x2.abs(e2);
            e3 = f64x2.abs(e3);
          }
          a0 = f64x2.add(a0, e0);
          a1 = f64x2.add(a1, e1);
          a2 = f64x2.add(a2, e2);
          a3 = f64x2.add(a3, e3);
          col += stride;
        }
        v128.store(sums, a0);
        v128.store(sums, a1, 16);
        v128.store(sums, a2, 32);
        v128.store(sums, a3, 48);
        // rows whose sum exceeds the current k-th best are not listed
        const n = min(8, count - r);
        for (let lane = 0; lane < n; lane++) {
          const acc = load<f64>(sums + (<usize>lane << 3));
          if (acc > tau) continue;
          const idx = load<i32>(rows + (<usize>(r + lane) << 2));
          if (acc == tau && idx > tauIdx) continue;
          insert(bestI, bestD, k, acc, idx);
          tau = load<f64>(lastD);
          tauIdx = load<i32>(lastI);
        }
      }
    }
  }
}
