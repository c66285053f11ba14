import { matrix, takeRows, type Matrix } from '../linalg/matrix.js';
import { createRng } from '../util/rng.js';
import { contractData, type ContractData } from './contract-data.js';
import {
  NotFittedError,
  ParamRangeError,
  SnapshotError,
  type Estimator,
  type Stage,
  type StageSpec,
  type Transformer,
} from './stage.js';

/**
 * The stage contract as checks anyone can run on a stage of their own — the counterpart of scikit-learn's
 * `check_estimator`: `await checkStage(spec)` fits the stage on small whole-number blobs and checks that clones are
 * unfitted, fit leaves params and inputs alone, refits reproduce, unfitted use throws NotFittedError, a row's output
 * depends on that row alone (whatever batch, order or size it comes in), labels need not be 0..k−1, probabilities sum
 * to 1 and agree with predict, one feature either works or is refused with ParamRangeError, and a saved state
 * restores to identical outputs (or the stage says it cannot be saved). The repository's own stages pass it for every
 * engine (test/stage-contract.test.ts).
 */

/** One check of the contract for one set of params: `run` throws ContractViolation (or the stage's error) on failure. */
export interface StageCheck {
  name: string;
  run(): Promise<void>;
}

export interface StageCheckResult {
  check: string;
  passed: boolean;
  /** Why it failed. */
  message?: string;
}

export interface StageCheckReport {
  stage: string;
  params: Record<string, unknown>;
  passed: boolean;
  results: StageCheckResult[];
}

/** A broken promise of the contract, saying which. */
export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new ContractViolation(message);
}

async function expectThrows(what: () => unknown, kind: abstract new (...args: never[]) => Error, message: string) {
  try {
    await what();
  } catch (err) {
    if (err instanceof kind) return err;
    throw new ContractViolation(
      `${message}: threw ${err instanceof Error ? err.name : typeof err} instead of ${kind.name}`,
    );
  }
  throw new ContractViolation(`${message}: did not throw`);
}

type Output = Matrix | Uint8Array;

function output(stage: Stage, X: Matrix): Promise<Output> {
  return stage.kind === 'transformer' ? (stage as Transformer).transform(X) : (stage as Estimator).predict(X);
}

function proba(stage: Stage): Estimator['predictProba'] | undefined {
  return stage.kind === 'estimator' ? (stage as Estimator).predictProba?.bind(stage) : undefined;
}

function outputRow(o: Output, i: number): number[] {
  if (o instanceof Uint8Array) return [o[i]];
  return Array.from(o.data.subarray(i * o.cols, (i + 1) * o.cols));
}

function values(o: Output): number[] {
  return Array.from(o instanceof Uint8Array ? o : o.data);
}

function pick(o: Output, indices: readonly number[]): number[] {
  return indices.flatMap((i) => outputRow(o, i));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/** The first index where two outputs differ, for the message. */
function firstDifference(a: readonly number[], b: readonly number[]): string {
  if (a.length !== b.length) return `${a.length} values against ${b.length}`;
  const i = a.findIndex((v, j) => !Object.is(v, b[j]));
  return `value ${i}: ${a[i]} against ${b[i]}`;
}

/**
 * Probability rows sum to 1 and predict's label carries the largest probability (where labels tie, up to float32
 * rounding, predict may take either).
 */
export function checkProbabilities(probs: Matrix, predicted: Uint8Array, what: string): void {
  const tie = 1e-6;
  for (let i = 0; i < probs.rows; i++) {
    const p = probs.data.subarray(i * probs.cols, (i + 1) * probs.cols);
    const sum = p.reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - 1) <= 1e-5, `${what}: row ${i} sums to ${sum}`);
    expect(
      p.every((v) => v >= 0),
      `${what}: row ${i} has a negative or NaN probability`,
    );
    const top = Math.max(...p);
    const leaders = p.reduce<number[]>((acc, v, c) => (v >= top - tie ? [...acc, c] : acc), []);
    expect(
      leaders.includes(predicted[i]),
      `${what}: row ${i} predicted ${predicted[i]} but the largest probabilities are at ${leaders.join(', ')}`,
    );
  }
}

