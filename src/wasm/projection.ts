// AssemblyScript (re-exported by kernels.ts): the PCA projection (src/linalg/projection.ts).

/**
 * PCA projection of `rows` float32 rows at src (d wide): out[t][c] = float32(scale[c] · Σ_f float32(x[t][f] − mean[f]) ·
 * w[f][c]) for c < k, with w (d × k8 float64, k8 = k rounded up to 8, zero beyond k) holding float32 component values.
 * Each sum runs over f in order in float64, two components per lane pair, and every product of two float32 values is
 * exact in float64: the result is bit-identical to the plain JavaScript loop.
 *
 * The features go in chunks of `chunk` (chosen so a chunk of w stays in the core's L2 cache while every row passes over
 * it): the running sums of all rows wait in `acc` (rows × k8 float64) between chunks, so each sum still adds its
 * products in feature order. Without the chunks a wide input (6,004 features × 256 components: 12 MB of w) streamed all
 * of w from L3 for every two rows. `scratch` holds two centred chunk rows (float64, 16·chunk bytes).
 */
export function projectRows(
  src: usize,
  rows: i32,
  d: i32,
  mean: usize,
  w: usize,
  k8: i32,
  scale: usize,
  out: usize,
  k: i32,
  scratch: usize,
  acc: usize,
  chunk: i32,
): void {
  const wRow = <usize>k8 << 3;
  const c1 = scratch + (<usize>chunk << 3);
  memory.fill(acc, 0, <usize>rows * wRow);
  for (let f0 = 0; f0 < d; f0 += chunk) {
    const n = min(chunk, d - f0);
    for (let t = 0; t < rows; t += 2) {
      const second = t + 1 < rows;
      // the two centred rows' chunk, each value float32(x − mean) held as float64 (broadcast below by one load)
      const x0 = src + ((<usize>t * <usize>d + <usize>f0) << 2);
      const x1 = x0 + (<usize>d << 2);
      for (let f = 0; f < n; f++) {
        const m = load<f64>(mean + (<usize>(f0 + f) << 3));
        store<f64>(scratch + (<usize>f << 3), <f64><f32>(<f64>load<f32>(x0 + (<usize>f << 2)) - m));
        store<f64>(c1 + (<usize>f << 3), second ? <f64><f32>(<f64>load<f32>(x1 + (<usize>f << 2)) - m) : 0);
      }
      const r0 = acc + <usize>t * wRow;
      const r1 = r0 + wRow;
      for (let j = 0; j < k8; j += 8) {
        const s0 = r0 + (<usize>j << 3);
        const s1 = r1 + (<usize>j << 3);
        let a0 = v128.load(s0), a1 = v128.load(s0, 16), a2 = v128.load(s0, 32), a3 = v128.load(s0, 48);
        let b0 = f64x2.splat(0), b1 = b0, b2 = b0, b3 = b0;
        if (second) {
          b0 = v128.load(s1);
          b1 = v128.load(s1, 16);
          b2 = v128.load(s1, 32);
          b3 = v128.load(s1, 48);
        }
        let p = w + <usize>f0 * wRow + (<usize>j << 3);
        for (let f = 0; f < n; f++) {
          const x = v128.load64_splat(scratch + (<usize>f << 3));
          const y = v128.load64_splat(c1 + (<usize>f << 3));
          const w0 = v128.load(p);
          const w1 = v128.load(p, 16);
          const w2 = v128.load(p, 32);
          const w3 = v128.load(p, 48);
          a0 = f64x2.add(a0, f64x2.mul(x, w0));
          a1 = f64x2.add(a1, f64x2.mul(x, w1));
          a2 = f64x2.add(a2, f64x2.mul(x, w2));
          a3 = f64x2.add(a3, f64x2.mul(x, w3));
          b0 = f64x2.add(b0, f64x2.mul(y, w0));
          b1 = f64x2.add(b1, f64x2.mul(y, w1));
          b2 = f64x2.add(b2, f64x2.mul(y, w2));
          b3 = f64x2.add(b3, f64x2.mul(y, w3));
          p += wRow;
        }
        v128.store(s0, a0);
        v128.store(s0, a1, 16);
        v128.store(s0, a2, 32);
        v128.store(s0, a3, 48);
        if (second) {
          v128.store(s1, b0);
          v128.store(s1, b1, 16);
          v128.store(s1, b2, 32);
          v128.store(s1, b3, 48);
        }
      }
    }
  }
  for (let t = 0; t < rows; t++) {
    const sums = acc + <usize>t * wRow;
    const row = out + ((<usize>t * <usize>k) << 2);
    for (let c = 0; c < k; c++) {
      store<f32>(row + (<usize>c << 2), <f32>(load<f64>(sums + (<usize>c << 3)) * load<f64>(scale + (<usize>c << 3))));
    }
  }
}
