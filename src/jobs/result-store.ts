import type { Redis } from 'ioredis';
import { ResultShare, type ShareStanding } from './result-share.js';

export type { ShareStanding } from './result-share.js';

/** How a result is kept: how long, and whose share of the store it counts in. */
export interface PutOptions {
  ttlSeconds: number;
  /**
   * The owner whose share the bytes count in, and that share (0: counted, not capped).
   * Without it the bytes are not counted (a synchronous capture's, read once at once).
   */
  share?: { owner: string; limitBytes: number };
}

/** What `put` came to: kept until `expiresAt` (ms), or refused because the owner's share is full. */
export type PutOutcome = { stored: true; expiresAt: number } | { stored: false; standing: ShareStanding };

/**
 * Where a finished job's bytes are kept until they expire. Redis today; an object store
 * (S3) fits the same calls: `put` with an expiry (a lifecycle rule, or the share's own
 * expiry), ranged reads (`Range: bytes=`), `size` (`HEAD`), `delete`; its share account
 * can stay in Redis, reserved before the upload and given back should it fail.
 */
export interface JobResultStore {
  /** Keeps `body` under `id`; counted in the share when `options.share` says whose. */
  put(id: string, body: Buffer, options: PutOptions): Promise<PutOutcome>;
  /** The result's size in bytes, or undefined when there is none (never stored, expired, deleted). */
  size(id: string): Promise<number | undefined>;
  /**
   * `length` bytes from `offset`. Fewer (or none) when the result is shorter, or went
   * away: a reader that knows the size can tell.
   */
  read(id: string, offset: number, length: number): Promise<Buffer>;
  /** The whole result in one buffer: for small results read once (synchronous captures). */
  get(id: string): Promise<Buffer | undefined>;
  /** Deletes the result; its bytes go back to `owner`'s share. Idempotent. */
  delete(id: string, owner?: string): Promise<void>;
  /** How `owner`'s share stands: what it keeps now, and whether anything more fits. */
  share(owner: string, limitBytes: number): Promise<ShareStanding>;
}

/**
 * Results in Redis: one string per job, with the job's lifetime. A result is read in
 * ranges (`GETRANGE`), so neither Redis nor a node ever holds a second whole copy of it
 * for a download, however slow the client; storing one and counting it in its owner's
 * share is one transaction.
 */
export class RedisJobResultStore implements JobResultStore {
  private readonly account: ResultShare;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.account = new ResultShare(redis, prefix);
  }

  /** The Redis key of a job's bytes (also read by tests that make a result expire early). */
  key(id: string): string {
    return `${this.prefix}:job-result:${id}`;
  }

  async put(id: string, body: Buffer, { ttlSeconds, share }: PutOptions): Promise<PutOutcome> {
    const ttlMs = ttlSeconds * 1000;
    if (!share) {
      await this.redis.set(this.key(id), body, 'PX', ttlMs);
      return { stored: true, expiresAt: Date.now() + ttlMs };
    }
    // SET first with its expiry (so nothing outlives it even if the script failed), then
    // the script counts it or deletes it again, in one MULTI: no other client sees a
    // result that is stored and not counted. The bytes never pass through Lua (a copy).
    const transaction = this.redis.multi().set(this.key(id), body, 'PX', ttlMs);
    this.account.account(transaction, this.key(id), id, share.owner, ttlMs, share.limitBytes);
    const replies = await transaction.exec();
    const [setError] = replies?.[0] ?? [new Error('the transaction was discarded')];
    const [scriptError, reply] = replies?.[1] ?? [new Error('the transaction was discarded')];
    if (setError) throw setError;
    if (scriptError) throw scriptError;
    return this.account.accounted(reply as Array<number | string>, share.limitBytes);
  }

  async size(id: string): Promise<number | undefined> {
    const length = await this.redis.strlen(this.key(id));
    // An empty string is no result: a capture is never zero bytes.
    return length > 0 ? length : undefined;
  }

  async read(id: string, offset: number, length: number): Promise<Buffer> {
    if (length <= 0) return Buffer.alloc(0);
    return this.redis.getrangeBuffer(this.key(id), offset, offset + length - 1);
  }

  async get(id: string): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(this.key(id))) ?? undefined;
  }

  async delete(id: string, owner?: string): Promise<void> {
    if (owner === undefined) await this.redis.del(this.key(id));
    else await this.account.forget(this.key(id), id, owner);
  }

  share(owner: string, limitBytes: number): Promise<ShareStanding> {
    return this.account.standing(owner, limitBytes);
  }
}
