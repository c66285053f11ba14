import { parentPort } from 'node:worker_threads';
import { transferList } from './transfer.js';

type Fn = (...args: unknown[]) => unknown;
const modules = new Map<string, Record<string, Fn>>();

parentPort!.on('message', async (task: { module: string; fn: string; args: unknown[] } | { warm: string[] }) => {
  if ('warm' in task) {
    // warmPool: load the modules (and compile the kernels) before any task needs them; no answer is sent, and a
    // module that fails to load here fails again, with its error, in the task that uses it
    await Promise.all(task.warm.map((m) => import(m).catch(() => undefined)));
    await import('./wasm.js').then((w) => w.wasmKernels()).catch(() => undefined);
    return;
  }
  try {
    let mod = modules.get(task.module);
    if (!mod) {
      mod = (await import(task.module)) as Record<string, Fn>;
      modules.set(task.module, mod);
    }
    const fn = mod[task.fn];
    if (typeof fn !== 'function') throw new Error(`pool: ${task.module} has no export ${task.fn}`);
    const value = await fn(...task.args);
    parentPort!.postMessage({ ok: true, value }, transferList(value));
  } catch (err) {
    const e = err as Error;
    parentPort!.postMessage({ ok: false, error: e.message ?? String(err), stack: e.stack });
  }
});
