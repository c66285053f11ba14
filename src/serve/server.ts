import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Catalogue } from '../app/catalogue.js';
import { classifyPixels, type ObtainedModel } from '../app/model.js';
import { DataError } from '../data/errors.js';
import { photoShape } from '../data/photo-decode.js';
import { modelInput } from '../model/provenance.js';
import { probeImage } from '../data/image-size.js';
import { unreadableImage } from '../data/image.js';
import { describeCalibration } from '../model/unfamiliar.js';
import { UserError } from '../util/errors.js';
import { ServeMetrics } from './metrics.js';
import { pngDataUrl } from './png.js';
import { ClassifyBatcher, photoRow, warmUp } from './work.js';

/** Image types POST /predict and /similar take as a raw body. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp'] as const;

export interface ServeLimits {
  /** Largest request body in bytes, all the files of a multipart body together (10 MB). */
  bodyBytes: number;
  /** Largest image, in pixels, read from its header before decoding (40 megapixels). */
  imagePixels: number;
  /**
   * Most pixels being decoded at once over all requests (200 megapixels, about 800 MB of RGBA): a request whose images
   * would pass it waits for none; it gets 503 with Retry-After, and one whose own images pass it 413.
   */
  pixelsInFlight: number;
  /** Most files in one multipart request (32). */
  files: number;
  /** Time allowed for a whole request, and for its headers, in ms (30 s, 10 s). */
  requestMs: number;
  headersMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  bodyBytes: 10 * 1024 * 1024,
  imagePixels: 40_000_000,
  pixelsInFlight: 200_000_000,
  files: 32,
  requestMs: 30_000,
  headersMs: 10_000,
};

export interface ServeOptions {
  model: ObtainedModel;
  /** The catalogue for /similar, possibly still being computed; null: /similar answers 503. */
  catalogue?: Promise<Catalogue> | Catalogue | null;
  limits?: Partial<ServeLimits>;
  /** A structured (pino) line per request on stdout; false for --quiet and the tests. */
  logger?: boolean;
  /** Photos run through the preparation and the model before the server is returned (serve/work.ts warmUp); 0: none. */
  warmUp?: number;
}

/** An answer other than 200, in the one error shape. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Seconds a client should wait before trying again (503). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** The routes and their methods, for 405 and its Allow header. */
const ROUTES: Record<string, string[]> = {
  '/predict': ['POST'],
  '/similar': ['POST'],
  '/model': ['GET', 'HEAD'],
  '/classes': ['GET', 'HEAD'],
  '/health': ['GET', 'HEAD'],
  '/ready': ['GET', 'HEAD'],
  '/metrics': ['GET', 'HEAD'],
  '/': ['GET', 'HEAD'],
};

/** The page's folder (src/serve/page, plain files: no build step). */
export function pageDir(): string {
  // dist/src/serve/server.js → the package root is three levels up
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'serve', 'page');
}

/** One uploaded image, as read from the request. */
interface Upload {
  name: string;
  bytes: Buffer;
}

/**
 * The model service: JSON API, Prometheus metrics and the page at `/`. Not listening yet (`app.listen`, or
 * `app.inject` in tests).
 */
export async function buildServer(options: ServeOptions): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const app = Fastify({
    // written as each line is made, as Node writes stdout to files and pipes on Linux: pino's default buffers through
    // libuv's thread pool, a thread hand-off per request that cost the busy main thread more than the write itself
    logger: options.logger ? { level: 'info', stream: pino.destination({ dest: 1, sync: true }) } : false,
    // one line per request, written in onResponse (fastify's own are two: incoming and completed)
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyBytes,
    requestTimeout: limits.requestMs,
    connectionTimeout: limits.requestMs,
    // Node checks the header and request timeouts of open connections every 30 s by default, so a client trickling
    // its headers was cut at 40 s rather than 10: checked often enough that each limit holds to within a second
    http: {
      headersTimeout: limits.headersMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersMs / 2))),
    },
    return503OnClosing: true,
    // errors found before a route runs answer in the one error shape too: the HTTP parser's (two Content-Lengths,
    // Content-Length with Transfer-Encoding, a negative length, headers too large) and a URL that cannot be decoded
    clientErrorHandler: (err, socket) => {
      const status = parserErrorStatus(err);
      if (status === 408) answerRaw(socket, 408, 'timeout', 'the request took longer than the server allows');
      else if (status === 431) answerRaw(socket, 431, 'headers_too_large', 'the request headers are too large');
      else answerRaw(socket, 400, 'bad_request', 'malformed HTTP request');
    },
    frameworkErrors: (err, _request, reply) => {
      if (err.code === 'FST_ERR_BAD_URL') sendError(reply, 400, 'bad_request', 'the URL cannot be decoded');
      else sendError(reply, 400, 'bad_request', 'the request cannot be routed');
    },
  });
  // CONNECT is not answered by Node without a listener (the client waits): this server is no proxy
  app.server.on('connect', (_request: unknown, socket: Duplex) =>
    answerRaw(socket, 405, 'method_not_allowed', 'CONNECT is not allowed: this is no proxy'),
  );
  app.server.headersTimeout = limits.headersMs;
  await app.register(classifier, options);
  return app;
}

