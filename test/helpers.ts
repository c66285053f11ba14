import sharp from 'sharp';
import { createCanvas } from '@napi-rs/canvas';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import { withRows, type Dataset } from '../src/data/dataset.js';
import { stratifiedSubset } from '../src/data/split.js';
import { matrix, takeLabels, takeRows } from '../src/linalg/matrix.js';
import { createRng } from '../src/util/rng.js';

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
  return withRows(cachedTrain, takeRows(cachedTrain.X, rows), takeLabels(cachedTrain.y, rows));
}

/** A stratified sample of the real test set. */
export function fashionTestSample(size: number, seed = 1): Dataset {
  cachedTest ??= loadSplit(resolveDataDir(), 'test');
  const rows = stratifiedSubset(cachedTest.y, size, seed);
  return withRows(cachedTest, takeRows(cachedTest.X, rows), takeLabels(cachedTest.y, rows));
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
  return {
    X: matrix(n, features, X),
    y,
    shape: { height: 1, width: features, channels: 1 },
    classes: Array.from({ length: classes }, (_, c) => `blob ${c}`),
  };
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

/**
 * Pictures that are not garments, for the unfamiliar flag: noise, geometric shapes, text, stripes, checkerboards,
 * gradients and smiley faces, `count` of them (kinds in turn), seeded. PNG bytes with a name saying what each is.
 */
export function nonGarmentPhotos(count: number, seed = 5): Array<{ name: string; png: Buffer }> {
  const rng = createRng(seed);
  const kinds = ['noise', 'shapes', 'text', 'stripes', 'checkerboard', 'gradient', 'face', 'scribble'] as const;
  const words = ['HELLO', 'SALE 50%', 'Fashion', 'Lorem ipsum', 'OPEN', '42', 'Total: €19.99', 'QR?'];
  const out: Array<{ name: string; png: Buffer }> = [];
  const colour = () => `rgb(${rng.int(256)},${rng.int(256)},${rng.int(256)})`;
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length];
    const side = 160 + rng.int(120);
    const canvas = createCanvas(side, side);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, side, side);
    if (kind === 'noise') {
      const img = ctx.createImageData(side, side);
      for (let p = 0; p < side * side * 4; p++) img.data[p] = p % 4 === 3 ? 255 : rng.int(256);
      ctx.putImageData(img, 0, 0);
    } else if (kind === 'shapes') {
      for (let s = 0; s < 3 + rng.int(4); s++) {
        ctx.fillStyle = colour();
        const x = rng.int(side),
          y = rng.int(side),
          r = 10 + rng.int(side / 3);
        if (s % 3 === 0) {
          ctx.beginPath();
          ctx.arc(x, y, r, 0, 2 * Math.PI);
          ctx.fill();
        } else if (s % 3 === 1) {
          ctx.fillRect(x - r, y - r / 2, r, r / 2);
        } else {
          ctx.beginPath();
          ctx.moveTo(x, y - r);
          ctx.lineTo(x + r, y + r);
          ctx.lineTo(x - r, y + r);
          ctx.closePath();
          ctx.fill();
        }
      }
    } else if (kind === 'text') {
      ctx.fillStyle = '#111111';
      ctx.font = `bold ${24 + rng.int(24)}px sans-serif`;
      ctx.fillText(words[rng.int(words.length)], 10, side / 2);
      ctx.font = `${14 + rng.int(10)}px serif`;
      ctx.fillText(words[rng.int(words.length)], 10, side / 2 + 40);
    } else if (kind === 'stripes') {
      ctx.fillStyle = colour();
      const w = 6 + rng.int(20);
      for (let x = 0; x < side; x += 2 * w) ctx.fillRect(x, 0, w, side);
    } else if (kind === 'checkerboard') {
      ctx.fillStyle = '#202020';
      const w = 10 + rng.int(30);
      for (let y = 0; y < side; y += w)
        for (let x = (y / w) % 2 === 0 ? 0 : w; x < side; x += 2 * w) ctx.fillRect(x, y, w, w);
    } else if (kind === 'gradient') {
      const g = ctx.createLinearGradient(0, 0, side, side);
      g.addColorStop(0, colour());
      g.addColorStop(1, '#ffffff');
      ctx.fillStyle = g;
      ctx.fillRect(side * 0.1, side * 0.1, side * 0.8, side * 0.8);
    } else if (kind === 'face') {
      ctx.fillStyle = '#f2c29b';
      ctx.beginPath();
      ctx.arc(side / 2, side / 2, side * 0.4, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = '#222222';
      for (const ex of [0.35, 0.65]) {
        ctx.beginPath();
        ctx.arc(side * ex, side * 0.4, side * 0.05, 0, 2 * Math.PI);
        ctx.fill();
      }
      ctx.lineWidth = side * 0.03;
      ctx.beginPath();
      ctx.arc(side / 2, side * 0.55, side * 0.2, 0.2 * Math.PI, 0.8 * Math.PI);
      ctx.stroke();
    } else {
      ctx.strokeStyle = colour();
      ctx.lineWidth = 2 + rng.int(6);
      ctx.beginPath();
      ctx.moveTo(rng.int(side), rng.int(side));
      for (let s = 0; s < 12; s++) ctx.lineTo(rng.int(side), rng.int(side));
      ctx.stroke();
    }
    out.push({ name: `${kind}-${i}`, png: canvas.encodeSync('png') });
  }
  return out;
}

