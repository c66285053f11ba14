/**
 * The PCA projection as a pool task: (x − mean)·Vᵀ·scale by the WebAssembly kernel projectRows, bit-identical to the
 * plain float64 loop (stages/pca.ts fits the components; this applies them).
 */
import { Arena } from '../runtime/wasm.js';

/** Rows per projection block copied into the kernels' memory. */
const PROJECT_BLOCK = 256;

/** Bytes of the weights one feature chunk of the kernel spans: half of a 512 KB L2 cache, so it stays there. */
const CHUNK_BYTES = 256 * 1024;

/** Features per chunk of the projection kernel for k8 weights a feature (at least 8, at most d). */
export function projectionChunk(d: number, k8: number): number {
  return Math.max(1, Math.min(d, Math.max(8, Math.floor(CHUNK_BYTES / (8 * k8)))));
}

/**
 * The projection kernel's weights: w[f·k8 + c] = float32(component c at feature f), k8 = k rounded up to 8, zero past
 * k. Made once per fit, not per task.
 */
export function projectionWeights(components: ArrayLike<number>, k: number, d: number): Float64Array {
  const k8 = (k + 7) & ~7;
  const w = new Float64Array(d * k8);
  for (let c = 0; c < k; c++) for (let f = 0; f < d; f++) w[f * k8 + c] = Math.fround(components[c * d + f]);
  return w;
}

/**
 * Pool task: (x − mean)·Vᵀ·scale for a chunk of rows, as rows×k Float32, by the WebAssembly kernel projectRows
 * (bit-identical to summing float32(x − mean)·float32(v) over the features in order in float64). `weights` come from
 * projectionWeights; `featureChunk` (features per kernel chunk) is projectionChunk's unless given (tests give small ones).
 */
export function pcaProjectTask(
  chunk: Float32Array,
  rows: number,
  d: number,
  mean: Float64Array,
  weights: Float64Array,
  k: number,
  scale: Float64Array,
  featureChunk?: number,
): Float32Array {
  const k8 = (k + 7) & ~7;
  const arena = new Arena();
  const src = arena.reserve(PROJECT_BLOCK * d * 4);
  const meanAt = arena.reserve(d * 8);
  const weightsAt = arena.reserve(d * k8 * 8);
  const scaleAt = arena.reserve(k8 * 8);
  const outAt = arena.reserve(PROJECT_BLOCK * k * 4);
  const chunkFeatures = featureChunk ?? projectionChunk(d, k8);
  const scratch = arena.reserve(2 * chunkFeatures * 8);
  const acc = arena.reserve(PROJECT_BLOCK * k8 * 8);
  arena.f64(meanAt, d).set(mean);
  arena.f64(weightsAt, d * k8).set(weights);
  arena.f64(scaleAt, k8).fill(0).set(scale);
  const srcView = arena.f32(src, PROJECT_BLOCK * d);
  const outView = arena.f32(outAt, PROJECT_BLOCK * k);
  const out = new Float32Array(rows * k);
  for (let r0 = 0; r0 < rows; r0 += PROJECT_BLOCK) {
    const m = Math.min(PROJECT_BLOCK, rows - r0);
    srcView.set(chunk.subarray(r0 * d, (r0 + m) * d));
    arena.kernels.projectRows(src, m, d, meanAt, weightsAt, k8, scaleAt, outAt, k, scratch, acc, chunkFeatures);
    out.set(outView.subarray(0, m * k), r0 * k);
  }
  return out;
}
