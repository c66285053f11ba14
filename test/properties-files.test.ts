/**
 * Property tests for the binary readers: the model-file reader gives a model or a ModelError, photo preparation
 * pixels or its DataError, whatever the bytes (mutated real files, re-signed so the parser behind the checksum is
 * reached, and random bytes).
 */
import test from 'ava';
import { createCanvas } from '@napi-rs/canvas';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { DataError } from '../src/data/errors.js';
import { prepareImage } from '../src/data/image.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { decodeModel, encodeModel } from '../src/model/format.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { ModelError } from '../src/stages/snapshot.js';
import { fashionSample } from './helpers.js';
import { holds, mutated } from './properties-helpers.js';

test.after.always(() => shutdownPool());

const isModelError = (err: unknown) => err instanceof ModelError;
const isDataError = (err: unknown) => err instanceof DataError;

async function smallModel(): Promise<Buffer> {
  const data = fashionSample(100, 2);
  const steps = [
    { id: 'normalize', stage: 'normalize', params: {} },
    { id: 'pca', stage: 'pca', params: { components: 4 } },
    { id: 'knn', stage: 'knn', params: { k: 3 } },
  ];
  const pipeline = await Pipeline.fromSteps(steps).fit(data.X, data.y);
  const training = { rows: 100, data: 'x' };
  const info = { name: 'm', source: 'm.yaml', tool: '0', created: '', classes: [], training, fit_key: '' };
  return encodeModel(pipeline, steps, info as never);
}

/** A model file's bytes with its header length and SHA-256 made to match what follows (a crafted file). */
function resigned(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  if (out.length < 48) return out;
  createHash('sha256').update(out.subarray(48)).digest().copy(out, 16);
  return out;
}

test.serial('model files: mutated bytes of a real small model are a model or a ModelError', async (t) => {
  const model = await smallModel();
  await holds(t, mutated(model, 64), (b) => decodeModel(Buffer.from(b), 'm.model'), isModelError, { runs: 300 });
});

test.serial('model files: mutated and re-signed (header JSON and arrays) are a model or a ModelError', async (t) => {
  const model = await smallModel();
  const headerEnd = 48 + model.readUInt32LE(8);
  await holds(t, mutated(model, headerEnd).map(resigned), (b) => decodeModel(b, 'm.model'), isModelError, {
    runs: 400,
  });
});

test.serial('model files: any JSON value in place of a header field is a model or a ModelError', async (t) => {
  const model = await smallModel();
  const length = model.readUInt32LE(8);
  const header = JSON.parse(model.toString('utf8', 48, 48 + length)) as Record<string, unknown>;
  const blob = model.subarray(48 + ((length + 7) & ~7));
  const paths = fc.constantFrom(
    ['format'],
    ['steps'],
    ['stages'],
    ['steps', 0],
    ['steps', 1, 'params'],
    ['steps', 2, 'stage'],
    ['stages', 1],
    ['stages', 2, 'k'],
    ['info'],
  );
  const input = fc.tuple(paths, fc.jsonValue({ maxDepth: 2 })).map(([path, value]) => {
    const copy = structuredClone(header);
    let at: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) at = (at[key] ?? {}) as Record<string | number, unknown>;
    at[path[path.length - 1]] = value;
    const json = Buffer.from(JSON.stringify(copy));
    const head = Buffer.alloc(48);
    head.write('FPMODEL\n', 0, 'latin1');
    head.writeUInt32LE(json.length, 8);
    return resigned(Buffer.concat([head, json, Buffer.alloc(((json.length + 7) & ~7) - json.length, 0x20), blob]));
  });
  await holds(t, input, (b) => decodeModel(b, 'm.model'), isModelError, { runs: 300 });
});

function photo(type: 'image/png' | 'image/jpeg'): Buffer {
  const canvas = createCanvas(20, 16);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#eee';
  ctx.fillRect(0, 0, 20, 16);
  ctx.fillStyle = '#333';
  ctx.fillRect(5, 3, 9, 10);
  return canvas.toBuffer(type as 'image/png');
}

/** A PNG whose header claims `width`×`height`, with the header's CRC made right (a small file, a huge canvas). */
function pngClaiming(width: number, height: number): Buffer {
  const png = Buffer.from(photo('image/png'));
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

const prepare = (b: Uint8Array) => prepareImage(b, 'photo.png');

test.serial('photos: mutated small PNG and JPEG files are pixels or a DataError', async (t) => {
  const input = fc.oneof(mutated(photo('image/png'), 64), mutated(photo('image/jpeg'), 200));
  await holds(t, input, prepare, isDataError, { runs: 300 });
});

test.serial('photos: random bytes are pixels or a DataError', async (t) => {
  await holds(t, fc.uint8Array({ maxLength: 2000 }), prepare, isDataError, { runs: 300 });
});

test.serial('photos: a small PNG that claims a huge canvas is refused before it is decoded', async (t) => {
  const side = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 10_000, max: 2 ** 31 - 1 }));
  await holds(t, fc.tuple(side, side), ([w, h]) => prepare(pngClaiming(w, h)), isDataError, { runs: 100 });
});
