import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { shapeSize, type ImageShape } from '../linalg/shape.js';
import { DataError } from './errors.js';

export type { ImageShape };

/** Rows of features with a label each. */
export interface LabelledRows {
  X: Matrix;
  y: Uint8Array;
}

/** Images as rows of pixel values (0..255 as floats), with their labels, the images' shape and the class names. */
export interface Dataset extends LabelledRows {
  shape: ImageShape;
  /** Class name of each label (label i is classes[i]). */
  classes: readonly string[];
}

/** Builds a dataset from raw image bytes (n × pixels) and labels, checking they agree. */
export function datasetFromBytes(
  pixels: Uint8Array,
  labels: Uint8Array,
  shape: ImageShape,
  classes: readonly string[],
  what: string,
): Dataset {
  const features = shapeSize(shape);
  if (pixels.length !== labels.length * features) {
    throw new DataError(`${what}: ${pixels.length / features} images but ${labels.length} labels`);
  }
  let data: Float32Array;
  try {
    data = sharedFloats(pixels.length);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw new DataError(`${what}: ${labels.length} images need ${pixels.length * 4} bytes as floats, more than can be allocated`);
  }
  data.set(pixels); // converted natively, faster than an element loop
  return { X: matrix(labels.length, features, data), y: labels, shape, classes };
}

/** The same images and classes with other rows (a subset, a fold). */
export function withRows(data: Dataset, X: Matrix, y: Uint8Array): Dataset {
  return { X, y, shape: data.shape, classes: data.classes };
}
