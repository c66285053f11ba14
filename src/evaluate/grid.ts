import type { Candidate } from '../config/grid.js';
import { canonical } from '../config/grid.js';
import { UsageError } from '../config/errors.js';
import type { LoadedConfig, PipelineConfig, StepConfig } from '../config/load.js';
import { loadData, type LoadedData } from '../data/load.js';
import { takeLabels, takeRows, type Matrix } from '../linalg/matrix.js';
import { meanStd } from '../metrics/classification.js';
import { fitStep, Pipeline, StepParamError } from '../pipeline/pipeline.js';
import { registry } from '../stages/registry.js';
import type { Estimator, Transformer } from '../stages/stage.js';
import type { Checkpoint, FoldScore } from './checkpoint.js';
import { environment, toolVersion, type Environment } from './environment.js';
import type { CacheStats, FitCache, PrefixOutput } from './fit-cache.js';
import type { ProgressSink } from './progress.js';
import { checkFolds, evaluateOnTest, foldScores, foldsId, type TestResult } from './run.js';
import { stratifiedKFold, type Fold } from './split.js';
import { TimingHistory } from './timing-history.js';
import { hash, makePlan, prefixKey, prefixSignature, type GridPlan } from './grid-plan.js';

export type { GridPlan };

export type GridMetric = 'accuracy' | 'macro_f1';

export interface CandidateResult {
  rank: number;
  key: string;
  params: Record<string, unknown>;
  /** Mean and population std of the ranking metric over the folds. */
  mean: number;
  std: number;
  mean_accuracy: number;
  std_accuracy: number;
  mean_macro_f1: number;
  std_macro_f1: number;
  folds: FoldScore[];
  /** Mean per fold of the time spent fitting (uncached prefix stages + estimator). */
  fit_ms: number;
}

export interface GridResult {
  name: string;
  file: string;
  config: PipelineConfig;
  metric: GridMetric;
  k: number;
  seed: number;
  folds_id: string;
  data: LoadedData['info'];
  plan: GridPlan;
  candidates: CandidateResult[];
  best: CandidateResult;
  best_steps: StepConfig[];
  test: TestResult | null;
  cache: CacheStats & { enabled: boolean };
  resumed: number;
  started_at: string;
  duration_ms: number;
  environment: Environment;
}

export interface GridOptions {
  loaded: LoadedConfig;
  candidates: Candidate[];
  metric: GridMetric;
  dataDir?: string;
  cache: FitCache;
  /** Opens the checkpoint for a plan id (data, folds and seed), resuming it or starting it afresh. */
  checkpoint: (plan: string) => Checkpoint;
  timings: TimingHistory;
  progress?: ProgressSink;
  /** Aborting stops between two units; everything finished stays in the checkpoint. */
  signal?: AbortSignal;
  /** Called with the best candidate fitted on all training rows (fitting it when there is no test evaluation). */
  onFitted?: (pipeline: Pipeline) => void;
}

/** Thrown when a search is stopped through its AbortSignal. */
export class InterruptedError extends Error {
  constructor(readonly finished: number) {
    super(`interrupted after ${finished} finished fold fits; they are kept in the checkpoint (continue with --resume)`);
    this.name = 'InterruptedError';
  }
}

interface Prepared {
  data: LoadedData;
  folds: Fold[];
  foldsKey: string;
  checkpoint: Checkpoint;
  plan: GridPlan;
  order: Candidate[];
}

