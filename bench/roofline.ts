/**
 * `npm run bench -- --roofline` (or `node dist/bench/roofline.js`): where the main kernels stand against what one core
 * of this machine can do. The roof is what 128-bit SIMD without fused multiply-add can issue at the clock that
 * /proc/cpuinfo reports (two vector multiplies and two vector adds a cycle); a dot-product probe loop on data in L1 shows how much of
 * it a simple loop reaches, and a 256 MB stream the read bandwidth. Each kernel is timed on one thread on full-size
 * inputs: the rate it reaches, its arithmetic intensity (flops per byte of input it must read at least once) and the
 * roof min(peak, intensity × bandwidth) it runs under. Medians of 3 runs (probes: best of 5). Saved to
 * bench/last-roofline.md.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import { gramOfRows } from '../src/linalg/gram.js';
import { dotBlock } from '../src/linalg/kernels.js';
import { createRng } from '../src/util/rng.js';
import { Arena, instantiateWasm } from '../src/runtime/wasm.js';
import { pcaProjectTask, projectionWeights } from '../src/linalg/projection.js';
import { sampleColumnsTask, sampleRowsTask } from '../src/linalg/randomized-pca-tasks.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median seconds of `runs` calls. */
function time(fn: () => unknown, runs = 3): number {
  const s: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    s.push((performance.now() - t0) / 1000);
  }
  return median(s);
}

/** Fastest seconds of 5 calls. */
function best(fn: () => unknown): number {
  let s = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    fn();
    s = Math.min(s, (performance.now() - t0) / 1000);
  }
  return s;
}

/** The probes of peak arithmetic and read bandwidth: bench/wasm/roofline.ts, a module of its own with its own memory. */
interface Probes {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  peakF32x4(at: number, iterations: number): number;
  peakF64x2(at: number, iterations: number): number;
  streamSum(at: number, bytes: number): number;
}

// peaks
const ITER = 20_000_000;
const STREAM = 256 * 2 ** 20;
const probes = instantiateWasm<Probes>(new URL('./roofline.wasm', import.meta.url));
const l1At = probes.heapBase();
const streamAt = l1At + 1024;
const missing = streamAt + STREAM - probes.memory.buffer.byteLength;
if (missing > 0) probes.memory.grow(Math.ceil(missing / 65536));
new Float32Array(probes.memory.buffer, l1At, 256).fill(1);
new Float32Array(probes.memory.buffer, streamAt, STREAM / 4).fill(1);
// a peak is the best of 5 runs (anything else on the machine only slows a run down)
const peak32 = (64 * ITER) / best(() => probes.peakF32x4(l1At, ITER)) / 1e9;
const peak64 = (32 * ITER) / best(() => probes.peakF64x2(l1At, ITER)) / 1e9;
const bandwidth = STREAM / best(() => probes.streamSum(streamAt, STREAM)) / 1e9;

const arena = new Arena();
const w = arena.kernels;

interface Kernel {
  name: string;
  /** What it computes, and where it is used. */
  what: string;
  flops: number;
  /** Bytes of input it must read at least once. */
  bytes: number;
  seconds: number;
  precision: 'f32' | 'f64' | 'i16';
}
const kernels: Kernel[] = [];

const train = loadSplit(resolveDataDir(), 'train');
const n = train.X.rows;
const d = train.X.cols;
const d4 = (d + 3) & ~3;
const pixels = Float32Array.from(train.X.data, (v) => v / 255);

// covariance, 8-bit path (PCA fit on pixels): the upper triangle of the d4 × d4 Gram matrix, one multiply-add per entry
// and row
kernels.push({
  name: 'Gram matrix, 8-bit exact path (int16 dot products)',
  what: 'PCA fit on pixels: 60k × 784',
  flops: n * d4 * (d4 + 1),
  bytes: n * d * 4,
  seconds: time(() => gramOfRows(pixels, n, d, new Float64Array(d), [255])),
  precision: 'i16',
});
// covariance, float path (PCA fit on standardized pixels)
const mean = new Float64Array(d);
for (let i = 0; i < n; i++) for (let f = 0; f < d; f++) mean[f] += pixels[i * d + f] / n;
const shifted = Float32Array.from(pixels, (v, i) => v - mean[i % d] + 0.001 * (i % 7));
kernels.push({
  name: 'Gram matrix, float path (float32 blocks of 64 rows)',
  what: 'PCA fit on other inputs: 60k × 784',
  flops: n * d4 * (d4 + 1),
  bytes: n * d * 4,
  seconds: time(() => gramOfRows(shifted, n, d, mean, [])),
  precision: 'f32',
});
// projection onto 50 components (float64 sums, bit-identical to the plain loop)
const k = 50;
const rng = createRng(1);
const components = Float64Array.from({ length: k * d }, () => rng.float() - 0.5);
const weights = projectionWeights(components, k, d);
kernels.push({
  name: 'PCA projection (float64 sums)',
  what: '60k × 784 onto 50 components',
  flops: 2 * n * d * k,
  bytes: n * d * 4,
  seconds: time(() => pcaProjectTask(pixels, n, d, mean, weights, k, new Float64Array(k).fill(1))),
  precision: 'f64',
});

