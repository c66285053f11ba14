import { printable } from '../util/printable.js';
import type { ClassificationReport } from '../metrics/classification.js';

/**
 * The report as scikit-learn's classification_report prints it (same column widths and order), so the two tools'
 * outputs can be read side by side.
 */
export function classificationReportText(report: ClassificationReport, names: readonly string[], digits = 4): string {
  const headers = ['precision', 'recall', 'f1-score', 'support'];
  const lastHeading = 'weighted avg';
  const width = Math.max(...names.map((n) => n.length), lastHeading.length, digits);
  const right = (s: string, w: number) => s.padStart(w);
  const num = (v: number) => right(v.toFixed(digits), 9);
  let out = right('', width) + ' ' + headers.map((h) => ' ' + right(h, 9)).join('') + '\n\n';
  for (const c of report.perClass) {
    out += `${right(names[c.label] ?? String(c.label), width)}  ${num(c.precision)} ${num(c.recall)} ${num(c.f1)} ${right(String(c.support), 9)}\n`;
  }
  out += '\n';
  out += `${right('accuracy', width)}  ${right('', 9)} ${right('', 9)} ${num(report.accuracy)} ${right(String(report.support), 9)}\n`;
  for (const [label, avg] of [
    ['macro avg', report.macroAvg],
    ['weighted avg', report.weightedAvg],
  ] as const) {
    out += `${right(label, width)}  ${num(avg.precision)} ${num(avg.recall)} ${num(avg.f1)} ${right(String(avg.support), 9)}\n`;
  }
  return out;
}

/** A GitHub-flavoured markdown table; numbers right-aligned. */
export function markdownTable(header: string[], rows: Array<Array<string | number>>, align?: Array<'l' | 'r'>): string {
  const al = align ?? header.map((_, i) => (i === 0 ? 'l' : 'r'));
  const line = (cells: Array<string | number>) =>
    `| ${cells.map((c) => printable(String(c)).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${al.map((a) => (a === 'r' ? '---:' : ':---')).join('|')}|`, ...rows.map(line)].join('\n');
}

export const pct = (v: number, digits = 2): string => `${(v * 100).toFixed(digits)} %`;
export const fixed = (v: number, digits = 4): string => v.toFixed(digits);
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
