import { KERNEL_PIXELS, kernelRgbaAt, photoKernels } from './photo-kernels.js';
import { ImageDamage, type Rgba } from './png.js';

/**
 * Baseline JPEG files decoded in the photo kernels (src/wasm/jpeg.ts) to the RGBA bytes the canvas gives (its decoder
 * is libjpeg-turbo: the same integer inverse DCT and its range limiting, fancy upsampling, colour tables, and its way
 * with data that runs out). This module reads the markers as libjpeg does and answers null for the files it does not
 * follow, which the canvas then reads as before: progressive or
 * arithmetic coding, more than one scan, 12-bit samples, CMYK or RGB files, chroma sampled other than 4:4:4, 4:2:2
 * or 4:2:0, a colour profile other than the canvas's own sRGB, an EXIF orientation other than upright, restart markers.
 */

interface Component {
  id: number;
  h: number;
  v: number;
  quant: number;
  dc?: number;
  ac?: number;
}

/** Segments read here before the scan (besides APP0–APP15): baseline and extended frames, tables, DRI, SOS, COM. */
const SEGMENTS = new Set([0xc0, 0xc1, 0xc4, 0xdb, 0xdd, 0xda, 0xfe]);

/** Huffman tables as decodeSymbol reads them: 512 u16 lookahead entries, maxcode and valoffset (17 i32), 256 values. */
const HUFFMAN_BYTES = 1024 + 68 + 68 + 256;

/**
 * Decodes a JPEG file that imageDamage (image-size.ts) has passed, or answers null (see above); a colour profile is
 * accepted only when it is `srgbProfile` byte for byte (the canvas's own, which it does not convert from). The pixels are left in
 * the photo kernels' memory: `rgba` is a view of it, valid until the next use of the photo kernels on this thread.
 */
export function decodeJpeg(bytes: Uint8Array, srgbProfile: Buffer | null): Rgba | null {
  try {
    return decode(bytes, srgbProfile);
  } catch (err) {
    if (err instanceof ImageDamage) throw err; // whole by its markers, cut short in its scan: refused
    return null; // a segment shorter than its fields, say: the canvas decides what the file is
  }
}

/**
 * Whether a baseline JPEG's scan runs out before its last MCU (a file cut short, an end marker perhaps appended to
 * look whole): its message, or null when the scan is whole or the file is one this module does not follow (then its
 * decoder decides). Reads the entropy-coded data only, whatever the file's colour profile or orientation.
 */
export function jpegScanCutShort(bytes: Uint8Array): string | null {
  try {
    decode(bytes, null, true);
    return null;
  } catch (err) {
    return err instanceof ImageDamage ? err.message : null;
  }
}

