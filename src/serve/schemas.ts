import { ERROR_CODES, IMAGE_TYPES } from './errors.js';

/** The one error shape, for every answer other than 200. */
export const errorSchema = {
  $id: 'error',
  type: 'object',
  description: 'Every answer other than 200',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ERROR_CODES) },
        message: { type: 'string' },
      },
    },
  },
} as const;

/** The error answers of a route, by status class. */
export const errorResponses = {
  '4xx': { $ref: 'error#' },
  '5xx': { $ref: 'error#' },
} as const;

/** The model named in an answer. */
export const modelRef = {
  type: 'object',
  required: ['name', 'id'],
  properties: { name: { type: 'string' }, id: { type: 'string', description: 'first 16 hex digits of the fit key' } },
} as const;

/** A whole number in a range, as a query parameter. */
export function integerParam(description: string, min: number, max: number, fallback: number) {
  return { type: 'integer', minimum: min, maximum: max, default: fallback, description } as const;
}

/** A yes/no query parameter: 1 or 0 (true or false). */
export function flagParam(description: string) {
  return { type: 'string', enum: ['1', '0', 'true', 'false', ''], default: '0', description } as const;
}

/** A raw image body or a multipart body of image files, for the OpenAPI document (the routes parse them). */
export const imageBody = {
  required: true,
  description: 'One image as the body (its type in Content-Type), or several as multipart/form-data files',
  content: {
    ...Object.fromEntries(IMAGE_TYPES.map((type) => [type, { schema: { type: 'string', format: 'binary' } }])),
    'multipart/form-data': {
      schema: {
        type: 'object',
        properties: { file: { type: 'array', items: { type: 'string', format: 'binary' } } },
      },
    },
  },
};
