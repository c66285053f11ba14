import { parentPort } from 'node:worker_threads';

type Fn = (...args: unknown[]) => unknown;
const modules = new Map<string, Record<string, Fn>>();

parentPort!.on('message', async (task: { module: string; fn: string; args: unknown[] }) => {
  try {
    let mod = modules.get(task.module);
    if (!mod) {
      mod = (await import(task.module)) as Record<string, Fn>;
      modules.set(task.module, mod);
    }
    const fn = mod[task.fn];
    if (typeof fn !== 'function') throw new Error(`pool: ${task.module} has no export ${task.fn}`);
    const value = await fn(...task.args);
    parentPort!.postMessage({ ok: true, value });
  } catch (err) {
    const e = err as Error;
    parentPort!.postMessage({ ok: false, error: e.message ?? String(err), stack: e.stack });
  }
});
