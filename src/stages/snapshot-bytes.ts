import { ModelError } from './snapshot.js';
import type { SnapshotArray, SnapshotValue } from './stage.js';

/**
 * Snapshots as bytes: the typed arrays go back to back into one blob (each 8-byte aligned) and are replaced in the
 * JSON-able part by `{"$array": type, "offset", "length"}`. Model files and the fit cache's disk entries both use it.
 */
const ARRAY_TYPES = { Float32Array, Float64Array, Int32Array, Uint8Array } as const;
type ArrayTypeName = keyof typeof ARRAY_TYPES;

function arrayTypeName(a: SnapshotArray): ArrayTypeName {
  for (const name of Object.keys(ARRAY_TYPES) as ArrayTypeName[]) if (a instanceof ARRAY_TYPES[name]) return name;
  throw new Error(`model file: cannot store a ${a.constructor.name}`);
}

/** The JSON-able form of `values` and the blob their arrays were moved to. */
export function packSnapshots(values: readonly SnapshotValue[]): { refs: unknown[]; blob: Buffer } {
  const parts: Uint8Array[] = [];
  let size = 0;
  const pack = (v: SnapshotValue): unknown => {
    if (ArrayBuffer.isView(v)) {
      const a = v as SnapshotArray;
      const offset = size;
      parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      const padded = (a.byteLength + 7) & ~7;
      if (padded > a.byteLength) parts.push(new Uint8Array(padded - a.byteLength));
      size += padded;
      return { $array: arrayTypeName(a), offset, length: a.length };
    }
    if (Array.isArray(v)) return v.map(pack);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, pack(x)]));
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`model file: cannot store the number ${v}`);
    return v;
  };
  const refs = values.map(pack);
  return { refs, blob: Buffer.concat(parts, size) };
}

/** A value packed by packSnapshots, its arrays copied out of `blob` (each on its own aligned buffer). */
export function unpackSnapshot(ref: unknown, blob: Uint8Array, what: string): SnapshotValue {
  if (Array.isArray(ref)) return ref.map((x) => unpackSnapshot(x, blob, what));
  if (ref !== null && typeof ref === 'object') {
    const o = ref as Record<string, unknown>;
    if (typeof o.$array === 'string') {
      const Type = Object.hasOwn(ARRAY_TYPES, o.$array) ? ARRAY_TYPES[o.$array as ArrayTypeName] : undefined;
      const offset = o.offset as number;
      const n = o.length as number;
      if (!Type || !Number.isInteger(offset) || !Number.isInteger(n) || offset < 0 || n < 0 || offset % 8 !== 0) {
        throw new ModelError(`${what}: damaged array reference`);
      }
      const end = offset + n * Type.BYTES_PER_ELEMENT;
      if (end > blob.length) throw new ModelError(`${what}: an array runs past the end of the file`);
      const out = new Type(n);
      new Uint8Array(out.buffer).set(blob.subarray(offset, end));
      // a fitted parameter that is NaN or infinite answers nonsense with confidence: such a file is damaged
      if (out instanceof Float32Array || out instanceof Float64Array) {
        const at = out.findIndex((x) => !Number.isFinite(x));
        if (at >= 0)
          throw new ModelError(`${what}: a fitted array holds ${out[at]} (value ${at}); fitted parameters are finite`);
      }
      return out;
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unpackSnapshot(x, blob, what)]));
  }
  return ref as SnapshotValue;
}