// randomized PCA (src/linalg/randomized-pca.ts): the two products of a power iteration on one row chunk of
// best.yaml's fit (60,000 rows in 16 chunks of 3,776; 3,700 features; 128 components + 10 oversamples = 138 columns,
// computed as 144), each task as the pool runs it: rows copied in and centred 256 at a time, float32 sums over 64
// terms added in float64; X·Ω also rounds Y to float32 and takes its 144 × 144 Gram matrix in float64
{
  const rows = 3776;
  const wide = 3700;
  const l = 138;
  const l8 = 144;
  const random = createRng(2);
  const chunk = Float32Array.from({ length: rows * wide }, () => random.float() - 0.5);
  const centre = new Float64Array(wide).fill(0.01);
  const omega = Float32Array.from({ length: wide * l8 }, (_, i) => (i % l8 < l ? random.float() - 0.5 : 0));
  const panels = new Float32Array(rows * l8);
  const gram = new Float64Array(l8 * l8);
  const partial = new Float64Array(wide * l8);
  kernels.push({
    name: 'Randomized PCA, X_c·Ω (float32, sums of 64 in float64)',
    what: `a row chunk of best.yaml's fit: ${rows.toLocaleString('en')} × ${wide.toLocaleString('en')} times ${wide.toLocaleString('en')} × ${l}`,
    flops: 2 * rows * wide * l,
    bytes: rows * wide * 4,
    seconds: time(() => sampleRowsTask(chunk, rows, wide, centre, omega, l8, panels, gram)),
    precision: 'f32',
  });
  kernels.push({
    name: 'Randomized PCA, X_cᵀ·Y (float32, sums of 64 rows in float64)',
    what: `the same chunk: ${wide.toLocaleString('en')} × ${rows.toLocaleString('en')} times ${rows.toLocaleString('en')} × ${l}`,
    flops: 2 * rows * wide * l,
    bytes: rows * wide * 4,
    seconds: time(() => sampleColumnsTask(chunk, rows, wide, centre, panels, l8, partial)),
    precision: 'f32',
  });
}

// SVM kernel rows (SMO training): rbf rows of a 60k × 52 float32 matrix
const rows = 60_000;
const f = 52;
const queries = 512;
const svs = 13_000;
const sd = 50;
const panels = Math.ceil(svs / 8);
// every region reserved before any view is taken (growing the memory detaches views)
const X = arena.reserve((rows + 3) * f * 4);
const norms = arena.reserve((rows + 4) * 4);
const rowOut = arena.reserve(rows * 4);
const svAt = arena.reserve(svs * sd * 4);
const panelAt = arena.reserve(panels * 8 * sd * 8);
const qAt = arena.reserve(queries * sd * 4);
const tileAt = arena.reserve(16 * 1024 * 8);
const Xv = arena.f32(X, (rows + 3) * f);
for (let i = 0; i < rows * f; i++) Xv[i] = rng.float() - 0.5;
const normView = arena.f32(norms, rows + 4);
for (let i = 0; i < rows; i++) {
  let s = 0;
  for (let j = 0; j < f; j++) s += Xv[i * f + j] ** 2;
  normView[i] = s;
}
const KROWS = 200;
kernels.push({
  name: 'SVM kernel rows, rbf (float32 dot products + exp)',
  what: 'SMO training: 200 rows × 60k, 52 features',
  flops: KROWS * rows * 2 * f,
  // each row streams the whole matrix again (12.5 MB: more than the caches)
  bytes: KROWS * rows * f * 4,
  seconds: time(() => {
    for (let i = 0; i < KROWS; i++) w.kernelRow(X, f, norms, i, 0, rows, 2, 0.02, 0, 3, rowOut);
  }),
  precision: 'f32',
});

