/**
 * Hostile pipeline files: for `run`, `grid` (and `--dry-run`) and `predict PIPELINE.yaml photo`, each bad file is exit 2,
 * one line `file:line:col: …` on stderr, no stack trace, and nothing new in the output folder or beside the file.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { assertCleanFailure, cli, listTree, type Expectation } from './harness.js';

const PHOTO = join(process.cwd(), 'data', 'photos', 'coat.png');

const HEAD = `name: tiny
data: { limit: { train: 300, test: 100 } }
evaluation: { folds: 2 }
`;
const GOOD_STEPS = `steps:
  - normalize: {}
  - pca: { components: 5 }
  - knn: { k: 3 }
`;

type Command = 'run' | 'grid' | 'dry-run' | 'predict';

/** The command line of `command` on `file`, every output inside `dir`. */
function argsFor(command: Command, file: string, dir: string): string[] {
  const out = ['--out', join(dir, 'out')];
  switch (command) {
    case 'run':
      return ['run', file, ...out, '--no-pictures'];
    case 'grid':
      return ['grid', file, ...out, '--cache-dir', join(dir, 'cache')];
    case 'dry-run':
      return ['grid', file, ...out, '--cache-dir', join(dir, 'cache'), '--dry-run'];
    case 'predict':
      return ['predict', file, PHOTO, '--models', join(dir, 'models')];
  }
}

/**
 * Writes `content` as `name` in a fresh folder, runs each command on it there and asserts the clean failure: the
 * message names the file with a line and column (`where`, e.g. /:3:5: /), plus `says`.
 */
function bad(
  t: ExecutionContext,
  name: string,
  content: string | Buffer | null,
  commands: Command[],
  says: Expectation['says'],
  where: RegExp = /:\d+:\d+: /,
): void {
  for (const command of commands) {
    const dir = tempDir('fp-hostile-pf-');
    const file = join(dir, name);
    if (content !== null) writeFileSync(file, content);
    const before = listTree(dir);
    const r = cli(argsFor(command, file, dir), { cwd: dir });
    t.log(`${command}: ${r.stderr.trim()}`);
    assertCleanFailure(t, r, {
      exit: 2,
      says: [name, new RegExp(`${name.replace(/\./g, '\\.')}${where.source}`), ...[says].flat()],
      unchanged: [{ dir, before }],
    });
  }
}

test('a missing pipeline file', (t) => {
  bad(t, 'nope.yaml', null, ['run', 'dry-run', 'predict'], 'no such pipeline file', /:1:1: /);
});

test('a folder named like a pipeline file', (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'folder.yaml'));
  const r = cli(['run', join(dir, 'folder.yaml'), '--out', join(dir, 'out')]);
  assertCleanFailure(t, r, {
    exit: 2,
    says: [/folder\.yaml:1:1: is a folder/],
    unchanged: [{ dir, before: ['folder.yaml'] }],
  });
});

test('an empty file, and one holding only a comment', (t) => {
  bad(t, 'empty.yaml', '', ['run', 'grid'], 'a pipeline file is a map');
  bad(t, 'comment.yaml', '# nothing yet\n', ['dry-run'], 'a pipeline file is a map');
});

test('binary garbage is named as such, at the first zero byte', (t) => {
  const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
  bad(t, 'garbage.yaml', garbage, ['run', 'predict'], 'binary data');
});

test('invalid UTF-8 is pointed at, by line and column', (t) => {
  const text = Buffer.concat([
    Buffer.from('name: tiny\ndescription: caf'),
    Buffer.from([0xe9]),
    Buffer.from('\nsteps: []\n'),
  ]);
  bad(t, 'latin1.yaml', text, ['run', 'dry-run'], ['not UTF-8 text', 'byte 0xe9'], /:2:17: /);
});

test('a tab used for indentation, and items at different indents', (t) => {
  bad(t, 'tabs.yaml', `${HEAD}steps:\n\t- knn: {}\n`, ['run'], 'Tabs are not allowed', /:5:1: /);
  bad(t, 'indent.yaml', `${HEAD}steps:\n  - pca: {}\n   - knn: {}\n`, ['grid'], 'YAML syntax', /:6:\d+: /);
});

test('duplicate keys, at the top and inside a step', (t) => {
  bad(t, 'dup.yaml', `${HEAD}name: other\n${GOOD_STEPS}`, ['run'], 'Map keys must be unique', /:4:1: /);
  bad(
    t,
    'dup-param.yaml',
    `${HEAD}steps:\n  - knn: { k: 1, k: 2 }\n`,
    ['dry-run'],
    'Map keys must be unique',
    /:5:\d+: /,
  );
});

