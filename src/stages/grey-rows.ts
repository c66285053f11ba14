/**
 * RGB to grey, the kernel of the grey stage (grey.ts) and of stages that take RGB images as grey (lbp), apart from the
 * stage so that a pool worker loads it without a parameter schema (and zod).
 */

/** bt709: scikit-image's rgb2gray; bt601: Pillow's convert('L') before its rounding. */
const WEIGHTS = { bt709: [0.2125, 0.7154, 0.0721], bt601: [0.299, 0.587, 0.114] } as const;

/** RGB values (channels interleaved) to grey values, one per pixel of `out`: a weighted sum in float64. */
export function greyPixels(
  rgb: ArrayLike<number>,
  out: Float32Array,
  weights: keyof typeof WEIGHTS = 'bt709',
): Float32Array {
  const [wr, wg, wb] = WEIGHTS[weights];
  for (let p = 0, i = 0; p < out.length; p++, i += 3) out[p] = wr * rgb[i] + wg * rgb[i + 1] + wb * rgb[i + 2];
  return out;
}
