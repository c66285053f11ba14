import { crc32, deflateSync, inflateSync } from 'node:zlib';
import { KERNEL_PIXELS, kernelRgbaAt, photoKernels } from './photo-kernels.js';

/**
 * PNG files read and written without the canvas: the common photo PNG (8 bits a channel, not interlaced, no colour
 * profile, chunks in order) is decoded here to the same RGBA bytes the canvas gives, in about half the time. Every
 * other file is left to the canvas (decodePng answers null).
 */

/** A decoded image: `rgba` holds 4 bytes a pixel, row-major, as the canvas's getImageData gives them. */
export interface Rgba {
  width: number;
  height: number;
  rgba: Uint8Array | Uint8ClampedArray;
}

/**
 * What the canvas gives back for a channel value c of a pixel with alpha a (0..255), at `256 * a + c`: it keeps
 * pixels premultiplied by alpha, so a translucent pixel's colour comes back rounded. Made by the caller from the canvas
 * itself (image.ts), so the two paths agree whatever the canvas's rounding is.
 */
export type AlphaTable = Uint8Array;

/** Chunks that change how the canvas renders the pixels (colour profile, gamma, primaries) or that this reader does not follow. */
const LEFT_TO_THE_CANVAS = new Set(['iCCP', 'gAMA', 'cHRM']);

/** Channels a pixel has, by PNG colour type (grey, -, RGB, palette index, grey + alpha, -, RGBA). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * Decodes a PNG file that imageDamage (image-size.ts) has passed, or answers null when the file is one the canvas
 * should read: a bit depth other than 8, interlacing, a colour profile or gamma, a transparent colour key, a palette
 * index out of range, or compressed data that does not inflate to exactly the rows the header promises.
 * Translucent pixels go through `alphaTable` (null: such files are left to the canvas too). The pixels are left in the
 * photo kernels' memory, where the preparation reads them: `rgba` is a view of it, valid until the next use of the
 * photo kernels on this thread (copy it to keep it).
 */
/** A file whose structure looked whole but whose image data is not: the caller names the file. */
export class ImageDamage extends Error {}

export function decodePng(bytes: Uint8Array, alphaTable: AlphaTable | null): Rgba | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 33 || b.readUInt32BE(0) !== 0x89504e47 || b.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  const [depth, colourType, compression, filter, interlace] = b.subarray(24, 29);
  const channels = CHANNELS[colourType];
  if (depth !== 8 || !channels || compression !== 0 || filter !== 0 || interlace !== 0) return null;
  if (width === 0 || height === 0) return null;
  let palette: Uint8Array | null = null;
  let paletteAlpha: Uint8Array | null = null;
  const data: Buffer[] = [];
  // chunks in the order the format sets (IHDR once; PLTE once, before IDAT; tRNS after PLTE, before IDAT): a file out
  // of order is left to the canvas, whose reader decides what it makes of it
  for (let at = 8, first = true; at + 12 <= b.length; first = false) {
    const length = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    const body = b.subarray(at + 8, at + 8 + length);
    at += 12 + length;
    if (type === 'IDAT') data.push(body);
    else if (type === 'IEND') break;
    else if (type === 'IHDR' && first) continue;
    else if (type === 'PLTE') {
      // a palette is what a palette image indexes; in an RGB file it is only a suggestion, ignored as the canvas does
      if (colourType === 0 || colourType === 4 || palette || data.length > 0) return null;
      if (colourType === 3) palette = body;
    } else if (type === 'tRNS') {
      // for RGB and grey it is a transparent colour key, not read here
      if (colourType !== 3 || !palette || paletteAlpha || data.length > 0) return null;
      paletteAlpha = body;
    } else if (LEFT_TO_THE_CANVAS.has(type) || (type.charCodeAt(0) & 0x20) === 0) {
      return null; // a colour chunk, or a critical chunk this reader does not know (or a second IHDR)
    }
  }
  if (colourType === 3 && (!palette || palette.length % 3 !== 0 || palette.length > 768)) return null;
  if (paletteAlpha && palette && paletteAlpha.length > palette.length / 3) return null;

  const stride = width * channels;
  const expected = height * (stride + 1);
  if (width * height > KERNEL_PIXELS) return null;
  let raw: Buffer;
  try {
    // never more than the rows the header promises (a small file can inflate to gigabytes: a RangeError, caught)
    raw = inflateSync(data.length === 1 ? data[0] : Buffer.concat(data), {
      chunkSize: Math.max(64, expected),
      maxOutputLength: Math.max(64, expected),
    });
  } catch (err) {
    // the compressed rows end before their stream does: a PNG cut short (its chunks patched to look whole)
    if ((err as NodeJS.ErrnoException).code === 'Z_BUF_ERROR') throw new ImageDamage('truncated PNG (its image data ends early)');
    return null;
  }
  // fewer rows than the header promises: a PNG cut short
  if (raw.length < expected) throw new ImageDamage('truncated PNG (its image data ends early)');
  if (raw.length !== expected) return null;

  // kernel memory: the rows, the palette (256 RGBA entries), the RGBA pixels
  const rgbaAt = kernelRgbaAt();
  const rawAt = (rgbaAt + 4 * width * height + 15) & ~15;
  const paletteAt = (rawAt + expected + 15) & ~15;
  const k = photoKernels(paletteAt + 1024);
  const memory = new Uint8Array(k.memory.buffer);
  memory.set(raw, rawAt);
  let entries = 0;
  if (palette) {
    entries = palette.length / 3;
    for (let i = 0; i < entries; i++) {
      memory.set(palette.subarray(3 * i, 3 * i + 3), paletteAt + 4 * i);
      memory[paletteAt + 4 * i + 3] = paletteAlpha && i < paletteAlpha.length ? paletteAlpha[i] : 255;
    }
  }
  if (!k.unfilter(rawAt, stride, height, channels)) return null;
  const translucent = k.toRgba(rawAt, width, height, channels, palette ? paletteAt : 0, entries, rgbaAt);
  if (translucent < 0) return null;
  const rgba = new Uint8ClampedArray(k.memory.buffer, rgbaAt, 4 * width * height);
  if (translucent > 0) {
    if (!alphaTable) return null;
    for (let p = 0; p < rgba.length; p += 4) {
      const a = rgba[p + 3];
      if (a === 255) continue;
      const row = 256 * a;
      rgba[p] = alphaTable[row + rgba[p]];
      rgba[p + 1] = alphaTable[row + rgba[p + 1]];
      rgba[p + 2] = alphaTable[row + rgba[p + 2]];
    }
  }
  return { width, height, rgba };
}

/**
 * A PNG file of `width` × `height` pixels of `channels` bytes each (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA), 8 bits a
 * channel, rows unfiltered.
 */
export function encodePng(width: number, height: number, pixels: Uint8Array, channels: 1 | 2 | 3 | 4): Buffer {
  const stride = width * channels;
  if (pixels.length !== stride * height) throw new Error(`encodePng: ${pixels.length} bytes for ${width}×${height}×${channels}`);
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = [0, 0, 4, 2, 6][channels];
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A PNG chunk: length, type, body and the CRC of type and body. */
export function chunk(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  body.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}
