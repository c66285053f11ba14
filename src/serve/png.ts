import { createCanvas } from '@napi-rs/canvas';
import { encodePng } from '../data/png.js';
import type { ImageShape } from '../linalg/shape.js';

const FASHION: ImageShape = { height: 28, width: 28, channels: 1 };

/**
 * An input row as the model sees it (0..255; Fashion-MNIST's 28×28 grey, light garment on black, or a photo model's
 * grey or RGB image of `shape`) as a PNG data URL. An RGB row becomes an RGB PNG (3 channels, the row's bytes as they
 * are); a grey one is drawn through a canvas (an RGBA PNG, as it always was).
 */
export async function pngDataUrl(pixels: Float32Array | Uint8Array, shape: ImageShape = FASHION): Promise<string> {
  const { width, height, channels } = shape;
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  if (channels === 3) {
    const bytes = pixels instanceof Uint8Array ? pixels : Uint8Array.from(pixels, byte);
    return `data:image/png;base64,${encodePng(width, height, bytes, 3).toString('base64')}`;
  }
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(width, height);
  for (let p = 0; p < width * height; p++) {
    const v = byte(pixels[p]);
    image.data[4 * p] = v;
    image.data[4 * p + 1] = v;
    image.data[4 * p + 2] = v;
    image.data[4 * p + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  const png = await canvas.encode('png');
  return `data:image/png;base64,${png.toString('base64')}`;
}
