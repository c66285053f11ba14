import type { LoadedData } from '../data/load.js';
import { meanStd } from '../metrics/classification.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { PipelineConfig, StepConfig } from '../pipeline/steps.js';
import { codeVersion } from '../util/code-version.js';
import type { Checkpoint } from './checkpoint.js';
import { environment, type Environment } from './environment.js';
import { dataKey, FoldSource, planKey, type FoldResult } from './fit-and-score.js';
import type { CacheStats, FitCache } from './fit-cache.js';
import { makePlan, prefixSignature, type GridPlan } from './grid-plan.js';
import type { ProgressSink } from './progress.js';
import { evaluateOnTest, type TestResult } from './run.js';
import { crossValidateCandidates, InterruptedError, type CandidateSpec, type UnitExecutor } from './search.js';
import type { TimingHistory } from './timing-history.js';

export type { GridPlan };

export type GridMetric = 'accuracy' | 'macro_f1';

/** A candidate's fold score as the leaderboard keeps it. */
export type FoldScore = Omit<FoldResult, 'train_rows' | 'test_rows'>;

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
  config: PipelineConfig;
  file: string;
  data: LoadedData;
  candidates: CandidateSpec[];
  metric: GridMetric;
  cache: FitCache;
  /** Opens the checkpoint for a plan id (code, data, folds and seed), resuming it or starting it afresh. */
  checkpoint: (plan: string) => Checkpoint;
  timings: TimingHistory;
  progress?: ProgressSink;
  /** Aborting stops between two units; everything finished stays in the checkpoint. */
  signal?: AbortSignal;
  /** Called with the best candidate fitted on all training rows (fitting it when there is no test evaluation). */
  onFitted?: (pipeline: Pipeline) => void;
  /** Where the (candidate, fold) units run: this process (default) or a job queue. */
  executor?: UnitExecutor;
}

interface Prepared {
  source: FoldSource;
  data: string;
  checkpoint: Checkpoint;
  plan: GridPlan;
  order: CandidateSpec[];
}

/** Makes the folds, opens the checkpoint and works out the plan. */
function prepare(options: GridOptions): Prepared {
  const { config, data } = options;
  const { folds: k, seed } = config.evaluation;
  const source = new FoldSource(data.train, k, seed);
  const dataId = dataKey(data.info, config.data.limit);
  const plan = planKey(codeVersion(), dataId, source.identity);
  const checkpoint = options.checkpoint(plan);
  // Candidates sharing a transformer prefix run one after another, so the prefix stays in memory between them.
  const order = [...options.candidates].sort((a, b) =>
    prefixSignature(a.steps).localeCompare(prefixSignature(b.steps)),
  );
  return {
    source,
    data: dataId,
    checkpoint,
    order,
    plan: makePlan(options, order, source.folds, plan, checkpoint, data.train.X.cols),
  };
}

/** The plan alone, for --dry-run: nothing is fitted. */
export function planGrid(options: GridOptions): GridPlan {
  return prepare(options).plan;
}

/**
 * Scores every candidate on the same stratified folds through the one fit-and-score unit (transformer prefixes shared
 * through the cache, each finished unit recorded in the checkpoint); then refits the best candidate on all training
 * rows and evaluates it once on the test set.
 */
export async function runGrid(options: GridOptions): Promise<GridResult> {
  const started = new Date();
  const t0 = performance.now();
  const { config, file, data } = options;
  const { folds: k, seed } = config.evaluation;
  const { source, data: dataId, checkpoint, plan, order } = prepare(options);
  const progress = options.progress;
  const total = plan.units + (config.evaluation.test ? config.steps.length + 1 : 0);
  progress?.begin(total, `${config.name}: ${plan.candidates} candidates × ${k} folds`);
  let best: { score: number; params: Record<string, unknown> } | null = null;
  try {
    const scores = await crossValidateCandidates({
      candidates: order,
      source,
      data: dataId,
      cache: options.cache,
      checkpoint,
      signal: options.signal,
      history: options.timings,
      executor: options.executor,
      onUnit: (candidate, result, list) => {
        if (list.length === k) {
          const m = meanStd(list.map((s) => s[options.metric])).mean;
          if (!best || m > best.score) best = { score: m, params: candidate.params };
        }
        const hits = options.cache.stats.memory_hits + options.cache.stats.disk_hits;
        const leader = best as { score: number; params: Record<string, unknown> } | null;
        progress?.advance(
          `fold ${result.fold}/${k}${leader ? ` · best ${leader.score.toFixed(4)} ${describe(leader.params)}` : ''}` +
            (options.executor?.status ? ` · ${options.executor.status()}` : ` · cache hits ${hits}`),
        );
      },
    });
    // a signal during the last unit stops here too, not after the refit: every unit is in the checkpoint
    if (options.signal?.aborted) throw new InterruptedError(plan.units - checkpoint.resumed);
    const ranked = rank(options.candidates, scores, options.metric);
    const winner = options.candidates.find((c) => c.key === ranked[0].key)!;
    let test: TestResult | null = null;
    if (config.evaluation.test) {
      const evaluated = await evaluateOnTest(
        Pipeline.fromSteps(winner.steps),
        data,
        progress,
        source.shared(0, 'train'),
      );
      test = evaluated.test;
      options.onFitted?.(evaluated.fitted);
    } else if (options.onFitted) {
      options.onFitted(
        await Pipeline.fromSteps(winner.steps).fit(data.train.X, data.train.y, { shared: source.shared(0, 'train') }),
      );
    }
    return {
      name: config.name,
      file,
      config,
      metric: options.metric,
      k,
      seed,
      folds_id: source.identity.id,
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

/** Ranks by mean score (higher first); ties by smaller std, then by the order candidates were listed. */
function rank(
  candidates: readonly CandidateSpec[],
  scores: Map<string, FoldResult[]>,
  metric: GridMetric,
): CandidateResult[] {
  const rows = candidates.map((c, index) => {
    const folds: FoldScore[] = [...(scores.get(c.key) ?? [])]
      .sort((a, b) => a.fold - b.fold)
      .map((s) => ({
        fold: s.fold,
        accuracy: s.accuracy,
        macro_f1: s.macro_f1,
        fit_ms: s.fit_ms,
        predict_ms: s.predict_ms,
      }));
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
