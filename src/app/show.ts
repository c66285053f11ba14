import { isAbsolute, join, relative } from 'node:path';
import { UsageError } from '../config/errors.js';
import { CLASS_NAMES, loadSplit, resolveDataDir } from '../data/fashion-mnist.js';
import { classCounts, classPixelStats } from '../metrics/pixels.js';
import { classMeansPicture, samplesPicture, type ReportPicture } from '../report/pictures.js';
import { fontsAvailable } from '../report/plots/figure.js';
import { showMarkdown, type ShowClassRow, type ShowResult } from '../report/show.js';
import { checkOutputs, writeFilesAtomic } from '../report/write.js';

export type { ShowClassRow, ShowResult };
export { showMarkdown, showSummary } from '../report/show.js';

export interface ShowOptions {
  data?: string;
  /** false = --no-verify: IDX files other than the official ones are read (their structure is still checked). */
  verify?: boolean;
  out: string;
  /** Seed for the sample grid (42). */
  seed?: number;
  /** Images per class in the sample grid (10). */
  perClass?: number;
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
  checkOutputs([{ what: `--out ${options.out}`, dir: options.out, names: ['data.md', 'data'] }]);
  const dataDir = resolveDataDir(options.data);
  const train = loadSplit(dataDir, 'train', options);
  const test = loadSplit(dataDir, 'test', options);
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

/** Under the working directory a path is shown relative to it, so the page reads the same on every machine. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
