/**
 * Small, allocation-free numeric kernels over row-major Float32 data, accumulating in Float64.
 *
 * Every pairwise value (dot product, squared norm, distance) is summed one accumulator per pair, feature 0 first, so a
 * value never depends on how rows were grouped into blocks: the 4×4 register-blocked path and the remainder paths give
 * bit-identical results, and so do any number of workers.
 */

/**
 * Dot products of rows [i0, i1) of A with rows [j0, j1) of B (both row-major with `d` columns):
 * out[outOff + (i - i0) * ldOut + (j - j0)] = Σ_f A[i·d + f] · B[j·d + f].
 */
export function dotBlock(
  A: Float32Array,
  i0: number,
  i1: number,
  B: Float32Array,
  j0: number,
  j1: number,
  d: number,
  out: Float64Array,
  outOff: number,
  ldOut: number,
): void {
  const iEnd4 = i0 + ((i1 - i0) & ~3);
  const jEnd4 = j0 + ((j1 - j0) & ~3);
  let i = i0;
  for (; i < iEnd4; i += 4) {
    const a0 = i * d,
      a1 = a0 + d,
      a2 = a1 + d,
      a3 = a2 + d;
    const o0 = outOff + (i - i0) * ldOut - j0,
      o1 = o0 + ldOut,
      o2 = o1 + ldOut,
      o3 = o2 + ldOut;
    let j = j0;
    for (; j < jEnd4; j += 4) {
      const b0 = j * d,
        b1 = b0 + d,
        b2 = b1 + d,
        b3 = b2 + d;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let f = 0; f < d; f++) {
        const x0 = A[a0 + f],
          x1 = A[a1 + f],
          x2 = A[a2 + f],
          x3 = A[a3 + f];
        const y0 = B[b0 + f],
          y1 = B[b1 + f],
          y2 = B[b2 + f],
          y3 = B[b3 + f];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      out[o0 + j] = c00;
      out[o0 + j + 1] = c01;
      out[o0 + j + 2] = c02;
      out[o0 + j + 3] = c03;
      out[o1 + j] = c10;
      out[o1 + j + 1] = c11;
      out[o1 + j + 2] = c12;
      out[o1 + j + 3] = c13;
      out[o2 + j] = c20;
      out[o2 + j + 1] = c21;
      out[o2 + j + 2] = c22;
      out[o2 + j + 3] = c23;
      out[o3 + j] = c30;
      out[o3 + j + 1] = c31;
      out[o3 + j + 2] = c32;
      out[o3 + j + 3] = c33;
    }
    for (; j < j1; j++) {
      const b0 = j * d;
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      for (let f = 0; f < d; f++) {
        const y = B[b0 + f];
        c0 += A[a0 + f] * y;
        c1 += A[a1 + f] * y;
        c2 += A[a2 + f] * y;
        c3 += A[a3 + f] * y;
      }
      out[o0 + j] = c0;
      out[o1 + j] = c1;
      out[o2 + j] = c2;
      out[o3 + j] = c3;
    }
  }
  for (; i < i1; i++) {
    const a0 = i * d;
    const o0 = outOff + (i - i0) * ldOut - j0;
    let j = j0;
    for (; j < jEnd4; j += 4) {
      const b0 = j * d,
        b1 = b0 + d,
        b2 = b1 + d,
        b3 = b2 + d;
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      for (let f = 0; f < d; f++) {
        const x = A[a0 + f];
        c0 += x * B[b0 + f];
        c1 += x * B[b1 + f];
        c2 += x * B[b2 + f];
        c3 += x * B[b3 + f];
      }
      out[o0 + j] = c0;
      out[o0 + j + 1] = c1;
      out[o0 + j + 2] = c2;
      out[o0 + j + 3] = c3;
    }
    for (; j < j1; j++) {
      const b0 = j * d;
      let c = 0;
      for (let f = 0; f < d; f++) c += A[a0 + f] * B[b0 + f];
      out[o0 + j] = c;
    }
  }
}

/**
 * Manhattan distances of rows [i0, i1) of A to rows [j0, j1) of B, laid out as in dotBlock:
 * out[outOff + (i - i0) * ldOut + (j - j0)] = Σ_f |A[i·d + f] − B[j·d + f]|.
 * dotBlock's loops with |x − y| for x·y, kept apart: one kernel taking the op (as a callback or a flag) is slower.
 */