/** Loads the data, makes the folds, opens the checkpoint and works out the plan. */
function prepare(options: GridOptions): Prepared {
  const { config, file } = options.loaded;
  const { folds: k, seed, test } = config.evaluation;
  if (k < 2) throw new UsageError('grid search needs cross-validation: set evaluation.folds (or --folds) to 2 or more');
  if (options.candidates.length === 0) throw new UsageError('the grid is empty: add a grid: section to the file or --param stage.param=a,b');
  const data = loadData(config.data, { dataDir: options.dataDir, pipelineFile: file, withTest: test, seed });
  checkFolds(options.loaded, data);
  const folds = stratifiedKFold(data.train.y, k, seed);
  const dataKey = canonical({ checksums: data.info.checksums, rows: data.info.train_rows, limit: config.data.limit ?? null });
  // The tool's version is part of every cache and checkpoint key: entries written by another version's stages are never served.
  const foldsKey = hash(`${toolVersion()}|${dataKey}|${foldsId(folds)}|${k}|${seed}`);
  const checkpoint = options.checkpoint(foldsKey);
  // Candidates sharing a transformer prefix run one after another, so the prefix stays in memory between them.
  const order = [...options.candidates].sort((a, b) => prefixSignature(a.steps).localeCompare(prefixSignature(b.steps)));
  return { data, folds, foldsKey, checkpoint, order, plan: makePlan(options, order, folds, foldsKey, checkpoint, data.train.X.cols) };
}

/** The plan alone, for --dry-run: nothing is fitted. */
export async function planGrid(options: GridOptions): Promise<GridPlan> {
  return prepare(options).plan;
}

/**
 * Scores every candidate on the same stratified folds, reusing fitted transformer prefixes through the cache and
 * recording each finished (candidate, fold) in the checkpoint; then refits the best candidate on all training rows and
 * evaluates it once on the test set.
 */
export async function runGrid(options: GridOptions): Promise<GridResult> {
  const started = new Date();
  const t0 = performance.now();
  const { config, file, source } = options.loaded;
  const { folds: k, seed } = config.evaluation;
  const { data, folds, foldsKey, checkpoint, plan, order } = prepare(options);
  const progress = options.progress;
  const total = plan.units + (config.evaluation.test ? config.steps.length + 1 : 0);
  progress?.begin(total, `${config.name}: ${plan.candidates} candidates × ${k} folds`);
  let finished = 0;
  let best: { score: number; params: Record<string, unknown> } | null = null;
  const partial = new Map<string, FoldScore[]>();
  try {
    for (let f = 0; f < folds.length; f++) {
      options.cache.dropMemory();
      const fold = folds[f];
      const Xtr = takeRows(data.train.X, fold.train);
      const ytr = takeLabels(data.train.y, fold.train);
      const Xte = takeRows(data.train.X, fold.test);
      const yte = takeLabels(data.train.y, fold.test);
      for (const candidate of order) {
        let score = checkpoint.get(candidate.key, f + 1);
        if (!score) {
          if (options.signal?.aborted) throw new InterruptedError(finished);
          try {
            score = await scoreUnit(options, candidate, f, foldsKey, Xtr, ytr, Xte, yte);
          } catch (err) {
            if (err instanceof StepParamError) {
              const step = candidate.steps[err.stepIndex];
              const key = `${step.id}.${err.param}`;
              const origin = candidate.origins[key];
              const message = `${key}: ${err.detail} (grid candidate ${describe(candidate.params)})`;
              if (origin && 'option' in origin) throw new UsageError(`${origin.option}: ${message}`);
              throw source.error(origin ? origin.path : ['steps', err.stepIndex, step.stage, err.param], message);
            }
            throw err;
          }
          checkpoint.record(candidate.key, score);
          finished++;
        }
        const list = partial.get(candidate.key) ?? [];
        list.push(score);
        partial.set(candidate.key, list);
        if (list.length === folds.length) {
          const m = meanStd(list.map((s) => s[options.metric])).mean;
          if (!best || m > best.score) best = { score: m, params: candidate.params };
        }
        const hits = options.cache.stats.memoryHits + options.cache.stats.diskHits;
        progress?.advance(`fold ${f + 1}/${k}${best ? ` · best ${best.score.toFixed(4)} ${describe(best.params)}` : ''} · cache hits ${hits}`);
      }
      options.timings.save();
    }
    const ranked = rank(options.candidates, partial, options.metric);
    const winner = options.candidates.find((c) => c.key === ranked[0].key)!;
    let test: TestResult | null = null;
    if (config.evaluation.test) {
      const evaluated = await evaluateOnTest(Pipeline.fromSteps(winner.steps), data, progress);
      test = evaluated.test;
      options.onFitted?.(evaluated.fitted);
    } else if (options.onFitted) {
      options.onFitted(await Pipeline.fromSteps(winner.steps).fit(data.train.X, data.train.y));
    }
    return {
      name: config.name,
      file,
      config,
      metric: options.metric,
      k,
      seed,
      folds_id: foldsId(folds),
      data: data.info,
      plan,
      candidates: ranked,
      best: ranked[0],
      best_steps: winner.steps,
      test,
      cache: { enabled: options.cache.enabled, ...options.cache.stats },
      resumed: checkpoint.resumed,
      started_at: started.toISOString(),
      duration_ms: Math.round(performance.now() - t0),
      environment: environment(),
    };
  } finally {
    options.timings.save();
    progress?.end();
  }
}

