import { stringify } from 'yaml';
import type { LoadedData } from '../data/load.js';
import type { Environment } from '../evaluate/environment.js';
import type { RunResult, TestResult } from '../evaluate/run.js';
import type { StageTiming } from '../pipeline/pipeline.js';
import { classificationReportText, fixed, markdownTable, pct, seconds } from './text.js';

/** A picture written beside the report, as the markdown links it (path relative to the report). */
export interface PictureLink {
  kind: string;
  file: string;
  title: string;
  caption: string;
}

/**
 * The markdown report of one run: summary, configuration, data, folds, test report, confusion matrix, timings, machine;
 * with `pictures`, the sample grid under the data and the heatmap and galleries under the test set.
 */
export function runToMarkdown(result: RunResult, command?: string, pictures: readonly PictureLink[] = []): string {
  const { config, cv, test } = result;
  const out: string[] = [];
  out.push(`# ${config.name}`);
  if (config.description) out.push('', config.description.trim());
  out.push('', runLine(result.file, result.started_at, result.duration_ms, command));
  out.push('', '## Summary', '');
  const summary: Array<[string, string]> = [];
  if (cv)
    summary.push([`${cv.k}-fold CV accuracy (mean ± std)`, `${fixed(cv.mean_accuracy)} ± ${fixed(cv.std_accuracy)}`]);
  if (cv)
    summary.push([`${cv.k}-fold CV macro-F1 (mean ± std)`, `${fixed(cv.mean_macro_f1)} ± ${fixed(cv.std_macro_f1)}`]);
  if (test) summary.push(['Test accuracy', `${fixed(test.accuracy)} (${test.rows} images)`]);
  if (test) summary.push(['Test macro-F1', fixed(test.macro_f1)]);
  if (test?.calibration) {
    const c = test.calibration;
    summary.push([
      `Test calibration: ECE (${c.bins.length} bins) · log-loss · Brier`,
      `${fixed(c.ece)} · ${fixed(c.log_loss)} · ${fixed(c.brier)}`,
    ]);
  }
  if (test) summary.push(['Final fit / test predict', `${seconds(test.fit_ms)} / ${seconds(test.predict_ms)}`]);
  out.push(markdownTable(['metric', 'value'], summary, ['l', 'r']));

  out.push('', '## Configuration', '');
  out.push(
    `Seed ${result.seed}. Steps run in order; transformers are fit on training data only, every fold and the final fit use fresh clones.`,
    '',
  );
  out.push(...configBlock(config.steps, { evaluation: config.evaluation, data: config.data }));
  out.push('', ...dataSection(result.data));
  out.push(...pictureBlocks(pictures.filter((p) => p.kind === 'samples')));

  if (cv) {
    out.push('', `## Cross-validation (${cv.k} stratified folds, seed ${cv.seed})`, '');
    out.push(
      markdownTable(
        ['fold', 'train rows', 'test rows', 'accuracy', 'macro-F1', 'fit', 'predict'],
        [
          ...cv.folds.map((f) => [
            f.fold,
            f.train_rows,
            f.test_rows,
            fixed(f.accuracy),
            fixed(f.macro_f1),
            seconds(f.fit_ms),
            seconds(f.predict_ms),
          ]),
          [
            '**mean ± std**',
            '',
            '',
            `**${fixed(cv.mean_accuracy)} ± ${fixed(cv.std_accuracy)}**`,
            `**${fixed(cv.mean_macro_f1)} ± ${fixed(cv.std_macro_f1)}**`,
            '',
            '',
          ],
        ],
      ),
    );
    if (cv.shared_fit) {
      out.push(
        '',
        `Fold ${cv.folds[0]?.fold ?? 1}'s fit includes the work every fold shares, each part computed once: the union's row-wise features of every training row and the Gram matrix of each fold's rows (each fold then fits from its own rows' sums: docs/DESIGN.md, "Shared work between folds").`,
      );
    }
  }
  if (test) out.push('', ...testSection(test, '## Test set'));
  out.push(...pictureBlocks(pictures.filter((p) => p.kind !== 'samples')));
  out.push(
    '',
    ...timingSection([
      [cv ? `CV (${cv.k} folds, summed)` : 'CV', cv?.timings_ms],
      ['final fit + test', test?.timings_ms],
    ]),
  );
  out.push('', ...machineSection(result.environment));
  return out.join('\n') + '\n';
}

/** Each picture as a level-3 heading, its caption and the image. */
export function pictureBlocks(pictures: readonly PictureLink[]): string[] {
  return pictures.flatMap((p) => ['', `### ${p.title}`, '', p.caption, '', `![${p.title}](${encodeURI(p.file)})`]);
}

/** "Pipeline file …, run …, N s in all." and the command line. */
export function runLine(file: string, startedAt: string, durationMs: number, command?: string): string {
  const when = startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return (
    `Pipeline file \`${file}\`, run ${when}, ${seconds(durationMs)} in all.` +
    (command ? `\nCommand: \`${command}\`` : '')
  );
}

/** The resolved steps (and any other sections) as a YAML block. */
export function configBlock(
  steps: ReadonlyArray<{ id: string; params: Record<string, unknown> }>,
  rest: Record<string, unknown> = {},
): string[] {
  return ['```yaml', stringify({ steps: steps.map((s) => ({ [s.id]: s.params })), ...rest }).trimEnd(), '```'];
}