test('an unknown stage suggests the near one', (t) => {
  bad(
    t,
    'stage.yaml',
    `${HEAD}steps:\n  - pcaa: {}\n  - knn: {}\n`,
    ['run', 'predict'],
    'did you mean "pca"?',
    /:5:5: /,
  );
});

test('a misspelt param suggests the right one', (t) => {
  const text = `${HEAD}steps:\n  - pca: { component: 5 }\n  - knn: {}\n`;
  bad(
    t,
    'param.yaml',
    text,
    ['run', 'predict'],
    ['unknown param "component"', 'did you mean "components"?'],
    /:5:12: /,
  );
});

test('an unknown top-level key suggests the near one', (t) => {
  const text = `name: tiny\nevalution: { folds: 2 }\n${GOOD_STEPS}`;
  bad(t, 'top.yaml', text, ['run', 'dry-run'], ['unknown key "evalution"', 'did you mean "evaluation"?'], /:2:1: /);
});

test('wrong types: a word for a number, a number for a name, a map for a param', (t) => {
  bad(
    t,
    'word.yaml',
    `${HEAD}steps:\n  - pca: { components: five }\n  - knn: {}\n`,
    ['run'],
    'pca.components',
    /:5:24: /,
  );
  bad(t, 'name.yaml', `name: 12\n${GOOD_STEPS}`, ['run'], 'name', /:1:7: /);
  bad(t, 'map.yaml', `${HEAD}steps:\n  - knn: { k: { value: 3 } }\n`, ['grid'], 'knn.k', /:5:\d+: /);
});

test('negative, zero, NaN, infinite and huge numbers', (t) => {
  const step = (s: string) => `${HEAD}steps:\n  - ${s}\n`;
  bad(t, 'neg.yaml', step('knn: { k: -3 }'), ['run'], 'knn.k', /:5:15: /);
  bad(t, 'zero.yaml', `${HEAD}steps:\n  - pca: { components: 0 }\n  - knn: {}\n`, ['dry-run'], 'pca.components');
  bad(t, 'nan.yaml', step('knn: { k: .nan }'), ['run'], 'NaN', /:5:15: /);
  bad(t, 'inf.yaml', step('svm: { C: .inf }'), ['run'], ['svm.C', 'Infinity'], /:5:15: /);
  bad(t, 'overflow.yaml', step('svm: { C: 1e400 }'), ['run'], 'svm.C', /:5:15: /);
  bad(t, 'folds-nan.yaml', `name: tiny\nevaluation: { folds: .nan }\n${GOOD_STEPS}`, ['run'], 'evaluation.folds');
});

test('a forest of a billion trees is refused before it takes all memory', (t) => {
  const text = `${HEAD}steps:\n  - random_forest: { trees: 1000000000 }\n`;
  bad(t, 'trees.yaml', text, ['run'], ['random_forest.trees', 'at most 10000'], /:5:\d+: /);
});

test('steps that are not a list', (t) => {
  bad(t, 'string.yaml', `${HEAD}steps: knn\n`, ['run'], 'expected array', /:4:8: /);
  bad(t, 'map.yaml', `${HEAD}steps: { knn: {} }\n`, ['predict'], 'expected array', /:4:8: /);
  bad(t, 'none.yaml', `${HEAD}steps: []\n`, ['run'], 'at least one stage');
  bad(t, 'two-keys.yaml', `${HEAD}steps:\n  - { pca: {}, knn: {} }\n`, ['run'], 'one-key map', /:5:5: /);
});

const grid = (section: string) => `${HEAD}${GOOD_STEPS}grid:\n${section}`;

test('a grid key naming no step: grid, its dry run and predict refuse it, and so does run (which ignores the grid)', (t) => {
  bad(
    t,
    'nostep.yaml',
    grid('  knnn.k: [1, 3]\n'),
    ['grid', 'dry-run', 'run', 'predict'],
    'did you mean "knn.k"?',
    /:9:3: /,
  );
});

test('a grid key naming no param of its step suggests the right one', (t) => {
  bad(t, 'noparam.yaml', grid('  pca.component: [3, 5]\n'), ['dry-run', 'run'], 'did you mean "components"?', /:9:3: /);
});

