import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so equal values always give the same text (keys of caches, checkpoints, models). */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object' && !ArrayBuffer.isView(value)) {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Hex characters every key digest keeps (64 bits: collisions are out of reach for caches of this size). */
export const DIGEST_CHARS = 16;

/**
 * The one key digest of the project: SHA-256 over the parts back to back (text as UTF-8, typed arrays as their bytes,
 * anything else as canonical JSON), cut to DIGEST_CHARS. Parts are not delimited: callers whose parts could run
 * together put a separator in (as `|`).
 */
export function digest(...parts: unknown[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    const bytes =
      typeof part === 'string'
        ? Buffer.from(part, 'utf8')
        : ArrayBuffer.isView(part)
          ? new Uint8Array(part.buffer, part.byteOffset, part.byteLength)
          : Buffer.from(canonical(part), 'utf8');
    hash.update(bytes);
  }
  return hash.digest('hex').slice(0, DIGEST_CHARS);
}

/** Full SHA-256 hex of bytes (data-file checksums, compared with published values). */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
