/**
 * The normalize stage's kernel (normalize.ts), apart from the stage so that a pool worker loads it without the stage's
 * parameter schema (and zod).
 */
import type { NormalizeParams } from './normalize.js';

/** Pool task (and the inline path): rows [r0, r1) of `data` normalized into the same rows of `out`. */
export function normalizeRows(
  data: Float32Array,
  out: Float32Array,
  r0: number,
  r1: number,
  cols: number,
  method: NormalizeParams['method'],
  mean?: Float64Array,
  scale?: Float64Array,
): void {
  if (method === 'sqrt') {
    for (let i = r0 * cols; i < r1 * cols; i++) {
      if (!(data[i] >= 0))
        throw new Error(`normalize: method sqrt needs values ≥ 0, got ${data[i]} (row ${Math.floor(i / cols) + 1})`);
      out[i] = Math.sqrt(data[i] / 255);
    }
  } else if (method === 'minmax') {
    for (let i = r0 * cols; i < r1 * cols; i++) out[i] = data[i] / 255;
  } else if (method === 'standard') {
    for (let i = r0; i < r1; i++) {
      const off = i * cols;
      for (let j = 0; j < cols; j++) out[off + j] = (data[off + j] - mean![j]) * scale![j];
    }
  } else {
    for (let i = r0; i < r1; i++) {
      const off = i * cols;
      let ss = 0;
      for (let j = 0; j < cols; j++) ss += data[off + j] * data[off + j];
      const inv = ss > 0 ? 1 / Math.sqrt(ss) : 0;
      for (let j = 0; j < cols; j++) out[off + j] = data[off + j] * inv;
    }
  }
}
