import { createRequire } from 'node:module';
import type { Matrix } from '../linalg/matrix.js';
import { createRng, deriveSeed } from '../util/rng.js';

/**
 * The `mljs` engine: ml-svm (simplified SMO, binary, full kernel matrix in memory), made multi-class by one-vs-one
 * voting here. Small data only; it serves as an independent check of the libsvm engine.
 */

interface KernelFunction {
  compute(x: ArrayLike<number>, y: ArrayLike<number>): number;
}

interface MlSvmOptions {
  C: number;
  tol: number;
  maxPasses: number;
  maxIterations: number;
  kernel: 'linear' | 'rbf' | KernelFunction;
  kernelOptions?: Record<string, number>;
  alphaTol: number;
  random: () => number;
  whitening: boolean;
}

interface MlSvm {
  train(features: number[][], labels: number[]): void;
  supportVectors(): number[];
  marginOne(features: number[], noWhitening?: boolean): number;
}

type MlSvmConstructor = new (options: MlSvmOptions) => MlSvm;

let ctor: MlSvmConstructor | null = null;
function mlSvm(): MlSvmConstructor {
  ctor ??= createRequire(import.meta.url)('ml-svm') as MlSvmConstructor;
  return ctor;
}

export interface MljsParams {
  kernel: 'linear' | 'rbf' | 'poly';
  C: number;
  gamma: number;
  degree: number;
  coef0: number;
  tolerance: number;
}

/** Largest number of rows one pair of classes may have: ml-svm keeps their n×n kernel matrix as nested arrays. */
export const MLJS_MAX_PAIR_ROWS = 3000;

/** Fixed seed for ml-svm's choice of second multiplier, one stream per pair, so fits repeat exactly. */
const SEED = 0x5f3759df;

export interface MljsMachine {
  a: number;
  b: number;
  svm: MlSvm;
  /** Support vectors as row indices of the training matrix. */
  sv: number[];
}

function kernelOptions(p: MljsParams): Pick<MlSvmOptions, 'kernel' | 'kernelOptions'> {
  switch (p.kernel) {
    case 'linear':
      return { kernel: 'linear' };
    case 'rbf':
      // ml-kernel's gaussian is exp(-‖x−y‖² / (2σ²)), so σ = √(1 / (2γ)) gives libsvm's exp(-γ‖x−y‖²).
      return { kernel: 'rbf', kernelOptions: { sigma: Math.sqrt(1 / (2 * p.gamma)) } };
    case 'poly': {
      // ml-kernel's own polynomial kernel is an ES module it cannot require(): give ml-svm libsvm's (γ x·y + r)^d.
      const { gamma, coef0, degree } = p;
      return {
        kernel: {
          compute(x, y) {
            let dot = 0;
            for (let i = 0; i < x.length; i++) dot += x[i] * y[i];
            return (gamma * dot + coef0) ** degree;
          },
        },
      };
    }
  }
}

function rowsOf(X: Matrix, indices: readonly number[]): number[][] {
  return indices.map((r) => Array.from(X.data.subarray(r * X.cols, (r + 1) * X.cols)));
}

/** One binary machine per pair of classes (ascending), class a labelled +1. */
export function fitMljs(X: Matrix, y: Uint8Array, classes: readonly number[], p: MljsParams): MljsMachine[] {
  const Svm = mlSvm();
  const byClass = new Map<number, number[]>(classes.map((c) => [c, []]));
  for (let i = 0; i < y.length; i++) byClass.get(y[i])!.push(i);
  const machines: MljsMachine[] = [];
  for (let i = 0; i < classes.length; i++) {
    for (let j = i + 1; j < classes.length; j++) {
      const a = classes[i];
      const b = classes[j];
      const rows = [...byClass.get(a)!, ...byClass.get(b)!];
      const labels = rows.map((_, k) => (k < byClass.get(a)!.length ? 1 : -1));
      const svm = new Svm({
        C: p.C,
        tol: p.tolerance,
        maxPasses: 10,
        maxIterations: 10000,
        alphaTol: 1e-6,
        random: createRng(deriveSeed(SEED, a, b)).float,
        whitening: false,
        ...kernelOptions(p),
      });
      try {
        svm.train(rowsOf(X, rows), labels);
      } catch (err) {
        throw new Error(`svm (engine mljs): training classes ${a} against ${b} failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      machines.push({ a, b, svm, sv: svm.supportVectors().map((k) => rows[k]) });
    }
  }
  return machines;
}

/** One-vs-one votes, as libsvm counts them: decision > 0 votes a, else b; ties go to the smaller class. */
export function predictMljs(machines: readonly MljsMachine[], classes: readonly number[], X: Matrix): Uint8Array {
  const out = new Uint8Array(X.rows);
  const position = new Map<number, number>(classes.map((c, i) => [c, i]));
  const votes = new Int32Array(classes.length);
  for (let r = 0; r < X.rows; r++) {
    const features = Array.from(X.data.subarray(r * X.cols, (r + 1) * X.cols));
    votes.fill(0);
    for (const m of machines) votes[position.get(m.svm.marginOne(features) > 0 ? m.a : m.b)!]++;
    let best = 0;
    for (let c = 1; c < classes.length; c++) if (votes[c] > votes[best]) best = c;
    out[r] = classes[best];
  }
  return out;
}

/** Support vectors per class: rows that are support vectors of any machine of the class. */
export function mljsSupportCounts(
  machines: readonly MljsMachine[],
  classes: readonly number[],
  y: Uint8Array,
): number[] {
  const sets = new Map<number, Set<number>>(classes.map((c) => [c, new Set<number>()]));
  for (const m of machines) for (const r of m.sv) sets.get(y[r])!.add(r);
  return classes.map((c) => sets.get(c)!.size);
}
