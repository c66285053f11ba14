import { instantiateWasm } from '../runtime/wasm.js';

/** The photo kernels of src/wasm/photo.ts (AssemblyScript, built to dist/wasm/photo.wasm), one instance a thread. */
export interface PhotoKernels {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  unfilter(raw: number, stride: number, height: number, bpp: number): number;
  toRgba(
    raw: number,
    width: number,
    height: number,
    channels: number,
    palette: number,
    entries: number,
    out: number,
  ): number;
  photoStats(rgba: number, W: number, H: number, trim: number, near: number, out: number): void;
  negatedBox(rgba: number, W: number, H: number, background: number, trim: number, out: number): void;
  decodeScan(data: number, dataEnd: number, comps: number, n: number, mcusX: number, mcusY: number): number;
  idctPlane(plane: number, quant: number, blocksWide: number, blocksHigh: number, out: number, work: number): void;
  upsample(src: number, stride: number, w: number, h: number, fy: number, dst: number): void;
  yccToRgba(
    y: number,
    yStride: number,
    cb: number,
    cr: number,
    cStride: number,
    width: number,
    height: number,
    out: number,
  ): void;
  resizeArea(src: number, W: number, H: number, w: number, h: number, dst: number, scratch: number): void;
  cropGrey(
    rgba: number,
    W: number,
    x0: number,
    y0: number,
    bw: number,
    bh: number,
    inverted: number,
    background: number,
    gain: number,
    out: number,
  ): void;
}

/**
 * Photos over this many pixels are handled without the kernels (the canvas decodes them, JavaScript prepares them):
 * a kernel's memory never shrinks, and each thread has its own.
 */
export const KERNEL_PIXELS = 4_000_000;

let kernels: PhotoKernels | undefined;

/** This thread's photo kernels, with their memory grown to at least `bytes` from its start. */
export function photoKernels(bytes = 0): PhotoKernels {
  kernels ??= instantiateWasm<PhotoKernels>(new URL('../../wasm/photo.wasm', import.meta.url));
  const missing = bytes - kernels.memory.buffer.byteLength;
  if (missing > 0) kernels.memory.grow(Math.ceil(missing / 65536));
  return kernels;
}

/**
 * Where a photo's RGBA pixels go in kernel memory: decodePng leaves them there and the preparation's passes read them
 * there (no copy either way).
 */
export function kernelRgbaAt(): number {
  return (photoKernels().heapBase() + 15) & ~15;
}
