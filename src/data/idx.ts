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
