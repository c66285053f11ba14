// AssemblyScript (re-exported by kernels.ts): the one-vs-one machines' sums of SVM predict
// (src/linalg/svm-predict.ts).

/**
 * SVM one-vs-one sums for one test row and one class's support vectors s in [lo, hi): acc[m] += C[s][m]·K[s] for the
 * machines m < m2 (m2 even; C holds the coefficients transposed, m2 per support vector, float64; K the kernel values,
 * float64). Sequential over s for each machine: the plain loop's sums, bit for bit.
 */
export function accumulateMachines(K: usize, C: usize, lo: i32, hi: i32, m2: i32, acc: usize): void {
  const stride = <usize>m2 << 3;
  for (let m: usize = 0; m < stride; m += 32) {
    const four = m + 16 < stride;
    let a0 = v128.load(acc + m);
    let a1 = four ? v128.load(acc + m, 16) : f64x2.splat(0);
    let c = C + <usize>lo * stride + m;
    for (let s = lo; s < hi; s++) {
      const k = f64x2.splat(load<f64>(K + (<usize>s << 3)));
      a0 = f64x2.add(a0, f64x2.mul(v128.load(c), k));
      if (four) a1 = f64x2.add(a1, f64x2.mul(v128.load(c, 16), k));
      c += stride;
    }
    v128.store(acc + m, a0);
    if (four) v128.store(acc + m, a1, 16);
  }
}
