/**
 * Hostile model files for `predict MODEL photo` (and `show`, which takes none): each is exit 1, one line naming the file,
 * no stack trace, nothing new beside it. A real model is made once from a tiny pipeline, then cut, flipped and lied about.
 */
import test, { type ExecutionContext } from 'ava';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { assertCleanFailure, cli, listTree, type Expectation } from './harness.js';

const PHOTO = join(process.cwd(), 'data', 'photos', 'coat.png');
const PREFIX = 48; // magic, header length, padding, SHA-256 (src/model/format.ts)

let model: Buffer;

test.before(() => {
  const dir = tempDir();
  const file = join(dir, 'tiny.yaml');
  writeFileSync(
    file,
    `name: tiny\ndata: { limit: { train: 300, test: 100 } }\nsteps:\n  - normalize: {}\n  - pca: { components: 5 }\n  - knn: { k: 3 }\n`,
  );
  const path = join(dir, 'tiny.model');
  const r = cli(['run', file, '--no-cv', '--no-pictures', '--quiet', '--out', join(dir, 'out'), '--save-model', path]);
  if (r.status !== 0) throw new Error(`could not make the model: ${r.stderr}`);
  model = readFileSync(path);
});

/** The model's JSON header and its array bytes. */
function parts(bytes: Buffer): { header: Record<string, unknown>; blob: Buffer } {
  const length = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.toString('utf8', PREFIX, PREFIX + length)) as Record<string, unknown>;
  return { header, blob: bytes.subarray(PREFIX + ((length + 7) & ~7)) };
}

/** A model file with this header and blob and a correct checksum (the lie is inside, not in the digest). */
function forge(header: unknown, blob: Buffer, declaredLength?: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const pad = Buffer.alloc(((json.length + 7) & ~7) - json.length, 0x20);
  const head = Buffer.alloc(PREFIX);
  head.write('FPMODEL\n', 0, 'latin1');
  head.writeUInt32LE(declaredLength ?? json.length, 8);
  createHash('sha256').update(json).update(pad).update(blob).digest().copy(head, 16);
  return Buffer.concat([head, json, pad, blob]);
}

/** Writes `content` as `name` in a fresh folder, predicts a photo with it and asserts the clean failure. */
function bad(t: ExecutionContext, name: string, content: Buffer | string, says: Expectation['says'], exit = 1): void {
  const dir = tempDir('fp-hostile-model-');
  const file = join(dir, name);
  writeFileSync(file, content);
  const before = listTree(dir);
  const r = cli(['predict', file, PHOTO, '--models', join(dir, 'models')], { cwd: dir });
  t.log(r.stderr.trim());
  assertCleanFailure(t, r, { exit, says: [name, ...[says].flat()], unchanged: [{ dir, before }] });
}

test('the real model works (the cases below fail because of what was done to it)', (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'tiny.model'), model);
  const r = cli(['predict', join(dir, 'tiny.model'), PHOTO, '--quiet']);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /coat\.png/);
});

test('an empty file', (t) => bad(t, 'empty.model', '', 'not a fashion-pipeline model'));

test('a text file', (t) => bad(t, 'notes.model', 'these are my notes\n', 'not a fashion-pipeline model'));

test('a truncated real model: cut in the arrays, and cut inside its header', (t) => {
  bad(t, 'cut.model', model.subarray(0, model.length - 1000), 'damaged or truncated');
  bad(t, 'cut-header.model', model.subarray(0, PREFIX + 20), 'truncated');
});

test('one flipped byte in the body fails the checksum', (t) => {
  const flipped = Buffer.from(model);
  flipped[flipped.length - 100] ^= 0x01;
  bad(t, 'flipped.model', flipped, 'SHA-256');
});

test('a model of a future format version says which version it is', (t) => {
  const { header, blob } = parts(model);
  bad(t, 'future.model', forge({ ...header, format: 2 }, blob), ['model format 2', 'reads format 1']);
});

test('a header that lies about lengths: its own, and an array running past the end', (t) => {
  const { header, blob } = parts(model);
  bad(t, 'long-header.model', forge(header, blob, 2 ** 31), 'truncated or damaged');
  bad(t, 'short-header.model', forge(header, blob, 5), 'damaged header');
  const stages = JSON.parse(JSON.stringify(header.stages)) as unknown;
  const stretch = (o: unknown): boolean => {
    if (Array.isArray(o)) return o.some(stretch);
    if (o === null || typeof o !== 'object') return false;
    const r = o as Record<string, unknown>;
    if (typeof r.$array === 'string') return ((r.length as number) *= 1000) > 0;
    return Object.values(r).some(stretch);
  };
  t.true(stretch(stages));
  bad(t, 'long-array.model', forge({ ...header, stages }, blob), 'an array runs past the end of the file');
});

