import type { CvComparison, Leaderboard, PairComparison } from '../metrics/comparison.js';
import { fixed, markdownTable, seconds } from './text.js';

export interface LeaderboardPage {
  board: Leaderboard;
  /** Where the runs came from, e.g. 'results/*.json'. */
  source: string;
  /** Files looked at but not compared, with why. */
  skipped: Array<{ file: string; reason: string }>;
  /** Link target of each run's report, by run name (relative to the page). */
  links: Record<string, string>;
  /** The accuracy chart, relative to the page. */
  chart?: string;
}

const bold = (s: string, on: boolean) => (on ? `**${s}**` : s);
const signed = (v: number, digits = 4) => {
  const text = Math.abs(v).toFixed(digits);
  return `${Number(text) === 0 ? '±' : v > 0 ? '+' : '−'}${text}`;
};
const points = (v: number) => `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v * 100).toFixed(2)} points`;

/** A p-value as people read it: four decimals, or scientific notation when tiny. */
export function formatP(p: number): string {
  if (p === 0) return '< 1e-300';
  return p >= 0.0001 ? p.toFixed(4) : p.toExponential(1);
}

/** The leaderboard page: one row per run, best value of each column in bold, the accuracy chart above. */
export function leaderboardMarkdown(page: LeaderboardPage): string {
  const { board } = page;
  const n = board.rows.length;
  const out: string[] = [`# Comparison of ${n} run${n === 1 ? '' : 's'}`, ''];
  out.push(
    `From \`${page.source}\`. Sorted by test accuracy; the best value of each column is in **bold** (highest score, shortest time). ` +
      'ECE is the expected calibration error of the test probabilities (15 bins; lower is better; — for a model without probabilities). ' +
      'The class columns are the F1 score of each class on the test set; fit and predict are the final fit on all training rows and the prediction of the test set.',
  );
  if (page.skipped.length > 0)
    out.push('', `Not compared: ${page.skipped.map((s) => `\`${s.file}\` (${s.reason})`).join(', ')}.`);
  if (page.chart) out.push('', `![Test accuracy per run, with cross-validation mean ± std](${page.chart})`);
  out.push('', leaderboardTable(board, page.links));
  out.push('', 'Compare two runs with significance tests: `pipeline compare results/A.json results/B.json`.');
  return out.join('\n') + '\n';
}

/** The leaderboard table (best of each column in bold) and the steps of each run, without a heading. */
export function leaderboardTable(board: Leaderboard, links: Record<string, string> = {}): string {
  const out: string[] = [];
  const header = [
    'pipeline',
    'CV accuracy (mean ± std)',
    'test accuracy',
    'macro-F1',
    'ECE',
    ...board.classNames,
    'fit',
    'predict',
  ];
  const rows = board.rows.map((r, i) => {
    const link = links[r.name];
    const name = link ? `[${r.name}](${link})` : r.name;
    const cv = r.cv ? bold(`${fixed(r.cv.mean)} ± ${fixed(r.cv.std)}`, board.best.cv.includes(i)) : '—';
    const t = r.test;
    return [
      name,
      cv,
      t ? bold(fixed(t.accuracy), board.best.accuracy.includes(i)) : '—',
      t ? bold(fixed(t.macroF1), board.best.macroF1.includes(i)) : '—',
      t?.ece != null ? bold(fixed(t.ece), board.best.ece.includes(i)) : '—',
      ...board.classNames.map((_, c) => (t ? bold(t.f1[c].toFixed(3), board.best.f1[c].includes(i)) : '—')),
      t ? bold(seconds(t.fitMs), board.best.fit.includes(i)) : '—',
      t ? bold(seconds(t.predictMs), board.best.predict.includes(i)) : '—',
    ];
  });
  out.push(markdownTable(header, rows));
  out.push('', 'Steps: ' + board.rows.map((r) => `${r.name}: ${r.steps.join(' → ')}`).join('; ') + '.');
  out.push(...sampleNote(board));
  const folds = [...new Set(board.rows.flatMap((r) => (r.cv ? [r.cv.k] : [])))];
  if (folds.length === 1)
    out.push('', `CV accuracy is the mean ± standard deviation over the ${folds[0]} folds of each run.`);
  else if (folds.length > 1)
    out.push('', `CV accuracy is the mean ± standard deviation over each run's folds (${folds.join(' or ')}).`);
  return out.join('\n');
}

