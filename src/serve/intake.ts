import type { FastifyRequest } from 'fastify';
import type { ModelInfo } from '../model/provenance.js';
import { probeImage, type ImageHeader } from '../data/image-size.js';
import { unreadableImage } from '../data/image.js';
import type { ModelRow } from '../app/model.js';
import { HttpError, IMAGE_TYPES } from './errors.js';
import type { ServeLimits } from './limits.js';
import { photoRow } from './work.js';

/** One uploaded image, as read from the request. */
export interface Upload {
  name: string;
  bytes: Buffer;
}

/** An upload checked by its header and decoded into the model's input row. */
export interface Prepared {
  file: Upload;
  header: ImageHeader;
  image: ModelRow;
}

/**
 * How images come in: read from a raw or multipart body within the size limits, checked by their headers, and decoded
 * within the server's budget of pixels in flight (shared by every route of one service).
 */
export class ImageIntake {
  private pixelsInFlight = 0;

  constructor(
    private readonly info: Pick<ModelInfo, 'input'>,
    private readonly limits: ServeLimits,
  ) {}

  /** The request's images: a raw image body, or every file of a multipart body; 400 when there is none. */
  async uploads(request: FastifyRequest): Promise<Upload[]> {
    const files: Upload[] = [];
    if (request.isMultipart()) {
      let total = 0;
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        const bytes = await part.toBuffer();
        total += bytes.length;
        if (part.file.truncated || total > this.limits.bodyBytes) {
          throw new HttpError('too_large', `the request's files are over ${this.limits.bodyBytes} bytes together`);
        }
        files.push({ name: part.filename || `file ${files.length + 1}`, bytes });
      }
    } else if (Buffer.isBuffer(request.body)) {
      files.push({ name: 'body', bytes: request.body });
    }
    if (files.length === 0) {
      throw new HttpError(
        'no_image',
        `no image in the request: send its bytes with Content-Type ${IMAGE_TYPES.join(', ')}, or multipart/form-data with one or more files`,
      );
    }
    return files;
  }

  /**
   * Each file's header checked against the size limits, then all decoded while their pixels are held against the
   * server's budget: a request that would pass it gets 503 (busy, retry), one whose own images pass it 413.
   */
  async prepare(files: Upload[]): Promise<Prepared[]> {
    const { limits } = this;
    const checked = files.map((file) => {
      const header = probeImage(file.bytes);
      if (!header) throw new HttpError('unreadable_image', unreadableImage(file.name));
      const pixels = header.width * header.height;
      if (pixels > limits.imagePixels) {
        throw new HttpError(
          'image_too_large',
          `${file.name}: ${header.width}×${header.height} is ${megapixels(pixels)} megapixels, over the limit of ${megapixels(limits.imagePixels)}`,
        );
      }
      return { file, header };
    });
    const pixels = checked.reduce((sum, p) => sum + p.header.width * p.header.height, 0);
    if (pixels > limits.pixelsInFlight) {
      throw new HttpError(
        'images_too_large',
        `the request's images are ${megapixels(pixels)} megapixels together, over the limit of ${megapixels(limits.pixelsInFlight)}`,
      );
    }
    if (this.pixelsInFlight + pixels > limits.pixelsInFlight) {
      throw new HttpError('busy', 'the server is decoding as many pixels as it may; try again shortly', 1);
    }
    this.pixelsInFlight += pixels;
    try {
      const images = await Promise.all(checked.map((p) => photoRow(this.info, p.file.bytes, p.file.name)));
      return checked.map((p, i) => ({ ...p, image: images[i] }));
    } finally {
      this.pixelsInFlight -= pixels;
    }
  }
}

function megapixels(pixels: number): string {
  return String(Number((pixels / 1e6).toFixed(2)));
}
