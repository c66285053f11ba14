import type { Sharp, SharpOptions } from 'sharp';
import type { ImageShape } from '../linalg/shape.js';
import { DataError } from './errors.js';
import { jpegScanCutShort } from './jpeg.js';

/** How a photo becomes a row (a pipeline file's `data.image`; model files keep it). */
export interface PhotoSpec {
  width: number;
  height: number;
  channels: 1 | 3;
  /** fill: stretched to the size; cover: the centre cut to the aspect, then resized; contain: inside, white bars. */
  fit: 'fill' | 'cover' | 'contain';
}

export const DEFAULT_PHOTO_SPEC: PhotoSpec = Object.freeze({ width: 64, height: 64, channels: 3, fit: 'fill' });

/** The shape of the rows a spec gives. */
export function photoShape(spec: PhotoSpec): ImageShape {
  return { height: spec.height, width: spec.width, channels: spec.channels };
}

/** Photos larger than this are refused before decoding (a 12 MP phone photo is well inside; a pixel bomb is not). */
export const MAX_DECODED_PIXELS = 100_000_000;

type SharpFactory = (input: Uint8Array, options: SharpOptions) => Sharp;
let loading: Promise<SharpFactory> | null = null;

/**
 * sharp (libvips), loaded on first use: Fashion-MNIST commands never pay for it. libvips' operation cache is turned
 * off: every photo here is decoded once (the decoded rows have their own cache), and keeping each operation's result
 * for reuse cost ~10 % of the CPU of decoding the 3,409 small training photos (2.73–2.94 ms a photo without it against
 * 3.02–3.14 ms with it, alternating runs, 2026-12-07).
 */
function sharpModule(): Promise<SharpFactory> {
  loading ??= import('sharp').then((m) => {
    m.default.cache(false);
    return m.default as unknown as SharpFactory;
  });
  return loading;
}

/** libvips' version, part of a decoded-photo cache key (another decoder may round differently). */
export async function decoderVersion(): Promise<string> {
  const m = (await import('sharp')).default;
  return `sharp ${m.versions.sharp} vips ${m.versions.vips}`;
}

/**
 * Decodes a photo (JPEG, PNG, WebP, AVIF, GIF, TIFF, HEIF where libvips reads it) into one row: turned upright by its
 * EXIF orientation, transparent parts laid on white, resized to the spec (libvips: shrink-on-load, then Lanczos 3),
 * sRGB or grey (libvips' luma), channels interleaved, 0..255. Used alike by folder data, predict and serve, so a photo
 * is prepared the same way for training and prediction. A photo that cannot be decoded is a DataError whose message
 * names `what` and a cause in our own words (no text read from the file).
 */
export async function decodePhoto(bytes: Uint8Array, spec: PhotoSpec, what: string): Promise<Uint8Array> {
  // libjpeg only warns about a scan that runs out before an end marker (a file cut short and made to look whole), and
  // failing on warnings would refuse ordinary phone photos: the scan is read here first
  if (bytes.length > 2 && bytes[0] === 0xff && bytes[1] === 0xd8) {
    const cut = jpegScanCutShort(bytes);
    if (cut) throw new DataError(`${what}: ${cut}`);
  }
  const sharp = await sharpModule();
  try {
    let image = sharp(bytes, { limitInputPixels: MAX_DECODED_PIXELS, failOn: 'error', animated: false })
      .rotate()
      .flatten({ background: '#ffffff' })
      .resize(spec.width, spec.height, { fit: spec.fit, background: '#ffffff' });
    image = spec.channels === 1 ? image.greyscale() : image.toColourspace('srgb');
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    if (info.width !== spec.width || info.height !== spec.height || info.channels !== spec.channels) {
      throw new DataError(`${what}: decoded to ${info.width}×${info.height}×${info.channels}, not the spec's shape`);
    }
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${what}: ${decodeFailure((err as Error).message)}`);
  }
}

/** Our words for libvips' reason (its message may quote the file). */
function decodeFailure(message: string): string {
  if (/unsupported image format|bad seek|not a known file format/i.test(message))
    return 'not a photo that can be read (JPEG, PNG, WebP, AVIF, GIF or TIFF)';
  if (/pixel limit/i.test(message)) return `more than ${MAX_DECODED_PIXELS / 1e6} megapixels`;
  if (/empty/i.test(message)) return 'an empty file';
  return 'damaged or truncated (it could not be decoded)';
}
