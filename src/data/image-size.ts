/** An image's format and size read from its header, without decoding it. */
export interface ImageHeader {
  format: 'png' | 'jpeg' | 'gif' | 'bmp' | 'webp';
  width: number;
  height: number;
}

/**
 * Reads the width and height from the header of a PNG, JPEG, GIF, BMP or WebP file (the formats prepareImage reads),
 * so a service can refuse an image of too many pixels before decoding it (a small file can declare a huge canvas).
 * Null when the bytes are none of these or the header is cut short.
 */
export function probeImage(bytes: Uint8Array): ImageHeader | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.toString('latin1', 12, 16) === 'IHDR') {
    return { format: 'png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 10 && (b.toString('latin1', 0, 6) === 'GIF87a' || b.toString('latin1', 0, 6) === 'GIF89a')) {
    return { format: 'gif', width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  }
  if (b.length >= 26 && b.toString('latin1', 0, 2) === 'BM') {
    const headerSize = b.readUInt32LE(14);
    if (headerSize === 12) return { format: 'bmp', width: b.readUInt16LE(18), height: b.readUInt16LE(20) };
    return { format: 'bmp', width: Math.abs(b.readInt32LE(18)), height: Math.abs(b.readInt32LE(22)) };
  }
  if (b.length >= 30 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
    const chunk = b.toString('latin1', 12, 16);
    if (chunk === 'VP8X') return { format: 'webp', width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
    if (chunk === 'VP8L' && b[20] === 0x2f) {
      const bits = b.readUInt32LE(21);
      return { format: 'webp', width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
    }
    if (chunk === 'VP8 ' && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) {
      return { format: 'webp', width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
    }
    return null;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return probeJpeg(b);
  return null;
}

/** Walks JPEG segments to the first start-of-frame marker (SOF0..SOF15 except DHT, JPG and DAC). */
function probeJpeg(b: Buffer): ImageHeader | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    const length = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { format: 'jpeg', height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    i += 2 + length;
  }
  return null;
}

/**
 * What is structurally wrong with an image file, or null when nothing is: PNG, JPEG, GIF, BMP and WebP walked through
 * their structure. @napi-rs/canvas decodes a truncated file silently into a part
 * grey picture, which a model then classifies with confidence: this check comes first. PNG: the signature, IHDR first,
 * every chunk within the file with a good CRC, an IDAT, and IEND reached. JPEG: SOI, every segment within the file, an
 * SOS, and an EOI marker after the scan.
 */
export function imageDamage(bytes: Uint8Array): string | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47) return pngDamage(b);
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xd8) return jpegDamage(b);
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') {
    return webpDamage(b);
  }
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6))) return gifDamage(b);
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return bmpDamage(b);
  return null;
}

/**
 * WebP: within its RIFF size, every chunk whole (a four-letter name, a size, the data padded to an even length), and
 * image data among them (VP8 or VP8L; an animation's frames in ANMF).
 */
function webpDamage(b: Buffer): string | null {
  const end = 8 + b.readUInt32LE(4);
  if (end > b.length) return 'truncated WebP (shorter than its RIFF header says)';
  let at = 12;
  let image = false;
  while (at < end) {
    if (at + 8 > end) return `corrupt WebP (a chunk header cut at byte ${at})`;
    const name = b.toString('latin1', at, at + 4);
    if (!/^[A-Z0-9 ]{4}$/i.test(name)) return `corrupt WebP (no chunk at byte ${at})`;
    const size = b.readUInt32LE(at + 4);
    if (at + 8 + size > end) return `truncated WebP (the ${name.trim()} chunk at byte ${at} is cut short)`;
    if (name === 'VP8 ' || name === 'VP8L' || name === 'ANMF') image = true;
    at += 8 + size + (size & 1);
  }
  return image ? null : 'corrupt WebP (no image data)';
}

/**
 * GIF: the logical screen and its colour table, then every block whole — extensions and images (descriptor, local
 * colour table, LZW data sub-blocks to their terminator) — up to the trailer, with at least one image.
 */
