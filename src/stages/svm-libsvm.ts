import { createRequire } from 'node:module';

/**
 * libsvm (3.22, as compiled to WebAssembly by libsvm-js 0.2.1) driven at the level of its exported C functions.
 *
 * Why not libsvm-js's SVM class: its serializeModel() writes gamma and rho with 6 significant digits (`%g`), and
 * SVM.load() passes the model text through the WebAssembly stack (5 MB), which a 60k-row model overflows. So training
 * runs one binary C-SVC per pair of classes (what libsvm's own one-vs-one does inside svm_train, pair by pair, on the
 * same rows in the same order, hence the same alphas), the fitted numbers are read exactly from the wasm heap, and we
 * write the multi-class model in libsvm's text format ourselves with round-trip precision. The stage predicts natively
 * from the same numbers (src/linalg/svm-predict.ts); libsvm's own predict (predictRows, Svm.predictLibsvm) loads that
 * text with libsvm's loader from a heap buffer, as the check. Every exported task here is a pure function of its
 * arguments, so it can run on any worker of the pool, or inline, with the same result.
 *
 * The wasm heap is never garbage collected: every model, problem and buffer allocated here is freed in a `finally`.
 */

interface LibsvmModule {
  HEAPU8: Uint8Array;
  HEAP32: Int32Array;
  HEAPF64: Float64Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  _create_svm_nodes(rows: number, cols: number): number;
  _add_instance(problem: number, features: number, cols: number, label: number, index: number): void;
  _libsvm_train_problem(problem: number, command: number): number;
  _free_problem(problem: number): void;
  _svm_free_model(model: number): void;
  _deserialize_model(text: number): number;
  _libsvm_predict_one(model: number, features: number, cols: number): number;
}

/** The module inside a plain object: the Emscripten module has a then() method, so it must not be awaited itself. */
interface Loaded {
  module: LibsvmModule;
}

let loading: Promise<Loaded> | null = null;

/** Messages the Emscripten loader prints when Node's fetch() cannot read a file path; it then loads the file itself. */
const LOADER_NOTICES = [/^wasm streaming compile failed/, /^falling back to ArrayBuffer instantiation/];

/**
 * Loads libsvm-js once per thread, quietly. Its Emscripten runtime binds console.warn while loading and, in Node,
 * installs a process-wide 'unhandledRejection' handler that calls process.exit(1); we keep the loader's harmless
 * notices off the console (other messages still go through) and remove that handler again.
 */
export function libsvm(): Promise<Loaded> {
  loading ??= load();
  return loading;
}

async function load(): Promise<Loaded> {
  const require = createRequire(import.meta.url);
  const handlersBefore = new Set(process.listeners('unhandledRejection'));
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (args.length === 1 && typeof args[0] === 'string' && LOADER_NOTICES.some((re) => re.test(args[0] as string)))
      return;
    warn.apply(console, args);
  };
  let ready: Promise<unknown>;
  let mod: LibsvmModule;
  try {
    ready = require('libsvm-js') as Promise<unknown>;
    // The Emscripten module wasm.js wraps: the same cached instance, whose exports are the C functions.
    mod = require('libsvm-js/out/wasm/libsvm.js') as LibsvmModule;
  } finally {
    console.warn = warn;
    for (const handler of process.listeners('unhandledRejection')) {
      if (!handlersBefore.has(handler)) process.removeListener('unhandledRejection', handler);
    }
  }
  await ready;
  return { module: mod };
}

/** libsvm aborts with a string; make it an Error that says what to try. */
function wasmError(err: unknown, what: string): Error {
  if (err instanceof Error) return err;
  const text = String(err);
  const hint = /enlarge memory|Cannot enlarge|OOM|abort/i.test(text)
    ? ' (the WebAssembly heap is limited to 2 GB per thread: lower cache_mb or use fewer rows/features)'
    : '';
  return new Error(`svm: libsvm failed while ${what}: ${text}${hint}`);
}

function cString(M: LibsvmModule, text: string): number {
  const bytes = Buffer.from(text, 'latin1');
  const ptr = M._malloc(bytes.length + 1);
  if (ptr === 0) throw new Error('svm: out of WebAssembly memory');
  M.HEAPU8.set(bytes, ptr);
  M.HEAPU8[ptr + bytes.length] = 0;
  return ptr;
}

/** Byte offsets in libsvm 3.22's structs as compiled to wasm32 (checked against known values on every read). */
const MODEL = {
  svmType: 0,
  kernelType: 4,
  gamma: 16,
  C: 48,
  nrClass: 96,
  l: 100,
  svCoef: 108,
  rho: 112,
  svIndices: 124,
  label: 128,
  nSV: 132,
} as const;

export const KERNEL_CODES = { linear: 0, poly: 1, rbf: 2 } as const;
export type LibsvmKernel = keyof typeof KERNEL_CODES;

export interface LibsvmParams {
  kernel: LibsvmKernel;
  C: number;
  /** Resolved (a number, never 'scale'/'auto'). */
  gamma: number;
  degree: number;
  coef0: number;
  tolerance: number;
  cacheMb: number;
  /** native engine: the most solver iterations per machine (default libsvm's bound). */
  maxIterations?: number;
}

/** libsvm's command line for a C-SVC with these params, shrinking on, quiet. */
export function trainCommand(p: LibsvmParams): string {
  const command =
    `-s 0 -t ${KERNEL_CODES[p.kernel]} -d ${p.degree} -g ${p.gamma} -r ${p.coef0} -c ${p.C} ` +
    `-m ${p.cacheMb} -e ${p.tolerance} -h 1 -q 1`;
  // libsvm-js copies the command into a 256-byte buffer.
  if (command.length > 250) throw new Error(`svm: libsvm command too long: ${command}`);
  return command;
}

