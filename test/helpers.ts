import { createCanvas } from '@napi-rs/canvas';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import type { Dataset } from '../src/data/dataset.js';
import { stratifiedSubset } from '../src/data/split.js';
import { matrix, takeLabels, takeRows } from '../src/linalg/matrix.js';
import { createRng } from '../src/linalg/rng.js';

/** A fresh temporary folder. */
export function tempDir(prefix = 'fp-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

let cachedTrain: Dataset | null = null;
let cachedTest: Dataset | null = null;

/** A stratified sample of the real Fashion-MNIST training set (pixels 0..255), cached per test process. */
export function fashionSample(size: number, seed = 1): Dataset {
  cachedTrain ??= loadSplit(resolveDataDir(), 'train');
  const rows = stratifiedSubset(cachedTrain.y, size, seed);
  return { X: takeRows(cachedTrain.X, rows), y: takeLabels(cachedTrain.y, rows) };
}

/** A stratified sample of the real test set. */
export function fashionTestSample(size: number, seed = 1): Dataset {
  cachedTest ??= loadSplit(resolveDataDir(), 'test');
  const rows = stratifiedSubset(cachedTest.y, size, seed);
  return { X: takeRows(cachedTest.X, rows), y: takeLabels(cachedTest.y, rows) };
}

/** Gaussian blobs: `classes` well-separated clusters in `features` dimensions. */
export function blobs(n: number, features: number, classes: number, seed = 3, spread = 1): Dataset {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float());
  const centers = Array.from({ length: classes }, () => Array.from({ length: features }, () => gauss() * 5));
  const X = new Float32Array(n * features);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    for (let j = 0; j < features; j++) X[i * features + j] = centers[c][j] + gauss() * spread;
  }
  return { X: matrix(n, features, X), y };
}

/**
 * A Fashion-MNIST image dressed up as a product photo: negated (dark garment on a light grey-blue backdrop),
 * enlarged `scale`× with smoothing, placed off-centre on a larger canvas, encoded as PNG or JPEG.
 */
export function photoOf(
  pixels: Float32Array,
  format: 'png' | 'jpeg',
  scale = 8,
  offset: [number, number] = [40, 20],
): Buffer {
  const small = createCanvas(28, 28);
  const sctx = small.getContext('2d');
  const img = sctx.createImageData(28, 28);
  for (let p = 0; p < 784; p++) {
    const v = (255 - pixels[p]) / 255; // the garment dark, its surroundings the backdrop's colour
    img.data[4 * p] = v * 244;
    img.data[4 * p + 1] = v * 246;
    img.data[4 * p + 2] = v * 248;
    img.data[4 * p + 3] = 255;
  }
  sctx.putImageData(img, 0, 0);
  const side = 28 * scale;
  const canvas = createCanvas(side + offset[0] + 30, side + offset[1] + 45);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#f4f6f8';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(small, offset[0], offset[1], side, side);
  return format === 'png' ? canvas.encodeSync('png') : canvas.encodeSync('jpeg', 90);
}