function gifDamage(b: Buffer): string | null {
  const table = (flags: number) => (flags & 0x80 ? 3 * 2 ** ((flags & 7) + 1) : 0);
  if (b.length < 13) return 'truncated GIF (no logical screen descriptor)';
  let at = 13 + table(b[10]);
  let images = 0;
  /** Skips data sub-blocks from `at` to their zero terminator; -1 when they run past the end. */
  const subBlocks = (from: number) => {
    let i = from;
    while (i < b.length && b[i] !== 0) i += 1 + b[i];
    return i < b.length ? i + 1 : -1;
  };
  while (at < b.length) {
    const block = b[at];
    if (block === 0x3b) return images > 0 ? null : 'corrupt GIF (no image before the trailer)';
    if (block === 0x21) {
      at = at + 2 <= b.length ? subBlocks(at + 2) : -1;
    } else if (block === 0x2c) {
      if (at + 10 > b.length) break;
      at += 10 + table(b[at + 9]) + 1; // descriptor, local colour table, LZW minimum code size
      at = at <= b.length ? subBlocks(at) : -1;
      images++;
    } else return `corrupt GIF (no block at byte ${at})`;
    if (at < 0) break;
  }
  return 'truncated GIF (no trailer: the file is cut short)';
}

/** BMP: the pixel rows its header promises lie within the file (uncompressed), or the file has its declared size. */
function bmpDamage(b: Buffer): string | null {
  if (b.length < 26) return 'truncated BMP (no header)';
  const declared = b.readUInt32LE(2);
  const offset = b.readUInt32LE(10);
  const header = b.readUInt32LE(14);
  if (header !== 12 && header < 40) return `corrupt BMP (a header of ${header} bytes)`;
  if (header >= 40 && b.length < 34) return 'truncated BMP (no header)';
  const width = header === 12 ? b.readUInt16LE(18) : Math.abs(b.readInt32LE(18));
  const height = header === 12 ? b.readUInt16LE(20) : Math.abs(b.readInt32LE(22));
  const bits = header === 12 ? b.readUInt16LE(24) : b.readUInt16LE(28);
  const compression = header === 12 ? 0 : b.readUInt32LE(30);
  if (compression === 0 || compression === 3) {
    const rows = Math.floor((bits * width + 31) / 32) * 4 * height;
    if (offset + rows > b.length) return `truncated BMP (its ${width}×${height} pixels need ${offset + rows} bytes; the file has ${b.length})`;
    return null;
  }
  return declared > b.length ? `truncated BMP (shorter than the ${declared} bytes its header says)` : null;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngDamage(b: Buffer): string | null {
  if (!b.subarray(0, 8).equals(PNG_SIGNATURE)) return 'corrupt PNG (damaged signature)';
  let at = 8;
  let idat = false;
  for (let first = true; ; first = false) {
    if (at + 8 > b.length) return `truncated PNG (no IEND chunk${idat ? '' : ', no IDAT chunk'})`;
    const length = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    if (first && (type !== 'IHDR' || length !== 13)) return 'corrupt PNG (the first chunk is not IHDR)';
    if (!/^[A-Za-z]{4}$/.test(type)) return `corrupt PNG (no chunk at byte ${at})`;
    if (at + 12 + length > b.length) {
      return `truncated PNG (${type === 'IEND' ? 'the IEND chunk' : `no IEND chunk: the ${type} chunk at byte ${at}`} is cut short)`;
    }
    if (crc32(b, at + 4, at + 8 + length) !== b.readUInt32BE(at + 8 + length)) {
      return `corrupt PNG (CRC mismatch in the ${type} chunk at byte ${at})`;
    }
    if (type === 'IDAT') idat = true;
    if (type === 'IEND') return idat ? null : 'corrupt PNG (no IDAT chunk)';
    at += 12 + length;
  }
}

function jpegDamage(b: Buffer): string | null {
  let at = 2;
  let scan = false;
  while (at + 1 < b.length) {
    if (b[at] !== 0xff) return `corrupt JPEG (no marker at byte ${at})`;
    const marker = b[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd9) return scan ? null : 'corrupt JPEG (no SOS segment before EOI)';
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    if (at + 4 > b.length) break;
    const length = b.readUInt16BE(at + 2);
    if (length < 2) return `corrupt JPEG (segment length ${length} at byte ${at})`;
    if (at + 2 + length > b.length) return `truncated JPEG (no EOI marker: the segment at byte ${at} is cut short)`;
    at += 2 + length;
    if (marker === 0xda) {
      scan = true;
      // entropy-coded data: runs to the next marker that is not a stuffed 0xFF00 or a restart marker
      while (at + 1 < b.length && !(b[at] === 0xff && b[at + 1] !== 0 && (b[at + 1] < 0xd0 || b[at + 1] > 0xd7))) at++;
    }
  }
  return 'truncated JPEG (no EOI marker)';
}

let CRC_TABLE: Int32Array | null = null;

/** CRC-32 (ISO 3309, as PNG uses) of b[from, to). */
function crc32(b: Buffer, from: number, to: number): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c;
    }
  }
  let crc = -1;
  for (let i = from; i < to; i++) crc = CRC_TABLE[(crc ^ b[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ -1) >>> 0;
}
