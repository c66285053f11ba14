import {
  COLORS,
  Figure,
  fitText,
  header,
  headerWidth,
  luminance,
  mix,
  MARGIN,
  SUBTITLE,
  TITLE,
  type Picture,
} from './figure.js';

const CORRECT = '#0969da';
const MISTAKE = '#e16f24';

export interface HeatmapInput {
  title: string;
  subtitle?: string[];
  /** counts[t][p]: rows true classes, columns predicted classes. */
  matrix: number[][];
  classNames: readonly string[];
}

/** Colour of a confusion cell: blue by recall on the diagonal, orange by share of the row (relative to the largest) off it. */
export function cellColor(count: number, rowTotal: number, diagonal: boolean, largestMistakeShare: number): string {
  if (count === 0 || rowTotal === 0) return COLORS.paper;
  const share = count / rowTotal;
  if (diagonal) return mix('#ffffff', CORRECT, 0.1 + 0.9 * share);
  return mix('#ffffff', MISTAKE, 0.12 + 0.88 * (largestMistakeShare > 0 ? share / largestMistakeShare : 0));
}

/**
 * A confusion-matrix heatmap with the count in every cell, class names on both axes, recall per row on the right and
 * precision per column underneath. Correct cells are blue (darker = higher recall); mistakes orange, scaled to the
 * largest mistake so that small confusions still show.
 */
export async function confusionHeatmap(input: HeatmapInput): Promise<Picture> {
  const { matrix: cm, classNames } = input;
  const n = cm.length;
  const subtitle = input.subtitle ?? [];
  const cell = 56;
  const probe = new Figure(1, 1);
  const nameSize = 13;
  const rowLabel = Math.max(...classNames.map((c) => probe.measure(c, nameSize))) + 14;
  const colLabel = Math.ceil(Math.max(...classNames.map((c) => probe.measure(c, nameSize))) * Math.SQRT1_2 + 22);
  const rowTotals = cm.map((r) => r.reduce((a, b) => a + b, 0));
  const colTotals = cm[0]?.map((_, p) => cm.reduce((a, r) => a + r[p], 0)) ?? [];
  let largestMistakeShare = 0;
  cm.forEach((r, t) =>
    r.forEach((v, p) => {
      if (t !== p && rowTotals[t] > 0) largestMistakeShare = Math.max(largestMistakeShare, v / rowTotals[t]);
    }),
  );

  const axisTitle = 22;
  const left = MARGIN + axisTitle + rowLabel;
  const headerH = MARGIN + TITLE + subtitle.length * (SUBTITLE + 6) + 20;
  const top = headerH + 22;
  const gridW = n * cell;
  const recallW = 70;
  const legendH = 40;
  const width = Math.max(left + gridW + recallW + MARGIN, headerWidth(probe, input.title, subtitle));
  const height = top + gridW + cell * 0.6 + colLabel + 26 + legendH + MARGIN;
  const fig = new Figure(width, height);

  header(fig, input.title, subtitle);

  fig.text('predicted class', left + gridW / 2, top - 8, {
    size: 12,
    color: COLORS.muted,
    align: 'center',
    role: 'axis',
  });
  fig.text('recall %', left + gridW + recallW / 2, top - 8, {
    size: 12,
    color: COLORS.muted,
    align: 'center',
    role: 'axis',
  });
  fig.text('true class', MARGIN + 8, top + gridW / 2, {
    size: 12,
    color: COLORS.muted,
    align: 'center',
    rotate: -Math.PI / 2,
    role: 'axis',
  });

  for (let t = 0; t < n; t++) {
    const cy = top + t * cell;
    fig.text(classNames[t], left - 8, cy + cell / 2 + 4, { size: nameSize, align: 'right', role: 'row-label' });
    for (let p = 0; p < n; p++) {
      const cx = left + p * cell;
      const count = cm[t][p];
      const color = cellColor(count, rowTotals[t], t === p, largestMistakeShare);
      fig.rect(cx, cy, cell, cell, color);
      const textColor = count === 0 ? '#afb8c1' : luminance(color) < 0.35 ? '#ffffff' : COLORS.ink;
      fig.text(String(count), cx + cell / 2, cy + cell / 2 + 5, {
        size: count >= 1000 ? 13 : 14,
        bold: t === p,
        color: textColor,
        align: 'center',
        role: 'count',
      });
    }
    const recall = rowTotals[t] > 0 ? cm[t][t] / rowTotals[t] : 0;
    fig.text((recall * 100).toFixed(1), left + gridW + recallW / 2, cy + cell / 2 + 5, {
      size: 12,
      align: 'center',
      role: 'recall',
    });
  }
  for (let i = 0; i <= n; i++) {
    fig.line(left + i * cell, top, left + i * cell, top + gridW, '#ffffff', 1);
    fig.line(left, top + i * cell, left + gridW, top + i * cell, '#ffffff', 1);
  }
  fig.frame(left, top, gridW, gridW, COLORS.grid, 1);

  const precY = top + gridW + cell * 0.3 + 5;
  fig.text('precision %', left - 8, precY, { size: 12, color: COLORS.muted, align: 'right', role: 'axis' });
  for (let p = 0; p < n; p++) {
    const precision = colTotals[p] > 0 ? cm[p][p] / colTotals[p] : 0;
    fig.text(`${(precision * 100).toFixed(1)}`, left + p * cell + cell / 2, precY, {
      size: 12,
      align: 'center',
      role: 'precision',
    });
  }
  const labelsY = top + gridW + cell * 0.6 + 4;
  for (let p = 0; p < n; p++) {
    fig.text(classNames[p], left + p * cell + cell / 2 + 4, labelsY, {
      size: nameSize,
      align: 'right',
      baseline: 'top',
      rotate: -Math.PI / 4,
      role: 'column-label',
    });
  }

  const ly = labelsY + colLabel + 14;
  const legend = (x: number, label: string, from: string, to: string, right: string) => {
    fig.text(label, x, ly, { size: 12, color: COLORS.muted, role: 'legend' });
    const barW = 150;
    for (let i = 0; i < barW; i++) fig.rect(x + i, ly + 8, 1, 12, mix(from, to, i / (barW - 1)));
    fig.text('0', x, ly + 34, { size: 11, color: COLORS.muted, role: 'legend' });
    fig.text(right, x + barW, ly + 34, { size: 11, color: COLORS.muted, align: 'right', role: 'legend' });
  };
  legend(MARGIN, 'correct: share of the true class', mix('#ffffff', CORRECT, 0.1), CORRECT, '100 %');
  legend(
    MARGIN + 240,
    'mistakes: share of the true class',
    mix('#ffffff', MISTAKE, 0.12),
    MISTAKE,
    `${(largestMistakeShare * 100).toFixed(1)} %`,
  );
  return fig.encode();
}

