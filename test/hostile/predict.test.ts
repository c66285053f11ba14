/**
 * Hostile inputs around predict and training data: a batch of photos with bad ones among them is answered for every
 * good photo (exit 1, one line listing the bad); training CSVs without rows are named; a pipeline whose params cannot
 * fit the data is the same error, at the same place, from run, predict and serve.
 */
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toCsv } from '../../src/data/csv.js';
import { PIXELS } from '../../src/data/fashion-mnist.js';
import { fashionSample, fashionTestSample, photoOf, tempDir } from '../helpers.js';
import { assertCleanFailure, bmpOf, cli, listTree } from './harness.js';

const HEADER = ['label', ...Array.from({ length: PIXELS }, (_, i) => `pixel${i + 1}`)].join(',') + '\n';

let work: string;
let model: string;
test.before(() => {
  work = tempDir();
  writeFileSync(
    join(work, 'm.yaml'),
    'name: m\ndata: { limit: { train: 300, test: 50 } }\nsteps: [ { knn: { k: 1 } } ]\nevaluation: { folds: 0 }\n',
  );
  model = join(work, 'm.model');
  const r = cli(['run', 'm.yaml', '--no-pictures', '--out', 'results', '--save-model', 'm.model', '-q'], { cwd: work });
  if (r.status !== 0) throw new Error(r.stderr);
});

/** A folder of `good` photos of test images (PNG and JPEG), and the bad ones named in `bad`. */
function batch(good: number, bad: Record<string, Buffer>): string {
  const dir = tempDir('fp-batch-');
  const sample = fashionTestSample(good, 5);
  for (let i = 0; i < good; i++) {
    const format = i % 2 ? 'jpeg' : 'png';
    const bytes = photoOf(sample.X.data.subarray(i * PIXELS, (i + 1) * PIXELS), format, 4);
    writeFileSync(join(dir, `good-${i}.${format === 'png' ? 'png' : 'jpg'}`), bytes);
  }
  for (const [name, bytes] of Object.entries(bad)) writeFileSync(join(dir, name), bytes);
  return dir;
}

const png = () => photoOf(fashionTestSample(1, 8).X.data, 'png');

/** A pipeline file over CSV files written in a fresh folder. */
function csvPipeline(train: string, test: string): string {
  const dir = tempDir('fp-csv-');
  writeFileSync(join(dir, 'train.csv'), train);
  writeFileSync(join(dir, 'test.csv'), test);
  writeFileSync(
    join(dir, 'p.yaml'),
    'name: p\ndata: { format: csv, train: train.csv, test: test.csv }\nsteps: [ { knn: { k: 1 } } ]\nevaluation: { folds: 2 }\n',
  );
  return dir;
}

const rows = (n: number, seed: number) => toCsv(fashionSample(n, seed));

test('predict of a folder with bad photos: every good one answered, each bad one a row, exit 1, one summary line', (t) => {
  const whole = png();
  const dir = batch(5, { 'a-cut.png': whole.subarray(0, 900), 'b-notes.jpg': Buffer.from('not a photo') });
  const before = listTree(dir);
  const r = cli(['predict', model, dir, join(dir, 'missing.png')]);
  assertCleanFailure(t, r, {
    exit: 1,
    says: [
      /^pipeline: 3 of 8 photos could not be read: /,
      'a-cut.png (truncated PNG',
      'b-notes.jpg (not an image',
      'missing.png (no such file or folder)',
    ],
    unchanged: [{ dir, before }],
  });
  const rows = r.stdout.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| image'));
  t.is(rows.length, 8, r.stdout);
  t.is(rows.filter((l) => l.includes('unreadable: ')).length, 3);
  for (let i = 0; i < 5; i++)
    t.regex(
      r.stdout,
      new RegExp(`good-${i}\\.(png|jpg).*\\| (T-shirt|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle)`),
    );
});

test('predict --json: the bad photo has an error field in its place, the good ones their answers; exit 1', (t) => {
  const dir = batch(2, { 'c-cut.png': png().subarray(0, 500) });
  const r = cli(['predict', model, dir, '--json']);
  assertCleanFailure(t, r, { exit: 1, says: '1 of 3 photos could not be read: ' });
  const out = JSON.parse(r.stdout) as { predictions: Array<{ file: string; error?: string; class?: string }> };
  t.deepEqual(
    out.predictions.map((p) => p.file.slice(dir.length + 1)),
    ['c-cut.png', 'good-0.png', 'good-1.jpg'],
  );
  t.regex(out.predictions[0].error ?? '', /^truncated PNG/);
  t.is(out.predictions[0].class, undefined);
  t.truthy(out.predictions[1].class);
  t.is(out.predictions[1].error, undefined);
});

