/**
 * The modules most pool tasks run in (scaling, HOG, the PCA's projection and covariance blocks, the k-NN searches, the
 * forest's trees, the SVM): what a command has the workers load with warmPool (runtime/pool.ts) while it reads its
 * data. None of them loads a stage's parameter schema (zod), which would cost each worker ~0.1 s. The list lives
 * here, beside the stages that name these modules in their tasks, so the pool itself knows none of them.
 */
export const COMMON_TASK_MODULES: readonly string[] = [
  './normalize-rows.js',
  './hog-rows.js',
  '../linalg/projection.js',
  '../linalg/gram.js',
  '../linalg/kd-search.js',
  '../linalg/knn-brute.js',
  './random-forest-worker.js',
  './svm-native.js',
  '../linalg/svm-predict.js',
].map((m) => new URL(m, import.meta.url).href);
