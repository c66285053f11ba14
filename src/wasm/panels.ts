// AssemblyScript (re-exported by kernels.ts): dot products against packed panels (SVM predict,
// src/linalg/svm-predict.ts). A panel holds 8 rows of B transposed in float64: panel p, feature f, row r at
// P + ((p·d + f)·8 + r)·8. One feature of a query, broadcast, meets the same feature of eight rows, so each sum runs
// over f in order in float64 and every product of two float32 values is exact: the result is bit-identical to the
// plain loop (linalg/kernels.ts dotBlock), whatever the blocking.

/**
 * Packs rows [from, to) of B (float32, d wide, row-major) into panels at P (float64), rows past `to` in the last panel
 * zero. Panel count: ceil((to − from) / 8).
 */
export function packPanels(B: usize, d: i32, from: i32, to: i32, P: usize): void {
  const panels = (to - from + 7) >> 3;
  for (let p = 0; p < panels; p++) {
    for (let r = 0; r < 8; r++) {
      const row = from + p * 8 + r;
      const dst = P + ((<usize>p * <usize>d) << 6) + (<usize>r << 3);
      if (row < to) {
        const src = B + ((<usize>row * <usize>d) << 2);
        for (let f = 0; f < d; f++) store<f64>(dst + (<usize>f << 6), <f64>load<f32>(src + (<usize>f << 2)));
      } else {
        for (let f = 0; f < d; f++) store<f64>(dst + (<usize>f << 6), 0);
      }
    }
  }
}

/**
 * out[q·ldOut + p·8 + r] = Σ_f A[q][f]·B_p[f][r] for queries q < rows (float32, d wide, row-major at A) and panels
 * p < panels at P: two queries by eight panel rows at a time.
 */
export function dotPanels(A: usize, rows: i32, d: i32, P: usize, panels: i32, out: usize, ldOut: i32): void {
  const rowBytes = <usize>d << 2;
  const panelBytes = <usize>d << 6;
  const ld = <usize>ldOut << 3;
  for (let q = 0; q < rows; q += 2) {
    const a = A + <usize>q * rowBytes;
    const second = q + 1 < rows;
    const b = second ? a + rowBytes : a;
    for (let p = 0; p < panels; p++) {
      let x0 = f64x2.splat(0), x1 = x0, x2 = x0, x3 = x0;
      let y0 = x0, y1 = x0, y2 = x0, y3 = x0;
      let w = P + <usize>p * panelBytes;
      for (let f: usize = 0; f < rowBytes; f += 4) {
        const u = f64x2.splat(<f64>load<f32>(a + f));
        const v = f64x2.splat(<f64>load<f32>(b + f));
        const w0 = v128.load(w);
        const w1 = v128.load(w, 16);
        const w2 = v128.load(w, 32);
        const w3 = v128.load(w, 48);
        x0 = f64x2.add(x0, f64x2.mul(u, w0));
        x1 = f64x2.add(x1, f64x2.mul(u, w1));
        x2 = f64x2.add(x2, f64x2.mul(u, w2));
        x3 = f64x2.add(x3, f64x2.mul(u, w3));
        y0 = f64x2.add(y0, f64x2.mul(v, w0));
        y1 = f64x2.add(y1, f64x2.mul(v, w1));
        y2 = f64x2.add(y2, f64x2.mul(v, w2));
        y3 = f64x2.add(y3, f64x2.mul(v, w3));
        w += 64;
      }
      const o = out + <usize>q * ld + (<usize>p << 6);
      v128.store(o, x0);
      v128.store(o, x1, 16);
      v128.store(o, x2, 32);
      v128.store(o, x3, 48);
      if (second) {
        v128.store(o + ld, y0);
        v128.store(o + ld, y1, 16);
        v128.store(o + ld, y2, 32);
        v128.store(o + ld, y3, 48);
      }
    }
  }
}
