import { createCanvas, Image, type SKRSContext2D } from '@napi-rs/canvas';
import { DataError } from './errors.js';
import { IMAGE_SIDE } from './fashion-mnist.js';
import { imageDamage, probeImage } from './image-size.js';
import { KERNEL_PIXELS } from './photo-kernels.js';
import { pixelPasses, TRIM } from './photo-passes.js';
import { segmentGarment } from './segment.js';
import { decodeJpeg } from './jpeg.js';
import { decodePng, encodePng, ImageDamage, type AlphaTable, type Rgba } from './png.js';

/** Whether to negate a photo so the garment is light on black, as in Fashion-MNIST. */
export type InvertMode = 'auto' | 'always' | 'never';

/** A photo as the model sees it, and what was done to get there. */
export interface PreparedImage {
  /** 28×28 pixel values 0..255, row-major. */
  pixels: Float32Array;
  /** The photo's size. */
  width: number;
  height: number;
  /** Whether it was negated (auto: what stands out from the border was darker than it). */
  inverted: boolean;
  /** The garment's bounding box in the photo (after trimming the background), x, y, width, height. */
  box: [number, number, number, number];
}

/** The words for bytes that are not an image prepareImage reads (the service's header probe says the same). */
export function unreadableImage(what: string): string {
  return `${what}: not an image this tool can read (PNG, JPEG, WebP, GIF or BMP)`;
}

/** The largest photo decoded, in pixels (40 megapixels, as `serve --max-megapixels`): a small file can claim more. */
export const MAX_PHOTO_PIXELS = 40e6;

/**
 * Turns a photo (PNG, JPEG, WebP, GIF, BMP; any size) into a Fashion-MNIST-like 28×28 image, following the steps
 * Zalando used to make the data set: greyscale (transparency over white); negated so the garment is light on black
 * (`auto`: when the pixels that stand out from the border are darker than it on average); trimmed to the garment (pixels within 5% of the
 * border's intensity are background); background to 0 and the brightest pixel to 255; the longest edge resized to 28
 * by area averaging; centred. Zalando also sharpened; that step is left out. A truncated or corrupt PNG, JPEG, GIF,
 * BMP or WebP is refused (imageDamage) rather than decoded into a part-grey picture; any other format (SVG…) too.
 */
export async function prepareImage(
  bytes: Uint8Array,
  what: string,
  invert: InvertMode = 'auto',
  maxPixels = MAX_PHOTO_PIXELS,
  segment = false,
): Promise<PreparedImage> {
  const damage = imageDamage(bytes);
  if (damage) throw new DataError(`${what}: ${damage}`);
  // the size the header claims, refused before the decoder allocates it
  const header = probeImage(bytes);
  // only the formats named in unreadableImage: an SVG, a PDF or anything else the canvas could draw is refused here
  if (!header) throw new DataError(unreadableImage(what));
  tooManyPixels(header.width, header.height, maxPixels, what);
  // PNG and baseline JPEG decoded here to the canvas's own pixels; the rest (and what these leave) by the canvas
  let ours: Rgba | null;
  try {
    ours =
      (header.format === 'png' ? decodePng(bytes, await canvasAlphaTable()) : null) ??
      (header.format === 'jpeg' ? decodeJpeg(bytes, canvasSrgbProfile()) : null);
  } catch (err) {
    // whole by its structure, cut short in its image data: refused by name, as a file cut at its end is
    if (err instanceof ImageDamage) throw new DataError(`${what}: ${err.message}`);
    throw err;
  }
  const decoded = ours ?? (await drawn(bytes, what, maxPixels));
  return prepareDecoded((segment && segmentGarment(decoded)) || decoded, what, invert);
}

/**
 * prepareImage's steps after decoding: from a photo's RGBA pixels (however decoded) to the 28×28 image. The passes over
 * the pixels are in photo-passes.ts (`reference`: their JavaScript statement rather than the kernels).
 */
