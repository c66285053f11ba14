/**
 * The pca stage's solvers on the inputs of issue 23: fit time and peak memory of solver full, randomized (iterated
 * power auto) and randomized (iterated power 2), each configuration in a process of its own, and scikit-learn's
 * PCA(svd_solver='randomized', random_state=0) on the same float32 rows (bench/randomized_pca.py), with each
 * explained variance against the exact solver's:
 *
 * - clothing: pipelines/clothing.yaml's features (its union of HOG and colour histograms) of data/clothing-small's
 *   3,409 train + validation photos: 3,409 × 2,960, k = 256;
 * - best: pipelines/best.yaml's features (three HOGs and pixels) of the 60,000 training images: 60,000 × 6,004, k = 256
 *   (the table of 2026-12-07 11:01 was measured on the earlier best.yaml's 60,000 × 3,700, k = 128);
 * - wide: the 3,409 photos as raw 64×64 RGB pixels: 3,409 × 12,288, k = 100. The full solver needs about 13.5 GB and
 *   two minutes there: it runs only with --full-wide.
 *
 *   node dist/bench/randomized-pca.js [--cases clothing,best,wide] [--full-wide] [--repeats 3]
 *
 * Rows are in shared memory, as the pipeline's matrices are. Seconds are medians of --repeats fits (one for best, and
 * for the full solver on the wide input); peak MB is the whole process's, and the load average as each configuration
 * started is listed under the table (other work on the machine shows there). Saved to bench/last-randomized-pca.md.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPipelineFile } from '../src/config/load.js';
import { loadData } from '../src/data/load.js';
import { matrix, type Matrix } from '../src/linalg/matrix.js';
import { shutdownPool, workerCount } from '../src/runtime/pool.js';
import { Pca } from '../src/stages/pca.js';
import { registry } from '../src/stages/registry.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const root = fileURLToPath(new URL('../../', import.meta.url));
const PYTHON = '/usr/bin/python3';

/** Reads a raw float32 file straight into shared memory (no second copy). */
function readShared(file: string): Float32Array {
  const fd = openSync(file, 'r');
  const bytes = fstatSync(fd).size;
  const shared = new SharedArrayBuffer(bytes);
  const view = new Uint8Array(shared);
  for (let at = 0; at < bytes;) at += readSync(fd, view, at, bytes - at, at);
  closeSync(fd);
  return new Float32Array(shared);
}

interface Measured {
  seconds: number[];
  peak_mb: number;
  ev: number[];
}

// child: --one FILE ROWS K SOLVER IP REPEATS — fits and prints one JSON line
if (args[0] === '--one') {
  const [file, rows, k, solver, ip, repeats] = args.slice(1);
  const data = readShared(file);
  const X = matrix(+rows, data.length / +rows, data);
  const seconds: number[] = [];
  let pca: Pca | null = null;
  for (let r = 0; r < +repeats; r++) {
    pca = new Pca({
      components: +k,
      solver: solver as 'full' | 'randomized',
      iterated_power: ip === 'auto' ? 'auto' : +ip,
    });
    const t0 = performance.now();
    await pca.fit(X, new Uint8Array(X.rows));
    seconds.push((performance.now() - t0) / 1000);
  }
  await shutdownPool();
  const out: Measured = {
    seconds,
    peak_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    ev: Array.from(pca!.explainedVariance),
  };
  console.log(JSON.stringify(out));
  process.exit(0);
}

/** The features a pipeline file's steps before its pca step make of its training rows (flip left out: it only adds
 * mirrored copies while fitting). */
async function pipelineFeatures(file: string): Promise<Matrix> {
  const { config } = loadPipelineFile(file);
  const data = await loadData(config.data, { pipelineFile: file, withTest: false, seed: config.evaluation.seed });
  let X = data.train.X;
  for (const step of config.steps) {
    if (step.stage === 'pca') break;
    if (step.stage === 'flip') continue;
    const stage = registry.get(step.stage)!.create(step.params);
    if (stage.kind !== 'transformer') throw new Error(`${file}: ${step.id} is not a transformer`);
    await stage.fit(X, data.train.y);
    X = await stage.transform(X);
  }
  return X;
}

const CASES: Record<string, { what: string; k: number; make: () => Promise<Matrix> }> = {
  clothing: {
    what: 'clothing.yaml features of 3,409 photos',
    k: 256,
    make: () => pipelineFeatures(join(root, 'pipelines', 'clothing.yaml')),
  },
  best: {
    what: 'best.yaml features of 60,000 images',
    k: 256,
    make: () => pipelineFeatures(join(root, 'pipelines', 'best.yaml')),
  },
  wide: {
    what: '3,409 photos as raw 64×64 RGB pixels',
    k: 100,
    make: async () => {
      const image = { width: 64, height: 64, channels: 3, fit: 'fill' } as const;
      const dir = join(root, 'data', 'clothing-small');
      return (await loadData({ format: 'folder', dir, image }, { withTest: false, seed: 42 })).train.X;
    },
  },
};

