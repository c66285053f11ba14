import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';

/**
 * The WebAssembly SIMD kernels of src/wasm/kernels.ts (AssemblyScript, built to dist/wasm/kernels.wasm).
 * Pointers are byte offsets into `memory`; an Arena lays the regions out.
 */
export interface WasmKernels {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  packPairsI16(src: number, pairs: number, d4: number, D: number, dst: number, sums: number): number;
  gramPairsI16(P: number, pairs: number, d4: number, gram: number): void;
  packRowsF32(src: number, rows: number, d4: number, shift: number, dst: number, sums: number): void;
  gramRowsF32(X: number, rows: number, d4: number, gram: number): void;
  flushI32(src: number, dst: number, count: number): void;
  projectRows(
    src: number,
    rows: number,
    d: number,
    mean: number,
    w: number,
    k8: number,
    scale: number,
    out: number,
    k: number,
    scratch: number,
    acc: number,
    chunk: number,
  ): void;
  packCentred(src: number, rows: number, d: number, d4: number, mean: number, dst: number, rows4: number): void;
  packOctets(A: number, rows: number, l8: number, dst: number): void;
  roundToF32(A: number, count: number): void;
  productRows(X: number, rows4: number, d4: number, W: number, l8: number, Y: number): void;
  productColumns(X: number, rows: number, d4: number, Q: number, l8: number, Z: number): void;
  gramF64(A: number, rows: number, m4: number, G: number): void;
  mulF64(A: number, rows: number, m: number, lda: number, B: number, p8: number, C: number): void;
  kernelRow(
    X: number,
    d4: number,
    norms: number,
    i: number,
    from: number,
    to: number,
    kind: number,
    gamma: number,
    coef0: number,
    degree: number,
    out: number,
  ): void;
  packPanels(B: number, d: number, from: number, to: number, P: number): void;
  dotPanels(A: number, rows: number, d: number, P: number, panels: number, out: number, ldOut: number): void;
  accumulateMachines(K: number, C: number, lo: number, hi: number, m2: number, acc: number): void;
  rbfTile(tile: number, rows: number, n: number, ld: number, xNorms: number, svNorms: number, negGamma: number): void;
  expInPlace(values: number, n: number): void;
  kdSearch(
    tree: number,
    queries: number,
    nQuery: number,
    k: number,
    manhattan: number,
    outIndex: number,
    outDist: number,
    scratch: number,
  ): void;
  hogGradients(
    src: number,
    size: number,
    channels: number,
    covered: number,
    sqrtFirst: number,
    slots: number,
    planes: number,
    bins: number,
    mags: number,
    gxs: number,
    gys: number,
  ): number;
  hogBlocks(
    bins: number,
    mags: number,
    covered: number,
    cell: number,
    orientations: number,
    block: number,
    stride: number,
    norm: number,
    sums: number,
    hist: number,
    blockValues: number,
    out: number,
  ): void;
  lbpCodes(
    image: number,
    height: number,
    width: number,
    pad: number,
    P: number,
    offsets: number,
    fc: number,
    fr: number,
    padded: number,
    patterns: number,
    codes: number,
  ): void;
  treeScratchBytes(rows: number, features: number, classes: number): number;
  growTree(header: number, seed: number): void;
  symMatVecF64(U: number, n: number, x: number, y: number): void;
  symMatVecRowsF64(U: number, n: number, i0: number, i1: number, x: number, y: number): void;
  dotsF64(Q: number, m: number, stride: number, n: number, v: number, out: number): void;
  subtractCombinationF64(Q: number, m: number, stride: number, n: number, c: number, v: number): void;
  smoUpdateGradient(G: number, Y: number, Ki: number, Kj: number, ci: number, cj: number, n: number): void;
  smoAxpy(D: number, Y: number, K: number, c: number, from: number, to: number): void;
  smoDot(W: number, K: number, n: number): number;
  smoSelectI(G: number, Y: number, up: number, n: number): number;
  smoSelectJ(
    G: number,
    Y: number,
    low: number,
    QD: number,
    Ki: number,
    n: number,
    Gmax: number,
    qdi: number,
    tau: number,
    out: number,
  ): number;
}