/** A small model (2,000 training rows): the serve tests share the machine with long benchmark runs. */
export const SMALL_PIPELINE = `name: serve-small
description: a small pipeline for the serve tests
data:
  limit: { train: 2000 }
steps:
  - normalize: { method: minmax }
  - pca: { components: 20 }
  - random_forest: { trees: 30, max_features: sqrt }
evaluation:
  folds: 0
  seed: 42
  test: false
`;

/** Debian's chromium (never a downloaded browser); .ci/run installs it with apt-get when it is missing. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Runs `fn` with the environment variable `name` set to `value` (sync or async), then puts it back as it was. */
export function withEnv<T>(name: string, value: string, fn: () => T): T {
  const saved = process.env[name];
  process.env[name] = value;
  const restore = () => {
    if (saved === undefined) delete process.env[name];
    else process.env[name] = saved;
  };
  let out: T;
  try {
    out = fn();
  } catch (err) {
    restore();
    throw err;
  }
  if (out instanceof Promise) return out.finally(restore) as T;
  restore();
  return out;
}

/** Base colours of the classes of the made-up shop: each photo a shade of its class's colour, with a darker square. */
const COLOURS: Record<string, [number, number, number]> = {
  Zeta: [200, 40, 40],
  alpha: [40, 180, 60],
  beta: [50, 60, 210],
};

export async function shopPhoto(name: string, i: number, format: 'jpeg' | 'png' = 'jpeg'): Promise<Buffer> {
  const [r, g, b] = COLOURS[name];
  const shade = (v: number) => Math.max(0, Math.min(255, v + ((i * 37) % 41) - 20));
  const square = await sharp({ create: { width: 12, height: 12, channels: 3, background: { r: 20, g: 20, b: 20 } } })
    .png()
    .toBuffer();
  const image = sharp({
    create: {
      width: 48 + (i % 5),
      height: 36 + (i % 3),
      channels: 3,
      background: { r: shade(r), g: shade(g), b: shade(b) },
    },
  }).composite([{ input: square, left: 4 + (i % 20), top: 4 + (i % 13) }]);
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}

/** Writes `count` photos of each class under root/split/class/ (split '.': a flat folder of class folders). */
export async function makeShopSplit(root: string, split: string, counts: Record<string, number>): Promise<void> {
  for (const [name, count] of Object.entries(counts)) {
    mkdirSync(join(root, split, name), { recursive: true });
    for (let i = 0; i < count; i++) {
      const png = i % 4 === 3;
      const file = `${split === '.' ? 'photo' : split}-${i}.${png ? 'png' : 'jpg'}`;
      writeFileSync(join(root, split, name, file), await shopPhoto(name, i, png ? 'png' : 'jpeg'));
    }
  }
}
