import type { ImageShape } from '../linalg/shape.js';
import type { ClassPixelStats } from '../metrics/pixels.js';
import type { ReportPicture } from './pictures.js';
import { markdownTable } from './text.js';

/** `pipeline show`'s page and terminal text: pure functions of its result. */

export interface ShowClassRow extends Omit<ClassPixelStats, 'meanImage' | 'images'> {
  name: string;
  train: number;
  test: number;
}

export interface ShowResult {
  dataDir: string;
  /** A photo folder (no ink or box statistics), not Fashion-MNIST-style images on black. */
  photos: boolean;
  trainRows: number;
  testRows: number;
  /** Per class: counts in both splits and pixel statistics of the training images. */
  classes: ShowClassRow[];
  /** The same statistics over all training images. */
  overall: Omit<ShowClassRow, 'label' | 'name'>;
  markdown: string;
  files: { markdown: string; pictures: string[] };
  warnings: string[];
}

const f1 = (v: number) => v.toFixed(1);

/** The markdown page of `pipeline show`. */
export function showMarkdown(input: {
  dataDir: string;
  /** The images' shape (default Fashion-MNIST's 28×28 grey). */
  shape?: ImageShape;
  /** Photos (a folder): no black canvas, so no ink or box columns. */
  photos?: boolean;
  /** Fashion-MNIST as CSV (Kaggle's layout), `dataDir` being the training file. */
  csv?: boolean;
  classes: ShowClassRow[];
  overall: Omit<ShowClassRow, 'label' | 'name'>;
  pictures: Array<Pick<ReportPicture, 'file' | 'title' | 'caption'>>;
}): string {
  const { classes, overall } = input;
  const { height, width, channels } = input.shape ?? { height: 28, width: 28, channels: 1 };
  const photos = input.photos ?? false;
  const out: string[] = [photos ? '# The photos' : '# Fashion-MNIST: the data', ''];
  out.push(
    photos
      ? `Photos in \`${input.dataDir}\`: ${overall.train} to fit and choose on and ${overall.test} test photos, decoded to ${width}×${height} ${channels === 3 ? 'RGB' : 'grey'} as the pipeline reads them (values 0..255), ${classes.length} classes.`
      : `${input.csv ? `The CSV file \`${input.dataDir}\` and its test file` : `IDX files in \`${input.dataDir}\``}: ${overall.train} training and ${overall.test} test images of 28×28 pixels (values 0..255, 0 = background), ${classes.length} classes.`,
    '',
  );
  out.push(`## ${photos ? 'Photos' : 'Images'} per class and pixel statistics (training set)`, '');
  out.push(
    photos
      ? `Intensity is over all ${height * width * channels} values of a photo (${channels === 3 ? 'each pixel’s three channels' : 'grey'}).`
      : `Intensity is over all ${height * width} pixels; ink is the non-zero pixels (the garment); the box is the smallest rectangle around them.`,
    '',
  );
  const ink = (s: Omit<ShowClassRow, 'label' | 'name'>) =>
    photos
      ? []
      : [`${(s.inkShare * 100).toFixed(1)} %`, f1(s.meanInk), `${f1(s.meanBoxWidth)} × ${f1(s.meanBoxHeight)}`];
  const row = (name: string, label: string, s: Omit<ShowClassRow, 'label' | 'name'>) => [
    name,
    label,
    s.train,
    s.test,
    f1(s.meanIntensity),
    f1(s.stdIntensity),
    ...ink(s),
  ];
  const headers = ['class', 'label', 'train', 'test', 'mean intensity', 'std'];
  if (!photos) headers.push('ink share', 'mean ink', 'box w × h');
  out.push(
    markdownTable(
      headers,
      [...classes.map((c) => row(c.name, String(c.label), c)), row('**all**', '', overall)],
      ['l', ...headers.slice(1).map(() => 'r' as const)],
    ),
  );
  for (const p of input.pictures) {
    out.push('', `## ${p.title}`, '', p.caption, '', `![${p.title}](${p.file})`);
  }
  return out.join('\n') + '\n';
}

/** What the terminal shows: the table and the files written. */
export function showSummary(result: ShowResult): string {
  const lines = [
    `${result.dataDir}: ${result.trainRows} training, ${result.testRows} test images`,
    '',
    `${'class'.padEnd(12)} ${'train'.padStart(6)} ${'test'.padStart(6)} ${'mean'.padStart(6)} ${'std'.padStart(6)}` +
      (result.photos ? '' : ` ${'ink'.padStart(7)} ${'box w×h'.padStart(11)}`),
  ];
  for (const c of result.classes) {
    lines.push(
      `${c.name.padEnd(12)} ${String(c.train).padStart(6)} ${String(c.test).padStart(6)} ${f1(c.meanIntensity).padStart(6)} ${f1(c.stdIntensity).padStart(6)}` +
        (result.photos
          ? ''
          : ` ${((c.inkShare * 100).toFixed(1) + ' %').padStart(7)} ${`${f1(c.meanBoxWidth)}×${f1(c.meanBoxHeight)}`.padStart(11)}`),
    );
  }
  lines.push('', `wrote ${result.files.markdown}, ${result.files.pictures.join(', ')}`);
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
