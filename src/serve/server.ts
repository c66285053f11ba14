import type { Duplex } from 'node:stream';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { Catalogue } from '../app/catalogue.js';
import type { ObtainedModel } from '../app/model.js';
import { UserError } from '../util/errors.js';
import type { CatalogueState, ServiceContext } from './context.js';
import { answerRaw, describeError, drain, IMAGE_TYPES, parserErrorCode, sendError, type ParamRule } from './errors.js';
import { ImageIntake } from './intake.js';
import { DEFAULT_LIMITS, type ServeLimits } from './limits.js';
import { ServeMetrics } from './metrics.js';
import { aboutRoutes } from './routes/about.js';
import { openapiOptions, openapiRoute } from './routes/openapi.js';
import { predictRoute } from './routes/predict.js';
import { similarRoute } from './routes/similar.js';
import { errorSchema } from './schemas.js';
import { ClassifyBatcher, warmUp } from './work.js';

export { DEFAULT_LIMITS, type ServeLimits } from './limits.js';
export { ERROR_CODES, HttpError, IMAGE_TYPES } from './errors.js';

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

/** The page's folder (src/serve/page, plain files: no build step). */
export function pageDir(): string {
  // dist/src/serve/server.js → the package root is three levels up
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src', 'serve', 'page');
}

/**
 * The model service: JSON API, its OpenAPI document, Prometheus metrics and the page at `/`. Not listening yet
 * (`app.listen`, or `app.inject` in tests).
 */
export async function buildServer(options: ServeOptions): Promise<FastifyInstance> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const app = Fastify({
    // written as each line is made, as Node writes stdout to files and pipes on Linux: pino's default hands each
    // line to libuv's thread pool, a thread hand-off per request on the busy main thread
    logger: options.logger ? { level: 'info', stream: pino.destination({ dest: 1, sync: true }) } : false,
    // one line per request, written in onResponse (fastify's own are two: incoming and completed)
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyBytes,
    requestTimeout: limits.requestMs,
    connectionTimeout: limits.requestMs,
    // Node checks the header and request timeouts of open connections every 30 s by default: checked often enough
    // here that each limit holds to within a second
    http: {
      headersTimeout: limits.headersMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersMs / 2))),
    },
    return503OnClosing: true,
    // errors found before a route runs answer in the one error shape too: the HTTP parser's (two Content-Lengths,
    // Content-Length with Transfer-Encoding, a negative length, headers too large) and a URL that cannot be decoded
    clientErrorHandler: (err, socket) => {
      const code = parserErrorCode(err);
      const message = {
        timeout: 'the request took longer than the server allows',
        headers_too_large: 'the request headers are too large',
      }[code as string];
      answerRaw(socket, code, message ?? 'malformed HTTP request');
    },
    frameworkErrors: (err, _request, reply) => {
      if (err.code === 'FST_ERR_BAD_URL') sendError(reply, 'bad_request', 'the URL cannot be decoded');
      else sendError(reply, 'bad_request', 'the request cannot be routed');
    },
  });
  // CONNECT is not answered by Node without a listener (the client waits): this server is no proxy
  app.server.on('connect', (_request: unknown, socket: Duplex) =>
    answerRaw(socket, 'method_not_allowed', 'CONNECT is not allowed: this is no proxy'),
  );
  app.server.headersTimeout = limits.headersMs;
  await app.register(classifier, options);
  return app;
}

/** What the classifier plugin takes: the model, and optionally a catalogue for /similar, limits and a warm-up. */
export type ClassifierOptions = Omit<ServeOptions, 'logger'> & {
  /**
   * Serve the routes' OpenAPI document at /openapi.json (default true). An app that registers @fastify/swagger itself
   * gets the routes in its own document instead, and this is off.
   */
  openapi?: boolean;
};

/**
 * The model service as a fastify plugin, for an app of your own: `await app.register(classifier, { model, prefix:
 * '/clothes' })` adds POST /predict and /similar, GET /model, /classes, /health, /ready, /metrics, /openapi.json and
 * the page at / under the prefix, with their own body parsers, error shape, 404/405 answers and request log, all
 * encapsulated: the app's other routes keep theirs. `buildServer` is this plugin in a server of its own, with the
 * server-wide settings (timeouts, the HTTP parser's errors, CONNECT).
 */
