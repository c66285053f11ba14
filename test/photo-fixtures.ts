import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { obtainModel, type ObtainedModel } from '../src/app/model.js';
import { withEnv } from './helpers.js';

/** The shipped real photos (data/clothing-small: people's own clothes, CC0), in the ImageFolder layout. */
export const CLOTHING_SMALL = fileURLToPath(new URL('../../data/clothing-small', import.meta.url));

/**
 * Copies shipped photos into `dest`: for each class, `count` photos of data/clothing-small/<split>/<class>/ in name
 * order from the `skip`-th, into dest/<class>/ (or straight into dest with `flat`). The paths written, in that order.
 */
export function copyClothingPhotos(
  dest: string,
  split: 'train' | 'validation' | 'test',
  counts: Record<string, number>,
  { skip = 0, flat = false }: { skip?: number; flat?: boolean } = {},
): string[] {
  const written: string[] = [];
  for (const [name, count] of Object.entries(counts)) {
    const from = join(CLOTHING_SMALL, split, name);
    const to = flat ? dest : join(dest, name);
    mkdirSync(to, { recursive: true });
    for (const file of readdirSync(from)
      .sort()
      .slice(skip, skip + count)) {
      copyFileSync(join(from, file), join(to, file));
      written.push(join(to, file));
    }
  }
  return written;
}

/**
 * A small photo model, fitted in about a second: 10 shipped training photos of each of pants, shoes and t-shirt (in
 * root/photos/train/, with 2 of each in root/photos/test/, which the fit leaves alone), decoded to 32×32 RGB; a colour
 * histogram beside a grey HOG, standardized; 1-nearest neighbour. Decoded rows are not kept in the user's cache.
 */
export async function smallPhotoModel(root: string): Promise<ObtainedModel> {
  const photos = join(root, 'photos');
  copyClothingPhotos(join(photos, 'train'), 'train', { pants: 10, shoes: 10, 't-shirt': 10 });
  copyClothingPhotos(join(photos, 'test'), 'test', { pants: 2, shoes: 2, 't-shirt': 2 });
  const file = join(root, 'small-photos.yaml');
  writeFileSync(
    file,
    `name: small-photos
data:
  format: folder
  dir: photos
  image: { width: 32, height: 32, channels: 3, fit: fill }
steps:
  - union:
      colour:
        steps:
          - colour_histogram: { bins: [6, 2, 2] }
      shape:
        steps:
          - grey: {}
          - hog: { size: 32, cell: 8 }
  - normalize: { method: standard }
  - knn: { k: 1 }
evaluation:
  folds: 0
  seed: 42
  test: false
`,
  );
  return withEnv('FASHION_DATA_CACHE', 'off', () => obtainModel({ model: file, modelsDir: join(root, 'models') }));
}
