import type { SvmModelParts } from '../linalg/svm-predict.js';
import type { LibsvmKernel, LibsvmParams, PairModel } from './svm-libsvm.js';

/** Assembling libsvm's one-vs-one multi-class model from the binary machines trained pair by pair (svm-libsvm.ts). */

const KERNEL_NAMES: Record<LibsvmKernel, string> = { linear: 'linear', poly: 'polynomial', rbf: 'rbf' };

/**
 * The one-vs-one multi-class model from the binary machines of every pair of classes (classes ascending; pairs (i, j),
 * i < j, in libsvm's order), as the arrays of libsvm's model (support vectors in class order, sv_coef flattened, ρ per
 * pair) that the native predict takes and modelText writes out. Each class lists the rows that are support vectors in
 * any of its machines (ascending), with coefficient 0 in the machines where they are not: exactly the model svm_train
 * builds.
 */
export function buildModelParts(
  X: Float32Array,
  cols: number,
  classes: readonly number[],
  pairs: readonly PairModel[],
  p: LibsvmParams,
): { nSupport: number[]; parts: SvmModelParts } {
  const k = classes.length;
  const position = new Map<number, number>(classes.map((c, i) => [c, i]));
  const pairAt = (i: number, j: number) => i * k - (i * (i + 1)) / 2 + (j - i - 1);
  const ordered: PairModel[] = new Array((k * (k - 1)) / 2);
  for (const m of pairs) {
    const i = position.get(m.a)!;
    const j = position.get(m.b)!;
    if (!(i < j)) throw new Error(`svm: pair ${m.a}/${m.b} is not in ascending class order`);
    ordered[pairAt(i, j)] = m;
  }
  // Support vectors per class: the union over that class's machines, ascending by row.
  const perClass: number[][] = classes.map(() => []);
  const seen = new Set<number>();
  for (let i = 0; i < k; i++) {
    seen.clear();
    for (let j = 0; j < k; j++) {
      if (j === i) continue;
      const m = i < j ? ordered[pairAt(i, j)] : ordered[pairAt(j, i)];
      // m lists a's support vectors first (countA of them), then b's.
      const [from, to] = m.a === classes[i] ? [0, m.countA] : [m.countA, m.sv.length];
      for (let n = from; n < to; n++) seen.add(m.sv[n]);
    }
    perClass[i] = [...seen].sort((u, v) => u - v);
  }
  const offset: number[] = [];
  let total = 0;
  for (let i = 0; i < k; i++) {
    offset.push(total);
    total += perClass[i].length;
  }
  // sv_coef[k-1][total]: for pair (i, j), column j-1 holds class i's coefficients and column i holds class j's.
  const coef = Array.from({ length: k - 1 }, () => new Float64Array(total));
  const slot = new Map<number, number>();
  for (let i = 0; i < k; i++) perClass[i].forEach((r, n) => slot.set(r, offset[i] + n));
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      const m = ordered[pairAt(i, j)];
      for (let n = 0; n < m.sv.length; n++) {
        const s = slot.get(m.sv[n])!;
        if (s < offset[j]) coef[j - 1][s] = m.coef[n];
        else coef[i][s] = m.coef[n];
      }
    }
  }
  // The same numbers for the native predict (svm-predict.ts): what libsvm reads back from the text above.
  const sv = new Float32Array(total * cols);
  let row = 0;
  for (let i = 0; i < k; i++) {
    for (const r of perClass[i]) sv.set(X.subarray(r * cols, (r + 1) * cols), cols * row++);
  }
  const flatCoef = new Float64Array((k - 1) * total);
  coef.forEach((column, c) => flatCoef.set(column, c * total));
  const nSupport = perClass.map((s) => s.length);
  const parts: SvmModelParts = {
    kernel: p.kernel,
    gamma: p.gamma,
    coef0: p.coef0,
    degree: p.degree,
    labels: [...classes],
    nSupport,
    sv,
    features: cols,
    coef: flatCoef,
    rho: Float64Array.from(ordered, (m) => m.rho),
  };
  return { nSupport, parts };
}

/**
 * The model in libsvm's model-file format from its arrays (numbers written so that libsvm reads back the same doubles): support vectors (zeros left out) in class order, each after
 * its k − 1 coefficients. Saved models keep only the arrays and rebuild the text with this.
 */
export function modelText(parts: SvmModelParts): string {
  const k = parts.labels.length;
  const total = parts.nSupport.reduce((s, n) => s + n, 0);
  const cols = parts.features;
  const header = [
    'svm_type c_svc',
    `kernel_type ${KERNEL_NAMES[parts.kernel]}`,
    ...(parts.kernel === 'poly' ? [`degree ${parts.degree}`] : []),
    ...(parts.kernel !== 'linear' ? [`gamma ${num(parts.gamma)}`] : []),
    ...(parts.kernel === 'poly' ? [`coef0 ${num(parts.coef0)}`] : []),
    `nr_class ${k}`,
    `total_sv ${total}`,
    `rho ${Array.from(parts.rho, num).join(' ')}`,
    `label ${parts.labels.join(' ')}`,
    `nr_sv ${parts.nSupport.join(' ')}`,
    'SV',
  ];
  const lines: string[] = [header.join('\n')];
  for (let s = 0; s < total; s++) {
    let line = '';
    for (let c = 0; c < k - 1; c++) line += num(parts.coef[c * total + s]) + ' ';
    const from = s * cols;
    for (let f = 0; f < cols; f++) {
      const v = parts.sv[from + f];
      if (v !== 0) line += `${f + 1}:${num(v)} `;
    }
    lines.push(line);
  }
  return lines.join('\n') + '\n';
}

/** Shortest text that reads back as the same double ("-0" for negative zero, which libsvm reads as 0 anyway). */
function num(x: number): string {
  return Object.is(x, -0) ? '0' : String(x);
}
