/**
 * The svm stage's engines back to back in one process, on the full training set: x/255 → PCA k → standardized →
 * SVC rbf C=10 gamma=scale; fit time, predict time (10k test rows, native predict for both) and test accuracy per
 * engine, and the fit-time ratio. The machine is shared, so compare engines within one run; fit_cpu_s (CPU time of
 * all threads) is steadier than wall time when other processes compete for the cores.
 *
 *   node dist/bench/svm-engines.js [--components 50,256] [--engines native,libsvm] [--C 10]
 */
import { loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import { shutdownPool, workerCount } from '../src/runtime/pool.js';
import { accuracy } from '../src/metrics/classification.js';
import { Normalize } from '../src/stages/normalize.js';
import { Pca } from '../src/stages/pca.js';
import { Svm } from '../src/stages/svm.js';

const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const at = argv.indexOf(`--${name}`);
  return at >= 0 ? argv[at + 1] : fallback;
};
const componentList = option('components', '50').split(',').map(Number);
const engines = option('engines', 'native,libsvm').split(',') as Array<'native' | 'libsvm'>;
const C = Number(option('C', '10'));

const dir = resolveDataDir();
const train = loadSplit(dir, 'train');
const test = loadSplit(dir, 'test');
const scale = (X: typeof train.X) => ({ ...X, data: X.data.map((v) => v / 255) });
const Xtr = scale(train.X);
const Xte = scale(test.X);
console.log(`workers ${workerCount()}, rbf C=${C} gamma=scale, engines ${engines.join(' then ')}`);
for (const components of componentList) {
  const pca = await new Pca({ components }).fit(Xtr, train.y);
  const standard = await new Normalize({ method: 'standard' }).fit(await pca.transform(Xtr), train.y);
  const Str = await standard.transform(await pca.transform(Xtr));
  const Ste = await standard.transform(await pca.transform(Xte));
  const fits: Record<string, number> = {};
  for (const engine of engines) {
    const svm = new Svm({ kernel: 'rbf', C, gamma: 'scale', engine });
    let t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await svm.fit(Str, train.y);
    const fit = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    t0 = performance.now();
    const pred = await svm.predict(Ste);
    const predict = (performance.now() - t0) / 1000;
    fits[engine] = fit;
    const sv = svm.fitted.n_support.reduce((s, n) => s + n, 0);
    console.log(
      JSON.stringify({
        components,
        engine,
        fit_s: +fit.toFixed(2),
        fit_cpu_s: +((cpu.user + cpu.system) / 1e6).toFixed(2),
        predict_s: +predict.toFixed(2),
        accuracy: accuracy(test.y, pred),
        support_vectors: sv,
        n_support: svm.fitted.n_support,
      }),
    );
  }
  if (fits.native && fits.libsvm)
    console.log(`PCA ${components}: native / libsvm fit time = ${(fits.native / fits.libsvm).toFixed(3)}`);
}
await shutdownPool();
