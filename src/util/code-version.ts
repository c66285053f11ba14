import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { digest } from './hash.js';

let cached: string | null = null;

/** Every file of the built tool whose bytes can change a number: the compiled modules and the WebAssembly kernels. */
function builtFiles(): { root: string; files: string[] } {
  const root = fileURLToPath(new URL('../../', import.meta.url)); // dist/
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js') || entry.name.endsWith('.wasm')) files.push(path);
    }
  };
  walk(join(root, 'src'));
  walk(join(root, 'wasm'));
  return { root, files: files.sort() };
}

/**
 * A digest of the code itself (every built module and .wasm file, with their paths). It is part of every fit-cache
 * and checkpoint key and of a saved model's fit key, so a change to any stage's numbers can never be served a result
 * computed by other code. Computed once per process.
 */
export function codeVersion(): string {
  if (cached === null) {
    const { root, files } = builtFiles();
    cached = digest(...files.flatMap((file) => [`${relative(root, file)}\n`, readFileSync(file)]));
  }
  return cached;
}

/** This tool's version (package.json). */
export function toolVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