test('grid values of the wrong type, at the value', (t) => {
  bad(t, 'values.yaml', grid('  knn.k: [1, three]\n'), ['grid', 'run'], 'knn.k', /:9:14: /);
});

test('an empty grid list, an empty grid map, and a grid that is a word', (t) => {
  bad(t, 'empty-list.yaml', grid('  knn.k: []\n'), ['grid'], 'at least one value', /:9:10: /);
  bad(t, 'empty-map.yaml', `${HEAD}${GOOD_STEPS}grid: {}\n`, ['grid'], 'grid: has no keys', /:8:7: /);
  bad(t, 'word.yaml', `${HEAD}${GOOD_STEPS}grid: everything\n`, ['dry-run'], 'grid:', /:8:7: /);
});

test('feature flow: PCA asking for more components than the features it receives, in a step or a grid value', (t) => {
  const text = `${HEAD}steps:\n  - hog: {}\n  - pca: { components: 2000 }\n  - knn: {}\n`;
  bad(t, 'flow.yaml', text, ['run', 'predict'], ['pca.components', '1296 features'], /:6:24: /);
  bad(t, 'flow-grid.yaml', grid('  pca.components: [5, 900]\n'), ['dry-run'], '784 features', /:9:\d+: /);
  bad(t, 'rows.yaml', `${HEAD}steps:\n  - pca: { components: 200 }\n  - knn: {}\n`, ['run'], 'rows PCA is fitted on');
});

test('union branches: none, an empty one, an estimator inside, one PCA too wide', (t) => {
  const union = (branches: string) => `${HEAD}steps:\n  - union:${branches}\n  - knn: {}\n`;
  bad(t, 'u-none.yaml', union(' {}'), ['run'], 'at least one branch', /:5:\d+: /);
  bad(t, 'u-empty.yaml', union('\n      a: { steps: [] }'), ['run'], 'at least one step', /:6:\d+: /);
  bad(
    t,
    'u-knn.yaml',
    union('\n      a: { steps: [ { knn: {} } ] }'),
    ['dry-run'],
    'unknown transformer "knn"',
    /:6:\d+: /,
  );
  bad(t, 'u-wide.yaml', union('\n      a: { steps: [ { pca: { components: 900 } } ] }'), ['run'], '784 features');
});

test('folds: fewer than 2, and more than the smallest class has rows', (t) => {
  bad(
    t,
    'one.yaml',
    `name: tiny\nevaluation: { folds: 1 }\n${GOOD_STEPS}`,
    ['run', 'dry-run'],
    'evaluation.folds',
    /:2:22: /,
  );
  const small = `name: tiny\ndata: { limit: { train: 30, test: 100 } }\nevaluation: { folds: 4 }\n${GOOD_STEPS}`;
  bad(t, 'classes.yaml', small.replace('components: 5', 'components: 2'), ['run'], 'smallest class', /:3:22: /);
});

test('a data limit larger than the data is the whole data (limits are "at most"), not an error', (t) => {
  const dir = tempDir();
  const file = join(dir, 'all.yaml');
  writeFileSync(file, `name: all\ndata: { limit: { train: 10000000, test: 100 } }\nsteps:\n  - knn: { k: 1 }\n`);
  const r = cli(['run', file, '--out', join(dir, 'out'), '--no-cv', '--no-pictures', '--quiet'], { cwd: dir });
  t.is(r.status, 0, r.stderr);
  const json = JSON.parse(readFileSync(join(dir, 'out', 'all.json'), 'utf8')) as { data: { train_rows: number } };
  t.is(json.data.train_rows, 60000);
});

test('a 10 MB pipeline file is refused by its size, before it is parsed', (t) => {
  const text = `${HEAD}${GOOD_STEPS}description: "${'x'.repeat(10 * 2 ** 20)}"\n`;
  bad(t, 'huge.yaml', text, ['run', 'predict'], ['10.0 MB', 'at most 1.0 MB'], /:1:1: /);
});

test('YAML nested deeper than the parser can follow is one line, not a stack overflow', (t) => {
  const depth = 50_000;
  const text = `${HEAD}steps:\n  - knn: ${'['.repeat(depth)}${']'.repeat(depth)}\n`;
  bad(t, 'deep.yaml', text, ['run'], 'nested too deeply');
});

test('a model file given where a pipeline file is expected', (t) => {
  const model = Buffer.concat([Buffer.from('FPMODEL\n'), Buffer.alloc(40)]);
  bad(t, 'model.yaml', model, ['run', 'dry-run'], 'a model file', /:1:1: /);
});
