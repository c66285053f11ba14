// AssemblyScript (re-exported by kernels.ts): dense float64 kernels of the eigen solver (src/linalg/eigen.ts).

/**
 * out[j] = Σ_i Q_j[i]·v[i] for the m vectors Q_j at Q + j·stride·8 (float64, n long, 16-byte aligned): the dot products
 * of a classical Gram–Schmidt pass. Four vectors at a time, each sum in two lanes over even and odd i, then added.
 */
export function dotsF64(Q: usize, m: i32, stride: i32, n: i32, v: usize, out: usize): void {
  const step = <usize>stride << 3;
  const n2 = n & ~1;
  let j = 0;
  for (; j + 4 <= m; j += 4) {
    const q0 = Q + <usize>j * step;
    const q1 = q0 + step;
    const q2 = q1 + step;
    const q3 = q2 + step;
    let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (let i = 0; i < n2; i += 2) {
      const o = <usize>i << 3;
      const x = v128.load(v + o);
      a0 = f64x2.add(a0, f64x2.mul(v128.load(q0 + o), x));
      a1 = f64x2.add(a1, f64x2.mul(v128.load(q1 + o), x));
      a2 = f64x2.add(a2, f64x2.mul(v128.load(q2 + o), x));
      a3 = f64x2.add(a3, f64x2.mul(v128.load(q3 + o), x));
    }
    let s0 = f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
    let s1 = f64x2.extract_lane(a1, 0) + f64x2.extract_lane(a1, 1);
    let s2 = f64x2.extract_lane(a2, 0) + f64x2.extract_lane(a2, 1);
    let s3 = f64x2.extract_lane(a3, 0) + f64x2.extract_lane(a3, 1);
    if (n2 < n) {
      const o = <usize>n2 << 3;
      const x = load<f64>(v + o);
      s0 += load<f64>(q0 + o) * x;
      s1 += load<f64>(q1 + o) * x;
      s2 += load<f64>(q2 + o) * x;
      s3 += load<f64>(q3 + o) * x;
    }
    const r = out + (<usize>j << 3);
    store<f64>(r, s0);
    store<f64>(r, s1, 8);
    store<f64>(r, s2, 16);
    store<f64>(r, s3, 24);
  }
  for (; j < m; j++) {
    const q = Q + <usize>j * step;
    let a = f64x2.splat(0);
    for (let i = 0; i < n2; i += 2) {
      const o = <usize>i << 3;
      a = f64x2.add(a, f64x2.mul(v128.load(q + o), v128.load(v + o)));
    }
    let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
    if (n2 < n) s += load<f64>(q + (<usize>n2 << 3)) * load<f64>(v + (<usize>n2 << 3));
    store<f64>(out + (<usize>j << 3), s);
  }
}

/**
 * v[i] −= Σ_j c[j]·Q_j[i] over the m vectors Q_j (as dotsF64), subtracted in order j = 0, 1, … for every i: the
 * update of a classical Gram–Schmidt pass (and, with negated c into a zero v, a linear combination of the vectors).
 */
export function subtractCombinationF64(Q: usize, m: i32, stride: i32, n: i32, c: usize, v: usize): void {
  const step = <usize>stride << 3;
  const n2 = n & ~1;
  let j = 0;
  for (; j + 4 <= m; j += 4) {
    const q0 = Q + <usize>j * step;
    const q1 = q0 + step;
    const q2 = q1 + step;
    const q3 = q2 + step;
    const r = c + (<usize>j << 3);
    const c0 = v128.load64_splat(r);
    const c1 = v128.load64_splat(r + 8);
    const c2 = v128.load64_splat(r + 16);
    const c3 = v128.load64_splat(r + 24);
    for (let i = 0; i < n2; i += 2) {
      const o = <usize>i << 3;
      let x = v128.load(v + o);
      x = f64x2.sub(x, f64x2.mul(c0, v128.load(q0 + o)));
      x = f64x2.sub(x, f64x2.mul(c1, v128.load(q1 + o)));
      x = f64x2.sub(x, f64x2.mul(c2, v128.load(q2 + o)));
      x = f64x2.sub(x, f64x2.mul(c3, v128.load(q3 + o)));
      v128.store(v + o, x);
    }
    if (n2 < n) {
      const o = <usize>n2 << 3;
      let x = load<f64>(v + o);
      x -= f64x2.extract_lane(c0, 0) * load<f64>(q0 + o);
      x -= f64x2.extract_lane(c1, 0) * load<f64>(q1 + o);
      x -= f64x2.extract_lane(c2, 0) * load<f64>(q2 + o);
      x -= f64x2.extract_lane(c3, 0) * load<f64>(q3 + o);
      store<f64>(v + o, x);
    }
  }
  for (; j < m; j++) {
    const q = Q + <usize>j * step;
    const cj = v128.load64_splat(c + (<usize>j << 3));
    for (let i = 0; i < n2; i += 2) {
      const o = <usize>i << 3;
      v128.store(v + o, f64x2.sub(v128.load(v + o), f64x2.mul(cj, v128.load(q + o))));
    }
    if (n2 < n) {
      const o = <usize>n2 << 3;
      store<f64>(v + o, load<f64>(v + o) - f64x2.extract_lane(cj, 0) * load<f64>(q + o));
    }
  }
}

