// AssemblyScript (re-exported by kernels.ts): the PCA projection (src/linalg/projection.ts).

/**
 * PCA projection of `rows` float32 rows at src (d wide): out[t][c] = float32(scale[c] · Σ_f float32(x[t][f] − mean[f]) ·
 * w[f][c]) for c < k, with w (d × k8 float64, k8 = k rounded up to 8, zero beyond k) holding float32 component values.
 * Each sum runs over f in order in float64, two components per lane pair, and every product of two float32 values is
 * exact in float64: the result is bit-identical to the plain JavaScript loop. `scratch` holds two centred rows (float64, 16·d bytes).
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
): void {
  const wRow = <usize>k8 << 3;
  const c1 = scratch + (<usize>d << 3);
  for (let t = 0; t < rows; t += 2) {
    const second = t + 1 < rows;
    // the two centred rows, each value float32(x − mean) held as float64 (broadcast below by one load)
    for (let f = 0; f < d; f++) {
      const m = load<f64>(mean + (<usize>f << 3));
      store<f64>(scratch + (<usize>f << 3), <f64><f32>(<f64>load<f32>(src + ((<usize>t * <usize>d + <usize>f) << 2)) - m));
      store<f64>(c1 + (<usize>f << 3), second ? <f64><f32>(<f64>load<f32>(src + ((<usize>(t + 1) * <usize>d + <usize>f) << 2)) - m) : 0);
    }
    for (let j = 0; j < k8; j += 8) {
      let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let b0 = a0, b1 = a0, b2 = a0, b3 = a0;
      let p = w + (<usize>j << 3);
      for (let f = 0; f < d; f++) {
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
      storeProjected(out + ((<usize>t * <usize>k) << 2), j, k, scale, a0, a1, a2, a3);
      if (second) storeProjected(out + ((<usize>(t + 1) * <usize>k) << 2), j, k, scale, b0, b1, b2, b3);
    }
  }
}

/** Writes components j..j+7 (those below k) of one output row: float32(sum · scale). */
@inline function storeProjected(row: usize, j: i32, k: i32, scale: usize, s0: v128, s1: v128, s2: v128, s3: v128): void {
  const n = min(8, k - j);
  for (let l = 0; l < n; l++) {
    const v = l < 2 ? s0 : l < 4 ? s1 : l < 6 ? s2 : s3;
    const sum = (l & 1) == 0 ? f64x2.extract_lane(v, 0) : f64x2.extract_lane(v, 1);
    store<f32>(row + (<usize>(j + l) << 2), <f32>(sum * load<f64>(scale + (<usize>(j + l) << 3))));
  }
}