/** One binary machine: class `a` (decision > 0) against class `b`. */
export interface PairModel {
  a: number;
  b: number;
  rho: number;
  /** Support vectors as row indices into the full training matrix: rows of class a first, each part ascending. */
  sv: Int32Array;
  /** How many of `sv` are rows of class a. */
  countA: number;
  /** y·alpha per support vector, in the order of `sv`. */
  coef: Float64Array;
}

/**
 * Trains the binary C-SVC of class a against class b on the rows of X labelled a or b, taken as libsvm's one-vs-one
 * does: the rows of a in their order, then the rows of b. A pool task: X is shared memory, the result is plain data.
 */
export async function trainPair(
  X: Float32Array,
  cols: number,
  y: Uint8Array,
  a: number,
  b: number,
  params: LibsvmParams,
): Promise<PairModel> {
  const M = (await libsvm()).module;
  const rows: number[] = [];
  for (let i = 0; i < y.length; i++) if (y[i] === a) rows.push(i);
  const countA = rows.length;
  for (let i = 0; i < y.length; i++) if (y[i] === b) rows.push(i);
  if (countA === 0 || countA === rows.length)
    throw new Error(`svm: classes ${a} and ${b} both need rows to train a pair`);

  let problem = 0;
  let buffer = 0;
  let cmd = 0;
  let model = 0;
  try {
    problem = M._create_svm_nodes(rows.length, cols);
    buffer = M._malloc(8 * Math.max(1, cols));
    cmd = cString(M, trainCommand(params));
    if (problem === 0 || buffer === 0) throw new Error('out of WebAssembly memory');
    const heap = M.HEAPF64; // no allocation happens inside the loop
    for (let k = 0; k < rows.length; k++) {
      const from = rows[k] * cols;
      heap.set(X.subarray(from, from + cols), buffer / 8);
      M._add_instance(problem, buffer, cols, k < countA ? a : b, k);
    }
    model = M._libsvm_train_problem(problem, cmd);
    if (model === 0) throw new Error('svm_train returned no model');

    const H32 = M.HEAP32;
    const F64 = M.HEAPF64;
    const at32 = (off: number) => H32[(model + off) >> 2];
    const nrClass = at32(MODEL.nrClass);
    const labelPtr = at32(MODEL.label);
    if (
      at32(MODEL.svmType) !== 0 ||
      at32(MODEL.kernelType) !== KERNEL_CODES[params.kernel] ||
      F64[(model + MODEL.gamma) >> 3] !== params.gamma ||
      F64[(model + MODEL.C) >> 3] !== params.C ||
      nrClass !== 2 ||
      H32[labelPtr >> 2] !== a ||
      H32[(labelPtr >> 2) + 1] !== b
    ) {
      throw new Error('unexpected model layout (libsvm-js version other than 0.2.1?)');
    }
    const l = at32(MODEL.l);
    const rho = F64[at32(MODEL.rho) >> 3];
    const svOfA = H32[at32(MODEL.nSV) >> 2];
    const coefPtr = H32[at32(MODEL.svCoef) >> 2];
    const coef = Float64Array.from(F64.subarray(coefPtr >> 3, (coefPtr >> 3) + l));
    const idxPtr = at32(MODEL.svIndices);
    const sv = new Int32Array(l);
    for (let k = 0; k < l; k++) sv[k] = rows[H32[(idxPtr >> 2) + k] - 1];
    return { a, b, rho, sv, countA: svOfA, coef };
  } catch (err) {
    throw wasmError(err, `training classes ${a} against ${b}`);
  } finally {
    if (model !== 0) M._svm_free_model(model);
    if (problem !== 0) M._free_problem(problem);
    if (buffer !== 0) M._free(buffer);
    if (cmd !== 0) M._free(cmd);
  }
}

/**
 * Predicts rows [start, end) of X with a model in libsvm's text format (ASCII bytes). A pool task: the model is
 * loaded into this thread's wasm heap for the call and freed at the end.
 */
export async function predictRows(
  model: Uint8Array,
  X: Float32Array,
  cols: number,
  start: number,
  end: number,
): Promise<Uint8Array> {
  const M = (await libsvm()).module;
  let text = 0;
  let loaded = 0;
  let buffer = 0;
  try {
    text = M._malloc(model.length + 1);
    if (text === 0) throw new Error('out of WebAssembly memory');
    M.HEAPU8.set(model, text);
    M.HEAPU8[text + model.length] = 0;
    loaded = M._deserialize_model(text);
    M._free(text);
    text = 0;
    if (loaded === 0) throw new Error('libsvm could not read the model');
    buffer = M._malloc(8 * Math.max(1, cols));
    const out = new Uint8Array(end - start);
    for (let r = start; r < end; r++) {
      // predict_one allocates, which may grow (and so replace) the heap: read the view every row.
      M.HEAPF64.set(X.subarray(r * cols, (r + 1) * cols), buffer >> 3);
      out[r - start] = M._libsvm_predict_one(loaded, buffer, cols);
    }
    return out;
  } catch (err) {
    throw wasmError(err, 'predicting');
  } finally {
    if (text !== 0) M._free(text);
    if (loaded !== 0) M._svm_free_model(loaded);
    if (buffer !== 0) M._free(buffer);
  }
}
