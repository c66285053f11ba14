import type { FastifyInstance } from 'fastify';
import type { SwaggerOptions } from '@fastify/swagger';
import { toolVersion } from '../../util/code-version.js';
import { ERROR_CODES } from '../errors.js';
import { imageBody } from '../schemas.js';

/**
 * @fastify/swagger's settings: an OpenAPI 3 document made from the routes' own schemas, with the image bodies (which
 * the routes parse themselves, so no body schema is validated) and the table of error codes added.
 */
export function openapiOptions(modelName: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: `fashion-pipeline classifier (${modelName})`,
        version: toolVersion(),
        description:
          'Classifies clothing photos with a fitted fashion-pipeline model. Every answer other than 200 is ' +
          '`{"error": {"code", "message"}}`; the codes:\n\n' +
          Object.entries(ERROR_CODES)
            .map(([code, { status, meaning }]) => `- \`${code}\` (${status}): ${meaning}`)
            .join('\n'),
      },
    },
    transformObject: (documents) => {
      const openapiObject = (documents as { openapiObject: object }).openapiObject;
      const document = openapiObject as { paths?: Record<string, Record<string, Record<string, unknown>>> };
      for (const [path, operations] of Object.entries(document.paths ?? {})) {
        if (/\/(predict|similar)$/.test(path) && operations.post) operations.post.requestBody = imageBody;
      }
      return openapiObject;
    },
  };
}

/** GET /openapi.json: the document of every route of this service. */
export async function openapiRoute(app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
