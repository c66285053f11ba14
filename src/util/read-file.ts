import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Why a file could not be read, in words that name no content: callers put their own name for the file in front
 * (`shirt.png: not a regular file`).
 */
export class FileReadError extends Error {
  constructor(
    readonly reason: 'missing' | 'folder' | 'special' | 'too large' | 'unreadable',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Every reader of a user's file opens it through here: non-blocking (a FIFO is refused below rather than waited on),
 * then fstat on the open descriptor (no race between the check and the read): regular files only, at most `maxBytes`
 * (the cap for the kind of file), and never more bytes than the size it had when opened.
 */
export function readRegularFile(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw openError(err);
  }
  try {
    const size = checkOpened(fstatSync(fd), maxBytes);
    const bytes = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const n = readSync(fd, bytes, at, size - at, at);
      if (n === 0) break;
      at += n;
    }
    return bytes.subarray(0, at);
  } catch (err) {
    throw err instanceof FileReadError ? err : readError(err);
  } finally {
    closeSync(fd);
  }
}

/** readRegularFile without blocking the event loop, stopping between reads when `signal` aborts. */
export async function readRegularFileAsync(path: string, maxBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw openError(err);
  }
  try {
    const size = checkOpened(await handle.stat(), maxBytes);
    const bytes = new Uint8Array(size);
    let at = 0;
    while (at < size) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(bytes, at, size - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return bytes.subarray(0, at);
  } catch (err) {
    throw err instanceof FileReadError || signal?.aborted ? err : readError(err);
  } finally {
    await handle.close();
  }
}

/** A size in the largest unit that keeps it readable. */
export function sizeInWords(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(0)} kB`;
  return `${bytes} bytes`;
}

function checkOpened(stat: { isFile(): boolean; isDirectory(): boolean; size: number }, maxBytes: number): number {
  if (stat.isDirectory()) throw new FileReadError('folder', 'is a folder, not a file');
  if (!stat.isFile()) throw new FileReadError('special', 'not a regular file (a device, a pipe or a socket)');
  if (stat.size > maxBytes) {
    throw new FileReadError(
      'too large',
      `${sizeInWords(stat.size)}; this kind of file is at most ${sizeInWords(maxBytes)}`,
    );
  }
  return stat.size;
}

function openError(err: unknown): FileReadError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new FileReadError('missing', 'no such file');
  if (code === 'EISDIR') return new FileReadError('folder', 'is a folder, not a file');
  // a Unix socket cannot be opened as a file at all (ENXIO)
  if (code === 'ENXIO') return new FileReadError('special', 'not a regular file (a device, a pipe or a socket)');
  return new FileReadError('unreadable', `cannot open (${code ?? 'error'})`);
}

function readError(err: unknown): FileReadError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EISDIR') return new FileReadError('folder', 'is a folder, not a file');
  return new FileReadError('unreadable', `cannot read (${code ?? 'error'})`);
}
