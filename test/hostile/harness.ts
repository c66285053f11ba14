/**
 * The hostile-input catalogue's harness: spawn the real CLI on a bad input and check that it failed the way the
 * README's "Guarantees" promise — the documented exit code, exactly one line on stderr that names the culprit, no stack
 * trace, and nothing new (not even a temporary file) in the output folder.
 */
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `pipeline …args` to completion (at most `timeout` ms; a hang is a failure, not a wait). */
export function cli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer; timeout?: number } = {},
): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    env: { ...process.env, FASHION_WORKERS: '1', ...options.env },
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeout ?? 120_000,
    maxBuffer: 64 * 2 ** 20,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Every file and folder under `dir`, relative, sorted (empty when `dir` does not exist). */
export function listTree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      out.push(relative(dir, p));
      if (statSync(p, { throwIfNoEntry: false })?.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

export interface Expectation {
  /** The documented exit code (1 data or runtime failure, 2 usage or pipeline-file error). */
  exit: number;
  /** What the one line must contain: usually the file's name, and a word of what is wrong. */
  says: RegExp | string | Array<RegExp | string>;
  /** Folders that must hold exactly what they held before (listTree taken before the run). */
  unchanged?: Array<{ dir: string; before: string[] }>;
}

/** Asserts a clean failure: exit code, one line on stderr saying what is wrong, no stack trace, no debris. */
export function assertCleanFailure(t: ExecutionContext, r: CliResult, expected: Expectation): void {
  const stderr = r.stderr.trim();
  const context = `exit ${r.status}${r.signal ? ` (signal ${r.signal})` : ''}\nstderr:\n${r.stderr}`;
  t.is(r.status, expected.exit, context);
  t.is(stderr.split('\n').length, 1, `one line on stderr\n${context}`);
  t.notRegex(stderr, /\n\s+at |\bat .*\.js:\d+:\d+/, 'no stack trace');
  t.notRegex(stderr, /--verbose for the stack trace/, 'a known error, not an unexpected one');
  for (const s of [expected.says].flat()) {
    if (typeof s === 'string') t.true(stderr.includes(s), `stderr names ${JSON.stringify(s)}\n${context}`);
    else t.regex(stderr, s, context);
  }
  for (const u of expected.unchanged ?? []) t.deepEqual(listTree(u.dir), u.before, `nothing new in ${u.dir}`);
}

/** A 24-bit uncompressed BMP of grey pixels (rows bottom-up, padded to 4 bytes), as Windows writes them. */
export function bmpOf(grey: ArrayLike<number>, side: number): Buffer {
  const row = Math.ceil((side * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * side);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(side, 18);
  b.writeInt32LE(side, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) b.fill(grey[(side - 1 - y) * side + x], 54 + y * row + 3 * x, 57 + y * row + 3 * x);
  return b;
}

/** The chunks of a PNG: where each starts, its type and data length. */
export function pngChunks(png: Buffer): Array<{ at: number; type: string; length: number }> {
  const out = [];
  for (let at = 8; at < png.length;) {
    const length = png.readUInt32BE(at);
    out.push({ at, type: png.toString('latin1', at + 4, at + 8), length });
    at += 12 + length;
  }
  return out;
}
