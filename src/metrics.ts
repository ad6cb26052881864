import client from 'prom-client';
import type { CacheEvents } from './cache/result-cache.js';

/** Live values the metrics read when scraped. */
export interface MetricSources {
  queue: () => { activeRequests: number; queuedRequests: number };
  browserRestarts: () => number;
  poolContexts: () => number;
}

/**
 * PageShot's Prometheus metrics, in their own registry. Labels never hold a key, a key
 * id or a target URL: only route patterns (`/v1/keys/:id`), methods, status codes,
 * outcomes, policies and reasons, so cardinality stays small and nothing leaks.
 */
export interface Metrics {
  registry: client.Registry;
  httpRequests: client.Counter<'route' | 'method' | 'status'>;
  captureDuration: client.Histogram<'outcome'>;
  rateLimitRefusals: client.Counter<'policy'>;
  limitStoreFailures: client.Counter;
  authFailures: client.Counter<'reason'>;
  /** What the result cache did for each capture answer, and its store's failures. */
  cache: CacheEvents;
}

/** Creates the registry with process metrics and PageShot's own. */
export function createMetrics(sources: MetricSources): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'pageshot_process_' });
  const registers = [registry];
  new client.Gauge({
    name: 'pageshot_queue_depth',
    help: 'Requests waiting for a capture slot.',
    registers,
    collect() {
      this.set(sources.queue().queuedRequests);
    },
  });
  new client.Gauge({
    name: 'pageshot_captures_in_flight',
    help: 'Captures running now.',
    registers,
    collect() {
      this.set(sources.queue().activeRequests);
    },
  });
  new client.Gauge({
    name: 'pageshot_pool_contexts',
    help: 'Browser contexts open in the warm pool.',
    registers,
    collect() {
      this.set(sources.poolContexts());
    },
  });
  new client.Counter({
    name: 'pageshot_browser_restarts_total',
    help: 'Times Chromium was replaced, after a crash or a capture budget.',
    registers,
    collect() {
      this.reset();
      this.inc(sources.browserRestarts());
    },
  });
  return {
    registry,
    httpRequests: new client.Counter({
      name: 'pageshot_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers,
    }),
    captureDuration: new client.Histogram({
      name: 'pageshot_capture_duration_seconds',
      help: 'Time from taking a browser context to having the image (or failing).',
      labelNames: ['outcome'],
      buckets: [0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60],
      registers,
    }),
    rateLimitRefusals: new client.Counter({
      name: 'pageshot_rate_limit_refusals_total',
      help: 'Requests refused by a per-key policy (rate, daily, concurrent).',
      labelNames: ['policy'],
      registers,
    }),
    limitStoreFailures: new client.Counter({
      name: 'pageshot_limit_store_failures_total',
      help: 'Rate-limit decisions that could not reach Redis.',
      registers,
    }),
    authFailures: new client.Counter({
      name: 'pageshot_auth_failures_total',
      help: 'Failed authentications, by reason code.',
      labelNames: ['reason'],
      registers,
    }),
    cache: cacheMetrics(registers),
  };
}

/** Counters of the result cache, with their label values bound once (this runs on every capture answer). */
function cacheMetrics(registers: client.Registry[]): CacheEvents {
  const answers = new client.Counter({
    name: 'pageshot_cache_answers_total',
    help: 'Capture answers by what the result cache did: HIT (stored or shared render), MISS (rendered and stored), BYPASS (no cache asked).',
    labelNames: ['result'],
    registers,
  });
  const failures = new client.Counter({
    name: 'pageshot_cache_store_failures_total',
    help: 'Result-cache reads and writes that failed (the capture went on without the cache).',
    labelNames: ['operation'],
    registers,
  });
  const byStatus = { HIT: answers.labels('HIT'), MISS: answers.labels('MISS'), BYPASS: answers.labels('BYPASS') };
  return {
    answered: (status) => byStatus[status].inc(),
    storeFailed: (operation) => failures.labels(operation).inc(),
  };
}
