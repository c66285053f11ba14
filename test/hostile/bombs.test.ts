import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { runRun } from '../../src/app/run.js';
import { ConfigError } from '../../src/config/errors.js';
import { MAX_CANDIDATES } from '../../src/config/param-grid.js';
import { loadPipelineFile, parsePipeline } from '../../src/config/load.js';
import { DataError } from '../../src/data/errors.js';
import { bundledDataDir, FILES, loadSplit } from '../../src/data/fashion-mnist.js';
import { shutdownPool } from '../../src/runtime/pool.js';
import { tempDir } from '../helpers.js';

test.after.always(() => shutdownPool());

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

test('a gzip bomb in place of an IDX file stops at the size the file may have, naming it', (t) => {
  const dir = tempDir();
  for (const f of Object.values(FILES.test)) copyFileSync(join(bundledDataDir(), f.file), join(dir, f.file));
  // 200 MB of zeros compress to about 200 KB
  writeFileSync(join(dir, FILES.test.images.file), gzipSync(Buffer.alloc(200 * 2 ** 20)));
  const before = process.memoryUsage().rss;
  const err = t.throws(() => loadSplit(dir, 'test'), { instanceOf: DataError });
  t.regex(err!.message, /t10k-images-idx3-ubyte\.gz: decompresses to more than \d+ bytes/);
  t.true(process.memoryUsage().rss - before < 150 * 2 ** 20, 'decompression stopped early');
});

test('a YAML alias bomb is an invalid pipeline file (exit 2, one line), not a crash', (t) => {
  const lines = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 12; i++)
    lines.push(
      `${'b'.repeat(i)}: &${'b'.repeat(i)} [*${i === 1 ? 'a' : 'b'.repeat(i - 1)}, *${i === 1 ? 'a' : 'b'.repeat(i - 1)}, *${i === 1 ? 'a' : 'b'.repeat(i - 1)}, *${i === 1 ? 'a' : 'b'.repeat(i - 1)}, *${i === 1 ? 'a' : 'b'.repeat(i - 1)}, *${i === 1 ? 'a' : 'b'.repeat(i - 1)}, *${i === 1 ? 'a' : 'b'.repeat(i - 1)}, *${i === 1 ? 'a' : 'b'.repeat(i - 1)}, *${i === 1 ? 'a' : 'b'.repeat(i - 1)}]`,
    );
  const text = `${lines.join('\n')}\nname: bomb\nsteps: [ { knn: {} } ]\n`;
  t.throws(() => parsePipeline('bomb.yaml', text), { instanceOf: ConfigError, message: /^bomb\.yaml:1:1: YAML: / });
  const path = join(tempDir(), 'bomb.yaml');
  writeFileSync(path, text);
  const r = spawnSync(process.execPath, [BIN, 'run', path], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
});

const huge = (values: number) => `name: huge
data:
  limit: { train: 300, test: 100 }
steps:
  - normalize: {}
  - knn: { k: 1 }
evaluation:
  folds: 2
grid:
  knn.k: [${Array.from({ length: values }, (_, i) => i + 1).join(', ')}]
  knn.weights: [uniform, distance]
  knn.metric: [euclidean, manhattan]
  knn.algorithm: [kd_tree, brute]
  normalize.method: [minmax, standard, l2]
`;

test('a grid is counted before it is expanded: above the limit it is refused with the count; run ignores it', async (t) => {
  const path = join(tempDir(), 'huge.yaml');
  writeFileSync(path, huge(1000)); // 1000 × 2 × 2 × 2 × 3 = 24 000 candidates
  const err = t.throws(() => loadPipelineFile(path), { instanceOf: ConfigError });
  t.regex(err!.message, new RegExp(`the grid has 24000 candidates; at most ${MAX_CANDIDATES}`));
  const out = tempDir();
  const run = await runRun({ file: path, out, pictures: false, cv: false });
  t.true(run.result.test!.accuracy > 0.5);
  t.deepEqual(readdirSync(out).sort(), ['huge.json', 'huge.md']);
});

test('a model file whose params are invalid is one line naming the param, not a zod dump', async (t) => {
  const { Pipeline } = await import('../../src/pipeline/pipeline.js');
  const { encodeModel, decodeModel } = await import('../../src/model/format.js');
  const { ModelError } = await import('../../src/stages/snapshot.js');
  const { blobs } = await import('../helpers.js');
  const data = blobs(60, 4, 3, 2);
  const steps = [{ id: 'knn', stage: 'knn', params: { k: 3 } }];
  const pipeline = await Pipeline.fromSteps(steps).fit(data.X, data.y);
  const info = {
    name: 'm',
    source: 'm.yaml',
    tool: '0',
    created: '',
    classes: [],
    training: { rows: 60, data: 'x' },
    fit_key: '',
  };
  const bytes = encodeModel(pipeline, [{ id: 'knn', stage: 'knn', params: { k: -3 } }], info);
  const err = t.throws(() => decodeModel(bytes, 'm.model'), { instanceOf: ModelError });
  t.is(err!.message.split('\n').length, 1);
  t.regex(err!.message, /^m\.model: invalid params at k: /);
});

test('compare on a file that is not JSON says so in one line', (t) => {
  const bad = join(tempDir(), 'bad.json');
  writeFileSync(bad, 'hello\nworld');
  const r = spawnSync(process.execPath, [BIN, 'compare', bad, bad, '--out', tempDir()], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.regex(r.stderr, /bad\.json: not JSON/);
});

test('a misspelt command is pointed at the general help, not at itself', (t) => {
  const r = spawnSync(process.execPath, [BIN, 'rnu', 'x.yaml'], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr, /Did you mean run\?.*\(see: pipeline --help\)/);
});
