import type { ImageShape } from '../../linalg/shape.js';
import { COLORS, Figure, fitText, header, headerWidth, MARGIN, SUBTITLE, TITLE, type Picture } from './figure.js';

/** Fashion-MNIST's images: what a gallery draws when its input names no shape. */
const FASHION_TILE: ImageShape = { height: 28, width: 28, channels: 1 };

/** The images' shape, the screen pixels per image pixel, and the side of a tile's box. */
function tiles(input: { shape?: ImageShape; scale?: number }): { shape: ImageShape; scale: number; side: number } {
  const shape = input.shape ?? FASHION_TILE;
  const longest = Math.max(shape.height, shape.width);
  // 28×28 images at 3×; photos about 128 screen pixels on their longer side
  const scale = input.scale ?? (longest <= 32 ? 3 : Math.max(1, Math.floor(128 / longest)));
  return { shape, scale, side: longest * scale };
}

/** An image to draw: its pixels (row-major, top row first, 0..255) and the caller's id for it (a row index). */
export interface GalleryImage {
  id: number;
  pixels: ArrayLike<number>;
}

const GAP = 6;
const LABEL = 14;
const CAPTION = 11;

const probe = (): Figure => new Figure(1, 1);

export interface SampleGridInput {
  title: string;
  subtitle?: string[];
  /** One row per class: its name and images. */
  rows: Array<{ name: string; label: number; images: GalleryImage[] }>;
  /** Screen pixels per image pixel; 3 for 28×28 images, about 128 pixels a tile for photos by default. */
  scale?: number;
  /** The images' shape (Fashion-MNIST's 28×28 grey by default). */
  shape?: ImageShape;
}

/** Rows of images, one row per class, the class name and label number at the left. */
export async function sampleGrid(input: SampleGridInput): Promise<Picture> {
  const { shape, scale, side } = tiles(input);
  const subtitle = input.subtitle ?? [];
  const p = probe();
  const labelWidth = Math.max(...input.rows.map((r) => p.measure(r.name, LABEL, true))) + 24;
  const perRow = Math.max(1, ...input.rows.map((r) => r.images.length));
  const width = Math.max(MARGIN * 2 + labelWidth + perRow * (side + GAP), headerWidth(p, input.title, subtitle));
  const top = MARGIN + TITLE + subtitle.length * (SUBTITLE + 6) + 16;
  const height = top + input.rows.length * (side + GAP) + MARGIN;
  const fig = new Figure(width, height);
  let y = header(fig, input.title, subtitle);
  for (const row of input.rows) {
    const x0 = MARGIN + labelWidth;
    fig.text(row.name, x0 - 14, y + side / 2 - 2, { size: LABEL, bold: true, align: 'right', role: 'class-label' });
    fig.text(`label ${row.label}`, x0 - 14, y + side / 2 + 15, {
      size: CAPTION,
      color: COLORS.muted,
      align: 'right',
      role: 'label-number',
    });
    row.images.forEach((img, i) => fig.image(img.pixels, x0 + i * (side + GAP), y, scale, img.id, [row.name], shape));
    y += side + GAP;
  }
  return fig.encode();
}

export interface PredictionTile extends GalleryImage {
  predicted: string;
  correct: boolean;
  /** Probability of the predicted class, or null when the model gives none. */
  confidence: number | null;
}

export interface PredictionGalleryInput {
  title: string;
  subtitle?: string[];
  /** One row per true class. */
  rows: Array<{ trueName: string; images: PredictionTile[] }>;
  scale?: number;
  shape?: ImageShape;
}

