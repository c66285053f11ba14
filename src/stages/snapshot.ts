import { UserError } from '../util/errors.js';
import type { Snapshot, SnapshotArray, SnapshotValue } from './stage.js';

/** The first bytes of every model file (model/format.ts); the pipeline-file reader uses them to recognise one. */
export const MODEL_MAGIC = 'FPMODEL\n';

/** A model file whose content is not what the reader expects (damaged, or from another format version). */
export class ModelError extends UserError {
  constructor(message: string) {
    super(message, 1);
  }
}

type ArrayType<T extends SnapshotArray> = { new (length: number): T; name: string };

function get(s: Snapshot, key: string): SnapshotValue {
  if (!(key in s)) throw new ModelError(`model file: stage state has no "${key}"`);
  return s[key];
}

/** A typed array field of the given type (and length, when given). */
export function arrayField<T extends SnapshotArray>(s: Snapshot, key: string, Type: ArrayType<T>, length?: number): T {
  const v = get(s, key);
  if (!(v instanceof (Type as unknown as typeof Float32Array)))
    throw new ModelError(`model file: "${key}" should be a ${Type.name}`);
  const a = v as unknown as T;
  if (length !== undefined && a.length !== length) {
    throw new ModelError(`model file: "${key}" has ${a.length} values, expected ${length}`);
  }
  return a;
}

/** A finite number field; `integer` also asks for a whole number ≥ 0. */
export function numberField(s: Snapshot, key: string, integer = false): number {
  const v = get(s, key);
  if (typeof v !== 'number' || !Number.isFinite(v) || (integer && (!Number.isInteger(v) || v < 0))) {
    throw new ModelError(`model file: "${key}" should be ${integer ? 'a whole number' : 'a number'}`);
  }
  return v;
}

export function stringField(s: Snapshot, key: string): string {
  const v = get(s, key);
  if (typeof v !== 'string') throw new ModelError(`model file: "${key}" should be a string`);
  return v;
}

/** A list field whose entries are checked by `item`. */
export function listField<T>(s: Snapshot, key: string, item: (v: SnapshotValue, i: number) => T): T[] {
  const v = get(s, key);
  if (!Array.isArray(v)) throw new ModelError(`model file: "${key}" should be a list`);
  return v.map(item);
}

/** A nested object field. */
export function objectField(s: Snapshot, key: string): Snapshot {
  const v = get(s, key);
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new ModelError(`model file: "${key}" should be an object`);
  }
  return v as Snapshot;
}
