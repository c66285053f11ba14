import type { StageSpec } from './stage.js';
import { calibrateSpec } from './calibrate.js';
import { colourHistogramSpec } from './colour-histogram.js';
import { flipSpec } from './flip.js';
import { greySpec } from './grey.js';
import { hogSpec } from './hog.js';
import { knnSpec } from './knn.js';
import { lbpSpec } from './lbp.js';
import { normalizeSpec } from './normalize.js';
import { pcaSpec } from './pca.js';
import { randomForestSpec } from './random-forest.js';
import { svmSpec } from './svm.js';
import { bindCatalogue } from './stage-catalogue.js';
import { unionSpec } from './union.js';

/** Every stage a pipeline file may name, in the order `--help` lists them. */
export const registry: ReadonlyMap<string, StageSpec> = new Map<string, StageSpec>(
  [
    normalizeSpec,
    flipSpec,
    greySpec,
    colourHistogramSpec,
    hogSpec,
    lbpSpec,
    unionSpec,
    pcaSpec,
    knnSpec,
    svmSpec,
    randomForestSpec,
    calibrateSpec,
  ].map((spec) => [spec.name, spec]),
);

export function stageNames(): string[] {
  return [...registry.keys()];
}

bindCatalogue({ get: (stage) => registry.get(stage), names: stageNames });