test('predict when every photo is bad: exit 1, one line listing them all, nothing on stdout', (t) => {
  const dir = batch(0, { 'x.png': Buffer.from('x'), 'y.jpg': Buffer.from([0xff, 0xd8, 0xff]) });
  const r = cli(['predict', model, dir]);
  assertCleanFailure(t, r, { exit: 1, says: ['2 of 2 photos could not be read', 'x.png (', 'y.jpg (truncated JPEG'] });
  t.is(r.stdout, '');
});

test('predict --show into a folder that is a file: exit 2 before the model is read', (t) => {
  const dir = batch(1, {});
  writeFileSync(join(dir, 'pictures'), 'x');
  const before = listTree(dir);
  const r = cli(['predict', join(dir, 'no.model'), dir, '--show', join(dir, 'pictures', 'seen.png')]);
  assertCleanFailure(t, r, {
    exit: 2,
    says: ['--show', 'pictures is a file, not a folder'],
    unchanged: [{ dir, before }],
  });
});

test('a header-only training CSV: exit 1, "train.csv: no data rows (header only)", nothing written', (t) => {
  const dir = csvPipeline(HEADER, rows(20, 2));
  const before = listTree(dir);
  const r = cli(['run', 'p.yaml', '--out', 'results'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 1, says: 'train.csv: no data rows (header only)', unchanged: [{ dir, before }] });
});

test('an empty training CSV: exit 1 naming it', (t) => {
  const dir = csvPipeline('', rows(20, 2));
  const before = listTree(dir);
  const r = cli(['run', 'p.yaml', '--out', 'results'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 1, says: 'train.csv: empty file', unchanged: [{ dir, before }] });
});

test('a test CSV with a header and no rows: exit 1 naming it', (t) => {
  const dir = csvPipeline(rows(40, 3), HEADER);
  const before = listTree(dir);
  const r = cli(['run', 'p.yaml', '--out', 'results'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 1, says: 'test.csv: no data rows (header only)', unchanged: [{ dir, before }] });
});

test('a header-only training CSV under grid and predict too: the same line', (t) => {
  const dir = csvPipeline(HEADER, rows(20, 2));
  const photo = join(dir, 'p.png');
  writeFileSync(photo, png());
  const before = listTree(dir);
  const grid = cli(['grid', 'p.yaml', '--param', 'knn.k=1,3', '--out', 'results', '--cache-dir', 'cache'], {
    cwd: dir,
  });
  assertCleanFailure(t, grid, { exit: 1, says: 'train.csv: no data rows (header only)' });
  const predict = cli(['predict', 'p.yaml', 'p.png', '--models', 'models'], { cwd: dir });
  assertCleanFailure(t, predict, { exit: 1, says: 'train.csv: no data rows (header only)' });
  t.deepEqual(
    listTree(dir).filter((f) => !f.startsWith('cache')),
    before,
    'nothing but the cache folder is new',
  );
});

test('--data naming a CSV file: exit 2, saying --data takes a folder and where CSV files go', (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'train.csv'), HEADER);
  writeFileSync(join(dir, 'p.yaml'), 'name: p\nsteps: [ { knn: { k: 1 } } ]\nevaluation: { folds: 2 }\n');
  const before = listTree(dir);
  const r = cli(['run', 'p.yaml', '--data', 'train.csv', '--out', 'results'], { cwd: dir });
  assertCleanFailure(t, r, { exit: 2, says: ['--data train.csv', 'format: csv'], unchanged: [{ dir, before }] });
});

test('params that cannot fit the data: run, predict and serve give the same exit code and the same line', (t) => {
  const dir = tempDir();
  mkdirSync(join(dir, 'photos'));
  writeFileSync(join(dir, 'photos', 'p.png'), png());
  writeFileSync(
    join(dir, 'big.yaml'),
    'name: big\ndata: { limit: { train: 300, test: 50 } }\nsteps: [ { pca: { components: 5000 } }, { knn: {} } ]\nevaluation: { folds: 2 }\n',
  );
  const before = listTree(dir);
  const run = cli(['run', 'big.yaml', '--out', 'results'], { cwd: dir });
  const predict = cli(['predict', 'big.yaml', 'photos/p.png'], { cwd: dir });
  const serve = cli(['serve', 'big.yaml', '--port', '0', '--quiet'], { cwd: dir });
  const says = /^pipeline: big\.yaml:3:\d+: pca\.components: .*5000/;
  for (const r of [run, predict, serve]) assertCleanFailure(t, r, { exit: 2, says, unchanged: [{ dir, before }] });
  t.is(predict.stderr, run.stderr);
  t.is(serve.stderr, run.stderr);
});

