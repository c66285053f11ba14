import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './helpers.js';

const POOL = new URL('../src/linalg/pool.js', import.meta.url).href;

test('after a failed runAll, shutting the pool down drops the queued tasks and the process exits promptly', (t) => {
  const dir = tempDir();
  const tasks = join(dir, 'tasks.mjs');
  writeFileSync(tasks, `export function fail() { throw new Error('boom'); }\nexport function spin() { const end = Date.now() + 1000; while (Date.now() < end); return 1; }\n`);
  const main = join(dir, 'main.mjs');
  writeFileSync(
    main,
    `import { runAll, shutdownPool } from ${JSON.stringify(POOL)};
const url = ${JSON.stringify(new URL(`file://${tasks}`).href)};
const jobs = [{ module: url, fn: 'fail', args: [] }, ...Array.from({ length: 10 }, () => ({ module: url, fn: 'spin', args: [] }))];
try { await runAll(jobs); } catch (e) { console.log('rejected: ' + e.message); }
await shutdownPool();
`,
  );
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [main], { encoding: 'utf8', env: { ...process.env, FASHION_WORKERS: '2' } });
  const ms = Date.now() - t0;
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /rejected: boom/);
  // Ten queued 1-second tasks on two workers would keep it alive about 5 s; at most the one running task may finish.
  t.true(ms < 3000, `exited after ${ms} ms`);
});
