import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runShow } from '../src/app/show.js';
import { toCsv } from '../src/data/csv.js';
import { CLASS_NAMES } from '../src/data/fashion-mnist.js';
import { classCounts, classPixelStats } from '../src/metrics/pixels.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { fashionSample, fashionTestSample, tempDir, withEnv } from './helpers.js';
import { copyClothingPhotos } from './photo-fixtures.js';

test.after.always(() => shutdownPool());

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));

test('pixel statistics per class, by hand on 3×3 images', (t) => {
  // Class 0: one image with a single bright pixel at row 1, col 2; class 1: two images, one blank, one full of 90s.
  const data = new Float32Array([
    0, 0, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 90, 90, 90, 90, 90, 90, 90, 90, 90,
  ]);
  const stats = classPixelStats({ rows: 3, cols: 9, data }, [0, 1, 1], 3);
  t.is(stats[0].images, 1);
  t.is(stats[0].meanIntensity, 200 / 9);
  t.true(Math.abs(stats[0].stdIntensity - Math.sqrt((200 * 200) / 9 - (200 / 9) ** 2)) < 1e-9);
  t.is(stats[0].inkShare, 1 / 9);
  t.is(stats[0].meanInk, 200);
  t.is(stats[0].meanBoxWidth, 1);
  t.is(stats[0].meanBoxHeight, 1);
  t.is(stats[0].meanImage[5], 200);
  t.is(stats[1].meanIntensity, 45);
  t.is(stats[1].stdIntensity, 45);
  t.is(stats[1].inkShare, 0.5);
  t.is(stats[1].meanBoxWidth, 1.5, 'a blank image counts as a 0×0 box');
  t.is(stats[1].meanImage[0], 45);
  t.deepEqual({ images: stats[2].images, meanIntensity: stats[2].meanIntensity }, { images: 0, meanIntensity: 0 });
  t.deepEqual(classCounts([0, 1, 1, 3], 4), [1, 2, 0, 1]);
  t.throws(() => classPixelStats({ rows: 1, cols: 8, data: new Float32Array(8) }, [0], 1), { message: /not a square/ });
});

test('show on the real data: 6000 + 1000 images per class, statistics, sample grid and mean images written', async (t) => {
  const out = tempDir();
  const r = await runShow({ out, seed: 3, perClass: 4 });
  t.is(r.trainRows, 60000);
  t.is(r.testRows, 10000);
  t.deepEqual(
    r.classes.map((c) => c.name),
    [...CLASS_NAMES],
  );
  t.true(r.classes.every((c) => c.train === 6000 && c.test === 1000));
  // Sandals and sneakers are wide and low; trousers narrow: the box numbers say so.
  const by = (n: string) => r.classes.find((c) => c.name === n)!;
  t.true(by('Sneaker').meanBoxHeight < by('Sneaker').meanBoxWidth);
  t.true(by('Trouser').meanBoxWidth < by('Trouser').meanBoxHeight);
  t.true(by('Sandal').meanIntensity < by('Coat').meanIntensity);
  t.true(r.overall.meanIntensity > 60 && r.overall.meanIntensity < 90, String(r.overall.meanIntensity));
  t.deepEqual(r.files.pictures, [join(out, 'data', 'samples.png'), join(out, 'data', 'class-means.png')]);
  const md = readFileSync(r.files.markdown, 'utf8');
  t.is(md, r.markdown);
  t.regex(md, /\| Ankle boot \| 9 \| 6000 \| 1000 \|/);
  t.regex(md, /!\[4 training images per class\]\(data\/samples\.png\)/);
  t.regex(md, /!\[Mean image per class\]\(data\/class-means\.png\)/);
  const png = readFileSync(r.files.pictures[0]);
  t.is(png.subarray(1, 4).toString('latin1'), 'PNG');
  t.true(png.readUInt32BE(16) > 4 * 84 && png.readUInt32BE(20) > 10 * 84);
});

