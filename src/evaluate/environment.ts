import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { workerCount } from '../runtime/pool.js';
import { codeVersion, toolVersion } from '../util/code-version.js';

export interface Environment {
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  workers: number;
  memory_gb: number;
  /** Peak resident memory of this process so far, in MB. */
  peak_rss_mb: number;
  versions: Record<string, string>;
}

const PACKAGES = [
  'ml-matrix',
  'ml-pca',
  'ml-knn',
  'ml-random-forest',
  'ml-svm',
  'libsvm-js',
  'ml-confusion-matrix',
  '@napi-rs/canvas',
  'yaml',
  'zod',
  'yargs',
];

/** The machine and library versions a run used, for the report. */
export function environment(): Environment {
  const versions: Record<string, string> = {
    'fashion-pipeline': toolVersion(),
    'fashion-pipeline code': codeVersion(),
  };
  for (const name of PACKAGES) {
    const version = packageVersion(name);
    if (version) versions[name] = version;
  }
  const cpuList = cpus();
  return {
    node: process.version,
    platform: `${platform()} ${release()} ${arch()}`,
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    workers: workerCount(),
    memory_gb: Math.round(totalmem() / 2 ** 30),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    versions,
  };
}

/** A dependency's version from its package.json, found beside its resolved entry point (some packages do not export it). */
function packageVersion(name: string): string | null {
  try {
    let dir = dirname(createRequire(import.meta.url).resolve(name));
    for (let i = 0; i < 6; i++) {
      const file = join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === name && pkg.version) return pkg.version;
      }
      dir = dirname(dir);
    }
  } catch {
    // not installed
  }
  return null;
}
