/**
 * `node dist/bench/serve-screenshot.js [MODEL|PIPELINE.yaml] [--out docs]`: the page at / in Debian's chromium (never a
 * downloaded browser) after choosing four photos (three test images dressed as product photos, one picture of
 * stripes that the unfamiliar flag should catch): docs/serve.png at desktop width and docs/serve-phone.png at 390 px.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { loadCatalogue } from '../src/app/catalogue.js';
import { obtainModel } from '../src/app/model.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { buildServer } from '../src/serve/server.js';
import { CHROMIUM, CHROMIUM_ARGS, fashionTestSample, nonGarmentPhotos, photoOf, tempDir } from '../test/helpers.js';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args[outAt + 1] : 'docs';
const source = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--out') ?? 'pipelines/pca-rf.yaml';

const model = await obtainModel({ model: source });
const catalogue = await loadCatalogue(model, {});
const app = await buildServer({ model, catalogue });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
const dir = tempDir('fp-shot-');
const sample = fashionTestSample(30, 8);
const files: string[] = [];
for (const i of [0, 4, 9]) {
  const file = join(dir, `photo-${i}.${i === 4 ? 'jpg' : 'png'}`);
  writeFileSync(file, photoOf(sample.X.data.subarray(i * 784, (i + 1) * 784), i === 4 ? 'jpeg' : 'png', 6));
  files.push(file);
}
const stripes = join(dir, 'stripes.png');
writeFileSync(stripes, nonGarmentPhotos(4)[3].png);
files.push(stripes);

const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
mkdirSync(out, { recursive: true });
for (const [name, viewport] of [
  ['serve.png', { width: 1100, height: 900 }],
  ['serve-phone.png', { width: 390, height: 844 }],
] as const) {
  const page = await browser.newPage({ viewport, deviceScaleFactor: 1 });
  await page.goto(`${address}/`);
  await page.getByText('Model: ').waitFor();
  // one at a time, so the cards keep their order on the page (newest first)
  for (const file of files) {
    await page.getByLabel('Choose photos').setInputFiles(file);
    await page.waitForFunction(
      `[...document.querySelectorAll('.card')].every((c) => c.querySelector('.similar li') || c.querySelector('.error:not([hidden])'))`,
      undefined,
      { timeout: 30_000 },
    );
  }
  await page.screenshot({ path: join(out, name), fullPage: name === 'serve.png' });
  console.log(`wrote ${join(out, name)}`);
  await page.close();
}
await browser.close();
await app.close();
await shutdownPool();