export interface AccuracyBar {
  name: string;
  /** Test accuracy, or null when the run has no test evaluation. */
  test: number | null;
  /** Cross-validation mean and standard deviation, or null without cross-validation. */
  cv: { mean: number; std: number } | null;
}

export interface AccuracyChartInput {
  title: string;
  subtitle?: string[];
  runs: AccuracyBar[];
}

/** The value axis: a range that holds every bar top and error bar with a little room, on steps of 0.01, 0.02 or 0.05. */
export function accuracyAxis(values: number[]): { min: number; max: number; step: number } {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { min: 0, max: 1, step: 0.1 };
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const span = Math.max(hi - lo, 0.01);
  const step = span <= 0.04 ? 0.01 : span <= 0.1 ? 0.02 : span <= 0.3 ? 0.05 : 0.1;
  const min = Math.max(0, Math.floor((lo - span * 0.6) / step) * step);
  const max = Math.min(1, Math.ceil((hi + span * 0.25) / step) * step);
  return { min: round(min), max: round(max > min ? max : min + step), step };
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/**
 * Test accuracy per run as bars, with the cross-validation mean ± std as a dot and whiskers over each bar. The axis is
 * zoomed to the range of the values (its start is printed on it) because the differences are a few points.
 */
export async function accuracyChart(input: AccuracyChartInput): Promise<Picture> {
  const values = input.runs.flatMap((r) => [
    r.test ?? NaN,
    r.cv ? r.cv.mean - r.cv.std : NaN,
    r.cv ? r.cv.mean + r.cv.std : NaN,
  ]);
  const axis = accuracyAxis(values);
  const subtitle = [
    ...(input.subtitle ?? []),
    ...(axis.min > 0
      ? [`The accuracy axis starts at ${axis.min.toFixed(2)}, not at 0, so that differences of a point are visible.`]
      : []),
  ];
  const probe = new Figure(1, 1);
  const slots = Math.max(1, input.runs.length);
  const minSlot = Math.max(110, ...input.runs.map((r) => probe.measure(r.name, 12) + 20));
  const plotH = 300;
  const left = MARGIN + 56;
  const headerH = MARGIN + TITLE + subtitle.length * (SUBTITLE + 6) + 34;
  const width = Math.max(left + slots * minSlot + MARGIN + 10, headerWidth(probe, input.title, subtitle), 440);
  // Few runs on a wide canvas: wider slots (up to 180 px) rather than an empty right half.
  const slot = Math.min(Math.max(minSlot, 180), Math.max(minSlot, (width - left - MARGIN - 10) / slots));
  const plotW = slots * slot;
  const height = headerH + plotH + 62 + MARGIN;
  const fig = new Figure(width, height);

  header(fig, input.title, subtitle);
  const top = headerH;
  const bottom = top + plotH;
  const yOf = (v: number) => bottom - ((v - axis.min) / (axis.max - axis.min)) * plotH;

  for (let v = axis.min; v <= axis.max + 1e-9; v += axis.step) {
    const gy = yOf(v);
    fig.line(left, gy, left + plotW, gy, '#eaeef2', 1);
    fig.text(v.toFixed(2), left - 8, gy + 4, { size: 11, color: COLORS.muted, align: 'right', role: 'tick' });
  }
  fig.text('accuracy', MARGIN + 2, top + plotH / 2, {
    size: 12,
    color: COLORS.muted,
    align: 'center',
    rotate: -Math.PI / 2,
    role: 'axis',
  });
  fig.line(left, top, left, bottom, COLORS.muted, 1);
  fig.line(left, bottom, left + plotW, bottom, COLORS.muted, 1);

  const best = Math.max(...input.runs.map((r) => r.test ?? -Infinity));
  input.runs.forEach((run, i) => {
    const cx = left + i * slot + slot / 2;
    const barW = Math.min(56, slot * 0.5);
    if (run.test !== null) {
      const by = yOf(run.test);
      fig.rect(cx - barW / 2, by, barW, bottom - by, run.test === best ? CORRECT : '#8cb7e8');
      fig.text(run.test.toFixed(4), cx, by - 6, {
        size: 12,
        bold: run.test === best,
        align: 'center',
        role: 'bar-value',
      });
    } else {
      fig.text('no test', cx, bottom - 8, { size: 11, color: COLORS.muted, align: 'center', role: 'bar-value' });
    }
    if (run.cv) {
      const x = cx + barW / 2 + 10;
      const y1 = yOf(run.cv.mean - run.cv.std);
      const y2 = yOf(run.cv.mean + run.cv.std);
      fig.line(x, y1, x, y2, COLORS.ink, 2);
      fig.line(x - 5, y1, x + 5, y1, COLORS.ink, 2);
      fig.line(x - 5, y2, x + 5, y2, COLORS.ink, 2);
      fig.ctx.fillStyle = MISTAKE;
      fig.ctx.beginPath();
      fig.ctx.arc(x, yOf(run.cv.mean), 3.5, 0, 2 * Math.PI);
      fig.ctx.fill();
    }
    fig.text(fitText(fig, run.name, 12, slot - 8), cx, bottom + 18, { size: 12, align: 'center', role: 'run-name' });
  });

  const ly = bottom + 50;
  fig.rect(left, ly - 10, 14, 12, CORRECT);
  fig.text('test accuracy (darkest = best)', left + 20, ly, { size: 12, color: COLORS.muted, role: 'legend' });
  const lx = left + 20 + fig.measure('test accuracy (darkest = best)', 12) + 28;
  fig.ctx.fillStyle = MISTAKE;
  fig.ctx.beginPath();
  fig.ctx.arc(lx, ly - 4, 4.5, 0, 2 * Math.PI);
  fig.ctx.fill();
  fig.line(lx, ly - 12, lx, ly + 4, COLORS.ink, 2);
  fig.text('cross-validation mean ± std', lx + 12, ly, { size: 12, color: COLORS.muted, role: 'legend' });
  return fig.encode();
}

export interface ReliabilityInput {
  title: string;
  subtitle?: string[];
  /** The calibration's bins of top probability (metrics/calibration.ts). */
  bins: ReadonlyArray<{ lo: number; hi: number; count: number; confidence: number | null; accuracy: number | null }>;
  ece: number;
}

/**
 * The reliability diagram: for each bin of the top probability, the share of its rows predicted right (bar) against
 * the diagonal a calibrated model follows, the bin's mean probability as a line and the gap shaded; the bins' shares of
 * the rows under the axis. A bar below its line: the model was surer than it was right; above it, less sure.
 */
export async function reliabilityDiagram(input: ReliabilityInput): Promise<Picture> {
  const subtitle = input.subtitle ?? [];
  const probe = new Figure(1, 1);
  const plot = 320;
  const left = MARGIN + 56;
  const headerH = MARGIN + TITLE + subtitle.length * (SUBTITLE + 6) + 30;
  const legendWidth =
    MARGIN * 2 +
    probe.measure("red line: the bin's mean probability (shaded: the gap); grey: the bin's share of the images", 12);
  const width = Math.max(left + plot + MARGIN + 20, headerWidth(probe, input.title, subtitle), legendWidth, 440);
  const height = headerH + plot + 100 + MARGIN;
  const fig = new Figure(width, height);
  header(fig, input.title, subtitle);
  const top = headerH;
  const bottom = top + plot;
  const xOf = (v: number) => left + v * plot;
  const yOf = (v: number) => bottom - v * plot;
  for (let v = 0; v <= 1 + 1e-9; v += 0.2) {
    fig.line(left, yOf(v), left + plot, yOf(v), '#eaeef2', 1);
    fig.text(v.toFixed(1), left - 8, yOf(v) + 4, { size: 11, color: COLORS.muted, align: 'right', role: 'tick' });
    fig.text(v.toFixed(1), xOf(v), bottom + 16, { size: 11, color: COLORS.muted, align: 'center', role: 'tick' });
  }
  const total = input.bins.reduce((s, b) => s + b.count, 0);
  for (const bin of input.bins) {
    if (bin.count === 0 || bin.accuracy === null || bin.confidence === null) continue;
    const x = xOf(bin.lo) + 1;
    const w = (bin.hi - bin.lo) * plot - 2;
    fig.rect(x, yOf(bin.accuracy), w, bottom - yOf(bin.accuracy), '#8cb7e8');
    // the gap to the bin's mean confidence, shaded: what the ECE adds up, weighted by the bin's rows
    const a = Math.min(bin.accuracy, bin.confidence);
    const b = Math.max(bin.accuracy, bin.confidence);
    fig.rect(x, yOf(b), w, yOf(a) - yOf(b), 'rgba(200, 60, 60, 0.35)');
    fig.line(x, yOf(bin.confidence), x + w, yOf(bin.confidence), MISTAKE, 2);
    const share = bin.count / total;
    fig.rect(x, bottom + 24, w, Math.max(1, share * 30), COLORS.muted);
  }
  fig.line(xOf(0), yOf(0), xOf(1), yOf(1), COLORS.ink, 1);
  fig.line(left, top, left, bottom, COLORS.muted, 1);
  fig.line(left, bottom, left + plot, bottom, COLORS.muted, 1);
  fig.text('share right', MARGIN + 2, top + plot / 2, {
    size: 12,
    color: COLORS.muted,
    align: 'center',
    rotate: -Math.PI / 2,
    role: 'axis',
  });
  const legend = [
    'x: the probability the model gave its answer, in bins; bars: the share answered right',
    "red line: the bin's mean probability (shaded: the gap); grey: the bin's share of the images",
  ];
  legend.forEach((line, i) =>
    fig.text(line, MARGIN, bottom + 66 + i * 17, { size: 12, color: COLORS.muted, role: 'axis' }),
  );
  fig.text(`ECE ${input.ece.toFixed(4)}`, left + 10, top + 18, { size: 13, bold: true, role: 'ece' });
  return fig.encode();
}
