import type { WasmKernels } from '../runtime/wasm.js';

/** Where the problem's rows lie in kernel memory and the kernel to compute between them (see WasmKernels.kernelRow). */
export interface KernelRowSource {
  /** The rows, d4 floats apart (their order is the solver's positions). */
  xAt: number;
  d4: number;
  /** Their squared norms (float32 per row). */
  normsAt: number;
  /** 0 linear, 1 poly, 2 rbf. */
  kind: number;
  gamma: number;
  coef0: number;
  degree: number;
}

/**
 * The kernel rows of an SMO solve, cached least-recently-used in WebAssembly memory (as libsvm's Cache). Rows are
 * `stride` floats apart: l at first, then the active size once shrinking has made it much smaller (so that, as libsvm's
 * cache of variable-length rows does, the cache holds more of the rows that matter). Slot s holds the row of position
 * owner[s], valid on [0, len[s]).
 *
 * Rows are kept by solver position, not by problem row: when the solver swaps two positions it calls swap(), which
 * moves the slots' ownership and notes the swap; applySwaps() then swaps the columns of every cached row.
 */
export class KernelRowCache {
  /** Every float of the cache: `budget` for the cached rows, then one full row of scratch at `wide`. */
  readonly K: Float32Array;
  /** Offset in K of the scratch row (rows longer than the stride are built there). */
  readonly wide: number;
  stride: number;
  private slots: number;
  private readonly slotOf: Int32Array;
  private readonly owner: Int32Array;
  private readonly len: Int32Array;
  private readonly prev: Int32Array;
  private readonly next: Int32Array;
  /** Sentinel: next[head] is the least recently used slot, prev[head] the most recent. */
  private readonly head: number;
  private used = 0;
  private readonly swaps: number[] = [];

  /**
   * `cacheAt` is the byte offset of `budget + l` floats of kernel memory (at least two full rows of budget), `K` their
   * view.
   */
  constructor(
    private readonly w: WasmKernels,
    private readonly source: KernelRowSource,
    private readonly l: number,
    private readonly budget: number,
    readonly cacheAt: number,
    K: Float32Array,
  ) {
    this.K = K;
    this.wide = budget;
    this.stride = l;
    this.slots = Math.min(l, Math.floor(budget / l));
    this.slotOf = new Int32Array(l).fill(-1);
    this.owner = new Int32Array(l).fill(-1);
    this.len = new Int32Array(l);
    this.prev = new Int32Array(l + 1);
    this.next = new Int32Array(l + 1);
    this.head = l;
    this.prev[this.head] = this.head;
    this.next[this.head] = this.head;
  }

  /** The byte offset in kernel memory of offset `at` of K. */
  pointer(at: number): number {
    return this.cacheAt + 4 * at;
  }

  /** Computes K(x_i, x_t) for positions t in [from, to) into K at offset `at`. */
  compute(i: number, from: number, to: number, at: number): void {
    const s = this.source;
    this.w.kernelRow(s.xAt, s.d4, s.normsAt, i, from, to, s.kind, s.gamma, s.coef0, s.degree, this.pointer(at));
  }

  private unlink(s: number): void {
    this.next[this.prev[s]] = this.next[s];
    this.prev[this.next[s]] = this.prev[s];
  }

  private append(s: number): void {
    const { prev, next, head } = this;
    prev[s] = prev[head];
    next[s] = head;
    next[prev[head]] = s;
    prev[head] = s;
  }

  /** Offset in K of row i, valid at least on [0, n). Rows longer than the stride are built in the scratch row. */
  row(i: number, n: number): number {
    const { K, slotOf, owner, len, stride } = this;
    let s = slotOf[i];
    if (n > stride) {
      const have = s >= 0 ? len[s] : 0;
      if (have > 0) K.copyWithin(this.wide, s * stride, s * stride + have);
      this.compute(i, have, n, this.wide + have);
      return this.wide;
    }
    if (s >= 0) {
      this.unlink(s);
      if (len[s] < n) {
        this.compute(i, len[s], n, s * stride + len[s]);
        len[s] = n;
      }
    } else {
      if (this.used < this.slots) s = this.used++;
      else {
        s = this.next[this.head];
        this.unlink(s);
        slotOf[owner[s]] = -1;
      }
      slotOf[i] = s;
      owner[s] = i;
      this.compute(i, 0, n, s * stride);
      len[s] = n;
    }
    this.append(s);
    return s * stride;
  }

  /**
   * Lays the cache out with a new stride. Narrower: the most recently used rows that fit are kept (cut to the new
   * stride), moved down in place. Wider (the whole set active again): the cache starts empty, as most rows would be
   * cut by the next shrinking anyway.
   */
  setStride(newStride: number): void {
    const { K, slotOf, owner, len, prev, head, stride } = this;
    const newSlots = Math.max(2, Math.min(this.l, Math.floor(this.budget / newStride)));
    const keep: number[] = [];
    if (newStride < stride) for (let s = prev[head]; s !== head && keep.length < newSlots; s = prev[s]) keep.push(s);
    const kept = new Set(keep);
    for (let s = 0; s < this.used; s++) if (!kept.has(s)) slotOf[owner[s]] = -1;
    // ascending old slots get ascending new ones, so a row never moves up onto one not yet moved
    const byOld = [...keep].sort((u, v) => u - v);
    const newSlot = new Map<number, number>();
    const newOwner = new Int32Array(byOld.length);
    const newLen = new Int32Array(byOld.length);
    byOld.forEach((s, k) => {
      const n = Math.min(len[s], newStride);
      K.copyWithin(k * newStride, s * stride, s * stride + n);
      newSlot.set(s, k);
      newOwner[k] = owner[s];
      newLen[k] = n;
    });
    prev[head] = head;
    this.next[head] = head;
    for (let k = 0; k < byOld.length; k++) {
      owner[k] = newOwner[k];
      len[k] = newLen[k];
      slotOf[owner[k]] = k;
    }
    for (let q = keep.length - 1; q >= 0; q--) this.append(newSlot.get(keep[q])!);
    this.used = byOld.length;
    this.stride = newStride;
    this.slots = newSlots;
  }

  /** Positions i and j swapped places: their cached rows change owners; their columns wait for applySwaps. */
  swap(i: number, j: number): void {
    const { slotOf, owner } = this;
    const si = slotOf[i];
    const sj = slotOf[j];
    slotOf[i] = sj;
    slotOf[j] = si;
    if (si >= 0) owner[si] = j;
    if (sj >= 0) owner[sj] = i;
    this.swaps.push(Math.min(i, j), Math.max(i, j));
  }

  /** The swaps made since the last call, applied to every cached row in turn (one row at a time stays in cache). */
  applySwaps(): void {
    const { K, len, swaps } = this;
    const m = swaps.length;
    if (m === 0) return;
    for (let s = 0; s < this.used; s++) {
      const base = s * this.stride;
      let n = len[s];
      for (let q = 0; q < m; q += 2) {
        const lo = swaps[q];
        const hi = swaps[q + 1];
        if (n > hi) {
          const tmp = K[base + lo];
          K[base + lo] = K[base + hi];
          K[base + hi] = tmp;
        } else if (n > lo) n = lo; // the rest of the row is recomputed when asked for
      }
      len[s] = n;
    }
    swaps.length = 0;
  }
}
