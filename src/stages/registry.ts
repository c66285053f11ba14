import type { StageSpec } from './stage.js';
import { normalizeSpec } from './normalize.js';

/** Every stage a pipeline file may name, in the order `--help` lists them. */
export const registry: ReadonlyMap<string, StageSpec<any>> = new Map<string, StageSpec<any>>(
  [normalizeSpec].map((spec) => [spec.name, spec]),
);

export function stageNames(): string[] {
  return [...registry.keys()];
}
