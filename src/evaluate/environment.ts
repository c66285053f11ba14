import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, platform, release, totalmem } from 'node:os';
import { workerCount } from '../linalg/pool.js';

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

const PACKAGES = ['ml-matrix', 'ml-pca', 'ml-knn', 'ml-random-forest', 'ml-svm', 'libsvm-js', 'ml-confusion-matrix', 'yaml', 'zod', 'yargs'];

/** The machine and library versions a run used, for the report. */
export function environment(): Environment {
  const require = createRequire(import.meta.url);
  const versions: Record<string, string> = { 'fashion-pipeline': ownVersion() };
  for (const name of PACKAGES) {
    try {
      versions[name] = (require(`${name}/package.json`) as { version: string }).version;
    } catch {
      // package.json not exported or package absent: leave it out
    }
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

function ownVersion(): string {
  const url = new URL('../../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
