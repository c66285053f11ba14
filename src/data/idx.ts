import { gunzipSync } from 'node:zlib';
import { DataError } from './errors.js';

/** The element types the IDX format defines, by their type byte. */
const IDX_TYPES: Record<number, { name: string; bytes: number }> = {
  0x08: { name: 'unsigned byte', bytes: 1 },
  0x09: { name: 'signed byte', bytes: 1 },
  0x0b: { name: 'short', bytes: 2 },
  0x0c: { name: 'int', bytes: 4 },
  0x0d: { name: 'float', bytes: 4 },
  0x0e: { name: 'double', bytes: 8 },
};

export interface IdxArray {
  /** Sizes of each dimension, outermost first (e.g. [60000, 28, 28]). */
  dims: number[];
  /** The raw unsigned bytes (Fashion-MNIST uses only type 0x08). */
  data: Uint8Array;
}

/**
 * Parses an (already decompressed) IDX file of unsigned bytes: magic number, dimension count, dimensions, then data.
 * The byte count must match the dimensions exactly; `what` names the file in error messages.
 */
export function parseIdx(buffer: Uint8Array, what: string): IdxArray {
  if (buffer.length < 4) throw new DataError(`${what}: ${buffer.length} bytes is too short for an IDX header`);
  if (buffer[0] !== 0 || buffer[1] !== 0) {
    throw new DataError(`${what}: not an IDX file (magic number must start with two zero bytes, got ${hex(buffer, 0, 4)})`);
  }
  const type = IDX_TYPES[buffer[2]];
  if (!type) throw new DataError(`${what}: unknown IDX element type 0x${buffer[2].toString(16)}`);
  if (type.bytes !== 1 || buffer[2] !== 0x08) {
    throw new DataError(`${what}: IDX element type is ${type.name}; only unsigned byte (0x08) is supported`);
  }
  const ndims = buffer[3];
  if (ndims < 1) throw new DataError(`${what}: IDX file declares 0 dimensions`);
  const headerBytes = 4 + 4 * ndims;
  if (buffer.length < headerBytes) {
    throw new DataError(`${what}: truncated header (${buffer.length} bytes, ${headerBytes} needed for ${ndims} dimensions)`);
  }
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    const size = view.getUint32(4 + 4 * d, false);
    dims.push(size);
    count *= size;
  }
  const expected = headerBytes + count;
  if (buffer.length !== expected) {
    throw new DataError(
      `${what}: dimensions ${dims.join('×')} need ${expected} bytes but the file has ${buffer.length}` +
        (buffer.length < expected ? ' (truncated)' : ' (trailing data)'),
    );
  }
  return { dims, data: buffer.subarray(headerBytes) };
}

/**
 * Decompresses a gzip file, stopping past `limit` bytes of output (so a gzip bomb costs a bounded amount of memory),
 * and says which part of the stream is wrong when it is damaged; `what` names the file, `wanted` what it should be.
 */
export function gunzipBounded(compressed: Uint8Array, limit: number, what: string, wanted: string): Uint8Array {
  if (compressed.length < 2 || compressed[0] !== 0x1f || compressed[1] !== 0x8b) {
    throw new DataError(
      `${what}: not a gzip file (it starts with ${hex(compressed, 0, 2) || 'nothing'}, gzip with 1f 8b); it is not ${wanted}`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = gunzipSync(compressed, { maxOutputLength: limit + 1 });
  } catch (err) {
    throw gzipError(err as NodeJS.ErrnoException, limit, what, wanted);
  }
  if (bytes.length > limit) throw tooLarge(limit, what, wanted);
  return bytes;
}

function tooLarge(limit: number, what: string, wanted: string): DataError {
  return new DataError(`${what}: decompresses to more than ${limit} bytes, the most this file may hold; it is not ${wanted}`);
}

function gzipError(err: NodeJS.ErrnoException, limit: number, what: string, wanted: string): DataError {
  if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) return tooLarge(limit, what, wanted);
  const reason: Record<string, string> = {
    'unexpected end of file': 'the gzip stream ends early: the file is truncated',
    'incorrect data check': "the gzip CRC-32 does not match the data: the file is damaged",
    'incorrect length check': "the gzip trailer's length does not match the data: the file is damaged",
    // after a first member that decompressed, zlib reads what follows as another member's header
    'incorrect header check': 'bytes after the end of the gzip stream that are not gzip: the file is damaged',
  };
  return new DataError(
    `${what}: ${reason[err.message] ?? `corrupt gzip data (${err.message}): the file is damaged or truncated`}`,
  );
}

/** Encodes unsigned bytes as an IDX file (tests and fixtures). */
export function encodeIdx(dims: number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  const view = new DataView(header.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

function hex(buffer: Uint8Array, from: number, to: number): string {
  return Array.from(buffer.subarray(from, to), (b) => b.toString(16).padStart(2, '0')).join(' ');
}
