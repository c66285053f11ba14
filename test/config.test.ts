import test from 'ava';
import { readdirSync } from 'node:fs';
import { ConfigError } from '../src/config/errors.js';
import { loadPipelineFile, parsePipeline } from '../src/config/load.js';

const valid = `name: t
steps:
  - normalize: { method: minmax }
  - pca: { components: 20 }
  - knn: { k: 3 }
evaluation:
  folds: 3
  seed: 7
`;

function errorOf(text: string): ConfigError {
  try {
    parsePipeline('p.yaml', text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

test('a valid file resolves defaults, ids and the seed', (t) => {
  const { config } = parsePipeline('p.yaml', valid);
  t.is(config.name, 't');
  t.deepEqual(
    config.steps.map((s) => s.id),
    ['normalize', 'pca', 'knn'],
  );
  t.is(config.steps[1].params.components, 20);
  t.is(config.steps[2].params.weights, 'uniform');
  t.deepEqual(config.evaluation, { folds: 3, seed: 7, test: true });
  t.deepEqual(config.data, { format: 'idx' });
});

test('repeated stages get numbered ids; stages with a seed take the evaluation seed unless given', (t) => {
  const { config } = parsePipeline(
    'p.yaml',
    `name: r
steps:
  - normalize: {}
  - normalize: { method: standard }
  - random_forest: { trees: 3 }
evaluation: { seed: 99 }
`,
  );
  t.deepEqual(
    config.steps.map((s) => s.id),
    ['normalize-1', 'normalize-2', 'random_forest'],
  );
  t.is(config.steps[2].params.seed, 99);
  const given = parsePipeline(
    'p.yaml',
    'name: r\nsteps:\n  - random_forest: { trees: 3, seed: 5 }\nevaluation: { seed: 99 }\n',
  );
  t.is(given.config.steps[0].params.seed, 5);
  const overridden = parsePipeline('p.yaml', 'name: r\nsteps:\n  - random_forest: { trees: 3 }\n', {
    seed: 11,
    folds: 4,
  });
  t.is(overridden.config.steps[0].params.seed, 11);
  t.is(overridden.config.evaluation.folds, 4);
});

const cases: Array<[string, string, RegExp]> = [
  ['unknown stage', valid.replace('pca:', 'pcaa:'), /^p\.yaml:4:5: unknown stage "pcaa"; stages: normalize, .*pca/],
  [
    'unknown param',
    valid.replace('components: 20', 'componentz: 20'),
    /^p\.yaml:4:12: unknown param "componentz" for stage pca; allowed: components, whiten/,
  ],
  ['wrong type', valid.replace('components: 20', 'components: many'), /^p\.yaml:4:24: pca\.components: .*number/i],
  ['k below 1', valid.replace('k: 3', 'k: 0'), /^p\.yaml:5:15: knn\.k: .*(>=|≥|at least|too small).*1/i],
  [
    'bad enum',
    valid.replace('method: minmax', 'method: zscore'),
    /^p\.yaml:3:26: normalize\.method: .*minmax.*standard.*l2/,
  ],
  [
    'components above features',
    valid.replace('components: 20', 'components: 900'),
    /^p\.yaml:4:24: pca\.components: .*784/,
  ],
  [
    'estimator not last',
    valid
      .replace('  - knn: { k: 3 }\n', '')
      .replace('  - normalize: { method: minmax }\n', '  - knn: { k: 3 }\n  - normalize: { method: minmax }\n'),
    /^p\.yaml:3:5: estimator "knn" must be the last step/,
  ],
  ['no estimator', valid.replace('  - knn: { k: 3 }\n', ''), /^p\.yaml:4:5: the last step must be an estimator/],
  ['folds below 2', valid.replace('folds: 3', 'folds: 1'), /^p\.yaml:7:10: evaluation\.folds: /],
  [
    'unknown top-level key',
    valid + 'extra: 1\n',
    /^p\.yaml:9:1: unknown key "extra"; allowed: name, description, data, steps, evaluation/,
  ],
  ['step not a map', valid.replace('  - knn: { k: 3 }', '  - knn'), /^p\.yaml:5:5: each step is a one-key map/],
  ['yaml syntax', 'name: [unclosed\nsteps: []\n', /^p\.yaml:\d+:\d+: YAML syntax: /],
  ['bad name', valid.replace('name: t', 'name: "a b"'), /^p\.yaml:1:7: name: name must be letters/],
  ['reserved name', valid.replace('name: t', 'name: data'), /^p\.yaml:1:7: name: name must not be data or COMPARISON/],
  [
    'csv without files',
    valid.replace('evaluation:', 'data: { format: csv }\nevaluation:'),
    /data\.format csv needs data\.train/,
  ],
];

for (const [what, text, message] of cases) {
  test(`error with file:line:col — ${what}`, (t) => {
    const err = errorOf(text);
    t.regex(err.message, message);
    t.notRegex(err.message, /\n/);
  });
}

test('a missing pipeline file is a ConfigError too', (t) => {
  t.throws(() => loadPipelineFile('pipelines/nope.yaml'), {
    instanceOf: ConfigError,
    message: /nope\.yaml:1:1: no such pipeline file/,
  });
});

test('every shipped pipeline file validates', (t) => {
  const dir = new URL('../../pipelines/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  t.true(files.length >= 5);
  for (const f of files) t.notThrows(() => loadPipelineFile(new URL(f, dir).pathname), f);
});
