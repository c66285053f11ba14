/**
 * Where a pool task's result lists the buffers to move to the caller rather than copy (runtime/pool-worker.ts reads it).
 * A symbol: the structured clone of the result leaves it out.
 */
export const TRANSFER = Symbol.for('fashion-pipeline.pool.transfer');

/**
 * `value`, marked so that a worker hands `buffers` over by transfer instead of a copy: for large results made fresh by
 * the task (not shared, not kept by the worker). On the calling thread (one worker) the mark does nothing.
 */
export function transferring<T extends object>(value: T, buffers: ArrayBuffer[]): T {
  Object.defineProperty(value, TRANSFER, { value: buffers, enumerable: false });
  return value;
}

/** The buffers a result asks to be transferred (none unless transferring marked it). */
export function transferList(value: unknown): ArrayBuffer[] {
  if (value === null || typeof value !== 'object') return [];
  const list = (value as { [TRANSFER]?: ArrayBuffer[] })[TRANSFER];
  return Array.isArray(list) ? list : [];
}