/** Fits one candidate on one fold (prefix stages through the cache) and scores it on the fold's held-out rows. */
async function scoreUnit(
  options: GridOptions,
  candidate: Candidate,
  f: number,
  foldsKey: string,
  Xtr: Matrix,
  ytr: Uint8Array,
  Xte: Matrix,
  yte: Uint8Array,
): Promise<FoldScore> {
  let current: PrefixOutput = { train: Xtr, test: Xte, ms: 0 };
  let fitMs = 0;
  const steps = candidate.steps;
  for (let d = 0; d < steps.length - 1; d++) {
    const key = prefixKey(foldsKey, f, steps.slice(0, d + 1));
    const hit = options.cache.get(key);
    if (hit) {
      current = hit;
      continue;
    }
    const stage = registry.get(steps[d].stage)!.create(steps[d].params) as Transformer;
    const t0 = performance.now();
    await fitStep(stage, d, current.train, ytr);
    const train = await stage.transform(current.train);
    const test = await stage.transform(current.test);
    const ms = performance.now() - t0;
    options.timings.record(TimingHistory.key(steps[d].stage, steps[d].params, current.train.rows, current.train.cols), ms);
    fitMs += ms;
    current = { train, test, ms };
    options.cache.set(key, current);
  }
  const last = steps[steps.length - 1];
  const estimator = registry.get(last.stage)!.create(last.params) as Estimator;
  const t0 = performance.now();
  await fitStep(estimator, steps.length - 1, current.train, ytr);
  const t1 = performance.now();
  const yPred = await estimator.predict(current.test);
  const t2 = performance.now();
  options.timings.record(TimingHistory.key(last.stage, last.params, current.train.rows, current.train.cols), t2 - t0);
  return { fold: f + 1, ...foldScores(yte, yPred), fit_ms: Math.round(fitMs + (t1 - t0)), predict_ms: Math.round(t2 - t1) };
}

/** Ranks by mean score (higher first); ties by smaller std, then by the order candidates were listed. */
function rank(candidates: Candidate[], scores: Map<string, FoldScore[]>, metric: GridMetric): CandidateResult[] {
  const rows = candidates.map((c, index) => {
    const folds = [...(scores.get(c.key) ?? [])].sort((a, b) => a.fold - b.fold);
    const acc = meanStd(folds.map((s) => s.accuracy));
    const f1 = meanStd(folds.map((s) => s.macro_f1));
    const chosen = metric === 'accuracy' ? acc : f1;
    return {
      index,
      result: {
        rank: 0,
        key: c.key,
        params: c.params,
        mean: chosen.mean,
        std: chosen.std,
        mean_accuracy: acc.mean,
        std_accuracy: acc.std,
        mean_macro_f1: f1.mean,
        std_macro_f1: f1.std,
        folds,
        fit_ms: Math.round(folds.reduce((a, s) => a + s.fit_ms, 0) / Math.max(1, folds.length)),
      } satisfies CandidateResult,
    };
  });
  rows.sort((a, b) => b.result.mean - a.result.mean || a.result.std - b.result.std || a.index - b.index);
  return rows.map((r, i) => ({ ...r.result, rank: i + 1 }));
}

/** `pca.components=50 knn.k=5` */
export function describe(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}