export function dataSection(data: LoadedData['info']): string[] {
  const subset = (used: number, available: number | null) =>
    available !== null && used < available ? ` (stratified subset of ${available})` : '';
  if (data.photos) return photoDataSection(data, subset);
  return [
    '## Data',
    '',
    `${data.format.toUpperCase()} from \`${data.location}\`: ${data.train_rows} training rows${subset(data.train_rows, data.train_rows_available)}` +
      (data.test_rows !== null
        ? `, ${data.test_rows} test rows${subset(data.test_rows, data.test_rows_available)}`
        : '') +
      '.' +
      (data.verified === false
        ? ' Not verified against the official Fashion-MNIST checksums (`--no-verify`): other IDX data.'
        : ''),
    '',
    markdownTable(
      ['file', 'SHA-256 (decompressed)'],
      Object.entries(data.checksums).map(([k, v]) => [k, `\`${v}\``]),
      ['l', 'l'],
    ),
  ];
}

/** A photo folder's data section: where, how photos became rows, the splits, and any photo left out. */
function photoDataSection(
  data: LoadedData['info'],
  subset: (used: number, available: number | null) => string,
): string[] {
  const photos = data.photos!;
  const { width, height, channels, fit } = photos.image;
  const out = [
    '## Data',
    '',
    `Photos from \`${data.location}\` (${photos.layout === 'splits' ? 'train/, validation/, test/ folders' : 'one folder per class'}): ` +
      `${data.train_rows} training photos${subset(data.train_rows, data.train_rows_available)}` +
      (data.test_rows !== null
        ? `, ${data.test_rows} test photos${subset(data.test_rows, data.test_rows_available)}`
        : '') +
      `; ${photos.splits}. Each decoded by sharp to ${width}×${height} ${channels === 3 ? 'RGB' : 'grey'} (fit: ${fit})` +
      (photos.decoded_from_cache ? ', read back from the decoded-photo cache.' : '.') +
      (photos.ignored_files > 0
        ? ` ${photos.ignored_files} files that are not photos by their name were left out.`
        : ''),
    '',
    markdownTable(
      ['photos', 'SHA-256 over decoding, names and contents'],
      Object.entries(data.checksums).map(([k, v]) => [k, `\`${v}\``]),
      ['l', 'l'],
    ),
  ];
  if (photos.skipped.length > 0) {
    out.push('', `${photos.skipped.length} photos could not be decoded and were left out (\`bad_photos: skip\`):`, '');
    out.push(
      markdownTable(
        ['photo', 'why'],
        photos.skipped.map((s) => [s.name, s.reason]),
        ['l', 'l'],
      ),
    );
  }
  return out;
}

/** The test-set classification report (scikit-learn's layout), the confusion matrix and the most frequent mistakes. */
export function testSection(test: TestResult, heading: string): string[] {
  const out = [heading, '', 'Classification report (scikit-learn layout):', ''];
  out.push('```', classificationReportText(test.report, test.class_names).trimEnd(), '```');
  out.push(
    '',
    '### Confusion matrix',
    '',
    `Rows are true classes, columns predicted classes; ${pct(test.accuracy)} of ${test.rows} on the diagonal.`,
    '',
  );
  out.push(
    markdownTable(
      ['true \\ predicted', ...test.class_names],
      test.confusion_matrix.map((rowCounts, t) => [
        test.class_names[t],
        ...rowCounts.map((v, p) => (p === t ? `**${v}**` : v)),
      ]),
    ),
  );
  const mistakes = topConfusions(test.confusion_matrix, test.class_names, 5);
  if (mistakes.length > 0)
    out.push('', 'Most frequent mistakes: ' + mistakes.map((m) => `${m.from} → ${m.to} (${m.count})`).join(', ') + '.');
  return out;
}

/** Time per stage and kind of call, one row per (phase, stage); '—' where a stage makes no such call. */
export function timingSection(phases: Array<[string, Record<string, StageTiming> | undefined]>): string[] {
  const cell = (ms: number) => (ms === 0 ? '—' : seconds(ms));
  const rows: Array<Array<string | number>> = [];
  for (const [phase, t] of phases) {
    if (!t) continue;
    for (const [id, v] of Object.entries(t))
      rows.push([phase, id, cell(v.fit_ms), cell(v.transform_ms), cell(v.predict_ms)]);
  }
  return [
    '## Time per stage',
    '',
    markdownTable(['phase', 'stage', 'fit', 'transform', 'predict'], rows, ['l', 'l', 'r', 'r', 'r']),
    '',
    "A stage that transforms its training rows while it fits (a union, whose branches' outputs are its own) counts that in fit; its transform is then the held-out and test rows alone.",
  ];
}

export function machineSection(env: Environment): string[] {
  return [
    '## Machine',
    '',
    markdownTable(
      ['', ''],
      [
        ['CPU', `${env.cpu} (${env.cores} cores, ${env.workers} worker threads)`],
        ['memory', `${env.memory_gb} GB; peak resident ${env.peak_rss_mb} MB`],
        ['Node.js', env.node],
        ['platform', env.platform],
        [
          'versions',
          Object.entries(env.versions)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ],
      ],
      ['l', 'l'],
    ),
  ];
}

/** The largest off-diagonal cells, as class-name pairs. */
export function topConfusions(
  cm: number[][],
  names: readonly string[],
  n: number,
): Array<{ from: string; to: string; count: number }> {
  const cells: Array<{ from: string; to: string; count: number }> = [];
  cm.forEach((r, t) =>
    r.forEach((count, p) => {
      if (t !== p && count > 0) cells.push({ from: names[t], to: names[p], count });
    }),
  );
  return cells.sort((a, b) => b.count - a.count).slice(0, n);
}