/** Labels relabelled 0 → 0, 1 → 3, 2 → 7 (order kept): labels that are not 0..k−1. */
const SPARSE_LABELS = [0, 3, 7];

/**
 * The checks of the contract for `spec` with `params` (unparsed: the spec's schema fills in defaults), as separate
 * checks so a test runner can show each. Fits are shared between the checks that only read them.
 */
export function stageChecks(
  spec: StageSpec,
  params: Record<string, unknown> = {},
  data: ContractData = contractData(),
): StageCheck[] {
  const parsed = spec.schema.parse(params) as Record<string, unknown>;
  const create = () => spec.create(parsed as never);
  const { train, queries, classes } = data;
  let shared: Promise<{ stage: Stage; out: Output; probs: Matrix | null }> | null = null;
  const fitted = () =>
    (shared ??= (async () => {
      const stage = await create().fit(train.X, train.y);
      const probs = (await proba(stage)?.(queries)) ?? null;
      return { stage, out: await output(stage, queries), probs };
    })());
  const sample = create();
  const checks: StageCheck[] = [
    {
      name: 'clone, params untouched by fit, refit reproducible, unfitted use throws, output shape',
      run: async () => {
        const stage = create();
        expect(stage.name === spec.name, `the stage's name is "${stage.name}", its spec's "${spec.name}"`);
        expect(stage.kind === spec.kind, `the stage is a ${stage.kind}, its spec says ${spec.kind}`);
        const before = JSON.stringify(stage.params);
        await expectThrows(() => output(stage, train.X), NotFittedError, 'use before fit');
        const copy = stage.clone();
        expect(copy !== stage, 'clone() returned the same instance');
        expect(JSON.stringify(copy.params) === before, 'clone() changed the params');
        await stage.fit(train.X, train.y);
        expect(JSON.stringify(stage.params) === before, 'fit rewrote the params');
        await expectThrows(() => output(copy, train.X), NotFittedError, 'a clone taken before fit, used');
        const first = await output(stage, train.X);
        const again = await output(await stage.clone().fit(train.X, train.y), train.X);
        expect(
          same(values(again), values(first)),
          `a refit with the same params and data gave other output (${firstDifference(values(again), values(first))})`,
        );
        if (first instanceof Uint8Array) {
          expect(first.length === train.X.rows, `predict gave ${first.length} labels for ${train.X.rows} rows`);
          expect(
            first.every((v) => v < classes),
            'predict gave a label never seen in training',
          );
        } else {
          expect(first.rows === train.X.rows, `transform gave ${first.rows} rows for ${train.X.rows}`);
          if (spec.outputFeatures) {
            const said = spec.outputFeatures(parsed as never, train.X.cols);
            expect(first.cols === said, `transform gave ${first.cols} features; outputFeatures says ${said}`);
          }
        }
        const wrong = matrix(2, train.X.cols + 1, new Float32Array(2 * (train.X.cols + 1)));
        await expectThrows(() => output(stage, wrong), Error, 'rows of another feature count');
      },
    },
    {
      name: "a subset of rows in another order (with a repeat) gives exactly the batch's rows",
      run: async () => {
        const { stage, out, probs } = await fitted();
        const order = Array.from(createRng(5).shuffle(Int32Array.from(range(queries.rows))));
        const subset = [...order.slice(0, 700), order[0]];
        const part = await output(stage, takeRows(queries, subset));
        expect(same(values(part), pick(out, subset)), 'rows in another batch gave other output');
        if (probs) {
          const partProbs = await proba(stage)!(takeRows(queries, subset));
          expect(same(Array.from(partProbs.data), pick(probs, subset)), 'predictProba: another batch, other output');
        }
      },
    },
    {
      name: "a single row gives that row's batch output",
      run: async () => {
        const { stage, out, probs } = await fitted();
        for (const i of [0, Math.floor(queries.rows / 2), queries.rows - 1]) {
          expect(same(values(await output(stage, takeRows(queries, [i]))), outputRow(out, i)), `row ${i} alone`);
          if (probs) {
            const one = await proba(stage)!(takeRows(queries, [i]));
            expect(same(Array.from(one.data), outputRow(probs, i)), `row ${i} alone, predictProba`);
          }
        }
      },
    },
    {
      name: 'fit, predict/transform and predictProba leave X and y unchanged',
      run: async () => {
        const X = matrix(train.X.rows, train.X.cols, Float32Array.from(train.X.data));
        const y = train.y.slice();
        const Q = takeRows(queries, range(300));
        const copies = [Array.from(X.data), Array.from(y), Array.from(Q.data)];
        const stage = await create().fit(X, y);
        await output(stage, Q);
        await output(stage, X);
        await proba(stage)?.(Q);
        expect(same(Array.from(X.data), copies[0]), 'X changed');
        expect(same(Array.from(y), copies[1]), 'y changed');
        expect(same(Array.from(Q.data), copies[2]), 'the rows predicted or transformed changed');
      },
    },
  ];

  if (spec.kind === 'estimator') {
    checks.push({
      name: 'labels {0, 3, 7}: predictions are seen labels, the same as with 0, 1, 2; predictProba has a column per label',
      run: async () => {
        const y = train.y.map((l) => SPARSE_LABELS[l]);
        const stage = (await create().fit(train.X, y)) as Estimator;
        const predicted = await stage.predict(queries);
        expect(
          predicted.every((l) => SPARSE_LABELS.includes(l)),
          `predicted labels never seen: ${[...new Set(predicted)].join(', ')}`,
        );
        const { out } = await fitted();
        // a monotone relabelling changes no distance, vote, split or pair order
        expect(
          same(
            Array.from(predicted),
            Array.from(out as Uint8Array, (l) => SPARSE_LABELS[l]),
          ),
          'relabelled training gave other predictions',
        );
        if (stage.predictProba) {
          const probs = await stage.predictProba(queries);
          expect(probs.cols === Math.max(...SPARSE_LABELS) + 1, `predictProba has ${probs.cols} columns, not 8`);
          for (let c = 0; c < probs.cols; c++) {
            if (SPARSE_LABELS.includes(c)) continue;
            expect(
              range(probs.rows).every((i) => probs.data[i * probs.cols + c] === 0),
              `column ${c} (a label never seen) is not all 0`,
            );
          }
          checkProbabilities(probs, predicted, 'labels {0, 3, 7}');
        }
      },
    });
    if (proba(sample)) {
      checks.push({
        name: "predictProba rows sum to 1 and predict's label has the largest probability",
        run: async () => {
          const { out, probs } = await fitted();
          expect(probs!.rows === queries.rows && probs!.cols === classes, 'predictProba: wrong shape');
          checkProbabilities(probs!, out as Uint8Array, 'predictProba');
        },
      });
    }
    if ((sample as Estimator).predictWithProba) {
      checks.push({
        name: "predictWithProba gives predict's labels and predictProba's probabilities",
        run: async () => {
          const { stage, out, probs } = await fitted();
          const both = await (stage as Estimator).predictWithProba!(queries);
          expect(same(Array.from(both.labels), Array.from(out as Uint8Array)), 'labels differ from predict');
          expect(same(Array.from(both.proba.data), Array.from(probs!.data)), 'probabilities differ from predictProba');
        },
      });
    }
  }

  if (spec.kind === 'transformer' && (sample as Transformer).fitTransform) {
    checks.push({
      name: 'fitTransform gives what fit then transform give, and the same fitted state',
      run: async () => {
        const stage = create() as Transformer;
        const both = await stage.fitTransform!(train.X, train.y);
        const apart = await create().fit(train.X, train.y);
        const out = await output(apart, train.X);
        expect(
          same(values(both), values(out)),
          `fitTransform's output differs (${firstDifference(values(both), values(out))})`,
        );
        expect(
          same(values(await output(stage, queries)), values(await output(apart, queries))),
          'the stage fitted by fitTransform transforms other rows differently',
        );
      },
    });
  }

  checks.push({
    name: 'one feature: fits and gives consistent output, or the params are refused with ParamRangeError',
    run: async () => {
      const column = (M: Matrix) =>
        matrix(
          M.rows,
          1,
          Float32Array.from(range(M.rows), (i) => M.data[i * M.cols]),
        );
      const X = column(train.X);
      const Q = column(queries);
      let stage: Stage;
      try {
        stage = await create().fit(X, train.y);
      } catch (err) {
        expect(err instanceof ParamRangeError, `fit on one feature threw ${(err as Error).name}, not ParamRangeError`);
        if (spec.outputFeatures) {
          await expectThrows(
            () => spec.outputFeatures!(parsed as never, 1),
            ParamRangeError,
            'outputFeatures for the one feature fit refused',
          );
        }
        return;
      }
      const out = await output(stage, Q);
      if (out instanceof Uint8Array) {
        expect(
          out.every((l) => l < classes),
          'a label never seen',
        );
        const probs = await proba(stage)?.(Q);
        if (probs) checkProbabilities(probs, out, 'one feature');
      } else {
        if (spec.outputFeatures) expect(out.cols === spec.outputFeatures(parsed as never, 1), 'outputFeatures');
        expect(out.data.every(Number.isFinite), 'transform gave a value that is not finite');
      }
      const subset = [9, Math.min(1200, Q.rows - 1), 3, 600 % Q.rows];
      expect(same(values(await output(stage, takeRows(Q, subset))), pick(out, subset)), 'a subset disagrees');
    },
  });

  const savable = spec.savable(parsed as never) === true;
  checks.push(
    savable
      ? {
          name: 'snapshot → restore into a clone gives identical outputs',
          run: async () => {
            const { stage, out, probs } = await fitted();
            await expectThrows(() => stage.clone().snapshot(), NotFittedError, 'snapshot() of an unfitted clone');
            const restored = stage.clone().restore(stage.snapshot());
            expect(same(values(await output(restored, queries)), values(out)), 'restored output differs');
            if (probs) {
              const again = await proba(restored)!(queries);
              expect(same(Array.from(again.data), Array.from(probs.data)), 'restored predictProba differs');
            }
          },
        }
      : {
          name: 'snapshot refuses with SnapshotError (savable() says it cannot be saved)',
          run: async () => {
            const { stage } = await fitted();
            await expectThrows(() => stage.snapshot(), SnapshotError, 'snapshot() of an unsavable stage');
          },
        },
  );
  return checks;
}

/**
 * Runs every check of the contract on `spec` for each set of params (default: the spec's defaults) and reports each:
 * `report.passed` is false when any failed, with the reason in its result.
 */
export async function checkStage(
  spec: StageSpec,
  options: { params?: Array<Record<string, unknown>>; data?: ContractData } = {},
): Promise<StageCheckReport[]> {
  const data = options.data ?? contractData();
  const reports: StageCheckReport[] = [];
  for (const params of options.params ?? [{}]) {
    const results: StageCheckResult[] = [];
    for (const check of stageChecks(spec, params, data)) {
      try {
        await check.run();
        results.push({ check: check.name, passed: true });
      } catch (err) {
        results.push({ check: check.name, passed: false, message: err instanceof Error ? err.message : String(err) });
      }
    }
    reports.push({ stage: spec.name, params, passed: results.every((r) => r.passed), results });
  }
  return reports;
}
