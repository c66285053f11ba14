import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Argv, CommandModule } from 'yargs';
import { UsageError } from '../config/errors.js';
import { setWorkerYoungGeneration } from '../runtime/pool.js';
import { abortSignal, setInterruptNotice } from './interrupt.js';
import { dataOption, outputOptions, type ArgsOf } from './options.js';
import { progressFor } from './progress.js';
import { printable } from '../util/printable.js';

/** Real photos of garments: a newcomer's phone photo gets an answer from a model that has seen such photos. */
export const DEFAULT_PIPELINE = 'pipelines/clothing.yaml';

const builder = (y: Argv) =>
  y
    .positional('model', {
      type: 'string',
      describe: `a model file (models/<name>.model) or a pipeline YAML file (default ${DEFAULT_PIPELINE}, fitted once)`,
    })
    .options({
      ...dataOption,
      port: { type: 'number', default: 8080, describe: 'TCP port (0: a free port chosen by the system)' },
      host: { type: 'string', default: '127.0.0.1', describe: 'address to listen on (0.0.0.0: every interface)' },
      models: {
        type: 'string',
        default: 'models',
        normalize: true,
        describe: 'folder where models fitted from pipeline files are kept',
      },
      catalogue: {
        type: 'string',
        normalize: true,
        describe:
          "a folder of images for /similar (default: the training set; a photo model's training folder when it is still there); a photo model's may hold class folders; features computed once and cached",
      },
      'max-body-mb': { type: 'number', default: 10, describe: 'largest request body or uploaded file, in MB' },
      'max-megapixels': {
        type: 'number',
        default: 40,
        describe: "largest image, in megapixels (read from the image's header before decoding)",
      },
      'warm-up': {
        type: 'number',
        default: 2048,
        describe:
          'photos run through the preparation and the model before listening, so the first requests get optimized code (at most 4 s; 0 to start at once)',
      },
      quiet: { ...outputOptions.quiet, describe: 'no progress, no banner and no request log' },
    })
    .example('$0 serve', `serve ${DEFAULT_PIPELINE} (fitted once, kept in models/) on http://127.0.0.1:8080/`)
    .example('$0 serve models/pca-svm.model --port 9000 --host 0.0.0.0', 'serve a saved model on every interface');

export const serveCommand: CommandModule<object, ArgsOf<typeof builder>> = {
  command: 'serve [model]',
  describe: 'serve a model over HTTP: a JSON API (/predict, /similar, /model, /metrics…) and a page to try photos at /',
  builder,
  handler: async (args) => {
    for (const [name, value] of [
      ['--port', args.port],
      ['--max-body-mb', args['max-body-mb']],
      ['--max-megapixels', args['max-megapixels']],
      ['--warm-up', args['warm-up']],
    ] as const) {
      // a size must leave at least one byte or pixel once rounded, and stay within what one process can hold
      const size = name === '--max-body-mb' ? [1 / 2 ** 20, 2048] : name === '--max-megapixels' ? [1e-6, 1000] : null;
      if (
        !Number.isFinite(value) ||
        value < 0 ||
        (name === '--port' && (!Number.isInteger(value) || value > 65535)) ||
        (name === '--warm-up' && value > MAX_WARM_UP) ||
        (size && (value < size[0] || value > size[1]))
      )
        throw new UsageError(
          `${name} must be ${name === '--port' ? 'a port number 0..65535' : name === '--warm-up' ? `a number of photos 0..${MAX_WARM_UP}` : `a number above 0 (at least one ${name === '--max-body-mb' ? 'byte' : 'pixel'}) and at most ${size![1]}`}, got ${value}`,
        );
    }
    const [{ obtainModel }, { loadCatalogue }, { modelLine }, { buildServer }] = await Promise.all([
      import('../app/model.js'),
      import('../app/catalogue.js'),
      import('../report/summaries.js'),
      import('../serve/server.js'),
    ]);
    setWorkerYoungGeneration(96); // before anything starts the workers
    const model = await obtainModel({
      model: args.model ?? defaultPipeline(),
      data: args.data,
      verify: args.verify,
      modelsDir: args.models,
      progress: progressFor(args.quiet),
      signal: abortSignal(),
    });
    if (!args.quiet) process.stderr.write(`${printable(modelLine({ ...model, model: model.path }))}\n`);
    const catalogue = loadCatalogue(model, { dir: args.catalogue, data: args.data, verify: args.verify });
    const app = await buildServer({
      model,
      catalogue,
      logger: !args.quiet,
      warmUp: Math.round(args['warm-up']),
      limits: {
        bodyBytes: Math.round(args['max-body-mb'] * 1024 * 1024),
        imagePixels: Math.round(args['max-megapixels'] * 1e6),
      },
    });
    setInterruptNotice('stopping: finishing the requests under way (again to stop at once)');
    const stopped = new Promise<void>((done) => {
      if (abortSignal().aborted) done();
      abortSignal().addEventListener('abort', () => done(), { once: true });
    });
    const address = await app.listen({ port: args.port, host: args.host });
    if (!args.quiet) process.stderr.write(`serving ${printable(model.info.name)} on ${address}/ (Ctrl-C to stop)\n`);
    await stopped;
    await app.close();
    await catalogue.catch(() => undefined);
    if (!args.quiet) process.stderr.write('pipeline serve: stopped\n');
  },
};

/** The most photos --warm-up takes (a bound on the time a start-up spends warming up). */
const MAX_WARM_UP = 100_000;

/** The shipped default pipeline file, relative to the working folder when it is inside it. */
function defaultPipeline(): string {
  // dist/src/cli/serve.js → the package root is three levels up
  const file = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', DEFAULT_PIPELINE);
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') ? file : rel;
}