// SVM predict: dot products of test rows with support vectors packed in float64 panels
arena.f32(svAt, svs * sd).set(arena.f32(X, svs * sd));
arena.f32(qAt, queries * sd).set(arena.f32(X + svs * sd * 4, queries * sd));
w.packPanels(svAt, sd, 0, svs, panelAt);
kernels.push({
  name: 'SVM predict dot products (float64 panels)',
  what: '512 test rows × 13k support vectors, 50 features, blocked as svm-predict.ts (16 rows × 1,024 vectors)',
  flops: queries * svs * 2 * sd,
  // a 1,024-vector block of panels (400 kB) stays in L2 while the 16-row blocks of queries pass over it
  bytes: svs * sd * 8,
  seconds: time(() => {
    for (let p0 = 0; p0 < panels; p0 += 128) {
      const count = Math.min(128, panels - p0);
      for (let q = 0; q < queries; q += 16)
        w.dotPanels(qAt + q * sd * 4, 16, sd, panelAt + p0 * sd * 64, count, tileAt, 1024);
    }
  }),
  precision: 'f64',
});

// k-NN brute-force distances: the register-blocked JavaScript kernel (float64 sums)
const A = arena.f32(X, 256 * sd).slice();
const B = arena.f32(X, 20_000 * sd).slice();
const out = new Float64Array(16 * 1024);
kernels.push({
  name: 'k-NN brute-force dot products (JavaScript, 4 × 4 registers, float64)',
  what: '256 queries × 20k rows, 50 features',
  flops: 256 * 20_000 * 2 * sd,
  bytes: 20_000 * sd * 4,
  seconds: time(() => {
    for (let j0 = 0; j0 < 20_000; j0 += 1024)
      for (let i0 = 0; i0 < 256; i0 += 16)
        dotBlock(A, i0, i0 + 16, B, j0, Math.min(20_000, j0 + 1024), sd, out, 0, 1024);
  }),
  precision: 'f64',
});

// The roof: what 128-bit SIMD without fused multiply-add can issue per cycle on this core — two vector multiplies and two
// vector adds (Zen 4, and most x86 cores since Haswell, have two FP multiply and two FP add pipes): 16 float32 or 8
// float64 flops a cycle at the clock /proc/cpuinfo reports. The probes show how much of it a simple loop reaches.
const mhz = Number(/cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? NaN);
const roof32 = (16 * mhz) / 1000;
const roof64 = (8 * mhz) / 1000;
const peakOf = (p: Kernel['precision']) => (p === 'f64' ? roof64 : roof32);
const lines = kernels.map((kr) => {
  const rate = kr.flops / kr.seconds / 1e9;
  const intensity = kr.flops / kr.bytes;
  const roof = Math.min(peakOf(kr.precision), intensity * bandwidth);
  return `| ${kr.name} | ${kr.what} | ${kr.seconds.toFixed(3)} | ${rate.toFixed(2)} | ${intensity.toFixed(0)} | ${roof.toFixed(1)} (${peakOf(kr.precision) <= intensity * bandwidth ? 'compute' : 'memory'}) | ${((100 * rate) / roof).toFixed(0)} % |`;
});
const table = [
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus()[0]?.model.trim()}, one thread, Node ${process.version}. Command: \`npm run bench -- --roofline\`.`,
  `Roof of one core at ${mhz.toFixed(0)} MHz, 128-bit SIMD without FMA (2 vector multiplies + 2 vector adds a cycle): float32 ${roof32.toFixed(1)} GFLOP/s, float64 ${roof64.toFixed(1)} GFLOP/s; a dot-product probe loop in L1 reaches ${peak32.toFixed(1)} and ${peak64.toFixed(1)}. Read bandwidth (256 MB stream): ${bandwidth.toFixed(1)} GB/s.`,
  'The int16 Gram path is held to the float32 roof, though its dot instruction does 8 multiply-adds at once: it can exceed 100 %.',
  '',
  '| kernel | work | seconds | GFLOP/s | flops/byte | roof GFLOP/s (bound) | of roof |',
  '|---|---|---:|---:|---:|---:|---:|',
  ...lines,
].join('\n');
console.log(table);
const file = fileURLToPath(new URL('../../bench/last-roofline.md', import.meta.url));
writeFileSync(file + '.tmp', table + '\n');
renameSync(file + '.tmp', file);