export async function classifier(app: FastifyInstance, options: ClassifierOptions): Promise<void> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { model } = options;
  const catalogue = catalogueState(app, options.catalogue);
  const batcher = new ClassifyBatcher(model);
  if (options.warmUp) {
    // best effort: a service whose warm-up fails (it should not: the photos are made here) still starts, cold
    await warmUp(batcher, model.info, options.warmUp).catch((err: Error) =>
      app.log.warn(`warm-up stopped: ${err.message}; serving without it`),
    );
  }
  const ctx: ServiceContext = {
    model,
    id: model.info.fit_key.slice(0, 16),
    limits,
    intake: new ImageIntake(model.info, limits),
    batcher,
    metrics: new ServeMetrics(),
    catalogue,
  };

  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
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

  app.setErrorHandler(async (err: Parameters<typeof describeError>[0], request, reply) => {
    const rules = request.routeOptions.config?.params ?? {};
    const { status, code, message } = describeError(err, request.query, rules);
    if (status >= 500 && status !== 503) request.log.error({ err }, 'request failed');
    const retryAfter = (err as { retryAfter?: number }).retryAfter;
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    // a body refused for its size is read to its end (within a bound) before the answer: a client that sends the
    // whole body before reading (Python's http.client, many others) would otherwise meet a closed connection
    if (status === 413) await drain(request.raw, Math.max(4 * limits.bodyBytes, 64 * 2 ** 20), 5000);
    sendError(reply, code, message, status);
    return reply;
  });

  // the routes and their methods, for 405 and its Allow header
  const methods = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const path = route.url.slice(app.prefix.length) || '/';
    const set = methods.get(path) ?? new Set<string>();
    for (const m of [route.method].flat()) set.add(m);
    methods.set(path, set);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0].slice(app.prefix.length) || '/';
    const allowed = methods.get(path);
    if (allowed && !allowed.has(request.method)) {
      const list = [...allowed].sort((a, b) => (a === 'HEAD' ? 1 : b === 'HEAD' ? -1 : a.localeCompare(b)));
      reply.header('allow', list.join(', '));
      sendError(reply, 'method_not_allowed', `${request.method} ${path} is not allowed; use ${list[0]}`);
      return;
    }
    sendError(reply, 'not_found', `no such route: ${request.method} ${path}`);
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
  app.addSchema(errorSchema);
  const openapi = options.openapi ?? !app.hasDecorator('swagger');
  if (openapi) await app.register(fastifySwagger, openapiOptions(model.info.name));
  await app.register(predictRoute, ctx);
  await app.register(similarRoute, ctx);
  await app.register(aboutRoutes, ctx);
  if (openapi) await app.register(openapiRoute);
  await app.register(fastifyStatic, { root: pageDir(), prefix: '/', index: 'index.html', wildcard: false });
}

/** The catalogue's state, followed as its promise settles. */
function catalogueState(app: FastifyInstance, source: ServeOptions['catalogue']): CatalogueState {
  const state = { expected: Boolean(source), ready: null as Catalogue | null, error: null as string | null };
  if (source) {
    Promise.resolve(source).then(
      (c) => {
        state.ready = c;
        const fields = { catalogue: c.source, size: c.size, skipped: c.skipped.length };
        if (c.skipped.length === 0) app.log.info(fields, 'catalogue ready');
        else app.log.warn(fields, `catalogue ready; ${skippedLine(c.skipped)}`);
      },
      (err: Error) => {
        state.error = err instanceof UserError ? err.message : 'the catalogue could not be built';
        app.log.error({ err }, 'catalogue failed');
      },
    );
  }
  return state;
}

/** Names in the log line of the photos a catalogue left out. */
const SKIPPED_NAMED = 20;

/** The photos a catalogue left out, by name with the reason (their names are the user's own; nothing read from them). */
function skippedLine(skipped: Catalogue['skipped']): string {
  const named = skipped.slice(0, SKIPPED_NAMED).map((p) => `${p.name} (${p.reason})`);
  const more = skipped.length > SKIPPED_NAMED ? `, and ${skipped.length - SKIPPED_NAMED} more` : '';
  return `${skipped.length} photo${skipped.length === 1 ? '' : 's'} left out (they could not be read or decoded): ${named.join(', ')}${more}`;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Images in the request, for the log line. */
    images?: number;
  }
  interface FastifyContextConfig {
    /** How a route's query parameters are refused, in words (serve/errors.ts paramMessage). */
    params?: Record<string, ParamRule>;
  }
}