export function prepareDecoded(image: Rgba, what: string, invert: InvertMode = 'auto', reference = false): PreparedImage {
  const { width: W, height: H } = image;
  const passes = pixelPasses(image, reference);
  // What stands out from the border (further from it than TRIM), on which side, its box and extremes. Negating g to
  // 255 - g mirrors both the pixels and the background, so the same pixels stand out either way (up to the rounding
  // of 255 - g to a float: nearLimit, below).
  const stats = passes.stats();
  const { border } = stats;
  let { x0, y0, x1, y1 } = stats;
  let inverted = invert === 'always';
  // negate when what stands out from the border is darker than it on average (a garment on a lighter backdrop)
  if (invert === 'auto') inverted = stats.count > 0 ? stats.deviation < 0 : border > 127.5;
  const background = inverted ? 255 - border : border;
  // the brightest garment pixel after negating (or not), at least the background
  let peak = background;
  if (x1 >= 0) peak = Math.max(background, inverted ? Math.fround(255 - stats.lo) : stats.hi);
  // the rare photo with a pixel at the limit: the box and peak from the negated values themselves
  if (inverted && stats.nearLimit) ({ x0, y0, x1, y1, peak } = passes.negatedBox(background));
  if (x1 < 0) throw new DataError(`${what}: nothing stands out from the background (a blank or uniform image)`);
  if (peak - background <= TRIM) {
    throw new DataError(
      `${what}: the garment is darker than its background ${inverted ? 'after negating' : 'without negating'}; try --invert ${inverted ? 'never' : 'always'}`,
    );
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  // background to 0, brightest garment pixel to 255
  const gain = peak > background ? 255 / (peak - background) : 1;
  // the longest edge to 28 by area averaging
  const scale = IMAGE_SIDE / Math.max(bw, bh);
  const w = Math.max(1, Math.min(IMAGE_SIDE, Math.round(bw * scale)));
  const h = Math.max(1, Math.min(IMAGE_SIDE, Math.round(bh * scale)));
  const small = passes.small({ x0, y0, bw, bh, inverted, background, gain, w, h });
  const pixels = new Float32Array(IMAGE_SIDE * IMAGE_SIDE);
  const ox = Math.floor((IMAGE_SIDE - w) / 2);
  const oy = Math.floor((IMAGE_SIDE - h) / 2);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) pixels[(oy + y) * IMAGE_SIDE + ox + x] = Math.round(small[y * w + x]);
  }
  return { pixels, width: W, height: H, inverted, box: [x0, y0, bw, bh] };
}