const WASM_FILE = new URL('../../wasm/kernels.wasm', import.meta.url);
let instance: WasmKernels | undefined;

/** This thread's instance of the kernels, compiled on first use (each worker thread has its own memory). */
export function wasmKernels(): WasmKernels {
  instance ??= instantiateWasm<WasmKernels>(WASM_FILE);
  return instance;
}

let compiled: WebAssembly.Module | undefined;

/**
 * A new instance of the kernels with a memory of its own, for work that keeps data in kernel memory across an await
 * (symmetricTopEigenParallel's Krylov basis): while it waits, other work on this thread may lay out its own arena in
 * the thread's instance (wasmKernels).
 */
export function privateKernels(): WasmKernels {
  compiled ??= new WebAssembly.Module(readWasm(WASM_FILE));
  return new WebAssembly.Instance(compiled, {}).exports as unknown as WasmKernels;
}

function readWasm(file: URL): Buffer {
  try {
    return readFileSync(file);
  } catch {
    throw new Error(`WebAssembly kernels not built: ${fileURLToPath(file)} is missing (run \`npm run build\`)`);
  }
}

/** The exports of one of the built WebAssembly modules (dist/wasm/), instantiated on this thread. */
export function instantiateWasm<T>(file: URL): T {
  return new WebAssembly.Instance(new WebAssembly.Module(readWasm(file)), {}).exports as unknown as T;
}

/** The key given to the last arena made on this thread by `Arena.resident` (null when a plain arena came after it). */
let residentKey: string | null = null;

/** The most bytes a WebAssembly (32-bit) memory addresses: 65,536 pages of 64 KB. */
const MAX_KERNEL_BYTES = 2 ** 32;

/**
 * Regions of kernel memory laid out one after another (16-byte aligned) from the module's heap base, the memory grown
 * to fit. Typed views are taken after all regions are reserved (growing memory detaches earlier views).
 */
export class Arena {
  readonly kernels: WasmKernels;
  #next: number;

  constructor(kernels: WasmKernels = wasmKernels()) {
    this.kernels = kernels;
    this.#next = kernels.heapBase();
    residentKey = null;
  }

  /**
   * An arena for data that stays in kernel memory between tasks (a search index): `loaded` is true when the last arena
   * made on this thread was this key's and its data was marked copied (markResident), so regions reserved in the same
   * order still hold it.
   */
  static resident(key: string, kernels: WasmKernels = wasmKernels()): { arena: Arena; loaded: boolean } {
    const loaded = residentKey === key;
    const arena = new Arena(kernels);
    if (loaded) residentKey = key;
    return { arena, loaded };
  }

  /** Marks the data of `key` as copied into the regions of this arena (after the copy: a failed one stays unmarked). */
  static markResident(key: string): void {
    residentKey = key;
  }

  /** Reserves `bytes` and returns the region's offset. */
  reserve(bytes: number): number {
    const at = this.#next;
    // arithmetic, not a 32-bit mask: regions end past 2 GB
    const end = Math.ceil((at + bytes) / 16) * 16;
    if (!(end <= MAX_KERNEL_BYTES)) {
      throw new UserError(
        `kernel memory: ${((end - at) / 2 ** 30).toFixed(1)} GB more would pass the ${MAX_KERNEL_BYTES / 2 ** 30} GB a ` +
          'WebAssembly thread can address: use fewer rows (data.limit), features or union branches',
        1,
      );
    }
    this.#next = end;
    const memory = this.kernels.memory;
    const missing = this.#next - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    return at;
  }

  u8(at: number, length: number): Uint8Array {
    return new Uint8Array(this.kernels.memory.buffer, at, length);
  }

  f32(at: number, length: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, at, length);
  }

  f64(at: number, length: number): Float64Array {
    return new Float64Array(this.kernels.memory.buffer, at, length);
  }

  i32(at: number, length: number): Int32Array {
    return new Int32Array(this.kernels.memory.buffer, at, length);
  }
}
