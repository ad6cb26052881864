import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { CaptureOptions } from '../capture/options.js';
import type { CacheConfig } from '../config.js';
import { cacheKey } from './cache-key.js';
import { MemoryResultStore } from './memory-store.js';
import { RedisResultStore } from './redis-store.js';
import type { CachedResult, ResultStore } from './result-store.js';
import { SingleFlight } from './single-flight.js';

/** What the cache did for one answer, as `X-Cache` tells it. */
export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

/** How one request uses the cache; none at all (BYPASS) when its TTL is 0. */
export interface CachePlan {
  key: string;
  /** How old a stored result may be to answer this request, and how long a new one is kept. */
  ttlSeconds: number;
  /** False with `fresh: true`: render anew (and store the result) rather than read. */
  read: boolean;
}

/** Counts what the cache does, for the metrics. */
export interface CacheEvents {
  answered(status: CacheStatus): void;
  storeFailed(operation: 'get' | 'set'): void;
}

const noEvents: CacheEvents = { answered() {}, storeFailed() {} };

/** The strong entity tag of a body: a SHA-256 prefix, quoted. */
export function entityTag(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/**
 * Whether an `If-None-Match` header names `etag` (RFC 9110 §13.1.2: weak comparison,
 * so `W/"x"` matches `"x"`; `*` matches any current representation).
 */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * The result cache: repeats of a capture answered from a store, and identical captures
 * running at once shared (single flight). It never fails a capture: a store that errs
 * or times out is a miss, logged once per outage.
 */
export class ResultCache<T = unknown> {
  /** Identical captures running now, shared by every request that asks for one. */
  readonly flights = new SingleFlight<T>();
  private failing = false;

  constructor(
    readonly store: ResultStore,
    private readonly config: CacheConfig,
    private readonly logger: Logger,
    private readonly events: CacheEvents = noEvents,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * How a request uses the cache: its `cacheTtl` (else the server's default), lowered
   * to the maximum; undefined when that is 0. Results are kept per caller (one API key)
   * unless the operator shares them, and always apart per host list: a key held to some
   * hosts renders pages whose other resources were refused, so a picture made before the
   * key was narrowed (with images from a host it may no longer load) is not shown after.
   */
  plan(caller: { caller: string; allowedHosts: readonly string[] }, options: CaptureOptions): CachePlan | undefined {
    const ttlSeconds = Math.min(options.cacheTtl ?? this.config.defaultTtlSeconds, this.config.maxTtlSeconds);
    if (ttlSeconds <= 0) return undefined;
    const scope = `${this.config.shared ? '*' : caller.caller}\n${caller.allowedHosts.join(',')}`;
    return { key: cacheKey(scope, options), ttlSeconds, read: !options.fresh };
  }

  /** The stored result that may answer `plan`: not expired, and no older than its TTL. */
  async lookup(plan: CachePlan): Promise<CachedResult | undefined> {
    if (!plan.read) return undefined;
    try {
      const entry = await this.store.get(plan.key);
      this.recovered();
      if (!entry || this.now() - entry.storedAt > plan.ttlSeconds * 1000) return undefined;
      return entry;
    } catch (error) {
      this.failed('get', error);
      return undefined;
    }
  }

  /** Stores a new result for `plan`; returns the entry as it is served (with its tag and times). */
  async remember(plan: CachePlan, result: Pick<CachedResult, 'body' | 'contentType' | 'headers'>): Promise<CachedResult> {
    const storedAt = this.now();
    const entry: CachedResult = { ...result, etag: entityTag(result.body), storedAt, expiresAt: storedAt + plan.ttlSeconds * 1000 };
    try {
      await this.store.set(plan.key, entry);
      this.recovered();
    } catch (error) {
      this.failed('set', error);
    }
    return entry;
  }

  /** Counts one answer by what the cache did for it. */
  answered(status: CacheStatus): void {
    this.events.answered(status);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private failed(operation: 'get' | 'set', error: unknown): void {
    this.events.storeFailed(operation);
    if (this.failing) return;
    this.failing = true;
    this.logger.warn({ err: error, store: this.store.kind }, 'the result cache cannot be reached: capturing without it until it answers again');
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.logger.info({ store: this.store.kind }, 'the result cache answers again');
  }
}

/** The store the configuration asks for: Redis when PAGESHOT_REDIS_URL is set, else memory. */
export function createResultStore(config: CacheConfig): ResultStore {
  const maxEntryBytes = config.maxBytes / 4;
  return config.redisUrl ? new RedisResultStore({ redis: config.redisUrl, maxEntryBytes }) : new MemoryResultStore(config.maxBytes);
}