export function manhattanBlock(
  A: Float32Array,
  i0: number,
  i1: number,
  B: Float32Array,
  j0: number,
  j1: number,
  d: number,
  out: Float64Array,
  outOff: number,
  ldOut: number,
): void {
  const iEnd4 = i0 + ((i1 - i0) & ~3);
  const jEnd4 = j0 + ((j1 - j0) & ~3);
  let i = i0;
  for (; i < iEnd4; i += 4) {
    const a0 = i * d,
      a1 = a0 + d,
      a2 = a1 + d,
      a3 = a2 + d;
    const o0 = outOff + (i - i0) * ldOut - j0,
      o1 = o0 + ldOut,
      o2 = o1 + ldOut,
      o3 = o2 + ldOut;
    let j = j0;
    for (; j < jEnd4; j += 4) {
      const b0 = j * d,
        b1 = b0 + d,
        b2 = b1 + d,
        b3 = b2 + d;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0;
      let c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0;
      let c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let f = 0; f < d; f++) {
        const x0 = A[a0 + f],
          x1 = A[a1 + f],
          x2 = A[a2 + f],
          x3 = A[a3 + f];
        const y0 = B[b0 + f],
          y1 = B[b1 + f],
          y2 = B[b2 + f],
          y3 = B[b3 + f];
        c00 += Math.abs(x0 - y0);
        c01 += Math.abs(x0 - y1);
        c02 += Math.abs(x0 - y2);
        c03 += Math.abs(x0 - y3);
        c10 += Math.abs(x1 - y0);
        c11 += Math.abs(x1 - y1);
        c12 += Math.abs(x1 - y2);
        c13 += Math.abs(x1 - y3);
        c20 += Math.abs(x2 - y0);
        c21 += Math.abs(x2 - y1);
        c22 += Math.abs(x2 - y2);
        c23 += Math.abs(x2 - y3);
        c30 += Math.abs(x3 - y0);
        c31 += Math.abs(x3 - y1);
        c32 += Math.abs(x3 - y2);
        c33 += Math.abs(x3 - y3);
      }
      out[o0 + j] = c00;
      out[o0 + j + 1] = c01;
      out[o0 + j + 2] = c02;
      out[o0 + j + 3] = c03;
      out[o1 + j] = c10;
      out[o1 + j + 1] = c11;
      out[o1 + j + 2] = c12;
      out[o1 + j + 3] = c13;
      out[o2 + j] = c20;
      out[o2 + j + 1] = c21;
      out[o2 + j + 2] = c22;
      out[o2 + j + 3] = c23;
      out[o3 + j] = c30;
      out[o3 + j + 1] = c31;
      out[o3 + j + 2] = c32;
      out[o3 + j + 3] = c33;
    }
    for (; j < j1; j++) {
      const b0 = j * d;
      let c0 = 0,
        c1 = 0,
        c2 = 0,
        c3 = 0;
      for (let f = 0; f < d; f++) {
        const y = B[b0 + f];
        c0 += Math.abs(A[a0 + f] - y);
        c1 += Math.abs(A[a1 + f] - y);
        c2 += Math.abs(A[a2 + f] - y);
        c3 += Math.abs(A[a3 + f] - y);
      }
      out[o0 + j] = c0;
      out[o1 + j] = c1;
      out[o2 + j] = c2;
      out[o3 + j] = c3;
    }
  }
  for (; i < i1; i++) {
    const a0 = i * d;
    const o0 = outOff + (i - i0) * ldOut - j0;
    for (let j = j0; j < j1; j++) {
      const b0 = j * d;
      let c = 0;
      for (let f = 0; f < d; f++) c += Math.abs(A[a0 + f] - B[b0 + f]);
      out[o0 + j] = c;
    }
  }
}

/** out[i - i0] = Σ_f A[i·d + f]², summed exactly as dotBlock sums a row with itself. */
export function squaredNorms(A: Float32Array, i0: number, i1: number, d: number, out: Float64Array): void {
  for (let i = i0; i < i1; i++) {
    const a = i * d;
    let s = 0;
    for (let f = 0; f < d; f++) s += A[a + f] * A[a + f];
    out[i - i0] = s;
  }
}
