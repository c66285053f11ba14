import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { StepConfig } from '../config/chain.js';
import { UsageError } from '../config/errors.js';
import { canonical } from '../config/grid.js';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import type { LoadedData } from '../data/load.js';
import { toolVersion } from '../evaluate/environment.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { Snapshot, SnapshotArray, SnapshotValue } from '../stages/stage.js';
import { ModelError } from './snapshot.js';

/**
 * A fitted pipeline on disk: an 8-byte magic, the header length (uint32 LE), 4 bytes of padding, the SHA-256 of all
 * that follows, a JSON header (padded to 8 bytes), then the typed arrays of every stage back to back (8-byte aligned).
 * In the header a typed array is `{"$array": type, "offset", "length"}`. The checksum covers the header (params,
 * scalars) and the arrays, so a damaged file is refused before any stage reads it.
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
  /** Steps, training-data checksums and rows, and seed: `predict` reuses a model for a pipeline file only on a match. */
  fit_key: string;
}

interface Header {
  format: number;
  info: ModelInfo;
  steps: StepConfig[];
  stages: Snapshot[];
}

/** Bytes before the JSON header: magic, header length, padding, SHA-256. */
const PREFIX = 48;

const ARRAY_TYPES = { Float32Array, Float64Array, Int32Array, Uint8Array } as const;
type ArrayTypeName = keyof typeof ARRAY_TYPES;

function arrayTypeName(a: SnapshotArray): ArrayTypeName {
  for (const name of Object.keys(ARRAY_TYPES) as ArrayTypeName[]) if (a instanceof ARRAY_TYPES[name]) return name;
  throw new Error(`model file: cannot store a ${a.constructor.name}`);
}

/**
 * What a fit depends on besides the code: the steps with their params, the training data (checksums of the training
 * files, rows after any limit) and the seed. Two fits with the same key give the same model.
 */
export function fitKey(steps: readonly StepConfig[], data: LoadedData['info'], seed: number): string {
  // the training files' checksums, not their paths: the same data read from elsewhere is the same fit
  const training = Object.entries(data.checksums)
    .filter(([file]) => file.startsWith('train-') || file === data.location)
    .map(([, checksum]) => checksum)
    .sort();
  const key = canonical({ steps: steps.map((s) => [s.id, s.stage, s.params]), training, rows: data.train_rows, seed });
  return createHash('sha256').update(key).digest('hex');
}

/**
 * Refuses, before any work, steps that could not be saved: the ml-* oracle engines have no saved form. `what` names
 * what asked for a model (an option or a file), for the message.
 */
export function assertSavable(steps: readonly StepConfig[], what: string): void {
  const oracle = steps.find((s) => s.params.engine === 'mljs');
  if (oracle) {
    throw new UsageError(`${what}: step ${oracle.id} uses engine mljs (a test oracle), which has no saved form; use the default engine`);
  }
}

/** The info of a model fitted from `steps` on `data` (as loaded for the fit) with `seed`. */
export function modelInfo(o: {
  name: string;
  description?: string;
  source: string;
  steps: readonly StepConfig[];
  data: LoadedData['info'];
  seed: number;
  testAccuracy?: number;
}): ModelInfo {
  return {
    name: o.name,
    ...(o.description === undefined ? {} : { description: o.description }),
    source: o.source,
    tool: toolVersion(),
    created: new Date().toISOString(),
    classes: [...CLASS_NAMES],
    training: { rows: o.data.train_rows, data: `${o.data.format} ${o.data.location}` },
    ...(o.testAccuracy === undefined ? {} : { test_accuracy: o.testAccuracy }),
    fit_key: fitKey(o.steps, o.data, o.seed),
  };
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
  };
  const json = Buffer.from(JSON.stringify(header));
  const pad = Buffer.alloc(((json.length + 7) & ~7) - json.length, 0x20);
  const head = Buffer.alloc(PREFIX);
  head.write(MAGIC, 0, 'latin1');
  head.writeUInt32LE(json.length, 8);
  createHash('sha256').update(json).update(pad).update(blob).digest().copy(head, 16);
  return Buffer.concat([head, json, pad, blob]);
}

/** A fitted pipeline and its info from model-file bytes; ModelError when they are not a model this version reads. */
export function decodeModel(bytes: Buffer, what = 'model file'): { pipeline: Pipeline; steps: StepConfig[]; info: ModelInfo } {
  if (bytes.length < PREFIX || bytes.toString('latin1', 0, 8) !== MAGIC) {
    throw new ModelError(`${what}: not a fashion-pipeline model (save one with \`pipeline run FILE --save-model\`)`);
  }
  if (!createHash('sha256').update(bytes.subarray(PREFIX)).digest().equals(bytes.subarray(16, PREFIX))) {
    throw new ModelError(`${what}: damaged (its SHA-256 does not match its content)`);
  }
  const length = bytes.readUInt32LE(8);
  const start = PREFIX + ((length + 7) & ~7);
  let header: Header;
  try {
    if (start > bytes.length) throw new Error('short');
    header = JSON.parse(bytes.toString('utf8', PREFIX, PREFIX + length)) as Header;
  } catch {
    throw new ModelError(`${what}: damaged header`);
  }
  if (header === null || typeof header !== 'object') throw new ModelError(`${what}: damaged header`);
  if (header.format !== FORMAT) {
    throw new ModelError(`${what}: model format ${header.format}, this version of fashion-pipeline reads format ${FORMAT}`);
  }
  if (!Array.isArray(header.steps) || !Array.isArray(header.stages) || header.steps.length !== header.stages.length) {
    throw new ModelError(`${what}: damaged header (steps and stages disagree)`);
  }
  const blob = bytes.subarray(start);
  const decode = (v: unknown): SnapshotValue => {
    if (Array.isArray(v)) return v.map(decode);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$array === 'string') {
        const Type = Object.hasOwn(ARRAY_TYPES, o.$array) ? ARRAY_TYPES[o.$array as ArrayTypeName] : undefined;
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
  let pipeline: Pipeline;
  try {
    pipeline = Pipeline.fromSteps(header.steps);
  } catch (err) {
    throw new ModelError(`${what}: ${(err as Error).message}`);
  }
  pipeline.steps.forEach((s, i) => {
    const state = decode(header.stages[i]);
    if (state === null || typeof state !== 'object' || Array.isArray(state) || ArrayBuffer.isView(state)) {
      throw new ModelError(`${what}: damaged state for step ${s.id}`);
    }
    try {
      s.stage.restore(state as Snapshot);
    } catch (err) {
      if (err instanceof ModelError) throw new ModelError(`${what}: step ${s.id}: ${err.message.replace(/^model file: /, '')}`);
      throw new ModelError(`${what}: step ${s.id} cannot be restored (${(err as Error).message})`);
    }
  });
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
