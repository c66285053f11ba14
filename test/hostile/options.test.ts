/**
 * Hostile command lines: each is exit 2 (usage), one line saying what is wrong with which option, no stack trace, and
 * nothing written to the output or cache folders.
 */
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';
import { assertCleanFailure, cli, listTree, type Expectation } from './harness.js';

const PIPELINE = `name: opt
data: { limit: { train: 300, test: 100 } }
evaluation: { folds: 2 }
steps:
  - pca: { components: 5 }
  - knn: { k: 3 }
grid:
  knn.k: [1, 3]
`;

/** Runs `pipeline <args>` (FILE = a small pipeline file, OUT and CACHE = empty folders) and asserts a usage error. */
function usage(t: ExecutionContext, args: string[], says: Expectation['says'], env: NodeJS.ProcessEnv = {}): void {
  const dir = tempDir('fp-hostile-opt-');
  const file = join(dir, 'opt.yaml');
  writeFileSync(file, PIPELINE);
  const expanded = args.map((a) =>
    a.replace('FILE', file).replace('OUT', join(dir, 'out')).replace('CACHE', join(dir, 'cache')),
  );
  const before = listTree(dir);
  const r = cli(expanded, { cwd: dir, env });
  t.log(`${args.join(' ')}: ${r.stderr.trim()}`);
  assertCleanFailure(t, r, { exit: 2, says, unchanged: [{ dir, before }] });
}

test('an unknown option suggests the right one', (t) => {
  usage(t, ['run', 'FILE', '--fold', '3', '--out', 'OUT'], ['unknown option --fold', 'did you mean --folds?']);
  usage(t, ['grid', 'FILE', '--dryrun', '--out', 'OUT'], 'did you mean --dry-run?');
  usage(t, ['predict', 'FILE', 'x.png', '--jsn'], 'did you mean --json?');
  usage(t, ['run', 'FILE', '--workers', '2', '--out', 'OUT'], 'unknown option --workers');
});

test('a missing required argument names what is needed', (t) => {
  usage(t, ['run'], 'pipeline run needs a pipeline file');
  usage(t, ['grid', '--out', 'OUT'], 'pipeline grid needs a pipeline file');
  usage(t, ['predict'], 'pipeline predict needs a model file or a pipeline file');
});

test('--param without "=", naming no step, naming no param, with values of the wrong type', (t) => {
  usage(
    t,
    ['grid', 'FILE', '--param', 'knn.k', '--out', 'OUT', '--cache-dir', 'CACHE'],
    '--param knn.k: expected stage.param=value',
  );
  usage(
    t,
    ['grid', 'FILE', '--param', 'svm.C=1', '--out', 'OUT', '--cache-dir', 'CACHE'],
    ['--param svm.C=1', 'pca, knn'],
  );
  usage(
    t,
    ['grid', 'FILE', '--param', 'knn.kk=1', '--out', 'OUT', '--cache-dir', 'CACHE'],
    ['--param knn.kk=1', 'did you mean "k"?'],
  );
  usage(
    t,
    ['grid', 'FILE', '--param', 'knn.k=a,b', '--out', 'OUT', '--cache-dir', 'CACHE', '--dry-run'],
    ['--param knn.k=a,b', 'knn.k'],
  );
  usage(t, ['grid', 'FILE', '--param', 'knn.k=1,,3', '--out', 'OUT', '--cache-dir', 'CACHE'], '--param knn.k=1,,3');
});

test('--folds 1, --folds abc, --folds 2.5, --folds above the smallest class', (t) => {
  usage(t, ['run', 'FILE', '--folds', '1', '--out', 'OUT'], '--folds must be a whole number ≥ 2, got 1');
  usage(t, ['run', 'FILE', '--folds', 'abc', '--out', 'OUT'], '--folds expects a number, got "abc"');
  usage(
    t,
    ['grid', 'FILE', '--folds=abc', '--out', 'OUT', '--cache-dir', 'CACHE'],
    '--folds expects a number, got "abc"',
  );
  usage(t, ['run', 'FILE', '--folds', '2.5', '--out', 'OUT'], 'got 2.5');
  usage(t, ['run', 'FILE', '--folds', '99', '--out', 'OUT'], ['--folds 99', 'smallest class']);
});