/** Runs trained or tested on fewer rows than the others (a `limit` subset) are named: their numbers are not comparable. */
function sampleNote(board: Leaderboard): string[] {
  const most = (pick: (r: Leaderboard['rows'][number]) => number | undefined) =>
    Math.max(0, ...board.rows.map((r) => pick(r) ?? 0));
  const train = most((r) => r.trainRows);
  const test = most((r) => r.test?.rows);
  const parts = board.rows.flatMap((r) => {
    const fewer: string[] = [];
    if (r.trainRows !== undefined && r.trainRows < train) fewer.push(`trained on ${r.trainRows} rows`);
    if (r.test && r.test.rows < test) fewer.push(`tested on ${r.test.rows} images`);
    return fewer.length > 0 ? [`${r.name} was ${fewer.join(' and ')}`] : [];
  });
  if (parts.length === 0) return [];
  return [
    '',
    `Not on the same data: ${parts.join('; ')} (the largest runs: ${train} training rows, ${test} test images). ` +
      `Such a run's scores and times are not directly comparable with the others'.`,
  ];
}

/** The two-run page: verdicts in words first, then McNemar's table, fold scores, per-class deltas and cell changes. */
export function pairMarkdown(cmp: PairComparison, options: { chart?: string; leaderboard?: string } = {}): string {
  const { a, b, alpha } = cmp;
  const out: string[] = [`# ${a} vs ${b}`, ''];
  out.push(`Differences are ${b} minus ${a} (positive: ${b} is higher). Significance level α = ${alpha}.`);
  out.push('', '## In short', '');
  out.push(...verdicts(cmp).map((v) => `- ${v}`));
  if (options.chart) out.push('', `![Test accuracy, with cross-validation mean ± std](${options.chart})`);
  if (options.leaderboard) out.push('', '## Side by side', '', options.leaderboard.trim());

  const t = cmp.test;
  if (t) {
    const m = t.mcnemar;
    out.push('', `## Test set: McNemar's test on the ${t.rows} paired predictions`, '');
    out.push(
      markdownTable(
        ['', `${b} right`, `${b} wrong`],
        [
          [`${a} right`, m.bothRight, m.b],
          [`${a} wrong`, m.c, m.bothWrong],
        ],
      ),
    );
    out.push('', mcnemarSentence(cmp));
    out.push(
      '',
      `Only the ${m.b + m.c} images where exactly one run is right carry information. With fewer than ${t.exactBelow} of them the test is the exact ` +
        "binomial test of b against Binomial(b + c, ½); otherwise chi-square with Edwards' continuity correction, χ² = (|b − c| − 1)² / (b + c), one degree of freedom.",
    );
  }

  out.push('', '## Cross-validation folds', '');
  if ('missing' in cmp.cv) {
    out.push(`No paired test over folds: ${cmp.cv.missing}.`);
  } else {
    const cv = cmp.cv;
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    out.push(
      markdownTable(
        ['fold', a, b, 'difference'],
        [
          ...cv.folds.map((f) => [f.fold, fixed(f.a), fixed(f.b), signed(f.delta)]),
          [
            '**mean**',
            fixed(mean(cv.folds.map((f) => f.a))),
            fixed(mean(cv.folds.map((f) => f.b))),
            `**${signed(cv.corrected.meanDifference)}**`,
          ],
        ],
      ),
    );
    out.push(
      '',
      markdownTable(
        ['test', 't', 'df', 'p'],
        [
          [
            `**Nadeau & Bengio corrected resampled t-test** (used)`,
            tValue(cv.corrected.t),
            cv.corrected.df,
            `**${formatP(cv.corrected.pValue)}**`,
          ],
          ['ordinary paired t-test (for contrast only)', tValue(cv.naive.t), cv.naive.df, formatP(cv.naive.pValue)],
        ],
        ['l', 'r', 'r', 'r'],
      ),
    );
    out.push('', cvCaveat(cv));
  }

  if (t) {
    out.push('', '## Per class (test set)', '');
    out.push(
      `Precision, recall and F1 of each class in both runs. "only ${a}" / "only ${b}" count the images of the class that only that run gets right; ` +
        `p is McNemar's test on the images of the class (a recall difference), Holm-adjusted over the ${t.perClass.length} classes.`,
      '',
    );
    out.push(
      markdownTable(
        [
          'class',
          `precision ${a}`,
          b,
          'Δ',
          `recall ${a}`,
          b,
          'Δ',
          `F1 ${a}`,
          b,
          'Δ',
          `only ${a}`,
          `only ${b}`,
          'p (Holm)',
        ],
        t.perClass.map((c) => [
          c.name,
          c.precision.a.toFixed(4),
          c.precision.b.toFixed(4),
          signed(c.precision.delta),
          c.recall.a.toFixed(4),
          c.recall.b.toFixed(4),
          bold(signed(c.recall.delta), c.significant),
          c.f1.a.toFixed(4),
          c.f1.b.toFixed(4),
          signed(c.f1.delta),
          c.mcnemar.b,
          c.mcnemar.c,
          bold(formatP(c.pHolm), c.significant),
        ]),
      ),
    );
    out.push('', '## Confusion cells that changed', '');
    if (t.cellChanges.length === 0) {
      out.push('Every off-diagonal cell of the confusion matrix is the same in both runs.');
    } else {
      const names = t.perClass.map((c) => c.name);
      const shown = t.cellChanges.slice(0, 15);
      out.push(
        `Mistakes (true → predicted) whose count changed most; negative means ${b} makes that mistake less often.`,
        '',
      );
      out.push(
        markdownTable(
          ['true → predicted', a, b, 'change'],
          shown.map((c) => [`${names[c.true]} → ${names[c.predicted]}`, c.a, c.b, signed(c.delta, 0)]),
        ),
      );
      const rest = t.cellChanges.length - shown.length;
      if (rest > 0)
        out.push('', `${rest} more cells changed by ${Math.abs(t.cellChanges[shown.length].delta)} or less.`);
    }
  }
  return out.join('\n') + '\n';
}