/** What the classifier plugin takes: the model, and optionally a catalogue for /similar, limits and a warm-up. */
export type ClassifierOptions = Omit<ServeOptions, 'logger'>;

/**
 * The model service as a fastify plugin, for an app of your own: `await app.register(classifier, { model, prefix:
 * '/clothes' })` adds POST /predict and /similar, GET /model, /classes, /health, /ready, /metrics and the page at /
 * under the prefix, with their own body parsers, error shape, 404/405 answers and request log, all encapsulated: the
 * app's other routes keep theirs. `buildServer` is this plugin in a server of its own, with the server-wide
 * settings (timeouts, the HTTP parser's errors, CONNECT).
 */
export async function classifier(app: FastifyInstance, options: ClassifierOptions): Promise<void> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { model } = options;
  let catalogue: Catalogue | null = null;
  let catalogueError: string | null = null;
  if (options.catalogue) {
    Promise.resolve(options.catalogue).then(
      (c) => (catalogue = c),
      (err: Error) => {
        catalogueError = err instanceof UserError ? err.message : 'the catalogue could not be built';
        app.log.error({ err }, 'catalogue failed');
      },
    );
  }

  const metrics = new ServeMetrics();
  const batcher = new ClassifyBatcher(model);
  if (options.warmUp) {
    // best effort: a service whose warm-up fails (it should not: the photos are made here) still starts, cold
    await warmUp(batcher, model.info, options.warmUp).catch((err: Error) =>
      app.log.warn(`warm-up stopped: ${err.message}; serving without it`),
    );
  }
  const id = model.info.fit_key.slice(0, 16);
  const classes = model.info.classes;
  const input = modelInput(model.info);
  /** The shape of the rows the model sees (Fashion-MNIST models: 28×28 grey). */
  const seenShape = input.kind === 'photo' ? photoShape(input.image) : undefined;

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.observe(request.method, route, reply.statusCode, seconds);
    request.log.info(
      {
        method: request.method,
        url: request.url,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ...(request.images === undefined ? {} : { images: request.images }),
      },
      'request',
    );
    done();
  });

  // stopping: answers under way say so, so keep-alive clients do not hold the server open
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const { status, code, message } = describeError(err);
    if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
    if (err instanceof HttpError && err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
    // a body refused for its size is read to its end (within a bound) before the answer: a client that sends the
    // whole body before reading (Python's http.client, many others) would otherwise meet a closed connection
    if (status === 413) await drain(request.raw, Math.max(4 * limits.bodyBytes, 64 * 2 ** 20), 5000);
    sendError(reply, status, code, message);
    return reply;
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0].slice(app.prefix.length) || '/';
    const allowed = ROUTES[path];
    if (allowed && !allowed.includes(request.method)) {
      reply.header('allow', allowed.join(', '));
      sendError(reply, 405, 'method_not_allowed', `${request.method} ${path} is not allowed; use ${allowed[0]}`);
      return;
    }
    sendError(reply, 404, 'not_found', `no such route: ${request.method} ${path}`);
  });

  // the only bodies taken: raw images and multipart (anything else is a 415 from fastify)
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    [...IMAGE_TYPES],
    { parseAs: 'buffer', bodyLimit: limits.bodyBytes },
    (_request, body, done) => done(null, body),
  );
  await app.register(fastifyMultipart, {
    limits: { fileSize: limits.bodyBytes, files: limits.files, fields: 16, parts: limits.files + 16 },
  });
  await app.register(fastifyStatic, { root: pageDir(), prefix: '/', index: 'index.html', wildcard: false });

  async function uploads(request: FastifyRequest): Promise<Upload[]> {
    const files: Upload[] = [];
    if (request.isMultipart()) {
      let total = 0;
      for await (const part of request.parts()) {
        if (part.type !== 'file') continue;
        const bytes = await part.toBuffer();
        total += bytes.length;
        if (part.file.truncated || total > limits.bodyBytes) {
          throw new HttpError(413, 'too_large', `the request's files are over ${limits.bodyBytes} bytes together`);
        }
        files.push({ name: part.filename || `file ${files.length + 1}`, bytes });
      }
    } else if (Buffer.isBuffer(request.body)) {
      files.push({ name: 'body', bytes: request.body });
    }
    if (files.length === 0) {
      throw new HttpError(
        400,
        'no_image',
        `no image in the request: send its bytes with Content-Type ${IMAGE_TYPES.join(', ')}, or multipart/form-data with one or more files`,
      );
    }
    return files;
  }

  let pixelsInFlight = 0;
  async function prepare(files: Upload[]) {
    const prepared = [];
    for (const file of files) {
      const header = probeImage(file.bytes);
      if (!header) throw new HttpError(400, 'unreadable_image', unreadableImage(file.name));
      const pixels = header.width * header.height;
      if (pixels > limits.imagePixels) {
        throw new HttpError(
          413,
          'image_too_large',
          `${file.name}: ${header.width}×${header.height} is ${megapixels(pixels)} megapixels, over the limit of ${megapixels(limits.imagePixels)}`,
        );
      }
      prepared.push({ file, header });
    }
    // the pixels this request will decode, held against the server's budget until they are decoded
    const pixels = prepared.reduce((sum, p) => sum + p.header.width * p.header.height, 0);
    if (pixels > limits.pixelsInFlight) {
      throw new HttpError(
        413,
        'images_too_large',
        `the request's images are ${megapixels(pixels)} megapixels together, over the limit of ${megapixels(limits.pixelsInFlight)}`,
      );
    }
    if (pixelsInFlight + pixels > limits.pixelsInFlight) {
      throw new HttpError(503, 'busy', 'the server is decoding as many pixels as it may; try again shortly', 1);
    }
    pixelsInFlight += pixels;
    try {
      const images = await Promise.all(prepared.map((p) => photoRow(model.info, p.file.bytes, p.file.name)));
      return prepared.map((p, i) => ({ ...p, image: images[i] }));
    } finally {
      pixelsInFlight -= pixels;
    }
  }

  app.post('/predict', async (request, reply) => {
    const t0 = performance.now();
    const query = request.query as Record<string, string | undefined>;
    const top = intParam(query.top, 'top', 0, classes.length, 3);
    const withImage = flagParam(query.image, 'image');
    const prepared = await prepare(await uploads(request));
    const classified = await batcher.classify(
      prepared.map((p) => p.image.pixels),
      top,
    );
    request.images = prepared.length;
    metrics.imagesClassified.inc(prepared.length);
    const images = await Promise.all(
      prepared.map(async (p, i) => {
        const c = classified[i];
        return {
          name: p.file.name,
          width: p.header.width,
          height: p.header.height,
          label: c.label,
          class: c.class,
          confidence: c.confidence,
          probabilities: c.probabilities
            ? c.probabilities.map((probability, label) => ({ label, class: classes[label], probability }))
            : null,
          top: c.top,
          inverted: p.image.inverted,
          unfamiliar: c.unfamiliar,
          unfamiliar_score: c.unfamiliar_score,
          ...(withImage ? { image: await pngDataUrl(p.image.pixels, seenShape) } : {}),
        };
      }),
    );
    reply.header('cache-control', 'no-store');
    return { model: { name: model.info.name, id }, images, ms: round(performance.now() - t0) };
  });

  app.post('/similar', async (request, reply) => {
    const t0 = performance.now();
    const query = request.query as Record<string, string | undefined>;
    const n = intParam(query.n, 'n', 1, 100, 8);
    const withImage = flagParam(query.image, 'image');
    if (!catalogue) {
      if (catalogueError) throw new HttpError(503, 'no_catalogue', catalogueError);
      reply.header('retry-after', '5');
      throw new HttpError(
        503,
        options.catalogue ? 'catalogue_loading' : 'no_catalogue',
        options.catalogue ? 'the catalogue is still being computed; try again shortly' : 'this server has no catalogue',
      );
    }
    const cat: Catalogue = catalogue;
    const prepared = await prepare(await uploads(request));
    const { features } = await classifyPixels(
      model,
      prepared.map((p) => p.image.pixels),
      0,
    );
    request.images = prepared.length;
    const near = cat.nearest(features, n);
    const images = await Promise.all(
      prepared.map(async (p, i) => ({
        name: p.file.name,
        similar: await Promise.all(
          near[i].map(async (item) => ({
            ...item,
            ...(withImage ? { image: await pngDataUrl(cat.image(item.index)) } : {}),
          })),
        ),
      })),
    );
    return { model: { name: model.info.name, id }, catalogue: cat.source, images, ms: round(performance.now() - t0) };
  });

  app.get('/model', async () => {
    const info = model.info;
    return {
      name: info.name,
      description: info.description ?? null,
      id,
      fit_key: info.fit_key,
      file: model.path,
      source: info.source,
      tool: info.tool,
      fitted: info.created,
      steps: model.pipeline.configs,
      classes: info.classes,
      input:
        input.kind === 'photo'
          ? { kind: 'photo', ...input.image }
          : { kind: 'fashion-mnist', width: 28, height: 28, channels: 1, fit: 'trim' },
      training: {
        rows: info.training.rows,
        data: info.training.data,
        checksums: info.training.checksums ?? null,
      },
      cv_accuracy: info.cv_accuracy ?? null,
      test_accuracy: info.test_accuracy ?? null,
      unfamiliar: info.unfamiliar ? describeCalibration(info.unfamiliar) : null,
      probabilities: model.pipeline.estimator.predictProba !== undefined,
      catalogue: catalogue ? { source: catalogue.source, size: catalogue.size } : null,
    };
  });

  app.get('/classes', async () => ({ classes: classes.map((name, label) => ({ label, class: name })) }));
  app.get('/health', async () => ({ status: 'ok' }));
  // the model is loaded before the server is built; the catalogue may follow
  app.get('/ready', async () => ({
    status: 'ready',
    model: model.info.name,
    catalogue: catalogue ? 'ready' : catalogueError ? 'failed' : options.catalogue ? 'loading' : 'none',
  }));
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Images in the request, for the log line. */
    images?: number;
  }
}

