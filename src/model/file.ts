import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { StepConfig } from '../config/chain.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { Snapshot, SnapshotArray, SnapshotValue } from '../stages/stage.js';
import { ModelError } from './snapshot.js';

/**
 * A fitted pipeline on disk: an 8-byte magic, the header length (uint32 LE), a JSON header, then the typed arrays of
 * every stage back to back (8-byte aligned). In the header a typed array is `{"$array": type, "offset", "length"}`, and
 * the SHA-256 of the array bytes catches a damaged file before any stage reads it.
 */
const MAGIC = 'FPMODEL\n';
const FORMAT = 1;

/** What a model file says about itself besides the stages. */
export interface ModelInfo {
  /** Pipeline name and description, from its file. */
  name: string;
  description?: string;
  /** The pipeline file the model was fitted from, as given on the command line. */
  source: string;
  /** fashion-pipeline version that wrote it. */
  tool: string;
  created: string;
  /** Class names, label order. */
  classes: string[];
  /** Training rows and where they came from. */
  training: { rows: number; data: string };
  /** Test accuracy when the run evaluated one. */
  test_accuracy?: number;
}

interface Header {
  format: number;
  info: ModelInfo;
  steps: StepConfig[];
  stages: Snapshot[];
  sha256: string;
}

const ARRAY_TYPES = { Float32Array, Float64Array, Int32Array, Uint8Array } as const;
type ArrayTypeName = keyof typeof ARRAY_TYPES;

function arrayTypeName(a: SnapshotArray): ArrayTypeName {
  for (const name of Object.keys(ARRAY_TYPES) as ArrayTypeName[]) if (a instanceof ARRAY_TYPES[name]) return name;
  throw new Error(`model file: cannot store a ${a.constructor.name}`);
}

/** The bytes of a model file for a fitted pipeline. */
export function encodeModel(pipeline: Pipeline, steps: readonly StepConfig[], info: ModelInfo): Buffer {
  const blobs: Uint8Array[] = [];
  let size = 0;
  const encode = (v: SnapshotValue): unknown => {
    if (ArrayBuffer.isView(v)) {
      const a = v as SnapshotArray;
      const offset = size;
      blobs.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
      const padded = (a.byteLength + 7) & ~7;
      if (padded > a.byteLength) blobs.push(new Uint8Array(padded - a.byteLength));
      size += padded;
      return { $array: arrayTypeName(a), offset, length: a.length };
    }
    if (Array.isArray(v)) return v.map(encode);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
    if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`model file: cannot store the number ${v}`);
    return v;
  };
  const stages = pipeline.steps.map((s) => encode(s.stage.snapshot()));
  const blob = Buffer.concat(blobs, size);
  const header: Header = {
    format: FORMAT,
    info,
    steps: steps.map((s) => ({ id: s.id, stage: s.stage, params: s.params })),
    stages: stages as Snapshot[],
    sha256: createHash('sha256').update(blob).digest('hex'),
  };
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(16);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  const pad = Buffer.alloc(((json.length + 7) & ~7) - json.length, 0x20);
  return Buffer.concat([head, json, pad, blob]);
}

/** A fitted pipeline and its info from model-file bytes; ModelError when they are not a model this version reads. */
export function decodeModel(bytes: Buffer, what = 'model file'): { pipeline: Pipeline; steps: StepConfig[]; info: ModelInfo } {
  if (bytes.length < 16 || bytes.toString('latin1', 0, 8) !== MAGIC) {
    throw new ModelError(`${what}: not a fashion-pipeline model (save one with \`pipeline run FILE --save-model\`)`);
  }
  const length = bytes.readUInt32LE(8);
  const start = 16 + ((length + 7) & ~7);
  let header: Header;
  try {
    if (start > bytes.length) throw new Error('short');
    header = JSON.parse(bytes.toString('utf8', 16, 16 + length)) as Header;
  } catch {
    throw new ModelError(`${what}: damaged header`);
  }
  if (header.format !== FORMAT) {
    throw new ModelError(`${what}: model format ${header.format}, this version of fashion-pipeline reads format ${FORMAT}`);
  }
  const blob = bytes.subarray(start);
  if (createHash('sha256').update(blob).digest('hex') !== header.sha256) {
    throw new ModelError(`${what}: damaged (the checksum of its arrays does not match)`);
  }
  const decode = (v: unknown): SnapshotValue => {
    if (Array.isArray(v)) return v.map(decode);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$array === 'string') {
        const Type = ARRAY_TYPES[o.$array as ArrayTypeName];
        const offset = o.offset as number;
        const n = o.length as number;
        if (!Type || !Number.isInteger(offset) || !Number.isInteger(n) || offset < 0 || n < 0 || offset % 8 !== 0) {
          throw new ModelError(`${what}: damaged array reference`);
        }
        const end = offset + n * Type.BYTES_PER_ELEMENT;
        if (end > blob.length) throw new ModelError(`${what}: an array runs past the end of the file`);
        // a copy on its own (aligned) buffer
        const out = new Type(n);
        new Uint8Array(out.buffer).set(blob.subarray(offset, end));
        return out;
      }
      return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]));
    }
    return v as SnapshotValue;
  };
  if (!Array.isArray(header.steps) || !Array.isArray(header.stages) || header.steps.length !== header.stages.length) {
    throw new ModelError(`${what}: damaged header (steps and stages disagree)`);
  }
  let pipeline: Pipeline;
  try {
    pipeline = Pipeline.fromSteps(header.steps);
  } catch (err) {
    throw new ModelError(`${what}: ${(err as Error).message}`);
  }
  pipeline.steps.forEach((s, i) => s.stage.restore(decode(header.stages[i]) as Snapshot));
  return { pipeline, steps: header.steps, info: header.info };
}

/** Reads a model file (see decodeModel). */
export function loadModel(path: string): { pipeline: Pipeline; steps: StepConfig[]; info: ModelInfo } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(code === 'ENOENT' ? `${path}: no such model file` : `${path}: cannot read (${code ?? (err as Error).message})`);
  }
  return decodeModel(bytes, path);
}
