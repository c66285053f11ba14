import type { Dataset } from '../data/dataset.js';
import { describeShape, type ImageShape } from '../linalg/shape.js';
import type { LoadedData } from '../data/load.js';
import type { RunResult, TestResult } from '../evaluate/run.js';
import type { Matrix } from '../linalg/matrix.js';
import { confusionHeatmap, reliabilityDiagram } from './plots/charts.js';
import type { Picture } from './plots/figure.js';
import { imageStrip, mistakeGallery, predictionGallery, sampleGrid } from './plots/galleries.js';
import { largestConfusions, rowsOfCell, sampleByClass } from './plots/select.js';

/** Which picture a file is; the markdown report places each kind where it belongs. */
export type PictureKind = 'samples' | 'confusion' | 'predictions' | 'mistakes' | 'class-means' | 'calibration';

/** A picture ready to write, and what the markdown says about it. */
export interface ReportPicture {
  kind: PictureKind;
  /** File name, e.g. 'confusion.png'. */
  file: string;
  /** Alt text / heading. */
  title: string;
  /** One or two sentences under the picture. */
  caption: string;
  picture: Picture;
}

export interface RunPictureOptions {
  /** Training images per class in the sample grid (10). */
  samplesPerClass?: number;
  /** Test images per class in the prediction gallery (8). */
  predictionsPerClass?: number;
  /** Confusion cells in the mistake gallery (5) and mistakes shown per cell (8). */
  mistakeCells?: number;
  mistakesPerCell?: number;
  /** Correct examples of each class shown beside a cell's mistakes (2). */
  referencesPerClass?: number;
  /** The test images' shape (Fashion-MNIST's 28×28 grey when left out). */
  shape?: ImageShape;
}

const rowPixels = (X: Matrix, i: number): Float32Array => X.data.subarray(i * X.cols, (i + 1) * X.cols);

/** A few training images of each class, drawn at random with `seed`. */
export async function samplesPicture(
  train: Dataset,
  classNames: readonly string[],
  seed: number,
  perClass = 10,
  what = 'training',
): Promise<ReportPicture> {
  const picks = sampleByClass(train.y, classNames.length, perClass, seed);
  const { height, width, channels } = train.shape;
  const grey = channels === 1 && height === 28 && width === 28;
  const picture = await sampleGrid({
    shape: train.shape,
    title: `${grey ? 'Fashion-MNIST: ' : ''}${perClass} random ${what} images per class`,
    subtitle: [
      grey
        ? `${train.y.length} ${what} images; drawn with seed ${seed}; 28×28 pixels shown 3× as stored (0 = black)`
        : `${train.y.length} ${what} photos; drawn with seed ${seed}; shown as the pipeline receives them (${describeShape(train.shape)})`,
    ],
    rows: picks.map((rows, c) => ({
      name: classNames[c],
      label: c,
      images: rows.map((i) => ({ id: i, pixels: rowPixels(train.X, i) })),
    })),
  });
  return {
    kind: 'samples',
    file: 'samples.png',
    title: `${perClass} ${what} images per class`,
    caption: `A random sample (seed ${seed}) of the ${what} images, one row per class.`,
    picture,
  };
}

/** The mean image of every class (where the garments' ink usually is). */
export async function classMeansPicture(
  data: Dataset,
  classNames: readonly string[],
  means: Float64Array[],
): Promise<ReportPicture> {
  const picture = await imageStrip({
    title: 'Mean image per class',
    subtitle: [
      `Pixel-wise average of the ${data.y.length} images, class by class: the typical silhouette and how much it varies`,
    ],
    items: means.map((m, c) => ({ name: classNames[c], pixels: m })),
    shape: data.shape,
  });
  return {
    kind: 'class-means',
    file: 'class-means.png',
    title: 'Mean image per class',
    caption: 'Pixel-wise mean of every image of each class: the typical silhouette, and how much classes overlap.',
    picture,
  };
}

