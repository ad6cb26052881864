import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** The Redis channel on which instances tell each other that a key changed (its hash, hex). */
export const KEY_CHANGES_CHANNEL = 'pageshot:keys:changed';

/** A key's hash as every instance knows it: SHA-256, lower-case hex. */
const KEY_HASH = /^[0-9a-f]{64}$/;

/**
 * Tells the other instances sharing a store that a key changed (revoked, disabled,
 * rotated, updated), so they drop it from their key caches at once instead of after the
 * cache's lifetime (30 s), which stays as the backstop for a message that is lost.
 */
export interface KeyChanges {
  /** Announces a change of the key with this hash; never rejects (a failure is logged). */
  publish(hash: string): Promise<void>;
  close(): Promise<void>;
}

/** Without Redis there is no one to tell: the local cache is invalidated by its caller. */
export const noKeyChanges: KeyChanges = { publish: async () => {}, close: async () => {} };

/** What an instance does with the changes it hears of. */
export interface KeyChangeListener {
  /** Another instance (or this one, or the CLI) changed the key with this hash. */
  changed(hash: string): void;
  /** Messages may have been missed (the subscription was down): forget every cached key. */
  missedSome(): void;
}

/**
 * Key changes over Redis pub/sub: one connection publishes, one listens. A message is
 * only a key's hash (what the store holds anyway, never a key). Whatever else arrives on
 * the channel is ignored. When the listening connection comes back after an outage, every
 * cached key is forgotten, since changes made meanwhile were not heard.
 */
export class RedisKeyChanges implements KeyChanges {
  private readonly publisher: Redis;
  private readonly subscriber: Redis | undefined;
  private everReady = false;
  private failing = false;

  constructor(redisUrl: string, listener: KeyChangeListener | undefined, private readonly logger: Logger) {
    const options = { maxRetriesPerRequest: 1, connectTimeout: 1_000 };
    // Queued until connected (the CLI publishes right after it starts), bounded by the timeout.
    this.publisher = new Redis(redisUrl, { ...options, commandTimeout: 500 });
    this.publisher.on('error', () => {});
    if (!listener) return;
    // A subscribed connection may only (un)subscribe; ioredis subscribes again by itself after a reconnect.
    const subscriber = new Redis(redisUrl, options);
    this.subscriber = subscriber;
    subscriber.on('error', () => {});
    subscriber.on('ready', () => {
      if (this.everReady) {
        this.logger.info('key changes are heard again; forgetting every cached key in case some were missed');
        listener.missedSome();
      }
      this.everReady = true;
    });
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === KEY_CHANGES_CHANNEL && KEY_HASH.test(message)) listener.changed(message);
    });
    subscriber.subscribe(KEY_CHANGES_CHANNEL).catch((error: unknown) => {
      this.logger.warn({ err: error }, 'cannot listen for key changes on Redis yet; cached keys expire after 30 s meanwhile');
    });
  }

  publish(hash: string): Promise<void> {
    return this.publisher.publish(KEY_CHANGES_CHANNEL, hash).then(
      () => {
        this.failing = false;
      },
      (error: unknown) => {
        if (this.failing) return;
        this.failing = true;
        this.logger.warn({ err: error }, 'could not announce a key change on Redis; other instances see it within 30 s');
      },
    );
  }

  async close(): Promise<void> {
    await Promise.all(
      [this.publisher, this.subscriber].map((client) => client?.quit().catch(() => client.disconnect())),
    );
  }
}

/** Key changes for this configuration: over Redis when one is configured, else none. */
export function createKeyChanges(redisUrl: string | undefined, listener: KeyChangeListener | undefined, logger: Logger): KeyChanges {
  return redisUrl ? new RedisKeyChanges(redisUrl, listener, logger) : noKeyChanges;
}
