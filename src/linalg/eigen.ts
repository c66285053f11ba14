import { runAll, workerCount } from '../runtime/pool.js';
import { Arena, privateKernels, wasmKernels, type WasmKernels } from '../runtime/wasm.js';
import { createRng } from '../util/rng.js';

/**
 * Eigen-decomposition of a symmetric tridiagonal matrix by the implicit QL method (tql2 of EISPACK, as in JAMA).
 * diag (n values) and sub (sub[i] = T[i][i−1], sub[0] ignored) are overwritten. Returns eigenvalues ascending in diag
 * and eigenvectors as columns stored contiguously: vector i is vecs[i·n .. i·n + n). With `lastOnly`, vecs (n values)
 * gets the last component of each vector alone (vecs[i] = component n − 1 of vector i), in O(n²) rather than O(n³):
 * the same rotations in the same order, so the same bits as those components of the full vectors.
 */
export function tridiagonalEigen(
  diag: Float64Array,
  sub: Float64Array,
  n: number,
  vecs: Float64Array,
  lastOnly = false,
): void {
  const d = diag;
  const e = sub;
  if (lastOnly) {
    vecs.fill(0, 0, n);
    vecs[n - 1] = 1;
  } else {
    vecs.fill(0, 0, n * n);
    for (let i = 0; i < n; i++) vecs[i * n + i] = 1;
  }
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error('tridiagonalEigen: no convergence');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1,
          c2 = c,
          c3 = c;
        const el1 = e[l + 1];
        let s = 0,
          s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (lastOnly) {
            const hk = vecs[i + 1];
            const vk = vecs[i];
            vecs[i + 1] = s * vk + c * hk;
            vecs[i] = c * vk - s * hk;
            continue;
          }
          const vi = i * n,
            vj = vi + n;
          for (let k = 0; k < n; k++) {
            const hk = vecs[vj + k];
            const vk = vecs[vi + k];
            vecs[vj + k] = s * vk + c * hk;
            vecs[vi + k] = c * vk - s * hk;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] = d[l] + f;
    e[l] = 0;
  }
  // sort ascending, moving the vectors along
  for (let i = 0; i < n - 1; i++) {
    let kMin = i;
    let p = d[i];
    for (let j = i + 1; j < n; j++) {
      if (d[j] < p) {
        kMin = j;
        p = d[j];
      }
    }
    if (kMin !== i) {
      d[kMin] = d[i];
      d[i] = p;
      if (lastOnly) {
        const tmp = vecs[i];
        vecs[i] = vecs[kMin];
        vecs[kMin] = tmp;
        continue;
      }
      const a = i * n,
        b = kMin * n;
      for (let r = 0; r < n; r++) {
        const tmp = vecs[a + r];
        vecs[a + r] = vecs[b + r];
        vecs[b + r] = tmp;
      }
    }
  }
}

export interface TopEigen {
  /** The k largest eigenvalues, descending. */
  values: Float64Array;
  /** Their unit eigenvectors, row c at c·n .. c·n + n. */
  vectors: Float64Array;
  /** Lanczos steps taken (for reports and tests). */
  steps: number;
}

/**
 * The k largest eigenpairs of a dense symmetric n×n matrix (row-major, both triangles filled), by Lanczos with full
 * reorthogonalisation (twice, classical Gram–Schmidt) from a fixed pseudo-random start. The Krylov space grows until the
 * residual ‖M·y − θ·y‖ of each wanted Ritz pair is below `tol`·‖M‖ (or the space is the whole R^n, which is exact).
 * A breakdown (an invariant subspace found: the Krylov space of the start holds one direction per distinct eigenvalue
 * it meets) restarts from a new vector orthogonal to the space, which finds the remaining copies of repeated
 * eigenvalues; once a block breaks down whose largest eigenvalue is not above the k-th found, nothing left can enter
 * the top k (a rank-deficient matrix stops there after one more step instead of spanning its null space).
 * Deterministic: the same input gives the same output.
 */
export function symmetricTopEigen(M: Float64Array, n: number, k: number, tol = 1e-12): TopEigen {
  let matrixAt = 0;
  const loop = lanczos(frobenius(M, n), n, k, tol, (arena) => {
    matrixAt = arena.reserve(packedUpperLength(n) * 8);
    packUpper(M, n, arena.f64(matrixAt, packedUpperLength(n)));
  });
  for (let step = loop.next(); ; step = loop.next()) {
    if (step.done) return step.value;
    const { arena, qAt, wAt } = step.value;
    arena.kernels.symMatVecF64(matrixAt, n, qAt, wAt);
  }
}

/** Sizes from which symmetricTopEigenParallel splits M·q over two threads (below, one thread's M fits in cache). */
export const PARALLEL_EIGEN = 2048;

let solves = 0;

