import { classifyPixels, type Classified, type ObtainedModel } from '../app/model.js';
import { DataError } from '../data/errors.js';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { prepareImage, type PreparedImage, type PreparedOrNot } from '../data/image.js';
import { runTask, splitRange, workerCount } from '../linalg/pool.js';

/** The module holding prepareImagesTask, for the pool's workers. */
const IMAGE_MODULE = new URL('../data/image.js', import.meta.url).href;

/** Most photos in one task: a batch is split across the workers, in tasks of at most this many. */
const PHOTOS_PER_TASK = 8;

/**
 * Prepares photos (decode, greyscale, trim, 28×28: data/image.ts) on the pool's workers when there are several, so
 * decoding does not hold up the thread that answers requests; refusals are the same DataError as in `predict`. The
 * photos of requests whose bodies arrive in the same turn of the event loop go out together, split evenly across the
 * workers: a message to a worker (and its answer) wakes a thread, which on a busy machine cost the main thread more
 * than the rest of its work for a photo.
 */
export class PrepareBatcher {
  private pending: Array<{
    bytes: Uint8Array;
    what: string;
    resolve: (p: PreparedImage) => void;
    reject: (e: unknown) => void;
  }> = [];
  private scheduled = false;

  prepare(bytes: Uint8Array, what: string): Promise<PreparedImage> {
    if (workerCount() < 2) return prepareImage(bytes, what);
    return new Promise((resolve, reject) => {
      this.pending.push({ bytes, what, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    const tasks = Math.max(Math.min(workerCount(), batch.length), Math.ceil(batch.length / PHOTOS_PER_TASK));
    for (const [from, to] of splitRange(batch.length, tasks)) {
      const part = batch.slice(from, to);
      runTask<PreparedOrNot[]>({
        module: IMAGE_MODULE,
        fn: 'prepareImagesTask',
        args: [part.map(({ bytes, what }) => ({ bytes, what })), 'auto'],
      }).then(
        (results) =>
          part.forEach((p, i) => {
            const r = results[i];
            if ('refused' in r) p.reject(new DataError(r.refused));
            else if ('failed' in r) p.reject(new Error(r.failed));
            else p.resolve(r);
          }),
        (err: unknown) => part.forEach((p) => p.reject(err)),
      );
    }
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
