import { classifyPixels, type Classified, type ObtainedModel } from '../app/model.js';
import { DataError } from '../data/errors.js';
import { CLASS_NAMES } from '../data/fashion-mnist.js';
import { prepareImage, type PreparedImage } from '../data/image.js';
import { runTask, workerCount } from '../linalg/pool.js';

/** The module holding prepareImageTask, for the pool's workers. */
const IMAGE_MODULE = new URL('../data/image.js', import.meta.url).href;

/**
 * Prepares a photo (decode, greyscale, trim, 28×28: data/image.ts) on a pool worker when there are several, so
 * decoding does not hold up the thread that answers requests; refusals are the same DataError as in `predict`.
 */
export async function preparePhoto(bytes: Uint8Array, what: string): Promise<PreparedImage> {
  if (workerCount() < 2) return prepareImage(bytes, what);
  const out = await runTask<PreparedImage | { refused: string }>({
    module: IMAGE_MODULE,
    fn: 'prepareImageTask',
    args: [bytes, what, 'auto'],
  });
  if ('refused' in out) throw new DataError(out.refused);
  return out;
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
