import type { StageSpec } from './stage.js';

/**
 * The stage registry as seen by stages that hold other stages (union's branches, calibrate's classifier): registry.ts
 * imports those stages, so it binds itself here once loaded rather than being imported by them.
 */
export interface StageCatalogue {
  get(stage: string): StageSpec | undefined;
  names(): string[];
}

let catalogue: StageCatalogue | null = null;

/** Called once by registry.ts: union branches and calibrate may hold any stage of the registry. */
export function bindCatalogue(c: StageCatalogue): void {
  catalogue = c;
}

/** The registry, for stages that hold other stages (union, calibrate). */
export function stages(): StageCatalogue {
  if (!catalogue) throw new Error('the stage registry is not loaded');
  return catalogue;
}