test('photo names with terminal escapes, a newline and a bidi override are printed escaped: no control byte reaches the terminal', (t) => {
  const hostile = {
    red: 'red-\u001b[31mALERT\u001b[0m.png',
    title: 'title-\u001b]0;owned\u0007.png',
    newline: 'two\nlines.png',
    bidi: 'gnp.\u202eexe.png',
  };
  const dir = tempDir('fp-names-');
  for (const name of Object.values(hostile)) writeFileSync(join(dir, name), png());
  writeFileSync(join(dir, 'bad-\u001b[2J.png'), Buffer.from('not a photo'));
  const r = cli(['predict', model, dir], { cwd: work });
  t.is(r.status, 1, r.stderr);
  for (const [where, text] of [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ]) {
    t.notRegex(
      text,
      // eslint-disable-next-line no-control-regex
      /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/,
      `${where}: ${JSON.stringify(text)}`,
    );
  }
  t.true(r.stdout.includes('red-\\x1b[31mALERT\\x1b[0m.png'));
  t.true(r.stdout.includes('title-\\x1b]0;owned\\x07.png'));
  t.true(r.stdout.includes('two\\nlines.png'));
  t.true(r.stdout.includes('gnp.\\u202eexe.png'));
  t.true(r.stderr.includes('bad-\\x1b[2J.png'));
  // the table: a header, its rule and one line per photo
  t.is(r.stdout.split('\n').filter((l) => l.startsWith('|')).length, 2 + 5, r.stdout);
});

test('GIF and BMP cut short are refused by name (exit 1), whole ones classified; SVG is refused as predict refuses any other format', async (t) => {
  const sharp = (await import('sharp')).default;
  const pixels = fashionTestSample(1, 8).X.data;
  const grey = Uint8Array.from(pixels, (v) => 255 - v); // a garment dark on white, as photographed
  const gif = await sharp(Buffer.from(grey), { raw: { width: 28, height: 28, channels: 1 } })
    .resize(112, 112, { kernel: 'nearest' })
    .gif()
    .toBuffer();
  const big = Uint8Array.from(
    { length: 112 * 112 },
    (_, i) => grey[Math.floor(i / 112 / 4) * 28 + Math.floor((i % 112) / 4)],
  );
  const bmp = bmpOf(big, 112);
  const svg = Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect x="16" y="8" width="32" height="48"/></svg>',
  );
  const dir = tempDir('fp-formats-');
  writeFileSync(join(dir, 'whole.gif'), gif);
  writeFileSync(join(dir, 'whole.bmp'), bmp);
  const whole = cli(['predict', model, join(dir, 'whole.gif'), join(dir, 'whole.bmp')], { cwd: work });
  t.is(whole.status, 0, whole.stderr);
  for (const [name, bytes, says] of [
    ['half.gif', gif.subarray(0, gif.length >> 1), 'truncated GIF'],
    ['half.bmp', bmp.subarray(0, bmp.length >> 1), 'truncated BMP'],
    ['drawing.svg', svg, 'not an image this tool can read'],
  ] as const) {
    writeFileSync(join(dir, name), bytes);
    const r = cli(['predict', model, join(dir, name)], { cwd: work });
    assertCleanFailure(t, r, { exit: 1, says: [name, says] });
  }
});

test('a WebP whose RIFF size was patched to its cut length is still refused: its image chunk is cut short', async (t) => {
  const sharp = (await import('sharp')).default;
  const grey = Uint8Array.from(fashionTestSample(1, 8).X.data, (v) => 255 - v);
  const webp = await sharp(Buffer.from(grey), { raw: { width: 28, height: 28, channels: 1 } })
    .resize(112, 112)
    .webp({ quality: 90 })
    .toBuffer();
  const dir = tempDir('fp-webp-');
  writeFileSync(join(dir, 'whole.webp'), webp);
  t.is(cli(['predict', model, join(dir, 'whole.webp')], { cwd: work }).status, 0);
  const cut = Buffer.from(webp.subarray(0, webp.length >> 1));
  cut.writeUInt32LE(cut.length - 8, 4); // the RIFF header made to agree with the cut
  writeFileSync(join(dir, 'cut.webp'), cut);
  const r = cli(['predict', model, join(dir, 'cut.webp')], { cwd: work });
  assertCleanFailure(t, r, { exit: 1, says: ['cut.webp', 'truncated WebP (the VP8'] });
});
