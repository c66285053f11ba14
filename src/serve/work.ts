import { classifyPixels, prepareForModel, type Classified, type ModelRow, type ObtainedModel } from '../app/model.js';
import { modelInput, type ModelInfo } from '../model/provenance.js';
import { DataError } from '../data/errors.js';
import { prepareImage, type PreparedImage } from '../data/image.js';
import { createCanvas } from '@napi-rs/canvas';
import { runTask, workerCount, WorkerCrashError } from '../runtime/pool.js';
import { probeImage } from '../data/image-size.js';

/** The module holding prepareImagesTask, for the pool's workers. */
const IMAGE_MODULE = new URL('../data/image.js', import.meta.url).href;

/**
 * A photo as the model's input row: a photo model's own decoding (sharp: libvips works on its own threads, off the one
 * that answers requests), or Fashion-MNIST's preparation through preparePhoto.
 */
export function photoRow(info: Pick<ModelInfo, 'input'>, bytes: Uint8Array, what: string): Promise<ModelRow> {
  const input = modelInput(info);
  return input.kind === 'photo' ? prepareForModel(input, bytes, what) : preparePhoto(bytes, what);
}

/**
 * Prepares a photo for a Fashion-MNIST model (decode, greyscale, trim, 28×28: data/image.ts) on a pool worker when there are several, so
 * decoding does not hold up the thread that answers requests; refusals are the same DataError as in `predict`.
 * Photos that arrive in the same turn of the event loop go to the workers a few at a time: a message per photo would
 * cost the answering thread more than the photos' own work.
 */
export function preparePhoto(bytes: Uint8Array, what: string): Promise<PreparedImage> {
  if (workerCount() < 2) return prepareImage(bytes, what);
  return new Promise((resolve, reject) => {
    waiting.push({ bytes, what, resolve, reject });
    if (waiting.length === 1) setImmediate(sendPhotos);
  });
}

interface WaitingPhoto {
  bytes: Uint8Array;
  what: string;
  resolve: (p: PreparedImage) => void;
  reject: (e: unknown) => void;
}

const waiting: WaitingPhoto[] = [];

/** Most photos in one task: the pool hands tasks to whichever worker is free, so one slow photo holds up few others. */
const PHOTOS_PER_TASK = 8;
/** A photo of more pixels than this (by its header) goes in a task of its own. */
const LARGE_PHOTO_PIXELS = 1_000_000;

/** The photos waiting, in tasks of up to PHOTOS_PER_TASK (shared evenly between the workers when fewer). */
function sendPhotos(): void {
  const small: WaitingPhoto[] = [];
  for (const p of waiting.splice(0)) {
    const header = probeImage(p.bytes);
    if (header !== null && header.width * header.height > LARGE_PHOTO_PIXELS) sendTask([p]);
    else small.push(p);
  }
  const size = Math.max(1, Math.min(PHOTOS_PER_TASK, Math.ceil(small.length / workerCount())));
  for (let from = 0; from < small.length; from += size) sendTask(small.slice(from, from + size));
}

function sendTask(share: WaitingPhoto[]): void {
  runTask<Array<PreparedImage | { refused: string } | { failed: string }>>({
    module: IMAGE_MODULE,
    fn: 'prepareImagesTask',
    args: [share.map((p) => p.bytes), share.map((p) => p.what), 'auto'],
  }).then(
    (results) =>
      results.forEach((out, i) => {
        if ('refused' in out) share[i].reject(new DataError(out.refused));
        else if ('failed' in out) share[i].reject(new Error(out.failed));
        else share[i].resolve(out);
      }),
    (err: unknown) => {
      // the worker died (a photo ran it out of memory, say): each photo again on its own, so only that one fails;
      // anything else (the pool shut down) fails them all
      if (err instanceof WorkerCrashError && share.length > 1) for (const p of share) sendTask([p]);
      else for (const p of share) p.reject(err);
    },
  );
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
        this.model.info.classes.length,
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
 * The longest a warm-up runs: it happens while the classifier plugin registers, which fastify allows 10 s by default
 * (`pluginTimeout`); a model whose photos take longer (three HOG scales: ~5 ms of CPU each) stops warming up here.
 */
export const WARM_UP_BUDGET_MS = 4000;

/**
 * Runs `rounds` photos through the same preparation and model as requests, before the service takes any, stopping
 * after `budgetMs` at the latest: the first seconds of a fresh process run in V8's baseline code on every thread, so
 * the first requests under load would wait longer than later ones.
 */
export async function warmUp(
  batcher: ClassifyBatcher,
  info: Pick<ModelInfo, 'input'>,
  rounds = 512,
  budgetMs = WARM_UP_BUDGET_MS,
): Promise<void> {
  const photos = warmUpPhotos();
  const deadline = performance.now() + budgetMs;
  for (let done = 0; done < rounds && performance.now() < deadline;) {
    // as concurrent requests would come: several photos at once to the workers, then one batch through the model
    const batch = Array.from(
      { length: Math.min(4 * photos.length, rounds - done) },
      (_, i) => photos[i % photos.length],
    );
    const prepared = await Promise.all(batch.map((bytes, i) => photoRow(info, bytes, `warm-up photo ${i + 1}`)));
    await batcher.classify(
      prepared.map((p) => p.pixels),
      3,
    );
    done += batch.length;
  }
}
