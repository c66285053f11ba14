import { describe, type GridResult } from '../evaluate/grid-search.js';
import { testToJson } from './json.js';
import { configBlock, dataSection, machineSection, runLine, testSection } from './markdown.js';
import { fixed, markdownTable, seconds } from './text.js';

export const GRID_JSON_VERSION = 2; // 2: cache counts in snake_case (memory_hits, disk_hits, damaged)

/** The leaderboard, the best params, the best candidate's test report, the cache figures and the machine. */
export function gridToMarkdown(result: GridResult, command?: string): string {
  const { config, best, plan, cache } = result;
  const metric = result.metric === 'accuracy' ? 'accuracy' : 'macro-F1';
  const out: string[] = [`# ${config.name} — grid search`];
  if (config.description) out.push('', config.description.trim());
  out.push('', runLine(result.file, result.started_at, result.duration_ms, command));
  out.push(
    '',
    `${plan.candidates} candidates × ${result.k} stratified folds (seed ${result.seed}, the same folds for every candidate), ranked by mean CV ${metric}.` +
      (result.resumed > 0
        ? ` Resumed: ${result.resumed} fold scores came from the checkpoint of an interrupted run.`
        : ''),
  );
  out.push('', '## Best', '');
  out.push(
    markdownTable(
      ['', ''],
      [
        ['params', `\`${describe(best.params)}\``],
        [`CV ${metric} (mean ± std)`, `${fixed(best.mean)} ± ${fixed(best.std)}`],
        ...(result.test
          ? [
              [
                'test accuracy (refit on all training rows)',
                `${fixed(result.test.accuracy)} (${result.test.rows} images)`,
              ] as [string, string],
              ['test macro-F1', fixed(result.test.macro_f1)] as [string, string],
            ]
          : []),
      ],
      ['l', 'r'],
    ),
  );
  out.push('', '## Leaderboard', '');
  const foldHeads = Array.from({ length: result.k }, (_, i) => `fold ${i + 1}`);
  out.push(
    markdownTable(
      ['rank', `mean ${metric}`, 'std', ...foldHeads, 'fit / fold', ...Object.keys(best.params)],
      result.candidates.map((c) => [
        c.rank,
        c.rank === 1 ? `**${fixed(c.mean)}**` : fixed(c.mean),
        fixed(c.std),
        ...c.folds.map((f) => fixed(f[result.metric])),
        seconds(c.fit_ms),
        ...Object.keys(best.params).map((k) => String(c.params[k] ?? '')),
      ]),
    ),
  );
  out.push('', '## Work done', '');
  out.push(
    markdownTable(
      ['', ''],
      [
        ['fold fits (candidates × folds)', String(plan.units)],
        ['of those read from the checkpoint', String(result.resumed)],
        [
          'transformer-prefix fits needed / served from disk cache',
          `${plan.transformer_fits} / ${plan.transformer_fits_cached}`,
        ],
        [
          'cache',
          cache.enabled
            ? `on: ${cache.memory_hits} memory hits, ${cache.disk_hits} disk hits, ${cache.misses} fits`
            : 'off (--no-cache): every candidate refits its transformers',
        ],
      ],
      ['l', 'r'],
    ),
  );
  out.push('', '## Best configuration', '');
  out.push(...configBlock(result.best_steps, { evaluation: config.evaluation, data: config.data }));
  out.push('', ...dataSection(result.data));
  if (result.test)
    out.push('', ...testSection(result.test, '## Test set (best candidate, refit on all training rows)'));
  out.push('', ...machineSection(result.environment));
  return out.join('\n') + '\n';
}

export function gridToJson(result: GridResult): Record<string, unknown> {
  return {
    format: 'fashion-pipeline/grid',
    format_version: GRID_JSON_VERSION,
    name: result.name,
    file: result.file,
    started_at: result.started_at,
    duration_ms: result.duration_ms,
    metric: result.metric,
    cv: { k: result.k, seed: result.seed, folds_id: result.folds_id },
    config: result.config,
    data: result.data,
    plan: result.plan,
    cache: result.cache,
    resumed: result.resumed,
    leaderboard: result.candidates,
    best: { params: result.best.params, mean: result.best.mean, std: result.best.std, steps: result.best_steps },
    test: result.test ? testToJson(result.test) : null,
    environment: result.environment,
  };
}

/** What --dry-run prints. */
export function planText(result: {
  name: string;
  plan: GridResult['plan'];
  cacheEnabled: boolean;
  resume: boolean;
}): string {
  const p = result.plan;
  const lines = [
    `${result.name}: ${p.candidates} candidates × ${p.folds} folds = ${p.units} fold fits`,
    `  from checkpoint (--resume): ${p.from_checkpoint}${result.resume ? '' : ' (not resuming)'}`,
    `  estimator fits to run: ${p.estimator_fits}`,
    `  transformer-prefix fits: ${p.transformer_fits} to run, ${p.transformer_fits_cached} served from the disk cache${result.cacheEnabled ? '' : ' (cache off: no sharing between candidates)'}`,
    `  estimated time: ${p.unknown_fits === 0 ? `about ${seconds(p.estimated_s * 1000)}` : p.unknown_fits === p.estimator_fits + p.transformer_fits ? 'unknown (no timing history yet; a first run records it)' : `at least ${seconds(p.estimated_s * 1000)} (${p.unknown_fits} fits without timing history)`}`,
  ];
  return lines.join('\n');
}
