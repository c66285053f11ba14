import { classifyPixels, type Classified, type ObtainedModel } from '../app/model.js';
import { DataError } from '../data/errors.js';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { prepareImage, type PreparedImage } from '../data/image.js';
import { createCanvas } from '@napi-rs/canvas';
import { runTask, splitRange, workerCount } from '../linalg/pool.js';

/** The module holding prepareImagesTask, for the pool's workers. */
const IMAGE_MODULE = new URL('../data/image.js', import.meta.url).href;

/**
 * Prepares a photo (decode, greyscale, trim, 28×28: data/image.ts) on a pool worker when there are several, so
 * decoding does not hold up the thread that answers requests; refusals are the same DataError as in `predict`.
 * Photos that arrive in the same turn of the event loop go to the workers together, one message per worker (a message
 * per photo cost the answering thread about a tenth of a millisecond each under load).
 */
export function preparePhoto(bytes: Uint8Array, what: string): Promise<PreparedImage> {
  if (workerCount() < 2) return prepareImage(bytes, what);
  return new Promise((resolve, reject) => {
    waiting.push({ bytes, what, resolve, reject });
    if (waiting.length === 1) setImmediate(sendPhotos);
  });
}

const waiting: Array<{
  bytes: Uint8Array;
  what: string;
  resolve: (p: PreparedImage) => void;
  reject: (e: unknown) => void;
}> = [];

/** The photos waiting, in one task per worker (contiguous shares, so each worker starts on its own at once). */
function sendPhotos(): void {
  const photos = waiting.splice(0);
  for (const [from, to] of splitRange(photos.length, workerCount())) {
    const share = photos.slice(from, to);
    runTask<Array<PreparedImage | { refused: string }>>({
      module: IMAGE_MODULE,
      fn: 'prepareImagesTask',
      args: [share.map((p) => p.bytes), share.map((p) => p.what), 'auto'],
    }).then(
      (results) =>
        results.forEach((out, i) =>
          'refused' in out ? share[i].reject(new DataError(out.refused)) : share[i].resolve(out),
        ),
      (err: unknown) => share.forEach((p) => p.reject(err)),
    );
  }
}

/**
 * Classifies the images of concurrent requests together: those whose photos are ready in the same turn of the event
 * loop go through the model in one call (one pass of the stages and their workers instead of one per request).
 */
export class ClassifyBatcher {
  private pending: Array<{
    images: readonly Float32Array[];
    top: number;
    resolve: (c: Classified[]) => void;
    reject: (e: unknown) => void;
  }> = [];
  private scheduled = false;

  constructor(private readonly model: Pick<ObtainedModel, 'pipeline' | 'info'>) {}

  classify(images: readonly Float32Array[], top: number): Promise<Classified[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ images, top, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    try {
      const { classified } = await classifyPixels(
        this.model,
        batch.flatMap((b) => b.images),
        CLASS_NAMES.length,
      );
      let at = 0;
      for (const b of batch) {
        b.resolve(classified.slice(at, at + b.images.length).map((c) => ({ ...c, top: c.top.slice(0, b.top) })));
        at += b.images.length;
      }
    } catch (err) {
      for (const b of batch) b.reject(err);
    }
  }
}

/**
 * Photos for warmUp: garment-like shapes (a dark body with sleeves, and a lighter one) on a light backdrop, as PNG
 * and JPEG, in two sizes.
 */
function warmUpPhotos(): Buffer[] {
  const photos: Buffer[] = [];
  for (const [w, h] of [
    [182, 177],
    [320, 240],
  ]) {
    for (const shade of ['#303438', '#8a8f96']) {
      const canvas = createCanvas(w, h);
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#f4f6f8';
      ctx.fillRect(0, 0, w, h);
      ctx.fillStyle = shade;
      ctx.fillRect(w * 0.3, h * 0.2, w * 0.4, h * 0.65);
      ctx.fillRect(w * 0.12, h * 0.2, w * 0.2, h * 0.25);
      ctx.fillRect(w * 0.68, h * 0.2, w * 0.2, h * 0.25);
      photos.push(canvas.encodeSync('png'), canvas.encodeSync('jpeg', 90));
    }
  }
  return photos;
}

/**
 * Runs `rounds` photos through the same preparation and model as requests, before the service takes any: the first
 * seconds of a fresh process run in V8's baseline code on every thread, and under load those requests waited about
 * half as long again as later ones (a 200-connection benchmark's p99 came from its first three seconds).
 */
export async function warmUp(batcher: ClassifyBatcher, rounds = 512): Promise<void> {
  const photos = warmUpPhotos();
  for (let done = 0; done < rounds;) {
    // as concurrent requests would come: several photos at once to the workers, then one batch through the model
    const batch = Array.from(
      { length: Math.min(4 * photos.length, rounds - done) },
      (_, i) => photos[i % photos.length],
    );
    const prepared = await Promise.all(batch.map((bytes, i) => preparePhoto(bytes, `warm-up photo ${i + 1}`)));
    await batcher.classify(
      prepared.map((p) => p.pixels),
      3,
    );
    done += batch.length;
  }
}