/** The status, code and message of an error, without its stack: users' mistakes say what to fix, others say little. */
function describeError(err: Error & { statusCode?: number; code?: string }): {
  status: number;
  code: string;
  message: string;
} {
  if (err instanceof HttpError) return { status: err.statusCode, code: err.code, message: err.message };
  if (err instanceof DataError) return { status: 400, code: 'unreadable_image', message: err.message };
  // busboy's own errors for a multipart body it cannot parse carry no code: no boundary, no closing boundary
  if (
    !err.code &&
    /^(Multipart: Boundary not found|Unexpected end of (form|multipart data)|Malformed)/.test(err.message)
  ) {
    return { status: 400, code: 'bad_multipart', message: 'the multipart body is malformed (its boundary or its end)' };
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return { status: 413, code: 'too_large', message: 'the request body is over the size limit' };
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
      return { status: 413, code: 'too_many_files', message: 'too many files in one request' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return {
        status: 415,
        code: 'unsupported_media_type',
        message: `send an image (Content-Type ${IMAGE_TYPES.join(', ')}) or multipart/form-data`,
      };
    case 'FST_ERR_CTP_EMPTY_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, code: 'bad_request', message: err.message };
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, code: 'bad_request', message: err.message };
  return { status: 500, code: 'internal', message: 'internal error (see the server log)' };
}

/**
 * Reads and discards what is left of a request body, until its end, `maxBytes` more, or `ms`: the lingering close of
 * a server that refused the body (nginx's lingering_close), so the client can read the answer.
 */
function drain(raw: IncomingMessage, maxBytes: number, ms: number): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const finish = () => {
      clearTimeout(timer);
      raw.off('data', onData).off('end', finish).off('error', finish).off('close', finish);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) finish();
    };
    const timer = setTimeout(finish, ms);
    raw.on('data', onData).on('end', finish).on('error', finish).on('close', finish);
    raw.resume();
  });
}

/** The HTTP status of a parser error: 431 for headers too large, 408 for a timeout, else 400. */
function parserErrorStatus(err: Error & { code?: string }): number {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 431;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** An answer in the error shape written straight to a socket no request object stands for, then the socket closed. */
function answerRaw(socket: Duplex, status: number, code: string, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(), // written: closed at once, whatever the client still sends
  );
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): void {
  reply.code(status).header('content-type', 'application/json; charset=utf-8').send({ error: { code, message } });
}

function intParam(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new HttpError(400, 'bad_parameter', `${name} must be a whole number from ${min} to ${max}, got ${value}`);
  }
  return n;
}

function flagParam(value: string | undefined, name: string): boolean {
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new HttpError(400, 'bad_parameter', `${name} must be 1 or 0, got ${value}`);
}

function megapixels(pixels: number): string {
  return String(Number((pixels / 1e6).toFixed(2)));
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