/**
 * y = M·x for a symmetric n×n float64 matrix stored as its upper triangle (row i from column c0 = i rounded down to
 * even to n − 1, padded to an even length, rows one after another: every row 16-byte aligned), reading each stored entry once: y_i gains M_ij·x_j and, for j > i,
 * y_j gains M_ij·x_i. Half the memory traffic of matVecF64, which streams both triangles.
 */
export function symMatVecF64(U: usize, n: i32, x: usize, y: usize): void {
  symMatVecRowsF64(U, n, 0, n, x, y);
}

/**
 * The part of symMatVecF64's y = M·x that rows i0..i1−1 of the packed upper triangle give (U points at row i0's first
 * stored entry): each row's dot product with x into y[i], and its entries right of the diagonal times x[i] into y[j].
 * Summing the parts of a split of the rows gives M·x to rounding; i0 = 0, i1 = n is symMatVecF64 exactly.
 */
export function symMatVecRowsF64(U: usize, n: i32, i0: i32, i1: i32, x: usize, y: usize): void {
  memory.fill(y, 0, <usize>n << 3);
  let row = U;
  for (let i = i0; i < i1; i++) {
    const c0 = i & ~1;
    const xi = load<f64>(x + (<usize>i << 3));
    const xs = f64x2.splat(xi);
    // the diagonal, and for an even row its right neighbour, one at a time; pairs of columns from the next even one
    let own = load<f64>(row + (<usize>(i - c0) << 3)) * xi;
    let j = c0 + 2;
    if (i === c0 && i + 1 < n) {
      const m = load<f64>(row + 8);
      own += m * load<f64>(x + (<usize>(i + 1) << 3));
      const at = y + (<usize>(i + 1) << 3);
      store<f64>(at, load<f64>(at) + m * xi);
    }
    // four accumulators: one would chain every add on the one before
    let a = f64x2.splat(0), b = a, c = a, e = a;
    const n2 = n & ~1;
    const from = row - (<usize>c0 << 3); // the stored entry of column j is at from + 8·j
    for (; j + 8 <= n2; j += 8) {
      const o = <usize>j << 3;
      const m0 = v128.load(from + o);
      const m1 = v128.load(from + o, 16);
      const m2 = v128.load(from + o, 32);
      const m3 = v128.load(from + o, 48);
      a = f64x2.add(a, f64x2.mul(m0, v128.load(x + o)));
      b = f64x2.add(b, f64x2.mul(m1, v128.load(x + o, 16)));
      c = f64x2.add(c, f64x2.mul(m2, v128.load(x + o, 32)));
      e = f64x2.add(e, f64x2.mul(m3, v128.load(x + o, 48)));
      v128.store(y + o, f64x2.add(v128.load(y + o), f64x2.mul(m0, xs)));
      v128.store(y + o, f64x2.add(v128.load(y + o, 16), f64x2.mul(m1, xs)), 16);
      v128.store(y + o, f64x2.add(v128.load(y + o, 32), f64x2.mul(m2, xs)), 32);
      v128.store(y + o, f64x2.add(v128.load(y + o, 48), f64x2.mul(m3, xs)), 48);
    }
    for (; j < n2; j += 2) {
      const o = <usize>j << 3;
      const m = v128.load(from + o);
      a = f64x2.add(a, f64x2.mul(m, v128.load(x + o)));
      v128.store(y + o, f64x2.add(v128.load(y + o), f64x2.mul(m, xs)));
    }
    a = f64x2.add(f64x2.add(a, b), f64x2.add(c, e));
    let s = own + f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
    if (j < n) {
      const m = load<f64>(from + (<usize>j << 3));
      s += m * load<f64>(x + (<usize>j << 3));
      const at = y + (<usize>j << 3);
      store<f64>(at, load<f64>(at) + m * xi);
    }
    const at = y + (<usize>i << 3);
    store<f64>(at, load<f64>(at) + s);
    row += <usize>((n - c0 + 1) & ~1) << 3;
  }
}

