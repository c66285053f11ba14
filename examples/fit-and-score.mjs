// Fit a pipeline in code and score it on held-out rows: Fashion-MNIST from the package's own copy, 3,000 training and
// 1,000 test images (stratified subsets), minmax → PCA 30 → k-NN.
import { loadData, Pipeline, shutdownPool } from 'fashion-pipeline';

const data = await loadData({ format: 'idx', limit: { train: 3000, test: 1000 } }, { seed: 42, withTest: true });
const pipeline = Pipeline.fromSteps([
  { id: 'normalize', stage: 'normalize', params: { method: 'minmax' } },
  { id: 'pca', stage: 'pca', params: { components: 30 } },
  { id: 'knn', stage: 'knn', params: { k: 5 } },
]);
await pipeline.fit(data.train.X, data.train.y);
const predicted = await pipeline.predict(data.test.X);
const right = predicted.filter((label, i) => label === data.test.y[i]).length;
console.log(`accuracy ${(right / predicted.length).toFixed(4)} on ${predicted.length} test images`);
await shutdownPool();