/**
 * symmetricTopEigen with each M·q summed in two parts, rows 0..r−1 and r..n−1 of the packed upper triangle (r splits
 * its entries in half), on two worker threads that each keep M in their kernel memory for the whole solve: M·q reads
 * the matrix once per step, so two threads read it at twice the rate. The parts are added as yA + yB, so the result is
 * the same with any number of workers (with one, both parts run here). Below PARALLEL_EIGEN, symmetricTopEigen itself.
 */
export async function symmetricTopEigenParallel(M: Float64Array, n: number, k: number, tol = 1e-12): Promise<TopEigen> {
  if (n < PARALLEL_EIGEN) return symmetricTopEigen(M, n, k, tol);
  const packed = new Float64Array(new SharedArrayBuffer(packedUpperLength(n) * 8));
  packUpper(M, n, packed);
  return symmetricTopEigenPacked(packed, n, k, frobenius(M, n), tol);
}

/**
 * symmetricTopEigenParallel of a matrix given in symMatVecF64's packed layout (packUpper's; shared memory saves the
 * workers a copy) with its Frobenius norm: the covariance of a shared fit goes there without a d×d matrix. Below
 * PARALLEL_EIGEN, one thread as symmetricTopEigen.
 */
export async function symmetricTopEigenPacked(
  packed: Float64Array,
  n: number,
  k: number,
  norm: number,
  tol = 1e-12,
): Promise<TopEigen> {
  const length = packedUpperLength(n);
  if (packed.length !== length) throw new Error(`symmetricTopEigenPacked: ${packed.length} entries for n = ${n}`);
  const split = halfRows(n);
  const parts = n >= PARALLEL_EIGEN;
  if (!parts || workerCount() < 2) {
    let matrixAt = 0;
    let partAt = 0;
    const loop = lanczos(norm, n, k, tol, (arena) => {
      matrixAt = arena.reserve(length * 8);
      partAt = arena.reserve(n * 8);
      arena.f64(matrixAt, length).set(packed);
    });
    for (let step = loop.next(); ; step = loop.next()) {
      if (step.done) return step.value;
      const { arena, qAt, wAt } = step.value;
      if (!parts) {
        arena.kernels.symMatVecF64(matrixAt, n, qAt, wAt);
        continue;
      }
      arena.kernels.symMatVecRowsF64(matrixAt, n, 0, split, qAt, wAt);
      arena.kernels.symMatVecRowsF64(matrixAt + rowOffset(n, split) * 8, n, split, n, qAt, partAt);
      const [w, part] = [arena.f64(wAt, n), arena.f64(partAt, n)];
      for (let i = 0; i < n; i++) w[i] += part[i];
    }
  }
  const shared = packed.buffer instanceof SharedArrayBuffer ? packed : sharedFloat64(packed);
  const key = `eigen ${process.pid} ${++solves}`;
  // a private kernel instance: the basis stays in its memory across the awaits below, where other work may use this
  // thread's instance
  const loop = lanczos(norm, n, k, tol, () => {}, privateKernels());
  for (let step = loop.next(); ; step = loop.next()) {
    if (step.done) return step.value;
    const { arena, qAt, wAt } = step.value;
    const q = arena.f64(qAt, n).slice();
    const [a, b] = await runAll<Float64Array>(
      [
        [0, split],
        [split, n],
      ].map(([i0, i1]) => ({ module: import.meta.url, fn: 'symMatVecPartTask', args: [key, shared, n, i0, i1, q] })),
    );
    // views afresh after the await
    const w = arena.f64(wAt, n);
    for (let i = 0; i < n; i++) w[i] = a[i] + b[i];
  }
}

function sharedFloat64(src: Float64Array): Float64Array {
  const out = new Float64Array(new SharedArrayBuffer(src.byteLength));
  out.set(src);
  return out;
}

/** The Frobenius norm of the row-major n×n M (it bounds the spectral norm). */
function frobenius(M: Float64Array, n: number): number {
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += M[i] * M[i];
  return Math.sqrt(norm);
}

/**
 * Pool task of symmetricTopEigenParallel: rows i0..i1−1's part of M·x, with the packed M copied into this thread's
 * kernel memory on the first step of solve `key` and kept there for its later steps.
 */
export function symMatVecPartTask(
  key: string,
  packed: Float64Array,
  n: number,
  i0: number,
  i1: number,
  x: Float64Array,
): Float64Array {
  const { arena, loaded } = Arena.resident(key);
  const matrixAt = arena.reserve(packed.length * 8);
  const xAt = arena.reserve(n * 8);
  const yAt = arena.reserve(n * 8);
  if (!loaded) {
    arena.f64(matrixAt, packed.length).set(packed);
    Arena.markResident(key);
  }
  arena.f64(xAt, n).set(x);
  arena.kernels.symMatVecRowsF64(matrixAt + rowOffset(n, i0) * 8, n, i0, i1, xAt, yAt);
  return arena.f64(yAt, n).slice();
}