test('CLI: show prints the table; bad options are one-line usage errors', (t) => {
  const out = tempDir();
  const ok = spawnSync(process.execPath, [BIN, 'show', '--out', out, '--per-class', '2'], { encoding: 'utf8' });
  t.is(ok.status, 0, ok.stderr);
  t.regex(ok.stdout, /T-shirt\/top +6000 +1000/);
  t.regex(ok.stdout, /wrote .*data\.md/);
  const bad = spawnSync(process.execPath, [BIN, 'show', '--out', out, '--per-class', '0'], { encoding: 'utf8' });
  t.is(bad.status, 2);
  t.is(bad.stderr.trim(), 'pipeline: --per-class must be a whole number from 1 to 30, got 0');
  const missing = spawnSync(process.execPath, [BIN, 'show', '--out', out, '--data', join(out, 'nothing')], {
    encoding: 'utf8',
  });
  t.is(missing.status, 1);
  t.regex(missing.stderr, /^pipeline: missing data file/);
});

test('pixel statistics of RGB photos: the box in pixels, not values', (t) => {
  // one 2×3 RGB image (height 2, width 3): a single red pixel at row 1, column 2
  const data = new Float32Array(18);
  data[(1 * 3 + 2) * 3] = 255;
  const [stats] = classPixelStats({ rows: 1, cols: 18, data }, [0], 1, { height: 2, width: 3, channels: 3 });
  t.is(stats.meanBoxWidth, 1);
  t.is(stats.meanBoxHeight, 1);
  t.is(stats.meanImage[15], 255);
  t.is(stats.meanIntensity, 255 / 18);
  t.throws(() => classPixelStats({ rows: 1, cols: 18, data }, [0], 1, { height: 2, width: 2, channels: 3 }), {
    message: /not 2×2×3/,
  });
});

test("show with a pipeline file describes its photo folder: the folder's classes, both splits, <name>-data.md", async (t) => {
  const root = tempDir();
  copyClothingPhotos(join(root, 'photos', 'train'), 'train', { pants: 4, shoes: 3, 't-shirt': 5 });
  copyClothingPhotos(join(root, 'photos', 'test'), 'test', { pants: 2, shoes: 1, 't-shirt': 2 });
  const file = join(root, 'shop.yaml');
  writeFileSync(
    file,
    `name: shop
data: { format: folder, dir: photos, image: { width: 24, height: 16, channels: 3 } }
steps:
  - knn: { k: 1 }
`,
  );
  const out = join(root, 'out');
  const r = await withEnv('FASHION_DATA_CACHE', 'off', () => runShow({ file, out, perClass: 2 }));
  t.true(r.photos);
  t.deepEqual(
    r.classes.map((c) => [c.name, c.train, c.test]),
    [
      ['pants', 4, 2],
      ['shoes', 3, 1],
      ['t-shirt', 5, 2],
    ],
  );
  t.deepEqual(r.files.pictures, [join(out, 'shop-data', 'samples.png'), join(out, 'shop-data', 'class-means.png')]);
  t.is(r.files.markdown, join(out, 'shop-data.md'));
  const md = readFileSync(r.files.markdown, 'utf8');
  t.regex(md, /decoded to 24×16 RGB/);
  t.regex(md, /\| t-shirt \| 2 \| 5 \| 2 \| [\d.]+ \| [\d.]+ \|\n/);
  t.notRegex(md, /ink share/);
  // the mean images are drawn at the photos' shape: wider than tall
  const means = readFileSync(r.files.pictures[1]);
  t.is(means.subarray(1, 4).toString('latin1'), 'PNG');
  const cli = spawnSync(process.execPath, [BIN, 'show', file, '--out', out, '--quiet'], {
    encoding: 'utf8',
    env: { ...process.env, FASHION_DATA_CACHE: 'off' },
  });
  t.is(cli.status, 0, cli.stderr);
});

test('show with a pipeline file of CSV data names the CSV file and keeps the ink and box columns', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, 'train.csv'), toCsv(fashionSample(200, 4)));
  writeFileSync(join(dir, 'test.csv'), toCsv(fashionTestSample(50, 4)));
  const file = join(dir, 'kaggle.yaml');
  writeFileSync(
    file,
    'name: kaggle\ndata: { format: csv, train: train.csv, test: test.csv }\nsteps:\n  - knn: { k: 1 }\n',
  );
  const r = await runShow({ file, out: join(dir, 'out'), perClass: 1 });
  t.false(r.photos);
  t.is(r.trainRows, 200);
  t.is(r.testRows, 50);
  t.regex(r.markdown, /The CSV file `.*train\.csv` and its test file: 200 training and 50 test images/);
  t.regex(r.markdown, /ink share/);
  t.is(r.files.markdown, join(dir, 'out', 'kaggle-data.md'));
});
