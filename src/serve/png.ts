import { createCanvas } from '@napi-rs/canvas';
import type { ImageShape } from '../linalg/shape.js';

const FASHION: ImageShape = { height: 28, width: 28, channels: 1 };

/**
 * An input row as the model sees it (0..255; Fashion-MNIST's 28×28 grey, light garment on black, or a photo model's
 * grey or RGB image of `shape`) as a PNG data URL.
 */
export async function pngDataUrl(pixels: Float32Array, shape: ImageShape = FASHION): Promise<string> {
  const { width, height, channels } = shape;
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let p = 0; p < width * height; p++) {
    const at = p * channels;
    image.data[4 * p] = byte(pixels[at]);
    image.data[4 * p + 1] = byte(pixels[channels === 3 ? at + 1 : at]);
    image.data[4 * p + 2] = byte(pixels[channels === 3 ? at + 2 : at]);
    image.data[4 * p + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  const png = await canvas.encode('png');
  return `data:image/png;base64,${png.toString('base64')}`;
}