function decode(bytes: Uint8Array, srgbProfile: Buffer | null, scanOnly = false): Rgba | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  const quant = new Map<number, Uint16Array>();
  const huffman = new Map<number, Uint8Array>(); // key: class (0 DC, 1 AC) × 16 + id
  let frame: { width: number; height: number; components: Component[] } | null = null;
  let jfif = false;
  let adobeTransform = -1;
  let scan: { components: Component[]; from: number; to: number } | null = null;
  let at = 2;
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return null;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++;
      continue;
    }
    if (marker === 0xd9) break; // EOI
    // after the scan only its end may come (a table there would not be the one the scan was decoded with)
    if (scan) return null;
    // segments whose reading by libjpeg this follows; any other marker (stand-alone ones such as RSTn or TEM, reserved
    // ones, a lone FF00) goes to the canvas
    if (!SEGMENTS.has(marker) && !(marker >= 0xe0 && marker <= 0xef)) return null;
    const length = b.readUInt16BE(at + 2);
    const body = b.subarray(at + 4, at + 2 + length);
    at += 2 + length;
    // libjpeg counts an APP0 as JFIF only from 14 bytes of body; Skia's EXIF check reads 5 signature bytes
    if (marker === 0xe0 && body.length >= 14 && body.toString('latin1', 0, 5) === 'JFIF\0') jfif = true;
    else if (marker === 0xe1 && body.toString('latin1', 0, 5) === 'Exif\0') {
      if (!scanOnly && exifOrientation(body.subarray(6)) !== 1) return null; // turned, or unreadable: the canvas decides
    } else if (marker === 0xe2 && body.toString('latin1', 0, 12) === 'ICC_PROFILE\0') {
      // a colour profile the canvas converts from, unless it is the canvas's own sRGB profile (in one piece)
      if (scanOnly) continue;
      if (!srgbProfile || body[12] !== 1 || body[13] !== 1 || !body.subarray(14).equals(srgbProfile)) return null;
    } else if (marker === 0xee && body.toString('latin1', 0, 5) === 'Adobe' && body.length >= 12) adobeTransform = body[11];
    else if (marker === 0xdb) {
      for (let i = 0; i < body.length; ) {
        const precision = body[i] >> 4;
        const id = body[i] & 15;
        const size = precision ? 128 : 64;
        if (precision > 1 || i + 1 + size > body.length || id > 3) return null;
        const table = new Uint16Array(64);
        for (let k = 0; k < 64; k++) table[ZIGZAG[k]] = precision ? body.readUInt16BE(i + 1 + 2 * k) : body[i + 1 + k];
        quant.set(id, table);
        i += 1 + size;
      }
    } else if (marker === 0xc4) {
      for (let i = 0; i < body.length; ) {
        const kind = body[i] >> 4;
        const id = body[i] & 15;
        if (kind > 1 || id > 3 || i + 17 > body.length) return null;
        const counts = body.subarray(i + 1, i + 17);
        const total = counts.reduce((s, c) => s + c, 0);
        if (total > 256 || i + 17 + total > body.length) return null;
        const values = body.subarray(i + 17, i + 17 + total);
        if (kind === 0 && values.some((v) => v > 15)) return null; // a DC category over 15: libjpeg refuses the table
        const table = huffmanTable(counts, values);
        if (!table) return null;
        huffman.set(kind * 16 + id, table);
        i += 17 + total;
      }
    } else if (marker === 0xdd) {
      if (body.length !== 2 || body.readUInt16BE(0) !== 0) return null; // restart markers: not read here
    } else if (marker === 0xc0 || marker === 0xc1) {
      if (frame || body[0] !== 8) return null;
      const height = body.readUInt16BE(1);
      const width = body.readUInt16BE(3);
      const count = body[5];
      if (body.length !== 6 + 3 * count || width > 65500 || height > 65500) return null; // libjpeg's limits
      const components = Array.from({ length: count }, (_, c) => ({
        id: body[6 + 3 * c],
        h: body[7 + 3 * c] >> 4,
        v: body[7 + 3 * c] & 15,
        quant: body[8 + 3 * c],
      }));
      if (components.some((c) => c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4)) return null;
      frame = { width, height, components };
    } else if (marker === 0xda) {
      if (!frame) return null;
      const count = body[0];
      if (body.length !== 4 + 2 * count || count !== frame.components.length) return null;
      const components: Component[] = [];
      for (let c = 0; c < count; c++) {
        // the frame's components, in the frame's order
        const component = frame.components[c];
        if (component.id !== body[1 + 2 * c]) return null;
        component.dc = body[2 + 2 * c] >> 4;
        component.ac = body[2 + 2 * c] & 15;
        components.push(component);
      }
      const [ss, se, a] = body.subarray(1 + 2 * count, 4 + 2 * count);
      if (ss !== 0 || se !== 63 || a !== 0) return null;
      // the entropy-coded data runs to the next marker that is neither a stuffed 0xFF00 nor a restart marker
      const from = at;
      while (at + 1 < b.length && !(b[at] === 0xff && b[at + 1] !== 0 && (b[at + 1] < 0xd0 || b[at + 1] > 0xd7))) at++;
      scan = { components, from, to: at };
    }
  }
  if (!frame || !scan) return null;
  const { width, height, components } = frame;
  if (width === 0 || height === 0 || width * height > KERNEL_PIXELS) return null;
  const grey = components.length === 1;
  if (!grey && components.length !== 3) return null;
  if (!grey && !jfif) {
    // as libjpeg guesses the colour space: an Adobe transform of 0, or components named R, G, B, mean RGB
    if (adobeTransform === 0) return null;
    if (adobeTransform < 0 && components[0].id === 82 && components[1].id === 71 && components[2].id === 66) return null;
  }
  if (scan.components.length !== components.length) return null;
  const [luma] = components;
  const hMax = grey ? 1 : luma.h;
  const vMax = grey ? 1 : luma.v;
  if (!grey) {
    if (!((hMax === 1 && vMax === 1) || (hMax === 2 && vMax === 1) || (hMax === 2 && vMax === 2))) return null;
    if (components.slice(1).some((c) => c.h !== 1 || c.v !== 1)) return null;
    // fancy upsampling needs chroma more than two samples wide (libjpeg otherwise repeats samples)
    if (hMax === 2 && Math.ceil(width / 2) <= 2) return null;
  }
  for (const c of components) {
    if (!quant.has(c.quant) || !huffman.has(c.dc!) || !huffman.has(16 + c.ac!)) return null;
  }

  // MCUs, each component's block planes, and the kernel memory for all of it
  const mcusX = grey ? Math.ceil(width / 8) : Math.ceil(width / (8 * hMax));
  const mcusY = grey ? Math.ceil(height / 8) : Math.ceil(height / (8 * vMax));
  const planes = components.map((c) => {
    const h = grey ? 1 : c.h;
    const v = grey ? 1 : c.v;
    return { blocksWide: mcusX * h, blocksHigh: mcusY * v, w: Math.ceil((width * h) / hMax), hgt: Math.ceil((height * v) / vMax) };
  });
  const rgbaAt = kernelRgbaAt();
  let next = align(rgbaAt + (scanOnly ? 0 : 4 * width * height));
  const take = (n: number) => {
    const region = next;
    next = align(next + n);
    return region;
  };
  const dataAt = take(scan.to - scan.from);
  const tableAt = new Map<number, number>();
  for (const key of huffman.keys()) tableAt.set(key, take(HUFFMAN_BYTES));
  const quantAt = new Map<number, number>();
  for (const id of quant.keys()) quantAt.set(id, take(128));
  const compsAt = take(32 * components.length);
  // the scan check decodes without keeping coefficients (plane address 0) and needs no room for pixels
  const coefAt = planes.map((p) => (scanOnly ? 0 : take(128 * p.blocksWide * p.blocksHigh)));
  const samplesAt = planes.map((p) => (scanOnly ? 0 : take(64 * p.blocksWide * p.blocksHigh)));
  const upW = 2 * (planes[1]?.w ?? 0);
  const upH = (vMax === 2 ? 2 : 1) * (planes[1]?.hgt ?? 0);
  const upAt = hMax === 2 ? [take(upW * upH), take(upW * upH)] : [];
  const workAt = take(768);
  const k = photoKernels(next);
  const memory = new Uint8Array(k.memory.buffer);
  memory.set(b.subarray(scan.from, scan.to), dataAt);
  for (const [key, table] of huffman) memory.set(table, tableAt.get(key)!);
  for (const [id, table] of quant) memory.set(new Uint8Array(table.buffer), quantAt.get(id)!);
  const info = new Int32Array(k.memory.buffer, compsAt, 8 * components.length);
  components.forEach((c, i) => {
    info.set(
      [grey ? 1 : c.h, grey ? 1 : c.v, tableAt.get(c.dc!)!, tableAt.get(16 + c.ac!)!, coefAt[i], planes[i].blocksWide, 0, 0],
      8 * i,
    );
  });
  if (k.decodeScan(dataAt, dataAt + scan.to - scan.from, compsAt, components.length, mcusX, mcusY) !== 0) {
    throw new ImageDamage('truncated JPEG (its scan data ends before the image does)');
  }
  if (scanOnly) return null;
  components.forEach((c, i) => {
    k.idctPlane(coefAt[i], quantAt.get(c.quant)!, planes[i].blocksWide, planes[i].blocksHigh, samplesAt[i], workAt);
  });
  const yStride = 8 * planes[0].blocksWide;
  if (grey) k.yccToRgba(samplesAt[0], yStride, 0, 0, 0, width, height, rgbaAt);
  else if (hMax === 1) {
    k.yccToRgba(samplesAt[0], yStride, samplesAt[1], samplesAt[2], 8 * planes[1].blocksWide, width, height, rgbaAt);
  } else {
    for (const c of [1, 2]) {
      k.upsample(samplesAt[c], 8 * planes[c].blocksWide, planes[c].w, planes[c].hgt, vMax, upAt[c - 1]);
    }
    k.yccToRgba(samplesAt[0], yStride, upAt[0], upAt[1], upW, width, height, rgbaAt);
  }
  return { width, height, rgba: new Uint8ClampedArray(k.memory.buffer, rgbaAt, 4 * width * height) };
}

