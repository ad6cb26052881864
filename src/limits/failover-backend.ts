import { MemoryLimitBackend } from './memory-backend.js';
import { type LimitBackend, type LimitDecision, type LimitPolicy, validatePolicy } from './policy.js';

/**
 * What to do while the shared store (Redis) is unreachable:
 * - `local`: decide in this process's memory — limits hold per instance (default);
 * - `open`: admit every request, with no rate-limit state (so no headers);
 * - `closed`: refuse with LimitStoreUnavailableError (the HTTP layer answers 503).
 */
export type FailoverMode = 'local' | 'open' | 'closed';

/** The logger FailoverLimitBackend reports outages to (pino's fits). */
export interface FailoverLogger {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** How FailoverLimitBackend behaves during an outage. */
export interface FailoverLimitBackendOptions {
  /** The shared store, normally a RedisLimitBackend. */
  primary: LimitBackend;
  /** Default `local`. */
  mode?: FailoverMode;
  logger: FailoverLogger;
  /** Called on every failed call to the store, e.g. to count it in a metric. */
  onStoreFailure?: (error: unknown) => void;
  /** After a failure, the store is tried again no sooner than this. Default 1000 ms. */
  retryIntervalMs?: number;
  /** The per-instance backend of `local` mode. Default: a new MemoryLimitBackend. */
  fallback?: MemoryLimitBackend;
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
}

/** Thrown in `closed` mode while the store is unreachable; the request should get a 503. */
export class LimitStoreUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('The rate-limit store is unavailable', options);
    this.name = 'LimitStoreUnavailableError';
  }
}

/**
 * Puts a fallback in front of the shared store so a Redis outage never hangs or breaks
 * requests. The first failure starts an outage: it is logged once, and for the next
 * `retryIntervalMs` requests go straight to the fallback without waiting on Redis; then
 * one request tries Redis again. The first success ends the outage (logged once too).
 */
export class FailoverLimitBackend implements LimitBackend {
  /** Calls to the store that failed since start-up. */
  storeFailures = 0;
  private readonly primary: LimitBackend;
  private readonly mode: FailoverMode;
  private readonly logger: FailoverLogger;
  private readonly onStoreFailure: ((error: unknown) => void) | undefined;
  private readonly retryIntervalMs: number;
  private readonly fallback: MemoryLimitBackend;
  private readonly now: () => number;
  private outageSince: number | undefined;
  private nextTryAt = 0;
  private lastError: unknown;

  constructor(options: FailoverLimitBackendOptions) {
    this.primary = options.primary;
    this.mode = options.mode ?? 'local';
    this.logger = options.logger;
    this.onStoreFailure = options.onStoreFailure;
    this.retryIntervalMs = options.retryIntervalMs ?? 1_000;
    this.now = options.now ?? Date.now;
    this.fallback = options.fallback ?? new MemoryLimitBackend({ now: this.now });
  }

  /** True while the store is considered unreachable and the mode's fallback decides. */
  get degraded(): boolean {
    return this.outageSince !== undefined;
  }

  /** One decision by the store, or by the mode's fallback while the store is unreachable. */
  async consume(caller: string, policy: LimitPolicy): Promise<LimitDecision> {
    validatePolicy(policy); // a bad policy is our bug, not an outage
    if (this.shouldTryStore()) {
      try {
        const decision = await this.primary.consume(caller, policy);
        this.storeAnswered();
        return decision;
      } catch (error) {
        this.storeFailed(error);
      }
    }
    if (this.mode === 'local') return this.fallback.consume(caller, policy);
    if (this.mode === 'open') return { allowed: true };
    throw new LimitStoreUnavailableError({ cause: this.lastError });
  }

  /**
   * Gives back one of today's units. During an outage in `local` mode the unit goes back
   * to the local count (the request was most likely charged there); otherwise it is dropped.
   */
  async refundDaily(caller: string): Promise<void> {
    if (this.shouldTryStore()) {
      try {
        await this.primary.refundDaily(caller);
        this.storeAnswered();
        return;
      } catch (error) {
        this.storeFailed(error);
      }
    }
    if (this.mode === 'local') await this.fallback.refundDaily(caller);
  }

  /** Closes the store and the fallback. */
  async close(): Promise<void> {
    await Promise.all([this.primary.close(), this.fallback.close()]);
  }

  private shouldTryStore(): boolean {
    if (this.outageSince === undefined) return true;
    const now = this.now();
    if (now < this.nextTryAt) return false;
    // Only this request probes; those arriving while it waits use the fallback.
    this.nextTryAt = now + this.retryIntervalMs;
    return true;
  }

  private storeAnswered(): void {
    if (this.outageSince === undefined) return;
    const outageMs = this.now() - this.outageSince;
    this.outageSince = undefined;
    this.logger.info({ outageMs, failures: this.storeFailures }, 'Rate-limit store answers again; limits are shared again');
  }

  private storeFailed(error: unknown): void {
    this.storeFailures += 1;
    this.lastError = error;
    this.onStoreFailure?.(error);
    const now = this.now();
    this.nextTryAt = now + this.retryIntervalMs;
    if (this.outageSince !== undefined) return;
    this.outageSince = now;
    const details = { err: error, mode: this.mode };
    if (this.mode === 'closed') {
      this.logger.error(details, 'Rate-limit store unreachable; refusing requests with 503 until it answers');
    } else if (this.mode === 'open') {
      this.logger.warn(details, 'Rate-limit store unreachable; admitting requests without limits until it answers');
    } else {
      this.logger.warn(details, 'Rate-limit store unreachable; enforcing limits per instance until it answers');
    }
  }
}
