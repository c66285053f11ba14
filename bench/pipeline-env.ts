/**
 * The environment the installed `pipeline` command (bin/pipeline) gives Node: glibc keeps freed memory for reuse and
 * backs its heap with huge pages (docs/performance.md, "Shared work across folds and memory reuse"). The benchmarks
 * run our side with it, as users run it.
 */
export const PIPELINE_ENV: NodeJS.ProcessEnv = {
  MALLOC_MMAP_MAX_: '0',
  MALLOC_TRIM_THRESHOLD_: '1099511627776',
  GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1',
  ...process.env,
};
