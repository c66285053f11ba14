/**
 * `node dist/bench/serve-load.js [MODEL|PIPELINE.yaml] [--connections 200] [--seconds 10] [--format png|jpeg]
 * [--photos DIR]`: (--photos: up to 8 photos of DIR and its sub-folders, as they are, instead of the made-up ones)
 * load on `pipeline serve` over loopback with autocannon: 200 connections posting photos (8 test images dressed as
 * product photos, raw PNG or JPEG bodies, in turn) for a bounded time. Prints requests per second, p50/p99 latency,
 * errors (and non-2xx answers) and the server's peak resident memory (VmHWM of its process). The server runs as the CLI runs it, in its own process,
 * with its request log on (sent to /dev/null).
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { probeImage } from '../src/data/image-size.js';
import { fashionTestSample, photoOf } from '../test/helpers.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const connections = option('--connections', 200);
const seconds = option('--seconds', 10);
const formatAt = args.indexOf('--format');
const format = formatAt >= 0 ? args[formatAt + 1] : 'png';
if (format !== 'png' && format !== 'jpeg') throw new Error(`--format must be png or jpeg, got ${format}`);
const model = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? 'pipelines/pca-rf.yaml';

const bin = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const server = spawn(
  process.execPath,
  [...(process.env.SERVE_NODE_ARGS?.split(' ').filter(Boolean) ?? []), bin, 'serve', model, '--port', '0'],
  { stdio: ['ignore', 'ignore', 'pipe'] },
);
let stderr = '';
const url = await new Promise<string>((resolve, reject) => {
  server.stderr.on('data', (d) => {
    stderr += d;
    const m = /serving \S+ on (http:\/\/\S+?)\/? \(/.exec(stderr);
    if (m) resolve(m[1]);
  });
  server.on('exit', (code) => reject(new Error(`the server exited (${code}): ${stderr}`)));
});
// the catalogue (for /similar) is computed in the background after start: wait for it so it does not share the run
for (;;) {
  const ready = (await (await fetch(`${url}/ready`)).json()) as { catalogue: string };
  if (ready.catalogue !== 'loading') break;
  await new Promise((r) => setTimeout(r, 250));
}

const photosAt = args.indexOf('--photos');
const sample = fashionTestSample(8, 3);
const photos =
  photosAt >= 0
    ? photosIn(args[photosAt + 1]).slice(0, 8)
    : Array.from({ length: 8 }, (_, i) => photoOf(sample.X.data.subarray(i * 784, (i + 1) * 784), format, 4));
if (photos.length === 0) throw new Error(`--photos ${args[photosAt + 1]}: no .jpg or .png files`);

/** JPEG and PNG files of a folder and its sub-folders, one from each sub-folder in turn (so several classes). */
function photosIn(dir: string): Buffer[] {
  const groups = [
    dir,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(dir, e.name)),
  ].map((d) =>
    readdirSync(d)
      .filter((f) => /\.(jpe?g|png)$/i.test(f))
      .sort()
      .map((f) => readFileSync(join(d, f))),
  );
  const out: Buffer[] = [];
  for (let i = 0; out.length < 8 && groups.some((g) => i < g.length); i++)
    for (const g of groups) if (i < g.length) out.push(g[i]);
  return out;
}
// CPU seconds (user + system) of a process so far, from /proc (clock ticks of 1/100 s)
const cpuOf = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
// busy CPU seconds of the whole machine so far (all cores), and the part spent on interrupts (the loopback network's
// packets are mostly handled there), to tell how much other processes took during the run
const machineCpu = () => {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busy: (user + nice + system + irq + softirq + steal) / 100, interrupts: (irq + softirq) / 100 };
};
const machineCpu0 = machineCpu();
const serverCpu0 = cpuOf(server.pid!);
const benchCpu0 = process.cpuUsage();
const result = await autocannon({
  url,
  connections,
  duration: seconds,
  requests: photos.map((body) => ({
    method: 'POST',
    path: '/predict',
    headers: { 'content-type': `image/${photosAt >= 0 ? (probeImage(body)?.format ?? format) : format}` },
    body,
  })),
});
const serverCpu = cpuOf(server.pid!) - serverCpu0;
const benchCpu = process.cpuUsage(benchCpu0);
const machine1 = machineCpu();
const interrupts = machine1.interrupts - machineCpu0.interrupts;
const others = machine1.busy - machineCpu0.busy - interrupts - serverCpu - (benchCpu.user + benchCpu.system) / 1e6;
const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
const peakKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
server.kill('SIGTERM');
const code = await new Promise<number | null>((resolve) => server.on('exit', (c) => resolve(c)));

console.log(
  `${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), model ${model}`,
);
console.log(
  `autocannon: ${connections} connections, ${seconds} s, POST /predict with ${photos.length} ${photosAt >= 0 ? `photos of ${args[photosAt + 1]}` : `${format.toUpperCase()} photos`} (~${Math.round(photos[0].length / 1024)} KB, ${probeImage(photos[0])?.width}×${probeImage(photos[0])?.height} px) in turn`,
);
console.log(
  '| requests/s | photos classified | p50 latency | p99 latency | errors | non-2xx | timeouts | server peak RSS |',
);
console.log('|---|---|---|---|---|---|---|---|');
console.log(
  `| ${result.requests.average.toFixed(0)} | ${result['2xx']} | ${result.latency.p50} ms | ${result.latency.p99} ms | ${result.errors} | ${result.non2xx} | ${result.timeouts} | ${(peakKb / 1024).toFixed(0)} MB |`,
);
console.log(
  `CPU during the run: server ${serverCpu.toFixed(1)} s (${((1000 * serverCpu) / Math.max(1, result.requests.total)).toFixed(2)} ms per request), autocannon ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} s, interrupts ${interrupts.toFixed(1)} s, other processes ${Math.max(0, others).toFixed(1)} s (of ${(cpus().length * seconds).toFixed(0)} s on ${cpus().length} cores)`,
);
console.log(`server stopped with exit code ${code}`);
