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
  /** Read it (`get()`, a scrape) for the figures; count with `countHttpRequest`. */
  httpRequests: client.Counter<'route' | 'method' | 'status'>;
  /**
   * Counts one answer in `httpRequests`. It runs on every request, so it only adds to a
   * plain tally; the counter takes the tally over whenever it is read.
   */
  countHttpRequest(route: string, method: string, status: string): void;
  captureDuration: client.Histogram<'outcome'>;
  rateLimitRefusals: client.Counter<'policy'>;
  limitStoreFailures: client.Counter;
  authFailures: client.Counter<'reason'>;
  /** What the result cache did for each capture answer, and its store's failures. */
  cache: CacheEvents;
}

/**
 * Creates the registry with process metrics and PageShot's own. The process metrics keep
 * prom-client's standard names (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`,
 * `nodejs_heap_size_used_bytes` …), the ones stock Node.js dashboards (Grafana 11159) read;
 * PageShot's own all start with `pageshot_`, so no name can collide.
 */
export function createMetrics(sources: MetricSources): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
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
  const httpRequests = new LabelTally<'route' | 'method' | 'status'>(['route', 'method', 'status']);
  return {
    registry,
    httpRequests: new client.Counter({
      name: 'pageshot_http_requests_total',
      help: 'HTTP requests answered, by route pattern, method and status.',
      labelNames: ['route', 'method', 'status'],
      registers,
      collect() {
        httpRequests.drainInto(this);
      },
    }),
    countHttpRequest: (route, method, status) => httpRequests.add(route, method, status),
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

/** One combination of label values and how many times it was counted since the last drain. */
interface TallyEntry<L extends string> {
  labels: Partial<Record<L, string>>;
  count: number;
}

/**
 * Counts by label values in a plain Map, for counters bumped on every request:
 * prom-client's `inc(labels)` hashes the labels object on each call (pre-bound
 * `labels()` children too), which showed in CPU profiles of the cheapest route. The
 * counter's `collect()` (run before every read) moves the tally into it, so what a
 * scrape or `get()` returns is exact. Entries are kept (their count reset), so memory is
 * bounded by the label values' cardinality, which the metrics keep small.
 */
class LabelTally<L extends string> {
  private readonly entries = new Map<string, TallyEntry<L>>();

  constructor(private readonly labelNames: readonly L[]) {}

  /** Counts one, for `values` in the order of the label names. */
  add(...values: string[]): void {
    // Label values are route patterns, methods, codes: none holds a line feed.
    let id = values[0]!;
    for (let i = 1; i < values.length; i++) id += `\n${values[i]}`;
    const entry = this.entries.get(id);
    if (entry) {
      entry.count += 1;
      return;
    }
    const labels: Partial<Record<L, string>> = {};
    this.labelNames.forEach((name, index) => (labels[name] = values[index]!));
    this.entries.set(id, { labels, count: 1 });
  }

  /** Adds what was counted since the last drain to `counter`. */
  drainInto(counter: client.Counter<L>): void {
    for (const entry of this.entries.values()) {
      if (entry.count === 0) continue;
      counter.inc(entry.labels, entry.count);
      entry.count = 0;
    }
  }
}
