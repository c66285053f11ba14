import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folders of src/ and the folders each may import from: data flows one way (DESIGN.md). A new arrow that points
 * back up fails here, naming the file and the import.
 */
const ALLOWED: Record<string, string[]> = {
  util: [],
  metrics: [],
  // the worker pool and the loading of the WebAssembly modules: no linear algebra, no knowledge of the tasks it runs
  runtime: ['util'],
  linalg: ['runtime', 'util'],
  data: ['linalg', 'runtime', 'util'],
  stages: ['linalg', 'runtime', 'util'],
  pipeline: ['stages', 'data', 'linalg', 'runtime', 'util'],
  model: ['pipeline', 'stages', 'data', 'linalg', 'runtime', 'util'],
  config: ['pipeline', 'stages', 'data', 'util'],
  evaluate: ['pipeline', 'stages', 'data', 'metrics', 'linalg', 'runtime', 'util'],
  report: ['evaluate', 'model', 'pipeline', 'metrics', 'data', 'linalg', 'runtime', 'util'],
  app: ['config', 'evaluate', 'report', 'model', 'pipeline', 'stages', 'metrics', 'data', 'linalg', 'runtime', 'util'],
  serve: [
    'app',
    'config',
    'evaluate',
    'report',
    'model',
    'pipeline',
    'stages',
    'metrics',
    'data',
    'linalg',
    'runtime',
    'util',
  ],
  queue: [
    'app',
    'config',
    'evaluate',
    'report',
    'model',
    'pipeline',
    'stages',
    'metrics',
    'data',
    'linalg',
    'runtime',
    'util',
  ],
  cli: [
    'app',
    'serve',
    'queue',
    'config',
    'evaluate',
    'report',
    'model',
    'pipeline',
    'stages',
    'metrics',
    'data',
    'linalg',
    'runtime',
    'util',
  ],
  wasm: [],
};
// the public API: re-exports from every folder the CLI may use, except the queue's internals
ALLOWED['index.ts'] = ALLOWED.cli.filter((folder) => folder !== 'queue');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every relative import of a file (static, dynamic, type-only, re-exports, worker URLs), as folders of src/. */
function arrows(file: string): Array<{ to: string; spec: string }> {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/\bfrom\s+'(\.[^']+)'/g),
    ...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g),
    ...text.matchAll(/new URL\(\s*'(\.[^']+)'/g),
  ].map((m) => m[1]);
  return specs.map((spec) => ({ spec, to: relative(root, resolve(dirname(file), spec)).split(/[\\/]/)[0] }));
}

test('src/ has no folder arrow the design does not allow', (t) => {
  const files = sources(root);
  t.true(files.length > 50, 'found the sources');
  const wrong: string[] = [];
  for (const file of files) {
    const from = relative(root, file).split(/[\\/]/)[0];
    if (!(from in ALLOWED)) {
      wrong.push(`${relative(root, file)}: folder "${from}" is not in the design's list`);
      continue;
    }
    for (const { to, spec } of arrows(file)) {
      if (to === from || to === '..' || to.endsWith('.ts') || to.endsWith('.js')) continue; // outside src/: dist files, package.json
      if (!ALLOWED[from].includes(to)) wrong.push(`${relative(root, file)} imports ${spec} (${from} → ${to})`);
    }
  }
  t.deepEqual(wrong, []);
});

test('the checker sees arrows (a known import is found)', (t) => {
  const found = arrows(join(root, 'cli', 'run.ts')).map((a) => a.to);
  t.true(found.includes('app'));
});