test('steps and stages that disagree, and params no stage accepts', (t) => {
  const { header, blob } = parts(model);
  bad(t, 'fewer.model', forge({ ...header, stages: [] }, blob), 'steps and stages disagree');
  const steps = (header.steps as Array<{ params: Record<string, unknown> }>).map((s, i) =>
    i === 2 ? { ...s, params: { ...s.params, k: -3 } } : s,
  );
  bad(t, 'params.model', forge({ ...header, steps }, blob), 'invalid params at k');
});

test('a pipeline file (YAML) given where a model is expected', (t) => {
  bad(t, 'pipeline.model', 'name: tiny\nsteps:\n  - knn: {}\n', 'not a fashion-pipeline model');
});

test('a model file given where a pipeline file is expected: predict reads it by content; run refuses it (exit 2)', (t) => {
  const dir = tempDir();
  const file = join(dir, 'saved.yaml');
  writeFileSync(file, model);
  const before = listTree(dir);
  const predicted = cli(['predict', file, PHOTO, '--models', join(dir, 'models'), '--quiet']);
  t.is(predicted.status, 0, predicted.stderr);
  t.deepEqual(listTree(dir), before, 'read as a model: nothing fitted, nothing saved');
  const run = cli(['run', file, '--out', join(dir, 'out')]);
  assertCleanFailure(t, run, { exit: 2, says: [/saved\.yaml:1:1: a model file/], unchanged: [{ dir, before }] });
});

test('a folder, and a missing file, where a model is expected', (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'folder.model'));
  const r = cli(['predict', join(dir, 'folder.model'), PHOTO]);
  assertCleanFailure(t, r, {
    exit: 1,
    says: 'folder.model: is a folder',
    unchanged: [{ dir, before: ['folder.model'] }],
  });
  const missing = cli(['predict', join(dir, 'gone.model'), PHOTO]);
  assertCleanFailure(t, missing, { exit: 1, says: 'gone.model: no such model file' });
});

test('show takes a pipeline file, not a model file: naming one is a usage error', (t) => {
  const dir = tempDir();
  copyFileSync(PHOTO, join(dir, 'coat.png'));
  writeFileSync(join(dir, 'tiny.model'), model);
  const r = cli(['show', join(dir, 'tiny.model'), '--out', join(dir, 'out')]);
  assertCleanFailure(t, r, {
    exit: 2,
    says: [
      /tiny\.model:1:1: a model file \(written by --save-model\), not a pipeline file; `pipeline predict` takes it/,
    ],
    unchanged: [{ dir, before: ['coat.png', 'tiny.model'] }],
  });
});

test('a NaN and an infinity planted in the fitted arrays, with the checksum recomputed: refused at load', (t) => {
  const { header, blob } = parts(model);
  // every float array of the model: plant the value in the first one's middle
  const refs: Array<{ $array: string; offset: number; length: number }> = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.$array === 'Float32Array' || o.$array === 'Float64Array') refs.push(o as (typeof refs)[number]);
      else Object.values(o).forEach(walk);
    }
  };
  walk(header);
  t.true(refs.length > 0);
  for (const [name, value] of [
    ['nan.model', NaN],
    ['inf.model', -Infinity],
  ] as const) {
    const ref = refs[refs.length - 1];
    const copy = Buffer.from(blob);
    const at = ref.offset + Math.floor(ref.length / 2) * (ref.$array === 'Float32Array' ? 4 : 8);
    if (ref.$array === 'Float32Array') copy.writeFloatLE(value, at);
    else copy.writeDoubleLE(value, at);
    bad(t, name, forge(header, copy), [String(value), 'fitted parameters are finite']);
  }
});

test('an info section that is not what the tool writes, with the checksum recomputed: refused at load, naming the field', (t) => {
  const { header, blob } = parts(model);
  const info = header.info as Record<string, unknown>;
  for (const [name, changed, field] of [
    ['info-null.model', null, 'not an object'],
    ['no-classes.model', { ...info, classes: 'Shirt' }, 'classes'],
    [
      'huge-photo.model',
      { ...info, input: { kind: 'photo', image: { width: 1e9, height: 4, channels: 3, fit: 'fill' } } },
      'input.image',
    ],
    ['odd-input.model', { ...info, input: { kind: 'svg' } }, 'input'],
    [
      'bad-threshold.model',
      { ...info, unfamiliar: { ...(info.unfamiliar as object), threshold: 'high' } },
      'unfamiliar',
    ],
    ['no-name.model', { ...info, name: 42 }, 'name'],
  ] as const) {
    bad(t, name, forge({ ...header, info: changed }, blob), `damaged info (${field})`);
  }
});
