import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { DataError } from '../data/errors.js';

/**
 * Every error code the service answers with, its HTTP status and what it means: the one table the routes, the error
 * handler, the OpenAPI document and docs/service.md follow. Every answer other than 200 is
 * `{ "error": { "code", "message" } }`.
 */
export const ERROR_CODES = {
  bad_request: { status: 400, meaning: 'malformed HTTP: a bad URL, Content-Length, or body framing' },
  bad_parameter: { status: 400, meaning: 'a query parameter out of its range or of the wrong kind' },
  bad_multipart: { status: 400, meaning: 'a multipart body without its boundary or its end' },
  no_image: { status: 400, meaning: 'no image in the request' },
  unreadable_image: { status: 400, meaning: 'an image that cannot be read, or with nothing in it to classify' },
  not_found: { status: 404, meaning: 'no such route' },
  method_not_allowed: { status: 405, meaning: 'the route exists for other methods (listed in Allow)' },
  timeout: { status: 408, meaning: 'the request (or its headers) took longer than the server allows' },
  too_large: { status: 413, meaning: 'the request body is over the size limit' },
  too_many_files: { status: 413, meaning: 'more files in one multipart request than allowed' },
  image_too_large: { status: 413, meaning: 'an image of more pixels than allowed (read from its header)' },
  images_too_large: { status: 413, meaning: "a request's images together over the pixels one request may decode" },
  unsupported_media_type: { status: 415, meaning: 'a body that is neither an image nor multipart/form-data' },
  headers_too_large: { status: 431, meaning: 'the request headers are too large' },
  internal: { status: 500, meaning: 'a fault of the server (logged there; the answer says nothing more)' },
  busy: { status: 503, meaning: 'the server is decoding as many pixels as it may; retry after Retry-After' },
  catalogue_loading: {
    status: 503,
    meaning: '/similar: the catalogue is still being computed; retry after Retry-After',
  },
  no_catalogue: { status: 503, meaning: '/similar: this server has no catalogue, or building it failed' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An answer other than 200, in the one error shape; its status comes from ERROR_CODES. */
export class HttpError extends Error {
  readonly statusCode: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Seconds a client should wait before trying again (503). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.statusCode = ERROR_CODES[code].status;
  }
}

type FastifyishError = Error & {
  statusCode?: number;
  code?: string;
  validation?: Array<{ instancePath: string; keyword: string; params: Record<string, unknown> }>;
  validationContext?: string;
};

/** The status, code and message of an error, without its stack: users' mistakes say what to fix, others say little. */
export function describeError(
  err: FastifyishError,
  query: unknown,
  params: Record<string, ParamRule>,
): { status: number; code: ErrorCode; message: string } {
  const answer = (code: ErrorCode, message: string) => ({ status: ERROR_CODES[code].status, code, message });
  if (err instanceof HttpError) return answer(err.code, err.message);
  if (err instanceof DataError) return answer('unreadable_image', err.message);
  if (err.validation && err.validationContext === 'querystring')
    return answer('bad_parameter', paramMessage(err, query, params));
  // busboy's own errors for a multipart body it cannot parse carry no code: no boundary, no closing boundary
  if (
    !err.code &&
    /^(Multipart: Boundary not found|Unexpected end of (form|multipart data)|Malformed)/.test(err.message)
  ) {
    return answer('bad_multipart', 'the multipart body is malformed (its boundary or its end)');
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_REQ_FILE_TOO_LARGE':
      return answer('too_large', 'the request body is over the size limit');
    case 'FST_FILES_LIMIT':
    case 'FST_PARTS_LIMIT':
      return answer('too_many_files', 'too many files in one request');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return answer(
        'unsupported_media_type',
        `send an image (Content-Type ${IMAGE_TYPES.join(', ')}) or multipart/form-data`,
      );
    case 'FST_ERR_CTP_EMPTY_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return answer('bad_request', err.message);
  }
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) return { status, code: 'bad_request', message: err.message };
  return answer('internal', 'internal error (see the server log)');
}

/** Image types POST /predict and /similar take as a raw body. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/bmp'] as const;

/** How a query parameter's refusal is worded: a whole number in a range, or a flag. */
export type ParamRule = { kind: 'integer'; min: number; max: number } | { kind: 'flag' };

/** The one-line refusal of a query parameter ajv refused, in the words of its rule (the value as the client sent it). */
function paramMessage(err: FastifyishError, query: unknown, params: Record<string, ParamRule>): string {
  const first = err.validation![0];
  const name = first.instancePath.replace(/^\//, '') || String(first.params.missingProperty ?? '');
  const rule = params[name];
  const sent = (query as Record<string, unknown> | undefined)?.[name];
  const got = typeof sent === 'string' || typeof sent === 'number' ? `, got ${String(sent).slice(0, 40)}` : '';
  if (rule?.kind === 'integer') return `${name} must be a whole number from ${rule.min} to ${rule.max}${got}`;
  if (rule?.kind === 'flag') return `${name} must be 1 or 0${got}`;
  return `the query string is not valid: ${name || 'a parameter'} is refused`;
}

/** The query parameters' values: a flag's 1/true as true (ajv has checked them against their schema). */
export function flag(value: string | undefined): boolean {
  return value === '1' || value === 'true';
}

export function sendError(
  reply: FastifyReply,
  code: ErrorCode | 'bad_request',
  message: string,
  status?: number,
): void {
  reply
    .code(status ?? ERROR_CODES[code].status)
    .header('content-type', 'application/json; charset=utf-8')
    .send({ error: { code, message } });
}

/**
 * Reads and discards what is left of a request body, until its end, `maxBytes` more, or `ms`: the lingering close of
 * a server that refused the body (nginx's lingering_close), so the client can read the answer.
 */
export function drain(raw: IncomingMessage, maxBytes: number, ms: number): Promise<void> {
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

/** The error code of an HTTP parser error: headers too large, a timeout, or else a malformed request. */
export function parserErrorCode(err: Error & { code?: string }): ErrorCode {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'timeout';
  return 'bad_request';
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** An answer in the error shape written straight to a socket no request object stands for, then the socket closed. */
export function answerRaw(socket: Duplex, code: ErrorCode, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status = ERROR_CODES[code].status;
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(), // written: closed at once, whatever the client still sends
  );
}
