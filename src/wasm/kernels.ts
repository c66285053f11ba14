// AssemblyScript, compiled by `asc` (package.json "build:wasm") to dist/wasm/kernels.wasm and loaded by
// src/runtime/wasm.ts. Pointers are byte offsets into this module's memory, laid out by the JavaScript side.
// The kernels live in a file per concept; this entry re-exports them, and the module's exports are these names.

/** First byte the JavaScript side may use. */
export function heapBase(): usize {
  return (__heap_base + 15) & ~15;
}

export { packPairsI16, gramPairsI16, packRowsF32, gramRowsF32, flushI32 } from './gram';
export { projectRows } from './projection';
export { packCentred, packOctets, roundToF32, productRows, productColumns, gramF64, mulF64 } from './gemm';
export { kernelRow } from './kernel-row';
export { smoUpdateGradient, smoAxpy, smoDot, smoSelectI, smoSelectJ } from './smo';
export { packPanels, dotPanels } from './panels';
export { accumulateMachines } from './machines';
export { rbfTile, expInPlace } from './exp';
export { kdSearch } from './kd-search';
export { symMatVecF64, symMatVecRowsF64, dotsF64, subtractCombinationF64 } from './dense';
export { growTree, treeScratchBytes } from './forest';
export { lbpCodes } from './lbp';
export { hogGradients, hogBlocks } from './hog';