/** Test images in rows by true class; each captioned with the prediction; mistakes framed in red and marked ✗. */
export async function predictionGallery(input: PredictionGalleryInput): Promise<Picture> {
  const { shape, scale, side } = tiles(input);
  const subtitle = input.subtitle ?? [];
  const p = probe();
  const names = input.rows.flatMap((r) => r.images.map((i) => `✗ ${i.predicted}`));
  const cell = Math.max(side, ...names.map((n) => p.measure(n, CAPTION, true))) + 14;
  const labelWidth =
    Math.max(p.measure('true class', SUBTITLE), ...input.rows.map((r) => p.measure(r.trueName, LABEL, true))) + 24;
  const perRow = Math.max(1, ...input.rows.map((r) => r.images.length));
  const rowHeight = side + 2 * (CAPTION + 4) + 12;
  const width = Math.max(MARGIN * 2 + labelWidth + perRow * cell, headerWidth(p, input.title, subtitle));
  const top = MARGIN + TITLE + subtitle.length * (SUBTITLE + 6) + 16;
  const height = top + 24 + input.rows.length * rowHeight + MARGIN;
  const fig = new Figure(width, height);
  let y = header(fig, input.title, subtitle) + 6;
  const x0 = MARGIN + labelWidth;
  fig.text('true class', x0 - 14, y + 4, { size: SUBTITLE, color: COLORS.muted, align: 'right', role: 'axis' });
  fig.text('predicted (probability)', x0 + (cell - side) / 2, y + 4, {
    size: SUBTITLE,
    color: COLORS.muted,
    role: 'axis',
  });
  y += 18;
  for (const row of input.rows) {
    fig.text(row.trueName, x0 - 14, y + side / 2 + 4, { size: LABEL, bold: true, align: 'right', role: 'class-label' });
    row.images.forEach((img, i) => {
      const cx = x0 + i * cell + cell / 2;
      const tx = cx - side / 2;
      if (!img.correct) fig.frame(tx, y, side, side, COLORS.wrong, 3);
      fig.image(img.pixels, tx, y, scale, img.id, [img.correct ? 'right' : 'mistake'], shape);
      const caption = img.correct ? img.predicted : `✗ ${img.predicted}`;
      fig.text(caption, cx, y + side + CAPTION + 5, {
        size: CAPTION,
        bold: !img.correct,
        color: img.correct ? COLORS.ink : COLORS.wrong,
        align: 'center',
        role: img.correct ? 'prediction' : 'mistake',
      });
      if (img.confidence !== null) {
        fig.text(img.confidence.toFixed(2), cx, y + side + 2 * CAPTION + 9, {
          size: CAPTION,
          color: COLORS.muted,
          align: 'center',
          role: 'confidence',
        });
      }
    });
    y += rowHeight;
  }
  return fig.encode();
}

export interface MistakeCell {
  /** e.g. 'Shirt'. */
  trueName: string;
  /** e.g. 'T-shirt/top'. */
  predictedName: string;
  /** Images of the true class predicted as the other, in the order to show. */
  mistakes: Array<GalleryImage & { confidence: number | null }>;
  /** How many such mistakes there are in all, and how many images of the true class. */
  count: number;
  support: number;
  /** Correctly classified images of the predicted class and of the true class, for comparison. */
  predictedExamples: GalleryImage[];
  trueExamples: GalleryImage[];
}

export interface MistakeGalleryInput {
  title: string;
  subtitle?: string[];
  cells: MistakeCell[];
  /** Tiles per row for mistakes (the widest row decides the width). */
  perRow: number;
  scale?: number;
  shape?: ImageShape;
}

/**
 * One band per confusion cell (true → predicted): its mistakes, then correctly classified examples of the predicted
 * class and of the true class, so the resemblance that misleads the model is visible side by side.
 */
