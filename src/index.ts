/**
 * fashion-pipeline as a library: what the `pipeline` command runs, for programs. Rows are Float32Array matrices
 * (`matrix(rows, cols, data)`), labels Uint8Array; every call that computes is async (the heavy work runs on a pool of
 * worker threads: call `shutdownPool()` before a script's end so it exits at once).
 */

// pipelines and their stages
export { Pipeline } from './pipeline/pipeline.js';
export type { StepConfig } from './pipeline/steps.js';
export { registry, stageNames } from './stages/registry.js';
export {
  BaseStage,
  checkFeatures,
  checkXy,
  NotFittedError,
  ParamRangeError,
  SnapshotError,
  type Estimator,
  type Snapshot,
  type Stage,
  type StageSpec,
  type Transformer,
} from './stages/stage.js';
// the stage contract, for a stage of your own (scikit-learn's check_estimator)
export {
  checkStage,
  ContractViolation,
  stageChecks,
  type StageCheck,
  type StageCheckReport,
  type StageCheckResult,
} from './stages/contract.js';
export { contractData, type ContractData } from './stages/contract-data.js';
/** The schema library stage params are declared with (zod), for a stage of your own. */
export { z } from 'zod';
export { matrix, takeLabels, takeRows, type Matrix } from './linalg/matrix.js';
export { shutdownPool } from './runtime/pool.js';

// data: Fashion-MNIST (IDX), Kaggle CSV, folders of labelled photos
export { loadData, type DataSource, type LoadedData, type LoadOptions } from './data/load.js';
export { parseCsv, readCsv } from './data/csv.js';
export { stratifiedKFold, type Fold } from './data/split.js';
export type { Dataset, LabelledRows } from './data/dataset.js';
export { DataError } from './data/errors.js';

// what the commands do, with plain options and result objects
export { runRun, type RunCommandOptions, type RunCommandResult } from './app/run.js';
export { runGridCommand, type GridCommandOptions, type GridCommandResult } from './app/run-grid-command.js';
export { runPredict, type PredictOptions, type PredictResult } from './app/predict.js';

// models: load one, or fit a pipeline file into one; classify photos or rows with it
export { classifyPhotos, classifyPixels, obtainModel, type Classified, type ObtainedModel } from './app/model.js';
export { decodeModel, encodeModel, loadModel } from './model/format.js';
export type { ModelInfo } from './model/provenance.js';

// the HTTP service (fastify), and the catalogue its /similar searches
export { Catalogue, loadCatalogue, type CatalogueOptions, type SkippedPhoto } from './app/catalogue.js';
export {
  buildServer,
  classifier,
  type ClassifierOptions,
  type ServeLimits,
  type ServeOptions,
  ERROR_CODES,
} from './serve/server.js';

export { UsageError, UserError } from './util/errors.js';
