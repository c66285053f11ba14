/**
 * The package as users install it: `npm pack` (after the build), unpacked into a fresh app's node_modules (its
 * dependencies linked from this checkout's), then every script in examples/ run there with `node`, and a TypeScript
 * file type-checked against the package's declarations. What users import is what is tested.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const examples = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.mjs'));

/** What each example prints when it works (one line each). */
const EXPECTED: Record<string, RegExp> = {
  'fit-and-score.mjs': /^accuracy 0\.\d{4} on 1000 test images$/m,
  'classify-photos.mjs': /^coat\.png: .+ \(\d\.\d\d\)\nsneaker\.jpg: .+\ntrouser\.jpg: .+$/m,
  'serve-in-your-app.mjs': /^200 \S/m,
  'custom-stage.mjs': /^contract passed; accuracy 0\.\d{4} on 1000 test images$/m,
};

let app = '';
let entries: string[] = [];
test.before(() => {
  const tmp = tempDir('fp-pack-');
  const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], {
    cwd: root,
    encoding: 'utf8',
  });
  if (packed.status !== 0) throw new Error(`npm pack failed: ${packed.stderr}`);
  const tarball = join(tmp, packed.stdout.trim().split('\n').pop()!);
  entries = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 }).stdout.split('\n');
  app = join(tmp, 'app');
  const installed = join(app, 'node_modules', 'fashion-pipeline');
  mkdirSync(installed, { recursive: true });
  const unpacked = spawnSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  if (unpacked.status !== 0) throw new Error(`tar failed: ${unpacked.stderr}`);
  symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'));
  // the app's own dependency: fastify, for the example that registers the classifier in its own server
  symlinkSync(join(root, 'node_modules', 'fastify'), join(app, 'node_modules', 'fastify'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'shop', type: 'module', private: true }));
  for (const f of examples) copyFileSync(join(root, 'examples', f), join(app, f));
});

test('the package holds the library, its declarations, the CLI, the page and the data; no tests, benchmarks or results', (t) => {
  for (const file of [
    'package/dist/src/index.js',
    'package/dist/src/index.d.ts',
    'package/dist/src/cli/bin.js',
    'package/bin/pipeline',
    'package/dist/wasm/kernels.wasm',
    'package/src/serve/page/index.html',
    'package/pipelines/clothing.yaml',
    'package/data/fashion-mnist/LICENSE',
    'package/data/clothing-small/LICENSE',
    'package/LICENSE',
  ]) {
    t.true(entries.includes(file), file);
  }
  for (const prefix of ['package/results/', 'package/test/', 'package/bench/', 'package/dist/test/', 'package/models/'])
    t.false(
      entries.some((e) => e.startsWith(prefix)),
      prefix,
    );
});

test('the installed `pipeline` command runs the CLI with the allocator set to reuse memory, unless the user set it', (t) => {
  // as npm links it: node_modules/.bin/pipeline → ../fashion-pipeline/bin/pipeline
  const bin = join(app, 'node_modules', '.bin');
  mkdirSync(bin, { recursive: true });
  const link = join(bin, 'pipeline');
  if (!existsSync(link)) symlinkSync(join('..', 'fashion-pipeline', 'bin', 'pipeline'), link);
  const real = spawnSync(link, ['--help'], { encoding: 'utf8' });
  t.is(real.status, 0, real.stderr);
  t.regex(real.stdout, /pipeline <command> \[options\]/);
  // a `node` first on PATH that prints what it was given shows the wrapper's environment and arguments
  const fake = tempDir('fp-fake-node-');
  writeFileSync(
    join(fake, 'node'),
    '#!/bin/sh\necho "mmap=${MALLOC_MMAP_MAX_-unset} trim=${MALLOC_TRIM_THRESHOLD_-unset} tunables=${GLIBC_TUNABLES-unset} $*"\n',
    { mode: 0o755 },
  );
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${fake}:${process.env.PATH}` };
  delete env.MALLOC_MMAP_MAX_;
  delete env.MALLOC_TRIM_THRESHOLD_;
  delete env.GLIBC_TUNABLES;
  const cli = `${realpathSync(join(app, 'node_modules', 'fashion-pipeline', 'bin'))}/../dist/src/cli/bin.js`;
  const set = spawnSync(link, ['run', 'a b.yaml'], { encoding: 'utf8', env });
  t.is(set.stdout.trim(), `mmap=0 trim=1099511627776 tunables=glibc.malloc.hugetlb=1 ${cli} run a b.yaml`);
  const kept = spawnSync(link, ['show'], {
    encoding: 'utf8',
    env: { ...env, MALLOC_MMAP_MAX_: '65536', GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' },
  });
  t.is(kept.stdout.trim(), `mmap=65536 trim=1099511627776 tunables=glibc.malloc.hugetlb=0 ${cli} show`);
  // set but empty (how the docs say to turn huge pages off) is left as it is too
  const empty = spawnSync(link, ['show'], { encoding: 'utf8', env: { ...env, GLIBC_TUNABLES: '' } });
  t.is(empty.stdout.trim(), `mmap=0 trim=1099511627776 tunables= ${cli} show`);
});

for (const example of examples) {
  test.serial(`examples/${example} runs against the installed package`, (t) => {
    const r = spawnSync(process.execPath, [example], { cwd: app, encoding: 'utf8', timeout: 180_000 });
    t.is(r.status, 0, r.stderr);
    t.log(r.stdout.trim());
    t.regex(r.stdout, EXPECTED[example] ?? /./, `examples/${example} printed:\n${r.stdout}`);
  });
}

test('a TypeScript program type-checks against the package declarations', (t) => {
  writeFileSync(
    join(app, 'check.ts'),
    `import { Pipeline, checkStage, registry, matrix, classifyPhotos, buildServer, loadData, type ObtainedModel, type Matrix } from 'fashion-pipeline';
const X: Matrix = matrix(2, 2, Float32Array.from([0, 1, 1, 0]));
const p: Pipeline = Pipeline.fromSteps([{ id: 'knn', stage: 'knn', params: { k: 1 } }]);
export async function use(model: ObtainedModel): Promise<string> {
  await p.fit(X, Uint8Array.from([0, 1]));
  const [first] = await classifyPhotos(model, [new Uint8Array(8)]);
  const app = await buildServer({ model });
  await app.close();
  const data = await loadData({ format: 'idx' }, { seed: 1, withTest: false });
  const [report] = await checkStage(registry.get('knn')!, { params: [{ k: 1 }] });
  return first.class + String(data.train.X.rows) + String(report.passed);
}
`,
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
  const types = ['--types', 'node', '--typeRoots', join(root, 'node_modules', '@types')];
  const r = spawnSync(process.execPath, [tsc, ...args, ...types, '--skipLibCheck', 'check.ts'], {
    cwd: app,
    encoding: 'utf8',
  });
  t.is(r.status, 0, r.stdout + r.stderr);
});