export async function mistakeGallery(input: MistakeGalleryInput): Promise<Picture> {
  const { shape, scale, side } = tiles(input);
  const subtitle = input.subtitle ?? [];
  const cell = side + 12;
  const p = probe();
  const refs = Math.max(0, ...input.cells.map((c) => Math.max(c.predictedExamples.length, c.trueExamples.length)));
  const refBlock = refs > 0 ? 28 + 2 * refs * cell + 16 : 0;
  const bandHeader = LABEL + 14;
  const bandHeight = bandHeader + SUBTITLE + 8 + side + CAPTION + 14 + 18;
  const contentWidth = MARGIN * 2 + input.perRow * cell + refBlock;
  const width = Math.max(contentWidth, headerWidth(p, input.title, subtitle));
  const top = MARGIN + TITLE + subtitle.length * (SUBTITLE + 6) + 16;
  const height = top + Math.max(1, input.cells.length) * bandHeight + MARGIN;
  const fig = new Figure(width, height);
  let y = header(fig, input.title, subtitle);
  if (input.cells.length === 0) {
    fig.text('No mistakes to show.', MARGIN, y + 20, { size: LABEL, role: 'empty' });
    return fig.encode();
  }
  for (const c of input.cells) {
    fig.line(MARGIN, y - 6, width - MARGIN, y - 6, COLORS.grid);
    const head = `${c.trueName} → ${c.predictedName}`;
    fig.text(head, MARGIN, y + LABEL + 4, { size: LABEL, bold: true, role: 'cell-title' });
    const share = c.support > 0 ? ` (${((100 * c.count) / c.support).toFixed(1)} %)` : '';
    const detail = `${c.count} of ${c.support} ${c.trueName} images taken for ${c.predictedName}${share}`;
    fig.text(detail, MARGIN + fig.measure(head, LABEL, true) + 12, y + LABEL + 4, {
      size: SUBTITLE,
      color: COLORS.muted,
      role: 'cell-detail',
    });
    const ty = y + bandHeader + SUBTITLE + 8;
    fig.text(`mistakes: true ${c.trueName}, predicted ${c.predictedName}`, MARGIN, ty - 8, {
      size: SUBTITLE,
      color: COLORS.wrong,
      role: 'band-label',
    });
    c.mistakes.slice(0, input.perRow).forEach((m, i) => {
      const tx = MARGIN + i * cell + 3;
      fig.frame(tx, ty, side, side, COLORS.wrong, 2);
      fig.image(m.pixels, tx, ty, scale, m.id, ['mistake', `${c.trueName}→${c.predictedName}`], shape);
      const caption = m.confidence !== null ? `p ${m.confidence.toFixed(2)}` : `#${m.id}`;
      fig.text(caption, tx + side / 2, ty + side + CAPTION + 5, {
        size: CAPTION,
        color: COLORS.muted,
        align: 'center',
        role: 'mistake-caption',
      });
    });
    if (refs > 0) {
      let rx = MARGIN + input.perRow * cell + 28;
      fig.line(rx - 16, ty - 20, rx - 16, ty + side + 4, COLORS.grid);
      const group = (label: string, images: GalleryImage[], tag: string) => {
        fig.text(fitText(fig, label, SUBTITLE, refs * cell - 6), rx, ty - 8, {
          size: SUBTITLE,
          color: COLORS.right,
          role: 'reference-label',
        });
        images.slice(0, refs).forEach((img, i) => {
          fig.frame(rx + i * cell, ty, side, side, COLORS.right, 1);
          fig.image(img.pixels, rx + i * cell, ty, scale, img.id, [tag], shape);
        });
        rx += refs * cell;
      };
      group(`a real ${c.predictedName}`, c.predictedExamples, 'reference-predicted');
      group(`a real ${c.trueName}`, c.trueExamples, 'reference-true');
    }
    y += bandHeight;
  }
  return fig.encode();
}

export interface MeanImagesInput {
  title: string;
  subtitle?: string[];
  items: Array<{ name: string; pixels: ArrayLike<number> }>;
  scale?: number;
  shape?: ImageShape;
}

/** One image per class side by side (e.g. the mean image), named underneath. */
export async function imageStrip(input: MeanImagesInput): Promise<Picture> {
  const { shape, scale, side } = tiles(input);
  const subtitle = input.subtitle ?? [];
  const p = probe();
  const cell = Math.max(side, ...input.items.map((i) => p.measure(i.name, 12, true))) + 12;
  const width = Math.max(MARGIN * 2 + input.items.length * cell, headerWidth(p, input.title, subtitle));
  const top = MARGIN + TITLE + subtitle.length * (SUBTITLE + 6) + 16;
  const height = top + side + 12 + 18 + MARGIN;
  const fig = new Figure(width, height);
  const y = header(fig, input.title, subtitle);
  input.items.forEach((item, i) => {
    const cx = MARGIN + i * cell + cell / 2;
    fig.image(item.pixels, cx - side / 2, y, scale, i, [item.name], shape);
    fig.text(item.name, cx, y + side + 18, { size: 12, bold: true, align: 'center', role: 'class-label' });
  });
  return fig.encode();
}
