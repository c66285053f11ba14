import test from 'ava';
import { createCanvas, loadImage } from '@napi-rs/canvas';
import { CLASS_NAMES } from '../src/data/fashion-mnist.js';
import { confusionMatrix } from '../src/metrics/classification.js';
import { runPictures, testPictures } from '../src/report/pictures.js';
import { accuracyAxis, accuracyChart, confusionHeatmap } from '../src/report/plots/charts.js';
import { fitText, Figure, mix, type Picture, type Tile } from '../src/report/plots/figure.js';
import { mistakeGallery, predictionGallery, sampleGrid } from '../src/report/plots/galleries.js';
import { largestConfusions, rowsOfCell, sampleByClass } from '../src/report/plots/select.js';
import { fashionSample, fashionTestSample } from './helpers.js';

/** Decodes a PNG back to RGBA pixels. */
async function decode(png: Buffer): Promise<{ width: number; height: number; rgba: Uint8ClampedArray }> {
  const img = await loadImage(png);
  const canvas = createCanvas(img.width, img.height);
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  return { width: img.width, height: img.height, rgba: ctx.getImageData(0, 0, img.width, img.height).data };
}

/** Width and height from the PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  if (png.subarray(1, 4).toString('latin1') !== 'PNG') throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

/** Every source pixel, read back from the middle of its block in the tile, equals the source value (gray, opaque). */
function tileMatches(
  decoded: { width: number; rgba: Uint8ClampedArray },
  tile: Tile,
  pixels: ArrayLike<number>,
): boolean {
  const half = Math.floor(tile.scale / 2);
  for (let r = 0; r < tile.side; r++) {
    for (let c = 0; c < tile.side; c++) {
      const x = tile.x + c * tile.scale + half;
      const y = tile.y + r * tile.scale + half;
      const o = (y * decoded.width + x) * 4;
      const v = Math.round(pixels[r * tile.side + c]);
      if (
        decoded.rgba[o] !== v ||
        decoded.rgba[o + 1] !== v ||
        decoded.rgba[o + 2] !== v ||
        decoded.rgba[o + 3] !== 255
      )
        return false;
    }
  }
  return true;
}

const pixelAt = (d: { width: number; rgba: Uint8ClampedArray }, x: number, y: number) => {
  const o = (Math.round(y) * d.width + Math.round(x)) * 4;
  return [d.rgba[o], d.rgba[o + 1], d.rgba[o + 2]];
};

const rowOf = (X: { cols: number; data: Float32Array }, i: number) => X.data.subarray(i * X.cols, (i + 1) * X.cols);

test('sample grid: PNG size as laid out, one row per class labelled with its name, every image lands upright in its cell', async (t) => {
  const train = fashionSample(300, 4);
  const picks = sampleByClass(train.y, 10, 3, 7);
  const pic = await sampleGrid({
    title: 'samples',
    rows: picks.map((rows, c) => ({
      name: CLASS_NAMES[c],
      label: c,
      images: rows.map((i) => ({ id: i, pixels: rowOf(train.X, i) })),
    })),
  });
  t.deepEqual(pngSize(pic.png), { width: pic.width, height: pic.height });
  t.deepEqual(
    pic.texts.filter((x) => x.role === 'class-label').map((x) => x.text),
    [...CLASS_NAMES],
  );
  t.is(pic.tiles.length, 30);
  const decoded = await decode(pic.png);
  for (const tile of pic.tiles) {
    t.is(
      train.y[tile.id],
      CLASS_NAMES.indexOf(tile.tags[0] as (typeof CLASS_NAMES)[number]),
      'tile in the row of its class',
    );
    t.true(tileMatches(decoded, tile, rowOf(train.X, tile.id)), `image ${tile.id} read back unchanged at 3×`);
  }
  // A class's label text is level with its row of tiles.
  const labels = pic.texts.filter((x) => x.role === 'class-label');
  pic.tiles.forEach((tile) => {
    const label = labels[train.y[tile.id]];
    t.true(label.y > tile.y && label.y < tile.y + tile.side * tile.scale);
  });
});

test('an image drawn the wrong way up would not match: the check sees orientation', async (t) => {
  const train = fashionSample(20, 1);
  const img = rowOf(train.X, 0);
  const flipped = new Float32Array(784);
  for (let r = 0; r < 28; r++) flipped.set(img.subarray((27 - r) * 28, (28 - r) * 28), r * 28);
  const fig = new Figure(100, 100);
  const tile = fig.image(img, 5, 5, 3, 0);
  const decoded = await decode((await fig.encode()).png);
  t.true(tileMatches(decoded, tile, img));
  t.false(tileMatches(decoded, tile, flipped));
});

