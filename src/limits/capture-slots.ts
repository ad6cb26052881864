import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { ConcurrencyLimiter } from './concurrency-limiter.js';

/** A slot held for one capture; give it back once, when the capture is over. */
export interface CaptureSlot {
  release(): void;
}

/**
 * Caps each caller's captures in flight (a key's `concurrent`). Taking a slot succeeds or
 * fails at once (a caller over its cap is refused, never queued). `tryAcquire` answers
 * synchronously where it can (in this process) and with a promise where it must ask
 * another store (Redis).
 */
export interface CaptureSlots {
  tryAcquire(caller: string, limit: number): CaptureSlot | undefined | Promise<CaptureSlot | undefined>;
  close(): Promise<void>;
}

/** Slots counted in this process: the cap holds per instance. */
export class LocalCaptureSlots implements CaptureSlots {
  constructor(private readonly limiter = new ConcurrencyLimiter()) {}

  tryAcquire(caller: string, limit: number): CaptureSlot | undefined {
    if (!this.limiter.tryAcquire(caller, limit)) return undefined;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.limiter.release(caller);
      },
    };
  }

  async close(): Promise<void> {}
}

/**
 * Takes a lease when the caller holds fewer than `limit` live ones: leases are members of
 * a sorted set per caller scored by their expiry on Redis's clock; expired ones (a node
 * that died holding them) are dropped first. KEYS[1] the caller's set; ARGV: limit, lease
 * id, lease ms. Returns 1 when taken.
 */
const ACQUIRE_SCRIPT = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], nowMs + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return 1
`;

/** Moves a live lease's expiry on (XX: a lease already dropped is not brought back). KEYS[1] set; ARGV: id, lease ms. */
const RENEW_SCRIPT = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', nowMs + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return 1
`;

interface SlotCommands {
  pageshotSlotAcquire(key: string, limit: number, id: string, leaseMs: number): Promise<number>;
  pageshotSlotRenew(key: string, id: string, leaseMs: number): Promise<number>;
}

/** Settings of the Redis slots. */
export interface RedisCaptureSlotsOptions {
  redis: string;
  logger: Logger;
  /** What to do while Redis cannot be reached (PAGESHOT_LIMITS_ON_STORE_FAILURE). */
  onStoreFailure: 'local' | 'open' | 'closed';
  /** How long a lease lives unless renewed (a node that dies frees its slots after this). */
  leaseMs?: number;
  keyPrefix?: string;
}

/** Raised by a Redis slot store that cannot decide (mode `closed` while Redis is away). */
export class SlotStoreUnavailableError extends Error {}

/**
 * Per-key caps held in Redis, so that `concurrent: 2` means two captures across every
 * instance. A slot is a lease with a TTL, renewed every third of it while the capture
 * runs and removed when it ends (success, failure, client gone); a node that crashes
 * holding leases frees them when they expire. While Redis cannot be reached, slots are
 * counted in this process (`local`), not counted (`open`), or refused (`closed`); the
 * outage is logged once.
 */
export class RedisCaptureSlots implements CaptureSlots {
  private readonly client: Redis;
  private readonly commands: SlotCommands;
  private readonly leaseMs: number;
  private readonly keyPrefix: string;
  private readonly fallback = new LocalCaptureSlots();
  /** Leases held by this process: id → its caller's set. */
  private readonly held = new Map<string, string>();
  private readonly renewer: NodeJS.Timeout;
  private failing = false;

  constructor(private readonly options: RedisCaptureSlotsOptions) {
    this.leaseMs = options.leaseMs ?? 30_000;
    this.keyPrefix = options.keyPrefix ?? 'pageshot:slots:';
    // Commands wait for the connection (the first captures after start), at most 500 ms;
    // during an outage they are not sent at all (see tryAcquire).
    this.client = new Redis(options.redis, { maxRetriesPerRequest: 1, connectTimeout: 1_000, commandTimeout: 500 });
    this.client.on('error', () => {});
    this.client.defineCommand('pageshotSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
    this.client.defineCommand('pageshotSlotRenew', { numberOfKeys: 1, lua: RENEW_SCRIPT });
    this.commands = this.client as unknown as SlotCommands;
    this.renewer = setInterval(() => this.renewAll(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.renewer.unref();
  }

  async tryAcquire(caller: string, limit: number): Promise<CaptureSlot | undefined> {
    if (limit <= 0) return { release() {} };
    // An outage already noticed: do not make every capture wait for a command to time out.
    if (this.failing && this.client.status !== 'ready') return this.withoutRedis(caller, limit, undefined);
    const key = this.keyPrefix + caller;
    const id = randomUUID();
    let taken: number;
    try {
      taken = await this.commands.pageshotSlotAcquire(key, limit, id, this.leaseMs);
      this.recovered();
    } catch (error) {
      return this.withoutRedis(caller, limit, error);
    }
    if (taken !== 1) return undefined;
    this.held.set(id, key);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.held.delete(id);
        // A release Redis misses expires with the lease.
        this.client.zrem(key, id).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    clearInterval(this.renewer);
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private withoutRedis(caller: string, limit: number, error: unknown): CaptureSlot | undefined {
    if (!this.failing) {
      this.failing = true;
      this.options.logger.warn({ err: error, mode: this.options.onStoreFailure }, 'per-key capture caps cannot reach Redis');
    }
    if (this.options.onStoreFailure === 'closed') throw new SlotStoreUnavailableError('Redis cannot be reached');
    if (this.options.onStoreFailure === 'open') return { release() {} };
    return this.fallback.tryAcquire(caller, limit);
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.options.logger.info('per-key capture caps reach Redis again');
  }

  private renewAll(): void {
    for (const [id, key] of this.held) this.commands.pageshotSlotRenew(key, id, this.leaseMs).catch(() => undefined);
  }
}

/** Slots for this configuration: in Redis when one is configured, else in this process. */
export function createCaptureSlots(options: Omit<RedisCaptureSlotsOptions, 'redis'> & { redis: string | undefined }): CaptureSlots {
  return options.redis ? new RedisCaptureSlots({ ...options, redis: options.redis }) : new LocalCaptureSlots();
}
