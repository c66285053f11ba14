import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { Pipeline } from '../pipeline/pipeline.js';
import type { StepConfig } from '../pipeline/steps.js';
import { MODEL_MAGIC, ModelError } from '../stages/snapshot.js';
import { packSnapshots, unpackSnapshot } from '../stages/snapshot-bytes.js';
import type { Snapshot } from '../stages/stage.js';
import { checkedInfo, type ModelInfo } from './provenance.js';
import { FileReadError, readRegularFile } from '../util/read-file.js';

/**
 * A fitted pipeline on disk: an 8-byte magic, the header length (uint32 LE), 4 bytes of padding, the SHA-256 of all
 * that follows, a JSON header (padded to 8 bytes), then the typed arrays of every stage back to back (8-byte aligned).
 * In the header a typed array is `{"$array": type, "offset", "length"}`. The checksum covers the header (params,
 * scalars) and the arrays, so a damaged file is refused before any stage reads it.
 */
const MAGIC = MODEL_MAGIC;
const FORMAT = 1;

interface Header {
  format: number;
  info: ModelInfo;
  steps: StepConfig[];
  stages: Snapshot[];
}

/** Bytes before the JSON header: magic, header length, padding, SHA-256. */
const PREFIX = 48;

/** The bytes of a model file for a fitted pipeline. */
export function encodeModel(pipeline: Pipeline, steps: readonly StepConfig[], info: ModelInfo): Buffer {
  const { refs, blob } = packSnapshots(pipeline.steps.map((s) => s.stage.snapshot()));
  const header: Header = {
    format: FORMAT,
    info,
    steps: steps.map((s) => ({ id: s.id, stage: s.stage, params: s.params })),
    stages: refs as Snapshot[],
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
export function decodeModel(
  bytes: Buffer,
  what = 'model file',
): { pipeline: Pipeline; steps: StepConfig[]; info: ModelInfo } {
  if (bytes.length < PREFIX || bytes.toString('latin1', 0, 8) !== MAGIC) {
    throw new ModelError(`${what}: not a fashion-pipeline model (save one with \`pipeline run FILE --save-model\`)`);
  }
  if (PREFIX + bytes.readUInt32LE(8) > bytes.length) {
    throw new ModelError(
      `${what}: truncated or damaged (its header alone needs ${PREFIX + bytes.readUInt32LE(8)} bytes; the file has ${bytes.length})`,
    );
  }
  if (!createHash('sha256').update(bytes.subarray(PREFIX)).digest().equals(bytes.subarray(16, PREFIX))) {
    throw new ModelError(`${what}: damaged or truncated (its SHA-256 does not match its content)`);
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
    throw new ModelError(
      `${what}: model format ${header.format}, this version of fashion-pipeline reads format ${FORMAT}`,
    );
  }
  if (!Array.isArray(header.steps) || !Array.isArray(header.stages) || header.steps.length !== header.stages.length) {
    throw new ModelError(`${what}: damaged header (steps and stages disagree)`);
  }
  const blob = bytes.subarray(start);
  let pipeline: Pipeline;
  try {
    pipeline = Pipeline.fromSteps(header.steps);
  } catch (err) {
    throw new ModelError(`${what}: ${oneLine(err)}`);
  }
  pipeline.steps.forEach((s, i) => {
    const state = unpackSnapshot(header.stages[i], blob, what);
    if (state === null || typeof state !== 'object' || Array.isArray(state) || ArrayBuffer.isView(state)) {
      throw new ModelError(`${what}: damaged state for step ${s.id}`);
    }
    try {
      s.stage.restore(state as Snapshot);
    } catch (err) {
      if (err instanceof ModelError)
        throw new ModelError(`${what}: step ${s.id}: ${err.message.replace(/^model file: /, '')}`);
      throw new ModelError(`${what}: step ${s.id} cannot be restored (${(err as Error).message})`);
    }
  });
  return { pipeline, steps: header.steps, info: checkedInfo(header.info, what) };
}

/** Whether a file starts as a model file does (whatever its name), so a model named x.yaml is still read as one. */
export function isModelFile(path: string): boolean {
  try {
    // non-blocking, and regular files only: a FIFO named here must not hang the check
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!fstatSync(fd).isFile()) return false;
      const head = Buffer.alloc(MAGIC.length);
      return readSync(fd, head, 0, head.length, 0) === head.length && head.toString('latin1') === MAGIC;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** The largest model file read (2 GB; a k-NN over all 60,000 Fashion-MNIST rows takes about 190 MB). */
export const MAX_MODEL_BYTES = 2 ** 31;

/** Reads a model file (see decodeModel). */
export function loadModel(path: string): { pipeline: Pipeline; steps: StepConfig[]; info: ModelInfo } {
  let bytes: Buffer;
  try {
    bytes = readRegularFile(path, MAX_MODEL_BYTES);
  } catch (err) {
    if (!(err instanceof FileReadError)) throw err;
    throw new ModelError(
      err.reason === 'missing'
        ? `${path}: no such model file`
        : err.reason === 'folder'
          ? `${path}: is a folder, not a model file`
          : `${path}: ${err.message}`,
    );
  }
  return decodeModel(bytes, path);
}

/** An error as one line: a zod error by its first issue (path: message), anything else by its first line. */
function oneLine(err: unknown): string {
  const issues = (err as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues;
  if (Array.isArray(issues) && issues.length > 0) {
    const { path, message } = issues[0];
    return `invalid params${path.length > 0 ? ` at ${path.map(String).join('.')}` : ''}: ${message}`;
  }
  return String((err as Error).message ?? err).split('\n')[0];
}