test('confusion heatmap: every count, class names on both axes, blue diagonal and orange mistakes', async (t) => {
  const cm = Array.from({ length: 10 }, (_, i) =>
    Array.from({ length: 10 }, (_, j) => (i === j ? 90 + i : (i * 7 + j * 3) % 5)),
  );
  cm[6][0] = 40;
  const pic = await confusionHeatmap({ title: 'heat', matrix: cm, classNames: CLASS_NAMES });
  t.deepEqual(pngSize(pic.png), { width: pic.width, height: pic.height });
  t.deepEqual(
    pic.texts.filter((x) => x.role === 'count').map((x) => Number(x.text)),
    cm.flat(),
  );
  t.deepEqual(
    pic.texts.filter((x) => x.role === 'row-label').map((x) => x.text),
    [...CLASS_NAMES],
  );
  t.deepEqual(
    pic.texts.filter((x) => x.role === 'column-label').map((x) => x.text),
    [...CLASS_NAMES],
  );
  t.is(pic.texts.filter((x) => x.role === 'recall').length, 10);
  t.is(pic.texts.filter((x) => x.role === 'precision').length, 10);
  t.true(pic.texts.some((x) => x.role === 'legend' && x.text.startsWith('mistakes')));
  const decoded = await decode(pic.png);
  const at = (role: string, i: number) => pic.texts.filter((x) => x.role === role)[i];
  // Sample a cell's colour a little left of its number (inside the cell, off the glyphs).
  const diag = at('count', 0);
  const [r1, g1, b1] = pixelAt(decoded, diag.x - 22, diag.y - 20);
  t.true(b1 > r1 + 60 && b1 > g1, `diagonal cell is blue: ${r1},${g1},${b1}`);
  const shirtAsTshirt = at('count', 60);
  t.is(shirtAsTshirt.text, '40');
  const [r2, g2, b2] = pixelAt(decoded, shirtAsTshirt.x - 22, shirtAsTshirt.y - 20);
  t.true(r2 > b2 + 60 && r2 > g2, `largest mistake is orange: ${r2},${g2},${b2}`);
  const zero = at('count', 5);
  t.is(zero.text, '0');
  t.deepEqual(pixelAt(decoded, zero.x - 22, zero.y - 20), [255, 255, 255], 'empty cell is white');
});

test('prediction gallery: captions are the predicted names, mistakes marked ✗ and framed in red', async (t) => {
  const test_ = fashionTestSample(40, 2);
  const images = Array.from({ length: 6 }, (_, i) => ({
    id: i,
    pixels: rowOf(test_.X, i),
    predicted: CLASS_NAMES[i % 2 === 0 ? test_.y[i] : (test_.y[i] + 1) % 10],
    correct: i % 2 === 0,
    confidence: i === 5 ? 0.5 : 0.9,
  }));
  const pic = await predictionGallery({ title: 'g', rows: [{ trueName: 'mixed', images }] });
  const captions = pic.texts.filter((x) => x.role === 'prediction' || x.role === 'mistake');
  t.deepEqual(
    captions.map((x) => x.text),
    images.map((im) => (im.correct ? im.predicted : `✗ ${im.predicted}`)),
  );
  t.deepEqual(
    pic.texts.filter((x) => x.role === 'confidence').map((x) => x.text),
    ['0.90', '0.90', '0.90', '0.90', '0.90', '0.50'],
  );
  const decoded = await decode(pic.png);
  for (const tile of pic.tiles) {
    t.true(tileMatches(decoded, tile, images[tile.id].pixels));
    const [r, g, b] = pixelAt(decoded, tile.x - 2, tile.y + 40);
    if (images[tile.id].correct) t.deepEqual([r, g, b], [255, 255, 255], 'no frame on a right prediction');
    else t.true(r > 180 && g < 80 && b < 80, `red frame on a mistake: ${r},${g},${b}`);
  }
});

