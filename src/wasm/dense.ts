// AssemblyScript (re-exported by kernels.ts): dense float64 kernels of the eigen solver (src/linalg/eigen.ts).

/**
 * y = M·x for a dense row-major n×n float64 matrix at M. Each row's sum is kept in four partial sums s0..s3 over the
 * features f ≡ 0, 1, 2, 3 (mod 4), the tail in s0, then ((s0 + s1) + s2) + s3: exactly the sums of matVec in
 * src/linalg/kernels.ts, bit for bit (s0, s1 and s2, s3 are the two lanes of two vectors).
 */
export function matVecF64(M: usize, n: i32, x: usize, y: usize): void {
  const rowBytes = <usize>n << 3;
  const n4 = n & ~3;
  for (let i = 0; i < n; i++) {
    const row = M + <usize>i * rowBytes;
    let a = f64x2.splat(0);
    let b = a;
    let f = 0;
    for (; f < n4; f += 4) {
      const o = <usize>f << 3;
      a = f64x2.add(a, f64x2.mul(v128.load(row + o), v128.load(x + o)));
      b = f64x2.add(b, f64x2.mul(v128.load(row + o, 16), v128.load(x + o, 16)));
    }
    let s0 = f64x2.extract_lane(a, 0);
    for (; f < n; f++) s0 += load<f64>(row + (<usize>f << 3)) * load<f64>(x + (<usize>f << 3));
    store<f64>(y + (<usize>i << 3), s0 + f64x2.extract_lane(a, 1) + f64x2.extract_lane(b, 0) + f64x2.extract_lane(b, 1));
  }
}
