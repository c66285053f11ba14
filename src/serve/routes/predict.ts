import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { flag, type ParamRule } from '../errors.js';
import { pngDataUrl } from '../png.js';
import { errorResponses, flagParam, integerParam, modelRef } from '../schemas.js';
import { photoShape } from '../../data/photo-decode.js';
import { modelInput } from '../../model/provenance.js';

const probability = { type: 'number', minimum: 0, maximum: 1 } as const;

/** One image's answer. */
const classifiedImage = {
  type: 'object',
  required: ['name', 'width', 'height', 'label', 'class', 'confidence', 'probabilities', 'top', 'inverted'],
  properties: {
    name: { type: 'string', description: "the file's name in a multipart body, else `body`" },
    width: { type: 'integer' },
    height: { type: 'integer' },
    label: { type: 'integer', description: "index of the class in the model's classes" },
    class: { type: 'string' },
    confidence: {
      type: ['number', 'null'],
      minimum: 0,
      maximum: 1,
      description: 'null for a model without probabilities',
    },
    probabilities: {
      type: ['array', 'null'],
      items: {
        type: 'object',
        required: ['label', 'class', 'probability'],
        properties: { label: { type: 'integer' }, class: { type: 'string' }, probability },
      },
    },
    top: {
      type: 'array',
      description: 'the `top` most probable classes, most probable first',
      items: {
        type: 'object',
        required: ['class', 'probability'],
        properties: { class: { type: 'string' }, probability },
      },
    },
    inverted: { type: 'boolean', description: 'a light garment on a dark ground, negated before classifying' },
    unfamiliar: {
      type: ['boolean', 'null'],
      description: 'unlike the training photos; null when the model has no threshold',
    },
    unfamiliar_score: { type: ['number', 'null'] },
    image: { type: 'string', description: 'with ?image=1: what the model saw, as a PNG data URL' },
  },
} as const;

/** POST /predict: classifies one image (raw body) or several (multipart). */
export async function predictRoute(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { model, batcher, intake, metrics } = ctx;
  const classes = model.info.classes;
  const input = modelInput(model.info);
  /** The shape of the rows the model sees (Fashion-MNIST models: 28×28 grey). */
  const seenShape = input.kind === 'photo' ? photoShape(input.image) : undefined;
  const rules: Record<string, ParamRule> = {
    top: { kind: 'integer', min: 0, max: classes.length },
    image: { kind: 'flag' },
  };
  app.post<{ Querystring: { top: number; image: string } }>(
    '/predict',
    {
      config: { params: rules },
      schema: {
        summary: 'Classify images',
        description: 'One image as the body, or several as multipart/form-data; each answered in the order sent.',
        querystring: {
          type: 'object',
          properties: {
            top: integerParam(
              'how many of the most probable classes to list',
              0,
              classes.length,
              Math.min(3, classes.length),
            ),
            image: flagParam('also return what the model saw, as a PNG data URL'),
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['model', 'images', 'ms'],
            properties: {
              model: modelRef,
              images: { type: 'array', items: classifiedImage },
              ms: { type: 'number', description: 'time spent on the request, in milliseconds' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const t0 = performance.now();
      const { top } = request.query;
      const withImage = flag(request.query.image);
      const prepared = await intake.prepare(await intake.uploads(request));
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
      return { model: { name: model.info.name, id: ctx.id }, images, ms: round(performance.now() - t0) };
    },
  );
}

export function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
