#!/usr/bin/env node
// Makes this folder's copy of clothing-dataset-small from a checkout of the original (CC0 1.0):
//   node data/clothing-small/make-copy.mjs /path/to/clothing-dataset-small
// Every photo is turned upright (EXIF), shrunk so its longer side is 128 px (area averaging, libvips via sharp) and
// written as a baseline JPEG (quality 90, 4:2:0, no metadata) under the same split/class/name. Pipelines decode these
// to 64×64 or less, so nothing they use is lost; the copy is 16.6 MB of the original 106 MB.
import { mkdirSync, readdirSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const LONG_SIDE = 128;
const source = process.argv[2];
if (!source) {
  console.error('usage: node data/clothing-small/make-copy.mjs CHECKOUT_OF_clothing-dataset-small');
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
let count = 0;
for (const split of ['train', 'validation', 'test']) {
  rmSync(join(here, split), { recursive: true, force: true });
  for (const cls of readdirSync(join(source, split)).sort()) {
    mkdirSync(join(here, split, cls), { recursive: true });
    for (const name of readdirSync(join(source, split, cls)).sort()) {
      const out = await sharp(join(source, split, cls, name))
        .rotate()
        .resize(LONG_SIDE, LONG_SIDE, { fit: 'inside', kernel: 'lanczos3' })
        .jpeg({ quality: 90, chromaSubsampling: '4:2:0', mozjpeg: false })
        .toBuffer();
      writeFileSync(join(here, split, cls, name), out);
      count++;
    }
  }
}
copyFileSync(join(source, 'LICENSE'), join(here, 'LICENSE'));
console.log(`${count} photos written under ${here}`);