test('selection: samples per class are seeded and of their class; largest confusions; most confident mistakes first', (t) => {
  const y = Array.from({ length: 200 }, (_, i) => i % 10);
  const a = sampleByClass(y, 10, 4, 1);
  t.deepEqual(a, sampleByClass(y, 10, 4, 1));
  t.notDeepEqual(a, sampleByClass(y, 10, 4, 2));
  a.forEach((rows, c) => {
    t.is(rows.length, 4);
    t.is(new Set(rows).size, 4);
    t.true(rows.every((i) => y[i] === c));
  });
  t.deepEqual(
    sampleByClass([0, 0, 1], 3, 5, 0).map((r) => r.length),
    [2, 1, 0],
  );

  const cm = [
    [5, 2, 0],
    [7, 5, 2],
    [0, 7, 1],
  ];
  t.deepEqual(largestConfusions(cm, 3), [
    { true: 1, predicted: 0, count: 7 },
    { true: 2, predicted: 1, count: 7 },
    { true: 0, predicted: 1, count: 2 },
  ]);

  const labels = [6, 6, 6, 6, 0, 6];
  const preds = [0, 0, 6, 0, 0, 0];
  t.deepEqual(rowsOfCell(labels, preds, [0.5, 0.9, 0.99, 0.5, 1, 0.7], 6, 0, 10), [1, 5, 0, 3]);
  t.deepEqual(rowsOfCell(labels, preds, [0.5, 0.9, 0.99, 0.5, 1, 0.7], 6, 0, 2), [1, 5]);
  t.deepEqual(rowsOfCell(labels, preds, null, 6, 0, 3), [0, 1, 3], 'without confidences: the first ones in row order');
});

function fakeTest(labels: Uint8Array, predictions: number[], confidence: number[] | null) {
  const cm = confusionMatrix(labels, predictions, 10);
  const hits = predictions.filter((p, i) => p === labels[i]).length;
  return {
    confusion_matrix: cm,
    class_names: [...CLASS_NAMES],
    predictions,
    labels: Array.from(labels),
    confidence,
    accuracy: hits / labels.length,
    rows: labels.length,
  };
}

test('mistake gallery of a run: the largest cells, the most confident mistakes of each, correct examples beside them', async (t) => {
  const data = fashionTestSample(300, 3);
  // Shirt → T-shirt/top for every other Shirt, Pullover → Coat for every third Pullover; the rest right.
  let nShirt = 0,
    nPull = 0;
  const predictions = Array.from(data.y, (y) =>
    y === 6 && nShirt++ % 2 === 0 ? 0 : y === 2 && nPull++ % 3 === 0 ? 4 : y,
  );
  const confidence = predictions.map((_, i) => Math.round((((i * 37) % 100) / 100) * 1e4) / 1e4);
  const pics = await testPictures('fake', fakeTest(data.y, predictions, confidence), data.X, 5, {
    mistakeCells: 2,
    mistakesPerCell: 4,
  });
  t.deepEqual(
    pics.map((p) => p.kind),
    ['confusion', 'predictions', 'mistakes'],
  );
  const mistakes = pics.find((p) => p.kind === 'mistakes')!.picture;
  t.deepEqual(
    mistakes.texts.filter((x) => x.role === 'cell-title').map((x) => x.text),
    ['Shirt → T-shirt/top', 'Pullover → Coat'],
  );
  const shirtMistakes = mistakes.tiles.filter((tile) => tile.tags.includes('Shirt→T-shirt/top'));
  t.is(shirtMistakes.length, 4);
  const expected = rowsOfCell(data.y, predictions, confidence, 6, 0, 4);
  t.deepEqual(
    shirtMistakes.map((tile) => tile.id),
    expected,
  );
  const conf = shirtMistakes.map((tile) => confidence[tile.id]);
  t.deepEqual(
    conf,
    [...conf].sort((a, b) => b - a),
    'most confident first',
  );
  t.true(shirtMistakes.every((tile) => data.y[tile.id] === 6 && predictions[tile.id] === 0));
  const refs = mistakes.tiles.filter((tile) => tile.tags[0] === 'reference-predicted');
  t.true(
    refs.length > 0 && refs.every((tile) => data.y[tile.id] === predictions[tile.id]),
    'references are correctly classified',
  );
  const decoded = await decode(mistakes.png);
  for (const tile of mistakes.tiles) t.true(tileMatches(decoded, tile, rowOf(data.X, tile.id)));
  t.true(
    mistakes.texts.some((x) => x.role === 'mistake-caption' && x.text === `p ${confidence[expected[0]].toFixed(2)}`),
  );
});

