import type { FastifyInstance } from 'fastify';
import { modelInput } from '../../model/provenance.js';
import { describeCalibration } from '../../model/unfamiliar.js';
import type { ServiceContext } from '../context.js';
import { errorResponses } from '../schemas.js';

const anything = { type: 'object', additionalProperties: true } as const;
const nullable = (schema: object) => ({ anyOf: [schema, { type: 'null' }] });

/** GET /model, /classes, /health, /ready and /metrics: what the service runs and how it is doing. */
export async function aboutRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { model, metrics, catalogue } = ctx;
  const info = model.info;
  const input = modelInput(info);
  app.get(
    '/model',
    {
      schema: {
        summary: 'The model served',
        description: 'Its name, provenance, steps, classes, input, accuracy, unfamiliar threshold and catalogue.',
        response: {
          200: {
            type: 'object',
            required: ['name', 'id', 'fit_key', 'classes', 'input', 'steps', 'probabilities'],
            properties: {
              name: { type: 'string' },
              description: { type: ['string', 'null'] },
              id: { type: 'string' },
              fit_key: { type: 'string' },
              file: { type: ['string', 'null'] },
              source: anything,
              tool: anything,
              fitted: { type: 'string' },
              steps: { type: 'array', items: anything },
              classes: { type: 'array', items: { type: 'string' } },
              input: {
                type: 'object',
                additionalProperties: true,
                required: ['kind', 'width', 'height', 'channels'],
                properties: {
                  kind: { type: 'string', enum: ['photo', 'fashion-mnist'] },
                  width: { type: 'integer' },
                  height: { type: 'integer' },
                  channels: { type: 'integer' },
                },
              },
              training: anything,
              cv_accuracy: { type: ['number', 'null'] },
              test_accuracy: { type: ['number', 'null'] },
              unfamiliar: nullable(anything),
              probabilities: { type: 'boolean', description: 'whether answers carry probabilities' },
              catalogue: nullable({
                type: 'object',
                properties: { source: { type: 'string' }, size: { type: 'integer' } },
              }),
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => ({
      name: info.name,
      description: info.description ?? null,
      id: ctx.id,
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
      catalogue: catalogue.ready ? { source: catalogue.ready.source, size: catalogue.ready.size } : null,
    }),
  );

  app.get(
    '/classes',
    {
      schema: {
        summary: "The model's classes",
        response: {
          200: {
            type: 'object',
            required: ['classes'],
            properties: {
              classes: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['label', 'class'],
                  properties: { label: { type: 'integer' }, class: { type: 'string' } },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => ({ classes: info.classes.map((name, label) => ({ label, class: name })) }),
  );

  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness: the process answers',
        response: {
          200: { type: 'object', required: ['status'], properties: { status: { type: 'string', enum: ['ok'] } } },
          ...errorResponses,
        },
      },
    },
    async () => ({ status: 'ok' }),
  );

  // the model is loaded before the routes are registered; the catalogue may follow
  app.get(
    '/ready',
    {
      schema: {
        summary: 'Readiness: the model is loaded; the state of the catalogue',
        response: {
          200: {
            type: 'object',
            required: ['status', 'model', 'catalogue'],
            properties: {
              status: { type: 'string', enum: ['ready'] },
              model: { type: 'string' },
              catalogue: { type: 'string', enum: ['ready', 'loading', 'failed', 'none'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => ({
      status: 'ready',
      model: info.name,
      catalogue: catalogue.ready ? 'ready' : catalogue.error ? 'failed' : catalogue.expected ? 'loading' : 'none',
    }),
  );

  app.get(
    '/metrics',
    {
      schema: {
        summary: 'Prometheus metrics',
        produces: ['text/plain'],
        response: {
          200: {
            description: 'The Prometheus text format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      reply.header('content-type', metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}
