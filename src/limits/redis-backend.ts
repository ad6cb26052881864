import { Redis } from 'ioredis';
import { REFUSED_BY, makeDecision } from './decision.js';
import { emissionIntervalUs, msToUs } from './gcra.js';
import { type LimitBackend, type LimitDecision, type LimitPolicy, validatePolicy } from './policy.js';
import { CONSUME_SCRIPT, REFUND_SCRIPT } from './redis-script.js';

/** How a RedisLimitBackend reaches Redis. */
export interface RedisLimitBackendOptions {
  /**
   * A `redis://` / `rediss://` URL (the backend opens, owns and closes the connection),
   * or an ioredis client to share (left open by close(); configure it to fail fast).
   */
  redis: string | Redis;
  /** Prefix of every key. Default `pageshot:rl:`. */
  keyPrefix?: string;
  /** Give up connecting after this long. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** Fail a decision Redis has not answered after this long. Default 500 ms. */
  commandTimeoutMs?: number;
  /**
   * For tests only: a clock in ms sent with each call instead of Redis's own TIME.
   * Production leaves it unset so that every instance uses one clock.
   */
  clock?: () => number;
}

/** How long a daily counter outlives its day: nothing reads it then; it just goes. */
const DAY_KEY_MARGIN_MS = 60_000;
/**
 * How long a bucket outlives the moment it is full again: none on Redis's clock (then a
 * missing key and a full bucket read the same). An injected clock need not advance with
 * Redis's, so its buckets get slack lest Redis expire them mid-test.
 */
const BUCKET_SLACK_MS = { redisClock: 0, injectedClock: 60_000 };

type ScriptReply = [number, number, number, number, number, number, number];

/** The two scripts, as ioredis defineCommand() adds them to a client. */
interface LimitCommands {
  pageshotLimitConsume(burstKey: string, dailyKey: string, ...args: string[]): Promise<ScriptReply>;
  pageshotLimitRefund(dailyKey: string, now: string): Promise<number>;
}

/**
 * Rate limits shared by every instance through Redis. Each decision is one round trip
 * running one Lua script (EVALSHA; ioredis falls back to EVAL after a NOSCRIPT) that
 * reads the clock with TIME, decides both policies and writes both, atomically — so two
 * instances firing at once still admit exactly `burst`.
 *
 * Keys: `pageshot:rl:{<caller>}:burst` and `pageshot:rl:{<caller>}:daily`. The braces are
 * a Redis Cluster hash tag: both keys of a caller land in one slot, as a script needs.
 * Both expire by themselves: the bucket when it is full again, the counter a minute
 * after its UTC day ends.
 *
 * An unreachable Redis fails a call at once (no offline queue, one retry, short timeouts)
 * rather than holding requests; FailoverLimitBackend decides what to do then.
 */
export class RedisLimitBackend implements LimitBackend {
  /** The ioredis client in use. */
  readonly client: Redis;
  private readonly commands: LimitCommands;
  private readonly ownsClient: boolean;
  private readonly keyPrefix: string;
  private readonly clock: (() => number) | undefined;

  constructor(options: RedisLimitBackendOptions) {
    this.keyPrefix = options.keyPrefix ?? 'pageshot:rl:';
    this.clock = options.clock;
    this.ownsClient = typeof options.redis === 'string';
    this.client =
      typeof options.redis === 'string'
        ? new Redis(options.redis, {
            maxRetriesPerRequest: 1,
            enableOfflineQueue: false,
            connectTimeout: options.connectTimeoutMs ?? 1_000,
            commandTimeout: options.commandTimeoutMs ?? 500,
          })
        : options.redis;
    // Without a listener ioredis prints every connection error; the caller of consume()
    // gets the error anyway, and FailoverLimitBackend logs outages once.
    if (this.ownsClient) this.client.on('error', () => {});
    this.client.defineCommand('pageshotLimitConsume', { numberOfKeys: 2, lua: CONSUME_SCRIPT });
    this.client.defineCommand('pageshotLimitRefund', { numberOfKeys: 1, lua: REFUND_SCRIPT });
    this.commands = this.client as unknown as LimitCommands;
  }

  /** Resolves once the connection is ready; rejects if it is not within `timeoutMs`. */
  ready(timeoutMs = 2_000): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: Error): void => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        if (error) reject(error);
        else resolve();
      };
      const onReady = (): void => done();
      const timer = setTimeout(() => done(new Error(`Redis was not ready within ${timeoutMs} ms`)), timeoutMs);
      this.client.once('ready', onReady);
    });
  }

  /** The key of `caller`'s burst bucket (`part` 'burst') or daily counter ('daily'). */
  key(caller: string, part: 'burst' | 'daily'): string {
    return `${this.keyPrefix}{${caller}}:${part}`;
  }

  /** One atomic decision, one round trip (see LimitBackend.consume). */
  async consume(caller: string, policy: LimitPolicy): Promise<LimitDecision> {
    validatePolicy(policy);
    const interval = policy.rate > 0 ? emissionIntervalUs(policy.rate) : 0;
    const reply = await this.commands.pageshotLimitConsume(
      this.key(caller, 'burst'),
      this.key(caller, 'daily'),
      String(interval),
      String(policy.burst),
      String(policy.daily),
      this.nowArg(),
      String(DAY_KEY_MARGIN_MS),
      String(this.clock ? BUCKET_SLACK_MS.injectedClock : BUCKET_SLACK_MS.redisClock),
    );
    const [refused, retryUs, burstRemaining, burstResetUs, dailyRemaining, dailyResetUs, nowUs] = reply;
    return makeDecision(policy, REFUSED_BY[refused], retryUs, burstRemaining, burstResetUs, dailyRemaining, dailyResetUs, nowUs);
  }

  /** Gives back one of today's units to `caller`, never below zero (one script, atomic). */
  async refundDaily(caller: string): Promise<void> {
    await this.commands.pageshotLimitRefund(this.key(caller, 'daily'), this.nowArg());
  }

  /** Closes the connection if this backend opened it; a shared client stays open. */
  async close(): Promise<void> {
    if (!this.ownsClient) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect(); // not connected: nothing to say goodbye to
    }
  }

  private nowArg(): string {
    return this.clock ? String(msToUs(this.clock())) : '';
  }
}
