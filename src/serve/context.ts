import type { Catalogue } from '../app/catalogue.js';
import type { ObtainedModel } from '../app/model.js';
import type { ImageIntake } from './intake.js';
import type { ServeLimits } from './limits.js';
import type { ServeMetrics } from './metrics.js';
import type { ClassifyBatcher } from './work.js';

/** What the routes of one service share: its model, limits, intake of images, batcher, metrics and catalogue. */
export interface ServiceContext {
  model: ObtainedModel;
  /** The model's short id (the first 16 hex digits of its fit key). */
  id: string;
  limits: ServeLimits;
  intake: ImageIntake;
  batcher: ClassifyBatcher;
  metrics: ServeMetrics;
  catalogue: CatalogueState;
}

/** The catalogue for /similar: none, still being computed, ready, or failed. */
export interface CatalogueState {
  readonly expected: boolean;
  readonly ready: Catalogue | null;
  readonly error: string | null;
}
