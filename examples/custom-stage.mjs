// A stage of your own: a nearest-centroid classifier (scikit-learn's NearestCentroid), checked against the stage
// contract by checkStage (the counterpart of check_estimator), then used in a pipeline on Fashion-MNIST.
import {
  BaseStage,
  checkFeatures,
  checkXy,
  checkStage,
  loadData,
  Pipeline,
  registry,
  shutdownPool,
  z,
} from 'fashion-pipeline';

const Params = z.object({}).strict();

class NearestCentroid extends BaseStage {
  name = 'nearest_centroid';
  kind = 'estimator';
  constructor(params = {}) {
    super(Params, params);
  }
  async fit(X, y) {
    checkXy(this.name, X, y);
    const labels = [...new Set(y)].sort((a, b) => a - b);
    const centroids = new Float64Array(labels.length * X.cols);
    const counts = new Float64Array(labels.length);
    for (let i = 0; i < X.rows; i++) {
      const c = labels.indexOf(y[i]);
      counts[c]++;
      for (let j = 0; j < X.cols; j++) centroids[c * X.cols + j] += X.data[i * X.cols + j];
    }
    centroids.forEach((v, k) => (centroids[k] = v / counts[Math.floor(k / X.cols)]));
    this.state = { features: X.cols, labels: Uint8Array.from(labels), centroids };
    return this;
  }
  async predict(X) {
    const { features, labels, centroids } = this.state;
    checkFeatures(this.name, X, features);
    return Uint8Array.from({ length: X.rows }, (_, i) => {
      let best = 0;
      let bestDistance = Infinity;
      for (let c = 0; c < labels.length; c++) {
        let d = 0;
        for (let j = 0; j < features; j++) d += (X.data[i * features + j] - centroids[c * features + j]) ** 2;
        if (d < bestDistance) [best, bestDistance] = [c, d];
      }
      return labels[best];
    });
  }
  encode(fitted) {
    return { ...fitted };
  }
  decode(snapshot) {
    return { features: snapshot.features, labels: snapshot.labels, centroids: snapshot.centroids };
  }
}

const spec = {
  name: 'nearest_centroid',
  kind: 'estimator',
  summary: 'the class whose mean row is nearest',
  schema: Params,
  create: (params) => new NearestCentroid(params),
  savable: () => true,
};

const [report] = await checkStage(spec);
for (const r of report.results)
  console.log(`${r.passed ? 'ok' : 'FAILED'}: ${r.check}${r.message ? ` (${r.message})` : ''}`);

const data = await loadData({ format: 'idx', limit: { train: 3000, test: 1000 } }, { seed: 42, withTest: true });
const pipeline = new Pipeline([
  { id: 'normalize', stage: registry.get('normalize').create({ method: 'minmax' }) },
  { id: 'pca', stage: registry.get('pca').create({ components: 30 }) },
  { id: 'centroid', stage: spec.create({}) },
]);
await pipeline.fit(data.train.X, data.train.y);
const predicted = await pipeline.predict(data.test.X);
const right = predicted.filter((label, i) => label === data.test.y[i]).length;
console.log(
  `contract ${report.passed ? 'passed' : 'FAILED'}; accuracy ${(right / predicted.length).toFixed(4)} on ${predicted.length} test images`,
);
await shutdownPool();
