import { createCanvas } from '@napi-rs/canvas';
import { IMAGE_SIDE, PIXELS } from '../data/fashion-mnist.js';

/** A 28×28 image (0..255, light garment on black, as the model sees it) as a PNG data URL. */
export async function pngDataUrl(pixels: Float32Array): Promise<string> {
  const canvas = createCanvas(IMAGE_SIDE, IMAGE_SIDE);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(IMAGE_SIDE, IMAGE_SIDE);
  for (let p = 0; p < PIXELS; p++) {
    const v = Math.max(0, Math.min(255, Math.round(pixels[p])));
    image.data[4 * p] = v;
    image.data[4 * p + 1] = v;
    image.data[4 * p + 2] = v;
    image.data[4 * p + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  const png = await canvas.encode('png');
  return `data:image/png;base64,${png.toString('base64')}`;
}
