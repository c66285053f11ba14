import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { loadCatalogue, type Catalogue } from '../src/app/catalogue.js';
import { obtainModel } from '../src/app/model.js';
import { CLASS_NAMES } from '../src/data/fashion-mnist.js';
import { shutdownPool } from '../src/runtime/pool.js';
import { buildServer } from '../src/serve/server.js';
import {
  CHROMIUM,
  CHROMIUM_ARGS,
  fashionTestSample,
  makeShopSplit,
  photoOf,
  shopPhoto,
  SMALL_PIPELINE,
  tempDir,
} from './helpers.js';

const ci = process.env.CI === 'true';
const present = existsSync(CHROMIUM);
if (!present && !ci) {
  console.log(`serve-browser: skipped: no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
}

test.after.always(() => shutdownPool());

/** Serves `model` on loopback and opens its page at a phone's width in Debian's chromium; closes both after `body`. */
async function onPage(
  model: Awaited<ReturnType<typeof obtainModel>>,
  body: (page: Page, app: Awaited<ReturnType<typeof buildServer>>) => Promise<void>,
  catalogue: Catalogue | null = null,
): Promise<void> {
  const app = await buildServer({ model, catalogue });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }).catch((err: Error) => {
    throw new Error(`could not start ${CHROMIUM}: ${err.message.split('\n')[0]}`);
  });
  try {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${address}/`);
    await body(page, app);
  } finally {
    await browser.close();
    await app.close();
  }
}

/** Waits until the newest card's answer is in (the browser's own code, as text: the tests compile without the DOM types). */
async function answered(page: Page): Promise<void> {
  await page.waitForFunction(
    `document.querySelector('[data-testid="predicted"]')?.textContent.trim() !== 'Classifying…' && document.querySelector('[data-testid="predicted"]')?.textContent.trim() !== undefined`,
    undefined,
    { timeout: 20_000 },
  );
}

(present || ci ? test : test.skip)(
  'in a real browser: choose a photo on the page, read the predicted class, the bars and the 28×28 image',
  async (t) => {
    if (!present) {
      t.fail(`CI=true but there is no browser at ${CHROMIUM}: .ci/run installs Debian's chromium with apt-get`);
      return;
    }
    const work = tempDir('fp-browser-');
    const file = join(work, 'serve-small.yaml');
    writeFileSync(file, SMALL_PIPELINE);
    const model = await obtainModel({ model: file, modelsDir: join(work, 'models') });
    await onPage(model, async (page, app) => {
      const sample = fashionTestSample(1, 21);
      const photo = photoOf(sample.X.data.subarray(0, 784), 'png');
      const expected = (
        await app.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'image/png' }, payload: photo })
      ).json().images[0].class;
      await page.getByText('Model: serve-small').waitFor();
      await page
        .getByLabel('Choose photos')
        .setInputFiles({ name: 'garment.png', mimeType: 'image/png', buffer: photo });
      const predicted = page.getByTestId('predicted');
      await answered(page);
      const text = (await predicted.textContent())?.trim();
      t.log(`the page says ${text} (the API: ${expected})`);
      t.true((CLASS_NAMES as readonly string[]).includes(text ?? ''), `a class name, got ${text}`);
      t.is(text, expected);
      t.is(await page.locator('.bars li').count(), 10);
      t.regex((await page.locator('img.seen').getAttribute('src')) ?? '', /^data:image\/png;base64,/);
      t.true(await page.locator('.unfamiliar').isHidden());
    });
  },
);

(present || ci ? test : test.skip)(
  "in a real browser: a shop's folder-trained model shows its own classes, its answer, the colour image it saw and similar items",
  async (t) => {
    if (!present) {
      t.fail(`CI=true but there is no browser at ${CHROMIUM}: .ci/run installs Debian's chromium with apt-get`);
      return;
    }
    const work = tempDir('fp-browser-shop-');
    const photos = join(work, 'photos');
    await makeShopSplit(photos, 'train', { Zeta: 6, alpha: 6, beta: 6 });
    const file = join(work, 'shop.yaml');
    writeFileSync(
      file,
      `name: shop
data:
  format: folder
  dir: photos
  image: { width: 16, height: 16, channels: 3 }
steps:
  - colour_histogram: { bins: [6, 2, 2] }
  - knn: { k: 1 }
evaluation:
  folds: 0
  test: false
`,
    );
    const model = await obtainModel({ model: file, modelsDir: join(work, 'models') });
    // the shop's catalogue: class folders of its own photos
    const shop = join(work, 'shop');
    await makeShopSplit(shop, '.', { Zeta: 4, alpha: 4, beta: 4 });
    const catalogue = await loadCatalogue(model, { dir: shop, cacheDir: join(work, 'cache') });
    await onPage(
      model,
      async (page) => {
        await page.getByText('Classes: Zeta, alpha, beta.').waitFor();
        await page
          .getByLabel('Choose photos')
          .setInputFiles({ name: 'blue.jpg', mimeType: 'image/jpeg', buffer: await shopPhoto('beta', 3) });
        await answered(page);
        t.is((await page.getByTestId('predicted').textContent())?.trim(), 'beta');
        t.is(await page.locator('.bars li').count(), 3, 'one bar per class of this model');
        t.deepEqual(await page.locator('.bars li > span:first-child').allTextContents(), ['Zeta', 'alpha', 'beta']);
        t.is((await page.locator('.seen-caption').textContent())?.trim(), 'What the model saw (16×16 colour)');
        t.regex((await page.locator('#trained-on').textContent()) ?? '', /resized to 16×16 colour/);
        // the strip of similar items: the 8 nearest of the catalogue's 12, the blue ones first, as 16×16 colour images
        await page.locator('.similar-heading').waitFor();
        await page.waitForFunction(`document.querySelectorAll('.similar img').length === 8`, undefined, {
          timeout: 20_000,
        });
        const captions = await page.locator('.similar li > span').allTextContents();
        t.deepEqual(captions.slice(0, 4), ['beta', 'beta', 'beta', 'beta'], captions.join(', '));
        const sizes = await page.evaluate(
          `Promise.all([...document.querySelectorAll('.similar img')].map((img) => img.decode().then(() => [img.naturalWidth, img.naturalHeight])))`,
        );
        t.deepEqual(
          sizes,
          Array.from({ length: 8 }, () => [16, 16]),
        );
      },
      catalogue,
    );
  },
);