/** The pictures of one run's test results: heatmap, prediction gallery and mistake gallery. */
export async function testPictures(
  name: string,
  test: Pick<
    TestResult,
    'confusion_matrix' | 'class_names' | 'predictions' | 'labels' | 'confidence' | 'accuracy' | 'rows'
  > &
    Partial<Pick<TestResult, 'calibration'>>,
  testX: Matrix,
  seed: number,
  options: RunPictureOptions = {},
): Promise<ReportPicture[]> {
  if (testX.rows !== test.labels.length) {
    throw new Error(`testPictures: ${testX.rows} test images but ${test.labels.length} labels`);
  }
  const names = test.class_names;
  const { labels, predictions, confidence } = test;
  const out: ReportPicture[] = [];

  out.push({
    kind: 'confusion',
    file: 'confusion.png',
    title: 'Confusion matrix as a heatmap',
    caption:
      'Counts per true (row) and predicted (column) class, with recall per row and precision per column. Blue cells are correct (darker = higher recall); orange cells are mistakes, darker the larger their share of the true class (the scale ends at the largest mistake).',
    picture: await confusionHeatmap({
      title: `${name}: confusion matrix`,
      subtitle: [
        `${test.rows} test images, accuracy ${(test.accuracy * 100).toFixed(2)} %; rows true class, columns predicted class`,
      ],
      matrix: test.confusion_matrix,
      classNames: names,
    }),
  });

  const perClass = options.predictionsPerClass ?? 8;
  const picks = sampleByClass(labels, names.length, perClass, seed);
  const shown = picks.flat();
  const wrongShown = shown.filter((i) => predictions[i] !== labels[i]).length;
  out.push({
    kind: 'predictions',
    file: 'predictions.png',
    title: 'Predictions on random test images',
    caption:
      `${perClass} random test images per true class (seed ${seed}) with the predicted class` +
      (confidence ? ' and its probability' : '') +
      `; ${wrongShown} of ${shown.length} are mistakes, framed in red.`,
    picture: await predictionGallery({
      shape: options.shape,
      title: `${name}: predictions on random test images`,
      subtitle: [
        `${perClass} random test images per class (seed ${seed}); ${wrongShown} of ${shown.length} wrong, framed in red and marked ✗` +
          (confidence ? '; number = probability of the predicted class' : '; this model gives no probabilities'),
      ],
      rows: picks.map((rows, c) => ({
        trueName: names[c],
        images: rows.map((i) => ({
          id: i,
          pixels: rowPixels(testX, i),
          predicted: names[predictions[i]],
          correct: predictions[i] === labels[i],
          confidence: confidence ? confidence[i] : null,
        })),
      })),
    }),
  });

  const nCells = options.mistakeCells ?? 5;
  const perCell = options.mistakesPerCell ?? 8;
  const refs = options.referencesPerClass ?? 2;
  const cells = largestConfusions(test.confusion_matrix, nCells);
  const rowTotals = test.confusion_matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const order = confidence
    ? 'most confident first'
    : 'this model gives no probabilities, so the first ones in test-set order';
  out.push({
    kind: 'mistakes',
    file: 'mistakes.png',
    title: 'Mistakes in the largest confusion cells',
    caption:
      `The ${cells.length} largest confusion cells, up to ${perCell} mistakes each (${order}), beside correctly classified ` +
      `examples of the predicted and the true class.` +
      (confidence
        ? ' The number under a mistake is the probability the model gave the wrong class.'
        : ' The number under a mistake is its test-set row.'),
    picture: await mistakeGallery({
      shape: options.shape,
      title: `${name}: the mistakes it makes most`,
      subtitle: [
        `The ${cells.length} largest off-diagonal cells of the confusion matrix; up to ${perCell} mistakes each, ${order}` +
          (confidence ? ' (p = probability of the wrong class)' : ' (# = test-set row)'),
        `At the right: correctly classified images (${confidence ? 'the most confident' : 'the first'}) of the predicted class and of the true class`,
      ],
      perRow: perCell,
      cells: cells.map((cell) => ({
        trueName: names[cell.true],
        predictedName: names[cell.predicted],
        count: cell.count,
        support: rowTotals[cell.true],
        mistakes: rowsOfCell(labels, predictions, confidence, cell.true, cell.predicted, perCell).map((i) => ({
          id: i,
          pixels: rowPixels(testX, i),
          confidence: confidence ? confidence[i] : null,
        })),
        predictedExamples: rowsOfCell(labels, predictions, confidence, cell.predicted, cell.predicted, refs).map(
          (i) => ({ id: i, pixels: rowPixels(testX, i) }),
        ),
        trueExamples: rowsOfCell(labels, predictions, confidence, cell.true, cell.true, refs).map((i) => ({
          id: i,
          pixels: rowPixels(testX, i),
        })),
      })),
    }),
  });
  if (test.calibration) {
    const c = test.calibration;
    out.push({
      kind: 'calibration',
      file: 'calibration.png',
      title: 'Reliability diagram',
      caption:
        `How far the probabilities can be trusted: the test images grouped by the probability the model gave its answer ` +
        `(${c.bins.length} bins), each bin's share answered right against that probability. A calibrated model's bars ` +
        `reach the diagonal; ECE ${c.ece.toFixed(4)} is the gap averaged over the images, log-loss ${c.log_loss.toFixed(4)}, ` +
        `Brier score ${c.brier.toFixed(4)}.`,
      picture: await reliabilityDiagram({
        title: `${name}: reliability diagram`,
        subtitle: [
          `${test.rows} test images; expected calibration error ${c.ece.toFixed(4)} over ${c.bins.length} bins`,
        ],
        bins: c.bins,
        ece: c.ece,
      }),
    });
  }
  return out;
}

/**
 * Every picture of a run: the training sample grid, and with test results the confusion heatmap, the prediction
 * gallery and the mistake gallery, drawn in the data's own image shape and class names.
 */
export async function runPictures(
  result: RunResult,
  data: LoadedData,
  options: RunPictureOptions = {},
): Promise<ReportPicture[]> {
  const names = data.train.classes;
  const out: ReportPicture[] = [];
  out.push(await samplesPicture(data.train, names, result.seed, options.samplesPerClass ?? 10));
  if (result.test && data.test) {
    out.push(
      ...(await testPictures(result.name, result.test, data.test.X, result.seed, {
        ...options,
        shape: data.test.shape,
      })),
    );
  }
  return out;
}