/** A photo's pixels as a canvas draws it (every format the canvas reads; transparency, colour profiles…). */
export async function drawn(bytes: Uint8Array, what: string, maxPixels: number): Promise<Rgba> {
  // the Image's own load event rather than loadImage, which also awaits image.decode(): a decode the drawing does not
  // use (the same pixels either way)
  const image = idleImages.pop() ?? new Image();
  try {
    const loaded = await new Promise<boolean>((resolve) => {
      if (bytes.length === 0) return resolve(false); // an empty source completes with no event at all
      image.onload = () => resolve(true);
      image.onerror = () => resolve(false);
      try {
        image.src = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch {
        resolve(false);
      }
    });
    if (!loaded) throw new DataError(unreadableImage(what));
    return drawnImage(image, what, maxPixels);
  } finally {
    // not one holding a large photo's pixels (as with canvases)
    if (idleImages.length < KEPT_IMAGES && !(image.width * image.height > KEPT_CANVAS_PIXELS)) idleImages.push(image);
  }
}

/**
 * Images kept for reuse on this thread: a new Image per photo would leave its decoded pixels to the garbage
 * collector, which then runs the more often; a kept one lets them go when it is given the next photo.
 */
const idleImages: Image[] = [];
const KEPT_IMAGES = 4;

/** The loaded image drawn on a kept canvas of its size and read back as RGBA. */
function drawnImage(image: Image, what: string, maxPixels: number): Rgba {
  const { width, height } = image;
  if (!(width > 0 && height > 0)) throw new DataError(`${what}: the image is empty (${width}×${height})`);
  tooManyPixels(width, height, maxPixels, what);
  const ctx = canvasOf(width, height);
  ctx.clearRect(0, 0, width, height); // transparent black, as a new canvas starts
  ctx.drawImage(image, 0, 0);
  return { width, height, rgba: ctx.getImageData(0, 0, width, height).data };
}

let srgbProfile: Buffer | null | undefined;

/**
 * The colour profile the canvas writes into its JPEGs (its sRGB, in one APP2 piece), read once per thread from a JPEG
 * it encodes: a photo carrying exactly this profile is drawn unconverted, so decodeJpeg may read it. Null if none.
 */
export function canvasSrgbProfile(): Buffer | null {
  if (srgbProfile === undefined) {
    srgbProfile = null;
    const jpeg = createCanvas(1, 1).encodeSync('jpeg');
    for (let at = 2; at + 4 <= jpeg.length && jpeg[at] === 0xff && jpeg[at + 1] !== 0xda; ) {
      const length = jpeg.readUInt16BE(at + 2);
      const body = jpeg.subarray(at + 4, at + 2 + length);
      if (jpeg[at + 1] === 0xe2 && body.toString('latin1', 0, 12) === 'ICC_PROFILE\0' && body[12] === 1 && body[13] === 1) {
        srgbProfile = Buffer.from(body.subarray(14));
      }
      at += 2 + length;
    }
  }
  return srgbProfile;
}

let alphaTable: Promise<AlphaTable | null> | null = null;

/**
 * What the canvas gives back for each channel value of a translucent pixel (data/png.ts AlphaTable), read once per
 * thread from a 256×256 PNG of every value at every alpha drawn by the canvas; null (translucent PNGs are then left to
 * the canvas) should the canvas not keep alpha, or not give opaque pixels back unchanged.
 */
export function canvasAlphaTable(): Promise<AlphaTable | null> {
  alphaTable ??= readAlphaTable().catch(() => {
    alphaTable = null; // not kept: the next photo asks again; this one's translucent pixels go to the canvas
    return null;
  });
  return alphaTable;
}

async function readAlphaTable(): Promise<AlphaTable | null> {
  const every = new Uint8Array(256 * 256 * 4);
  for (let a = 0, p = 0; a < 256; a++) {
    for (let c = 0; c < 256; c++, p += 4) every.set([c, c, c, a], p);
  }
  const { rgba } = await drawn(encodePng(256, 256, every, 4), 'the alpha table', 256 * 256);
  const table = new Uint8Array(256 * 256);
  for (let i = 0; i < 256 * 256; i++) {
    const [r, g, b, a] = rgba.subarray(4 * i, 4 * i + 4);
    const [c, alpha] = [i & 255, i >> 8];
    if (g !== r || b !== r || a !== alpha || (alpha === 255 && r !== c)) return null;
    table[i] = r;
  }
  return table;
}

/** Canvases kept for reuse on this thread, by size (a service sees the same photo sizes again and again). */
const canvases = new Map<string, SKRSContext2D>();
const KEPT_CANVASES = 4;
/** Larger canvases are made for the photo and left to the garbage collector. */
const KEPT_CANVAS_PIXELS = KERNEL_PIXELS;

/**
 * A 2D context of a width × height canvas: a kept one for common sizes (a canvas per photo would leave its pixels to
 * the garbage collector, which then runs more often and takes a service worker's time).
 */
function canvasOf(width: number, height: number): SKRSContext2D {
  if (width * height > KEPT_CANVAS_PIXELS) return createCanvas(width, height).getContext('2d');
  const key = `${width}x${height}`;
  let ctx = canvases.get(key);
  if (ctx) canvases.delete(key); // re-inserted below: the map's order is least recently used first
  else ctx = createCanvas(width, height).getContext('2d');
  canvases.set(key, ctx);
  if (canvases.size > KEPT_CANVASES) canvases.delete(canvases.keys().next().value!);
  return ctx;
}

/**
 * prepareImage over several photos as one task for the worker pool (runtime/pool.ts), so a service prepares photos off
 * its main thread: a refusal comes back as its message (a DataError does not keep its class across threads), and any
 * other failure as `failed`, for that photo alone.
 */
export async function prepareImagesTask(
  photos: Uint8Array[],
  names: string[],
  invert: InvertMode = 'auto',
): Promise<Array<PreparedImage | { refused: string } | { failed: string }>> {
  const out: Array<PreparedImage | { refused: string } | { failed: string }> = [];
  for (let i = 0; i < photos.length; i++) {
    try {
      out.push(await prepareImage(photos[i], names[i], invert));
    } catch (err) {
      // one photo's failure is its own: the others in the task are still answered
      out.push(err instanceof DataError ? { refused: err.message } : { failed: String((err as Error)?.message ?? err) });
    }
  }
  return out;
}

function tooManyPixels(width: number, height: number, maxPixels: number, what: string): void {
  if (width * height > maxPixels) {
    const mp = (n: number) => `${Math.round(n / 1e5) / 10} megapixels`;
    throw new DataError(`${what}: ${width}×${height} is ${mp(width * height)}, more than the ${mp(maxPixels)} this tool decodes`);
  }
}
