import { isAbsolute, join, relative } from 'node:path';
import { UsageError } from '../config/errors.js';
import { CLASS_NAMES, loadSplit, resolveDataDir } from '../data/fashion-mnist.js';
import { classCounts, classPixelStats, type ClassPixelStats } from '../metrics/pixels.js';
import { classMeansPicture, samplesPicture, type ReportPicture } from '../report/pictures.js';
import { fontsAvailable } from '../report/plots/figure.js';
import { markdownTable } from '../report/text.js';
import { writeFilesAtomic } from '../report/write.js';

export interface ShowOptions {
  data?: string;
  out: string;
  /** Seed for the sample grid (42). */
  seed?: number;
  /** Images per class in the sample grid (10). */
  perClass?: number;
}

export interface ShowClassRow extends Omit<ClassPixelStats, 'meanImage' | 'images'> {
  name: string;
  train: number;
  test: number;
}

export interface ShowResult {
  dataDir: string;
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

/** `pipeline show`: facts about the data without training — counts and pixel statistics per class, a sample grid. */
export async function runShow(options: ShowOptions): Promise<ShowResult> {
  const seed = options.seed ?? 42;
  const perClass = options.perClass ?? 10;
  if (!Number.isInteger(seed) || seed < 0)
    throw new UsageError(`--seed must be a whole number ≥ 0, got ${options.seed}`);
  if (!Number.isInteger(perClass) || perClass < 1 || perClass > 30) {
    throw new UsageError(`--per-class must be a whole number from 1 to 30, got ${options.perClass}`);
  }
  const dataDir = resolveDataDir(options.data);
  const train = loadSplit(dataDir, 'train');
  const test = loadSplit(dataDir, 'test');
  const n = CLASS_NAMES.length;
  const stats = classPixelStats(train.X, train.y, n);
  const testCounts = classCounts(test.y, n);
  const all = classPixelStats(train.X, new Uint8Array(train.y.length), 1)[0];
  const { meanImage: _drop, images: _images, ...overallStats } = all;
  const classes: ShowClassRow[] = stats.map(({ meanImage: _m, images, ...s }) => ({
    ...s,
    name: CLASS_NAMES[s.label],
    train: images,
    test: testCounts[s.label],
  }));
  const overall = { ...overallStats, train: train.y.length, test: test.y.length };

  const pictures: ReportPicture[] = [
    await samplesPicture(train, CLASS_NAMES, seed, perClass),
    await classMeansPicture(
      train,
      CLASS_NAMES,
      stats.map((s) => s.meanImage),
    ),
  ];
  const folder = 'data';
  const markdown = showMarkdown({
    dataDir: displayPath(dataDir),
    classes,
    overall,
    pictures: pictures.map((p) => ({ ...p, file: `${folder}/${p.file}` })),
  });
  const files = {
    markdown: join(options.out, 'data.md'),
    pictures: pictures.map((p) => join(options.out, folder, p.file)),
  };
  writeFilesAtomic([
    { path: files.markdown, content: markdown },
    ...pictures.map((p, i) => ({ path: files.pictures[i], content: p.picture.png })),
  ]);
  const warnings = fontsAvailable()
    ? []
    : ["no fonts are installed, so the pictures have no text (install e.g. Debian's fonts-dejavu-core)"];
  return { dataDir, trainRows: train.y.length, testRows: test.y.length, classes, overall, markdown, files, warnings };
}

const f1 = (v: number) => v.toFixed(1);

/** Under the working directory a path is shown relative to it, so the page reads the same on every machine. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The markdown page of `pipeline show`. */
export function showMarkdown(input: {
  dataDir: string;
  classes: ShowClassRow[];
  overall: Omit<ShowClassRow, 'label' | 'name'>;
  pictures: Array<Pick<ReportPicture, 'file' | 'title' | 'caption'>>;
}): string {
  const { classes, overall } = input;
  const out: string[] = ['# Fashion-MNIST: the data', ''];
  out.push(
    `IDX files in \`${input.dataDir}\`: ${overall.train} training and ${overall.test} test images of 28×28 pixels (values 0..255, 0 = background), ${classes.length} classes.`,
    '',
  );
  out.push('## Images per class and pixel statistics (training set)', '');
  out.push(
    'Intensity is over all 784 pixels; ink is the non-zero pixels (the garment); the box is the smallest rectangle around them.',
    '',
  );
  const row = (name: string, label: string, s: Omit<ShowClassRow, 'label' | 'name'>) => [
    name,
    label,
    s.train,
    s.test,
    f1(s.meanIntensity),
    f1(s.stdIntensity),
    `${(s.inkShare * 100).toFixed(1)} %`,
    f1(s.meanInk),
    `${f1(s.meanBoxWidth)} × ${f1(s.meanBoxHeight)}`,
  ];
  out.push(
    markdownTable(
      ['class', 'label', 'train', 'test', 'mean intensity', 'std', 'ink share', 'mean ink', 'box w × h'],
      [...classes.map((c) => row(c.name, String(c.label), c)), row('**all**', '', overall)],
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
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
    `${'class'.padEnd(12)} ${'train'.padStart(6)} ${'test'.padStart(6)} ${'mean'.padStart(6)} ${'std'.padStart(6)} ${'ink'.padStart(7)} ${'box w×h'.padStart(11)}`,
  ];
  for (const c of result.classes) {
    lines.push(
      `${c.name.padEnd(12)} ${String(c.train).padStart(6)} ${String(c.test).padStart(6)} ${f1(c.meanIntensity).padStart(6)} ${f1(c.stdIntensity).padStart(6)} ` +
        `${((c.inkShare * 100).toFixed(1) + ' %').padStart(7)} ${`${f1(c.meanBoxWidth)}×${f1(c.meanBoxHeight)}`.padStart(11)}`,
    );
  }
  lines.push('', `wrote ${result.files.markdown}, ${result.files.pictures.join(', ')}`);
  for (const w of result.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
