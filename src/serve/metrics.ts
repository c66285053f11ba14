import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The service's Prometheus metrics, in a registry of its own (one per server, so tests can run several). */
export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'fashion_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'fashion_http_errors_total',
    help: 'HTTP requests answered with a status of 400 or more, by status',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'fashion_http_request_duration_seconds',
    help: 'Time from request to response, by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly imagesClassified = new Counter({
    name: 'fashion_images_classified_total',
    help: 'Images classified by POST /predict',
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'fashion_' });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    if (status >= 400) this.errors.inc({ status: String(status) });
    this.latency.observe({ route }, seconds);
  }
}
