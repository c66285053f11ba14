import type { LoadedConfig } from '../config/load.js';
import { loadData, type LoadedData } from '../data/load.js';
import type { ProgressSink } from '../evaluate/progress.js';
import { warmPool } from '../runtime/pool.js';
import { COMMON_TASK_MODULES } from '../stages/task-modules.js';

/** The options of every command that reads data: --data (an IDX folder) and --no-verify (verify: false). */
export interface DataLocation {
  data?: string;
  verify?: boolean;
}

/** The data a pipeline file asks for (or --data's folder), with the test split when it evaluates one. */
export function loadDataFor(
  loaded: LoadedConfig,
  where: DataLocation & { progress?: ProgressSink; signal?: AbortSignal },
  withTest = loaded.config.evaluation.test,
): Promise<LoadedData> {
  const { config, file } = loaded;
  warmPool(COMMON_TASK_MODULES); // the workers start and load their code while the data is read
  return loadData(config.data, {
    dataDir: where.data,
    verify: where.verify,
    pipelineFile: file,
    withTest,
    seed: config.evaluation.seed,
    onProgress: decodeProgress(where.progress),
    signal: where.signal,
  });
}

/** Photo decoding's (done, total) calls as a progress bar of its own. */
export function decodeProgress(
  progress: ProgressSink | undefined,
): ((done: number, total: number) => void) | undefined {
  if (!progress) return undefined;
  let shown = -1;
  return (done, total) => {
    if (shown < 0) {
      progress.begin(total, 'decoding photos');
      shown = 0;
    }
    for (; shown < done; shown++) progress.advance('decoding photos');
    if (done === total) progress.end();
  };
}
