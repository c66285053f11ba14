import type { ConnectionOptions } from 'bullmq';
import { UsageError } from '../util/errors.js';

/** The one queue every coordinator and worker meets on (jobs of different grids never share a key). */
export const QUEUE_NAME = 'fashion-pipeline-fits';

/**
 * Redis connection options from `redis://[user:password@]HOST:PORT[/db]` or `unix:///path/redis.sock`. Commands wait
 * for a reconnection instead of failing (`maxRetriesPerRequest: null`), so a Redis restart pauses the work.
 */
export function connectionFor(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--queue: expected redis://HOST:PORT[/db] or unix:///path/redis.sock, got "${url}"`);
  }
  const common = { maxRetriesPerRequest: null, enableOfflineQueue: true } as const;
  if (parsed.protocol === 'unix:') {
    if (!parsed.pathname || parsed.pathname === '/')
      throw new UsageError(`--queue: ${url} names no socket file (unix:///path/redis.sock)`);
    return { ...common, path: decodeURIComponent(parsed.pathname) };
  }
  if (parsed.protocol !== 'redis:')
    throw new UsageError(`--queue: expected redis://HOST:PORT[/db] or unix:///path/redis.sock, got "${url}"`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new UsageError(`--queue: the database in ${url} must be a number`);
  return {
    ...common,
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
}

/** A whole number of milliseconds from an environment variable (tests shorten lock and retry times), else `fallback`. */
export function envMs(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.round(value) : fallback;
}
