/**
 * Writes data/photos/: one "product photo" per class, made from the first test image of that class (negated onto a
 * light background, enlarged with smoothing, off-centre, PNG or JPEG). They are examples for `pipeline predict`, not
 * real photographs: real ones are welcome in their place.
 *   node dist/bench/make-photos.js [folder]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLASS_NAMES, loadSplit, resolveDataDir } from '../src/data/fashion-mnist.js';
import { photoOf } from '../test/helpers.js';

const out = process.argv[2] ?? 'data/photos';
mkdirSync(out, { recursive: true });
const test = loadSplit(resolveDataDir(), 'test');
for (let c = 0; c < CLASS_NAMES.length; c++) {
  const i = test.y.indexOf(c);
  const format = c % 2 === 0 ? 'png' : 'jpeg';
  const name = CLASS_NAMES[c].toLowerCase().replace(/[^a-z]+/g, '-') + (format === 'png' ? '.png' : '.jpg');
  const photo = photoOf(test.X.data.subarray(i * 784, (i + 1) * 784), format, 6 + (c % 4), [20 + 3 * c, 12 + 2 * c]);
  writeFileSync(join(out, name), photo);
  console.log(`${join(out, name)}: test image ${i} (${CLASS_NAMES[c]})`);
}