const cases = option('cases', 'clothing,best,wide').split(',');
const repeats = Number(option('repeats', '3'));
const fullWide = args.includes('--full-wide');
const scratch = mkdtempSync(join(tmpdir(), 'randomized-pca-'));
const self = fileURLToPath(import.meta.url);
const lines: string[] = [];
/** The 1-minute load average as each configuration started (anything else running on the machine shows there). */
const loads: string[] = [];
try {
  for (const name of cases) {
    const spec = CASES[name];
    if (!spec) throw new Error(`unknown case ${name}; cases: ${Object.keys(CASES).join(', ')}`);
    const X = await spec.make();
    const file = join(scratch, `${name}.f32`);
    writeFileSync(file, new Uint8Array(X.data.buffer, X.data.byteOffset, X.data.byteLength));
    const { rows, cols } = X;
    const reps = rows > 20000 ? 1 : repeats;
    const run = (command: string, argv: string[]): Measured => {
      loads.push(
        `${name} ${argv.includes('--one') ? argv.slice(-3, -1).join(' ') : 'scikit-learn'}: ${loadavg()[0].toFixed(2)}`,
      );
      // through a shell that forks it: a process exec'd straight from this one would report this one's resident set
      // (Linux keeps a forked copy's high-water mark across exec) as its own peak
      const shell = ['-c', '"$0" "$@"; exit $?', command, ...argv];
      const child = spawnSync('/bin/sh', shell, { encoding: 'utf8', maxBuffer: 1 << 26 });
      if (child.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed:\n${child.stderr}`);
      return JSON.parse(child.stdout.trim().split('\n').pop()!) as Measured;
    };
    const configs: Array<[string, Measured | null]> = [];
    const ours = (solver: string, ip: string, times = reps) =>
      run(process.execPath, [self, '--one', file, `${rows}`, `${spec.k}`, solver, ip, `${times}`]);
    // the full solver on 12,288 features: one fit (over a minute and 13 GB)
    configs.push(['full', name === 'wide' && !fullWide ? null : ours('full', 'auto', cols > 8000 ? 1 : reps)]);
    configs.push(['randomized, iterated_power auto', ours('randomized', 'auto')]);
    configs.push(['randomized, iterated_power 2', ours('randomized', '2')]);
    configs.push([
      "scikit-learn PCA(svd_solver='randomized')",
      run(PYTHON, [join(root, 'bench', 'randomized_pca.py'), file, `${rows}`, `${spec.k}`, `${reps}`]),
    ]);
    rmSync(file);
    const exact = configs[0][1]?.ev ?? null;
    for (const [solver, m] of configs) {
      if (!m) {
        lines.push(`| ${spec.what} | ${rows} × ${cols}, k ${spec.k} | ${solver} | not run (--full-wide) | | | |`);
        continue;
      }
      const median = [...m.seconds].sort((a, b) => a - b)[Math.floor(m.seconds.length / 2)];
      let within = '—';
      let worst = '—';
      if (m === configs[0][1]) {
        within = '(exact)';
        worst = '';
      } else if (exact) {
        const errors = m.ev.map((v, c) => Math.abs(v - exact[c]) / exact[c]);
        const first = errors.findIndex((e) => e > 1e-4);
        within = `${first < 0 ? spec.k : first}`;
        const at = errors.indexOf(Math.max(...errors));
        worst = `${errors[at].toExponential(1)} (component ${at + 1})`;
      }
      lines.push(
        `| ${spec.what} | ${rows} × ${cols}, k ${spec.k} | ${solver} | ${median.toFixed(2)} (${m.seconds.length}×) | ${m.peak_mb} | ${within} | ${worst} |`,
      );
    }
    console.log(lines.slice(-configs.length).join('\n'));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await shutdownPool();
}
const table = [
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${cpus()[0]?.model.trim()} (${cpus().length} cores), Node ${process.version}, ${workerCount()} workers.`,
  'Command: `node dist/bench/randomized-pca.js' +
    (fullWide ? ' --full-wide' : '') +
    "`. Each configuration in a process of its own; seconds are fit times (medians), peak MB the whole process's (rows in shared memory).",
  '',
  '| input | shape | solver | seconds | peak MB | components within 1e-4 of exact | worst relative error |',
  '|---|---|---|---:|---:|---:|---|',
  ...lines,
  '',
  `Load average (1 min) as each configuration started: ${loads.join('; ')}.`,
].join('\n');
console.log(`\n${table}`);
const out = join(root, 'bench', 'last-randomized-pca.md');
writeFileSync(out + '.tmp', table + '\n');
renameSync(out + '.tmp', out);
