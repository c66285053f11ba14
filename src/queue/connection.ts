import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { UsageError, UserError } from '../util/errors.js';

/** The one queue every coordinator and worker meets on (jobs of different grids never share a key). */
export const QUEUE_NAME = 'fashion-pipeline-fits';

/**
 * Redis connection options from `redis://[user:password@]HOST:PORT[/db]` or `unix:///path/redis.sock` (with a password:
 * `unix://[user]:password@localhost/path/redis.sock`). Commands wait
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
    return { ...common, path: decodeURIComponent(parsed.pathname), ...credentials(parsed) };
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
    ...credentials(parsed),
  };
}

/** The user and password a URL carries (`redis://user:pw@host`, `unix://:pw@localhost/path/redis.sock`). */
function credentials(parsed: URL): { username?: string; password?: string } {
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
  };
}

/** A whole number of milliseconds from an environment variable (tests shorten lock and retry times), else `fallback`. */
export function envMs(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? Math.round(value) : fallback;
}

/** How long probeQueue waits for Redis to answer (FASHION_QUEUE_PROBE_MS; 5 s). */
const PROBE_MS = () => envMs('FASHION_QUEUE_PROBE_MS', 5000);

/**
 * Connects once to the Redis `url` names and pings it, without retrying, before a coordinator or a worker starts
 * (whose own connections wait through a restart): an unreachable Redis, a missing socket, a refused password or a
 * database it does not have is one line (UserError, exit 1) within seconds, not a silent wait.
 */
export async function probeQueue(url: string): Promise<void> {
  const options = connectionFor(url) as RedisOptions;
  const where = options.path ? `the socket ${options.path}` : `${options.host}:${options.port}`;
  const timeout = PROBE_MS();
  const client = new Redis({
    ...options,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: timeout,
    commandTimeout: timeout,
  });
  // the connection's own error (ECONNREFUSED, ENOENT, WRONGPASS…) comes as an event; connect() rejects with a generic one
  let seen: NodeJS.ErrnoException | null = null;
  client.on('error', (err: NodeJS.ErrnoException) => (seen ??= err));
  try {
    await client.connect();
    await client.ping();
    // a database the server lacks: ioredis only says so in an event and stays on database 0, so ask for it again
    if (options.db) await client.select(options.db);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const code = (seen as NodeJS.ErrnoException | null)?.code ?? e.code;
    const text = `${String(e.message ?? '')} ${String((seen as NodeJS.ErrnoException | null)?.message ?? '')}`;
    const reason =
      code === 'ECONNREFUSED'
        ? 'nothing answers there (is redis-server running?)'
        : code === 'ENOENT'
          ? 'no such socket file'
          : /NOAUTH|WRONGPASS|invalid password|invalid username-password/i.test(text)
            ? 'Redis refused the password (or wants one: redis://:PASSWORD@HOST:PORT)'
            : /DB index is out of range/i.test(text)
              ? `this Redis has no database ${options.db}`
              : /timed? ?out/i.test(text) || code === 'ETIMEDOUT'
                ? `no answer within ${timeout / 1000} s`
                : `cannot connect (${code ?? 'error'})`;
    throw new UserError(`--queue: ${where}: ${reason}`, 1);
  } finally {
    client.disconnect();
  }
}