function tValue(t: number): string {
  return Number.isFinite(t) ? t.toFixed(3).replace('-', '−') : t > 0 ? '+∞' : '−∞';
}

function mcnemarSentence(cmp: PairComparison): string {
  const t = cmp.test!;
  const m = t.mcnemar;
  const how =
    m.method === 'exact'
      ? `exact binomial test, since b + c = ${m.b + m.c} < ${t.exactBelow}`
      : `chi-square with continuity correction, χ² = ${m.statistic.toFixed(3)}`;
  return `${cmp.a} alone is right on b = ${m.b} images, ${cmp.b} alone on c = ${m.c}; McNemar (${how}): p = ${formatP(m.pValue)}.`;
}

function cvCaveat(cv: CvComparison): string {
  return (
    `Fold scores are not independent: every pair of training sets shares ${cv.k - 2} of the ${cv.k} folds, so the ordinary paired t-test ` +
    'underestimates the variance and finds differences too easily. Nadeau & Bengio (2003, "Inference for the Generalization Error", ' +
    `Machine Learning 52) correct the variance of the mean difference from s²/k to (1/k + n_test/n_train)·s² (here n_test/n_train = ${cv.testTrainRatio.toFixed(4)}); ` +
    'their test is the one used for the verdict. It is still approximate — with few folds, read it as a guide rather than a guarantee.'
  );
}

/** The verdicts in words: which differences are significant at α. */
export function verdicts(cmp: PairComparison): string[] {
  const out: string[] = [];
  const { a, b, alpha } = cmp;
  const t = cmp.test;
  if (t) {
    const better = t.accuracy.delta > 0 ? b : t.accuracy.delta < 0 ? a : null;
    const diff = `test accuracy ${fixed(t.accuracy.a)} → ${fixed(t.accuracy.b)} (${points(t.accuracy.delta)})`;
    out.push(
      t.significant
        ? `**Test set: significant.** ${better} is more accurate: ${diff}; McNemar ${t.mcnemar.method === 'exact' ? 'exact binomial' : 'chi-square'} p = ${formatP(t.mcnemar.pValue)} < ${alpha}.`
        : `**Test set: not significant.** ${diff}; McNemar ${t.mcnemar.method === 'exact' ? 'exact binomial' : 'chi-square'} p = ${formatP(t.mcnemar.pValue)} ≥ ${alpha}, so the test set does not tell the two apart.`,
    );
  } else {
    out.push(`Test set: no comparison (${cmp.testMissing}).`);
  }
  if ('missing' in cmp.cv) {
    out.push(`Cross-validation: no paired test (${cmp.cv.missing}).`);
  } else {
    const cv = cmp.cv;
    const d = cv.corrected.meanDifference;
    const better = d > 0 ? b : a;
    const what = `mean fold accuracy difference ${points(d)} over the same ${cv.k} folds; corrected resampled t = ${tValue(cv.corrected.t)}, p = ${formatP(cv.corrected.pValue)}`;
    out.push(
      cv.significant
        ? `**Cross-validation: significant.** ${better} is better: ${what} < ${alpha}.`
        : `**Cross-validation: not significant.** ${what} ≥ ${alpha}` +
            (cv.naive.pValue < alpha
              ? ` (the uncorrected paired t-test would have said p = ${formatP(cv.naive.pValue)}: the correction matters here).`
              : '.'),
    );
  }
  if (t) {
    const sig = t.perClass.filter((c) => c.significant);
    out.push(
      sig.length === 0
        ? `Per class: no class's recall differs significantly (McNemar per class, Holm-adjusted).`
        : `Per class (McNemar on that class's images, Holm-adjusted): ` +
            sig
              .map(
                (c) =>
                  `${c.name} — ${c.recall.delta > 0 ? b : a} better (recall ${c.recall.a.toFixed(3)} → ${c.recall.b.toFixed(3)}, p = ${formatP(c.pHolm)})`,
              )
              .join('; ') +
            '; no other class differs significantly.',
    );
  }
  return out;
}