test('without confidences (svm) the galleries say so and take the first mistakes in test-set order', async (t) => {
  const data = fashionTestSample(200, 3);
  let n = 0;
  const predictions = Array.from(data.y, (y) => (y === 4 && n++ % 2 === 0 ? 2 : y));
  const pics = await testPictures('svm-like', fakeTest(data.y, predictions, null), data.X, 5, {
    mistakeCells: 1,
    mistakesPerCell: 3,
  });
  const mistakes = pics.find((p) => p.kind === 'mistakes')!;
  t.regex(mistakes.caption, /no probabilities/);
  t.true(
    mistakes.picture.texts.some(
      (x) => x.role === 'subtitle' && /no probabilities, so the first ones in test-set order/.test(x.text),
    ),
  );
  const ids = mistakes.picture.tiles.filter((tile) => tile.tags[0] === 'mistake').map((tile) => tile.id);
  t.deepEqual(ids, rowsOfCell(data.y, predictions, null, 4, 2, 3));
  t.deepEqual(
    ids,
    [...ids].sort((a, b) => a - b),
  );
  t.deepEqual(
    mistakes.picture.texts.filter((x) => x.role === 'mistake-caption').map((x) => x.text),
    ids.map((i) => `#${i}`),
  );
  const gallery = pics.find((p) => p.kind === 'predictions')!.picture;
  t.is(gallery.texts.filter((x) => x.role === 'confidence').length, 0);
});

test('runPictures: samples from the training set plus the three test pictures; refuses mismatched image counts', async (t) => {
  const train = fashionSample(100, 2);
  const testSet = fashionTestSample(50, 2);
  const predictions = Array.from(testSet.y, (y, i) => (i % 5 === 0 ? (y + 1) % 10 : y));
  const result = { name: 'r', seed: 3, test: fakeTest(testSet.y, predictions, null) } as unknown as Parameters<
    typeof runPictures
  >[0];
  const data = { train, test: testSet } as unknown as Parameters<typeof runPictures>[1];
  const pics = await runPictures(result, data, { samplesPerClass: 2 });
  t.deepEqual(
    pics.map((p) => p.file),
    ['samples.png', 'confusion.png', 'predictions.png', 'mistakes.png'],
  );
  for (const p of pics) t.deepEqual(pngSize(p.picture.png), { width: p.picture.width, height: p.picture.height });
  await t.throwsAsync(() => testPictures('x', fakeTest(testSet.y, predictions, null), fashionTestSample(40, 2).X, 1));
});

test('accuracy chart: one bar per run in order, values printed, the zoomed axis said in words', async (t) => {
  const pic = await accuracyChart({
    title: 'acc',
    runs: [
      { name: 'svm', test: 0.8887, cv: { mean: 0.8945, std: 0.0023 } },
      { name: 'rf', test: 0.8768, cv: { mean: 0.8823, std: 0.0024 } },
      { name: 'no-test', test: null, cv: { mean: 0.85, std: 0.01 } },
    ],
  });
  t.deepEqual(pngSize(pic.png), { width: pic.width, height: pic.height });
  t.deepEqual(
    pic.texts.filter((x) => x.role === 'run-name').map((x) => x.text),
    ['svm', 'rf', 'no-test'],
  );
  t.deepEqual(
    pic.texts.filter((x) => x.role === 'bar-value').map((x) => x.text),
    ['0.8887', '0.8768', 'no test'],
  );
  t.true(pic.texts.some((x) => x.role === 'subtitle' && /starts at 0\.8\d, not at 0/.test(x.text)));
  const decoded = await decode(pic.png);
  const svm = pic.texts.find((x) => x.text === '0.8887')!;
  const rf = pic.texts.find((x) => x.text === '0.8768')!;
  t.true(svm.y < rf.y, 'the higher accuracy has the taller bar');
  const [r, g, b] = pixelAt(decoded, svm.x, svm.y + 20);
  t.true(b > 150 && r < 100, `bar drawn under the value: ${r},${g},${b}`);
});

test('accuracy axis holds every value, on round steps', (t) => {
  const axis = accuracyAxis([0.8605, 0.8768, 0.8887, 0.8922, 0.811]);
  t.true(axis.min <= 0.811 && axis.max >= 0.8922);
  t.is(Math.round(axis.min / axis.step) * axis.step, axis.min);
  t.deepEqual(accuracyAxis([]), { min: 0, max: 1, step: 0.1 });
  const one = accuracyAxis([0.9]);
  t.true(one.min < 0.9 && one.max > 0.9);
});

test('drawing helpers: text is shortened to fit, colours mix linearly', async (t) => {
  const fig = new Figure(10, 10);
  const long = 'a very long pipeline name that cannot fit';
  const fitted = fitText(fig, long, 12, 60);
  t.true(fitted.endsWith('…') && fig.measure(fitted, 12) <= 60);
  t.is(fitText(fig, 'ok', 12, 60), 'ok');
  t.is(mix('#000000', '#ffffff', 0.5), '#808080');
  t.is(mix('#0969da', '#0969da', 0.3), '#0969da');
});

test('a model without mistakes: the gallery says there is nothing to show', async (t) => {
  const pic: Picture = await mistakeGallery({ title: 'none', cells: [], perRow: 4 });
  t.true(pic.texts.some((x) => x.role === 'empty'));
});
