import type { FastifyInstance } from 'fastify';
import { classifyPixels } from '../../app/model.js';
import type { ServiceContext } from '../context.js';
import { flag, HttpError, type ParamRule } from '../errors.js';
import { pngDataUrl } from '../png.js';
import { errorResponses, flagParam, integerParam, modelRef } from '../schemas.js';
import { round } from './predict.js';

const similarItem = {
  type: 'object',
  required: ['index', 'name', 'label', 'class', 'distance'],
  properties: {
    index: { type: 'integer', description: "the item's row in the catalogue" },
    name: { type: 'string' },
    label: { type: 'integer' },
    class: { type: 'string' },
    distance: { type: 'number', description: "Euclidean, in the model's feature space" },
    image: {
      type: 'string',
      description:
        "with ?image=1: the item as the model saw it (its input's width × height, grey or RGB), a PNG data URL",
    },
  },
} as const;

/** POST /similar: the catalogue items nearest to each image, in the model's feature space. */
export async function similarRoute(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { model, intake, catalogue: state } = ctx;
  const rules: Record<string, ParamRule> = { n: { kind: 'integer', min: 1, max: 100 }, image: { kind: 'flag' } };
  app.post<{ Querystring: { n: number; image: string } }>(
    '/similar',
    {
      config: { params: rules },
      schema: {
        summary: 'Find similar catalogue items',
        description: 'The catalogue items nearest to each image sent (503 while the catalogue is computed).',
        querystring: {
          type: 'object',
          properties: {
            n: integerParam('how many items for each image', 1, 100, 8),
            image: flagParam('also return each item as a PNG data URL'),
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['model', 'catalogue', 'images', 'ms'],
            properties: {
              model: modelRef,
              catalogue: { type: 'string', description: 'where the catalogue came from' },
              images: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['name', 'similar'],
                  properties: { name: { type: 'string' }, similar: { type: 'array', items: similarItem } },
                },
              },
              ms: { type: 'number' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const t0 = performance.now();
      const { n } = request.query;
      const withImage = flag(request.query.image);
      const cat = state.ready;
      if (!cat) {
        if (state.error) throw new HttpError('no_catalogue', state.error);
        if (!state.expected) throw new HttpError('no_catalogue', 'this server has no catalogue');
        throw new HttpError('catalogue_loading', 'the catalogue is still being computed; try again shortly', 5);
      }
      const prepared = await intake.prepare(await intake.uploads(request));
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
              ...(withImage ? { image: await pngDataUrl(cat.image(item.index), cat.shape) } : {}),
            })),
          ),
        })),
      );
      return {
        model: { name: model.info.name, id: ctx.id },
        catalogue: cat.source,
        images,
        ms: round(performance.now() - t0),
      };
    },
  );
}