/** Where row i starts in symMatVecF64's packed upper triangle (entries before it). */
function rowOffset(n: number, i: number): number {
  let at = 0;
  for (let r = 0; r < i; r++) at += (n - (r & ~1) + 1) & ~1;
  return at;
}

/** The first row at or past which half of the packed entries lie (a function of n only). */
function halfRows(n: number): number {
  const half = packedUpperLength(n) / 2;
  let at = 0;
  let r = 0;
  while (r < n && at < half) at += (n - (r++ & ~1) + 1) & ~1;
  return r;
}

/** A product the Lanczos loop needs: w (at wAt) = M·q (at qAt), both n float64 in `arena`'s kernel memory. */
interface Product {
  arena: Arena;
  qAt: number;
  wAt: number;
}

/**
 * symmetricTopEigen's Lanczos loop, yielding each M·q it needs to whoever holds M (in this thread's kernel memory, or
 * on other threads); `norm` is M's Frobenius norm (it bounds the spectral norm: the tolerances are relative to it);
 * `reserveMatrix` reserves that caller's own regions before the loop's (the basis must come last).
 */
function* lanczos(
  norm: number,
  n: number,
  k: number,
  tol: number,
  reserveMatrix: (arena: Arena) => void,
  kernelsOf: WasmKernels = wasmKernels(),
): Generator<Product, TopEigen, undefined> {
  if (k < 1 || k > n) throw new RangeError(`symmetricTopEigen: k must be in 1..${n}, got ${k}`);
  if (norm === 0) {
    // Zero matrix: every orthonormal set is an eigenbasis; take unit vectors.
    const vectors = new Float64Array(k * n);
    for (let c = 0; c < k; c++) vectors[c * n + c] = 1;
    return { values: new Float64Array(k), vectors, steps: 0 };
  }
  // Kernel memory: M's upper triangle (copied once, for symMatVecF64), the work vector w, the Gram–Schmidt coefficients, then the Krylov basis last, so
  // it can grow in place. Basis vectors are `stride` (n rounded up to even) apart: each starts 16-byte aligned.
  const arena = new Arena(kernelsOf);
  const kernels = arena.kernels;
  const stride = (n + 1) & ~1;
  reserveMatrix(arena);
  const wAt = arena.reserve(stride * 8);
  const coefAt = arena.reserve(n * 8);
  let capacity = Math.min(n, Math.max(2 * k + 64, 128));
  const basisAt = arena.reserve(capacity * stride * 8);
  // views are taken afresh after the basis grows (growing kernel memory detaches them)
  const w = (): Float64Array => arena.f64(wAt, n);
  const basisVector = (j: number): Float64Array => arena.f64(basisAt + j * stride * 8, n);
  const ensure = (m: number): void => {
    if (m <= capacity) return;
    const more = Math.min(n, Math.max(m, 2 * capacity)) - capacity;
    const at = arena.reserve(more * stride * 8);
    if (at !== basisAt + capacity * stride * 8) throw new Error('symmetricTopEigen: the basis did not grow in place');
    capacity += more;
  };
  const rng = createRng(0x5eed);
  const alpha = new Float64Array(n);
  const beta = new Float64Array(n);
  let steps = 0;

  // Orthogonalises w against basis vectors 0..m−1, twice (classical Gram–Schmidt, by the SIMD kernels); returns the
  // norm left.
  const orthogonalise = (m: number): number => {
    for (let pass = 0; pass < 2 && m > 0; pass++) {
      kernels.dotsF64(basisAt, m, stride, n, wAt, coefAt);
      kernels.subtractCombinationF64(basisAt, m, stride, n, coefAt, wAt);
    }
    const v = w();
    let s = 0;
    for (let i = 0; i < n; i++) s += v[i] * v[i];
    return Math.sqrt(s);
  };
  // w / ‖w‖ stored as basis vector m.
  const store = (m: number, left: number): void => {
    const v = w();
    const q = basisVector(m);
    for (let i = 0; i < n; i++) q[i] = v[i] / left;
  };
  // A new unit vector orthogonal to the m basis vectors, stored as basis vector m; false if none is left.
  const freshVector = (m: number): boolean => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const v = w();
      for (let i = 0; i < n; i++) v[i] = rng.float() - 0.5;
      const left = orthogonalise(m);
      if (left > 1e-8) {
        store(m, left);
        return true;
      }
    }
    return false;
  };

  freshVector(0);
  let m = 0; // basis vectors in use (q_0..q_{m-1}); T is m×m
  let blockStart = 0; // first step of the current Krylov block (a new block starts after each breakdown)
  let nextCheck = Math.min(n, Math.max(2 * k, k + 20));
  // eslint-disable-next-line no-useless-assignment -- assigned on every path before use; TypeScript cannot see it
  let tDiag: Float64Array = new Float64Array(0);
  // the last component of each Ritz vector of T (what the residuals need); the whole vectors once, at the end
  // eslint-disable-next-line no-useless-assignment -- as above
  let tLast: Float64Array = new Float64Array(0);
  const ritz = (vectors: boolean): [Float64Array, Float64Array] => {
    const values = new Float64Array(m);
    const tSub = new Float64Array(m);
    for (let i = 0; i < m; i++) values[i] = alpha[i];
    for (let i = 1; i < m; i++) tSub[i] = beta[i - 1];
    const out = new Float64Array(vectors ? m * m : m);
    tridiagonalEigen(values, tSub, m, out, !vectors);
    return [values, out];
  };
  while (true) {
    // Lanczos step on q_m: w = M·q_m
    const qAt = basisAt + m * stride * 8;
    yield { arena, qAt, wAt };
    const q = basisVector(m);
    const v = w();
    let a = 0;
    for (let i = 0; i < n; i++) a += q[i] * v[i];
    alpha[m] = a;
    m++;
    steps++;
    let exhausted = m === n;
    let brokeDown = false;
    if (exhausted) {
      beta[m - 1] = 0;
    } else {
      // full reorthogonalisation (it also removes the three-term recurrence terms)
      ensure(m + 1);
      const left = orthogonalise(m);
      if (left > tol * norm) {
        beta[m - 1] = left;
        store(m, left);
      } else {
        beta[m - 1] = 0;
        brokeDown = true;
        if (!freshVector(m)) exhausted = true; // numerically the space is all of R^n already
      }
    }
    if (exhausted || brokeDown || m >= nextCheck) {
      [tDiag, tLast] = ritz(false);
      if (exhausted) {
        if (m < k) throw new Error(`symmetricTopEigen: only ${m} directions found for ${k} eigenpairs`);
        break;
      }
      if (brokeDown) {
        // every block so far is invariant, so its Ritz values are eigenvalues; the space left holds only further copies
        // of the last block's eigenvalues
        const blockTop = largestTridiagonal(alpha, beta, blockStart, m);
        blockStart = m;
        if (m >= k && blockTop <= tDiag[m - k] + tol * norm) break;
        continue;
      }
      // residual of Ritz pair c: |beta_{m-1} · s_c[m-1]|
      const b = beta[m - 1];
      let worst = 0;
      for (let c = 0; c < k; c++) {
        const col = m - 1 - c;
        worst = Math.max(worst, Math.abs(b * tLast[col]));
      }
      if (worst <= tol * norm) break;
      nextCheck = Math.min(n, m + Math.max(10, Math.ceil(m / 4)));
    }
  }
  const [, tVecs] = ritz(true);
  // Ritz vectors for the k largest Ritz values: Σ_j s_j·q_j, as w −= Σ_j (−s_j)·q_j from w = 0
  const values = new Float64Array(k);
  const vectors = new Float64Array(k * n);
  const coef = arena.f64(coefAt, m);
  for (let c = 0; c < k; c++) {
    const col = m - 1 - c;
    values[c] = tDiag[col];
    for (let j = 0; j < m; j++) coef[j] = -tVecs[col * m + j];
    w().fill(0);
    kernels.subtractCombinationF64(basisAt, m, stride, n, coefAt, wAt);
    const v = w();
    let s = 0;
    for (let i = 0; i < n; i++) s += v[i] * v[i];
    const inv = 1 / Math.sqrt(s);
    const out = c * n;
    for (let i = 0; i < n; i++) vectors[out + i] = v[i] * inv;
  }
  return { values, vectors, steps };
}

/** Entries of symMatVecF64's packed upper triangle: row i from column i rounded down to even, padded to even length. */
export function packedUpperLength(n: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += (n - (i & ~1) + 1) & ~1;
  return total;
}

/** The upper triangle of the row-major n×n M in symMatVecF64's layout. */
export function packUpper(M: Float64Array, n: number, into: Float64Array): void {
  let at = 0;
  for (let i = 0; i < n; i++) {
    const c0 = i & ~1;
    into.set(M.subarray(i * n + c0, (i + 1) * n), at);
    at += (n - c0 + 1) & ~1;
  }
}

/** The largest eigenvalue of the tridiagonal block of steps [from, to) (diagonal alpha, off-diagonal beta). */
function largestTridiagonal(alpha: Float64Array, beta: Float64Array, from: number, to: number): number {
  const size = to - from;
  const diag = alpha.slice(from, to);
  const sub = new Float64Array(size);
  for (let i = 1; i < size; i++) sub[i] = beta[from + i - 1];
  tridiagonalEigen(diag, sub, size, new Float64Array(size * size));
  return diag[size - 1];
}