test('other numbers that are not: --seed abc, --seed -1, --top abc, --cache-size 0', (t) => {
  usage(t, ['run', 'FILE', '--seed', 'abc', '--out', 'OUT'], '--seed expects a number, got "abc"');
  usage(t, ['run', 'FILE', '--seed', '-1', '--out', 'OUT'], '--seed -1');
  usage(t, ['predict', 'FILE', 'x.png', '--top', 'abc'], '--top expects a number, got "abc"');
  usage(t, ['grid', 'FILE', '--cache-size', '0', '--out', 'OUT', '--cache-dir', 'CACHE'], '--cache-size');
  usage(t, ['grid', 'FILE', '--metric', 'f1', '--out', 'OUT', '--cache-dir', 'CACHE'], ['metric', 'macro_f1']);
});

test('FASHION_WORKERS that is not a whole number from 1 to 64', (t) => {
  for (const value of ['abc', '-2', '0', '1.5', '65', '1000000'])
    usage(t, ['run', 'FILE', '--out', 'OUT'], `FASHION_WORKERS must be a whole number from 1 to 64, got "${value}"`, {
      FASHION_WORKERS: value,
    });
});

test('settings that size work or memory outside their documented range: worker --concurrency and --cache-size, grid --attempts', (t) => {
  const queue = ['--queue', 'redis://127.0.0.1:1'];
  usage(
    t,
    ['worker', ...queue, '--concurrency', '1e9'],
    '--concurrency must be a whole number from 1 to 64, got 1000000000',
  );
  usage(t, ['worker', ...queue, '--concurrency', '0'], '--concurrency must be a whole number from 1 to 64, got 0');
  usage(
    t,
    ['worker', ...queue, '--cache-size', '-5'],
    '--cache-size must be a whole number from 1 to 1048576 MB, got -5',
  );
  usage(
    t,
    ['grid', 'FILE', ...queue, '--attempts', '1000'],
    '--attempts must be a whole number from 1 to 100, got 1000',
  );
});

test('conflicting options: --folds with --no-cv, --cv with --no-cv, an option given twice, --no-cv --no-test', (t) => {
  usage(t, ['run', 'FILE', '--no-cv', '--folds', '3', '--out', 'OUT'], '--folds 3 and --no-cv contradict each other');
  usage(t, ['run', 'FILE', '--cv', '--no-cv', '--out', 'OUT'], '--cv and --no-cv contradict each other');
  usage(t, ['run', 'FILE', '--out', 'OUT', '--out=OUT/b'], '--out is given twice');
  usage(t, ['run', 'FILE', '--no-cv', '--no-test', '--out', 'OUT'], 'nothing to do');
  usage(t, ['grid', 'FILE', '--dry-run', '--save-model', '--out', 'OUT', '--cache-dir', 'CACHE'], '--dry-run');
});

test('--resume with no checkpoint says so rather than starting from zero (search and dry run)', (t) => {
  usage(
    t,
    ['grid', 'FILE', '--resume', '--out', 'OUT', '--cache-dir', 'CACHE'],
    ['--resume: no checkpoint', 'opt.jsonl'],
  );
  usage(
    t,
    ['grid', 'FILE', '--resume', '--dry-run', '--out', 'OUT', '--cache-dir', 'CACHE'],
    '--resume: no checkpoint',
  );
});

test('compare with one file that is not a run, with JSON of another schema, with a missing file', (t) => {
  const dir = tempDir();
  const other = join(dir, 'other.json');
  writeFileSync(other, JSON.stringify({ format: 'fashion-pipeline/grid', name: 'x' }));
  const plain = join(dir, 'plain.json');
  writeFileSync(plain, JSON.stringify({ accuracy: 0.9 }));
  usage(t, ['compare', plain, '--out', 'OUT'], ['plain.json', 'not a run file']);
  usage(t, ['compare', plain, other, '--out', 'OUT'], 'plain.json: not a run file');
  usage(t, ['compare', other, plain, '--out', 'OUT'], ['other.json', 'not a run']);
  usage(t, ['compare', join(dir, 'nope.json'), plain, '--out', 'OUT'], 'nope.json: no such file');
});

test('show and run on a missing pipeline file, and on a report file', (t) => {
  usage(t, ['show', 'results/missing.json', '--out', 'OUT'], 'results/missing.json:1:1: no such pipeline file');
  const report = fileURLToPath(new URL('../../../results/quick.json', import.meta.url));
  for (const command of ['show', 'run']) {
    usage(t, [command, report, '--out', 'OUT'], 'a report of `pipeline run` (JSON), not a pipeline file');
  }
});