function align(at: number): number {
  return (at + 15) & ~15;
}

/** Natural-order index of each zigzag position. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55,
  62, 63,
];

/** A Huffman table laid out for decodeSymbol, or null when its code lengths overflow (a corrupt table). */
function huffmanTable(counts: Uint8Array, values: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(HUFFMAN_BYTES);
  const view = new DataView(out.buffer);
  let code = 0;
  let index = 0;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1];
    // maxcode / valoffset for this length (−1: no codes of this length)
    view.setInt32(1024 + 4 * length, n ? code + n - 1 : -1, true);
    view.setInt32(1024 + 68 + 4 * length, index - code, true);
    for (let i = 0; i < n; i++, code++, index++) {
      if (code >= 1 << length) return null;
      if (length <= 9) {
        const shift = 9 - length;
        for (let fill = 0; fill < 1 << shift; fill++) view.setUint16(2 * ((code << shift) | fill), (length << 8) | values[index], true);
      }
    }
    code <<= 1;
  }
  out.set(values, 1024 + 136);
  return out;
}

/** The orientation tag (0x0112) of an EXIF block's first IFD (1, upright, when it has none), or null when unreadable. */
function exifOrientation(tiff: Buffer): number | null {
  if (tiff.length < 8) return null;
  const little = tiff.toString('latin1', 0, 2) === 'II';
  if (!little && tiff.toString('latin1', 0, 2) !== 'MM') return null;
  const u16 = (i: number) => (little ? tiff.readUInt16LE(i) : tiff.readUInt16BE(i));
  const u32 = (i: number) => (little ? tiff.readUInt32LE(i) : tiff.readUInt32BE(i));
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return null;
  const entries = u16(ifd);
  for (let e = 0; e < entries; e++) {
    const entry = ifd + 2 + 12 * e;
    if (entry + 12 > tiff.length) return null;
    if (u16(entry) === 0x0112) return u16(entry + 8);
  }
  return 1;
}
