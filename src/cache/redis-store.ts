import { validateHeaderValue } from 'node:http';
import { Redis } from 'ioredis';
import { entrySize, type CachedResult, type ResultStore } from './result-store.js';

/** Marks PageShot's own entry format (version 1), so anything else under the key reads as a miss. */
const MAGIC = Buffer.from('PSC1');
/** Types a capture answers with; an entry claiming another is not PageShot's. */
const CONTENT_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'application/pdf']);
/** Headers an entry may carry back: only PageShot's own descriptions of the bytes. */
const HEADER_NAME = /^x-pageshot-[a-z-]{1,32}$/;

/** Settings of the Redis store. */
export interface RedisResultStoreOptions {
  /** A redis:// URL, or a client to use (and not close). */
  redis: string | Redis;
  /** Bytes one entry may have at most (larger results are not stored). */
  maxEntryBytes: number;
  keyPrefix?: string;
  now?: () => number;
}

/**
 * Results in Redis, so every instance sharing it answers each other's repeats. Each
 * entry is one binary string that expires with the result (`PX`): Redis drops it on its
 * own, and its `maxmemory` policy bounds the total (the operator's choice). Commands fail
 * fast while Redis is away (no offline queue, a short command timeout): the cache then
 * misses, it never makes a capture wait.
 */
export class RedisResultStore implements ResultStore {
  readonly kind = 'redis';
  private readonly client: Redis;
  private readonly ownsClient: boolean;
  private readonly keyPrefix: string;
  private readonly now: () => number;

  constructor(private readonly options: RedisResultStoreOptions) {
    this.keyPrefix = options.keyPrefix ?? 'pageshot:cache:v1:';
    this.now = options.now ?? Date.now;
    this.ownsClient = typeof options.redis === 'string';
    this.client =
      typeof options.redis === 'string'
        ? new Redis(options.redis, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 1_000, commandTimeout: 500 })
        : options.redis;
    // The result cache logs failures (once per outage); ioredis would print every retry.
    if (this.ownsClient) this.client.on('error', () => {});
  }

  async get(key: string): Promise<CachedResult | undefined> {
    const raw = await this.client.getBuffer(this.keyPrefix + key);
    if (!raw) return undefined;
    const entry = decodeEntry(raw);
    return entry && entry.expiresAt > this.now() ? entry : undefined;
  }

  async set(key: string, entry: CachedResult): Promise<void> {
    const ttlMs = entry.expiresAt - this.now();
    if (ttlMs <= 0 || entrySize(entry) > this.options.maxEntryBytes) return;
    await this.client.set(this.keyPrefix + key, encodeEntry(entry), 'PX', ttlMs);
  }

  stats(): Record<string, never> {
    return {};
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** MAGIC, the header's length (4 bytes, big-endian), the header as JSON, then the body. */
export function encodeEntry(entry: CachedResult): Buffer {
  const { body, ...header } = entry;
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([MAGIC, length, json, body]);
}

/**
 * Reads an entry back, trusting nothing in it: whatever is not exactly PageShot's format
 * (another program's value, a truncated write, a header that could not be sent) is
 * undefined, which the cache treats as a miss.
 */
export function decodeEntry(raw: Buffer): CachedResult | undefined {
  if (raw.length < 8 || !raw.subarray(0, 4).equals(MAGIC)) return undefined;
  const headerLength = raw.readUInt32BE(4);
  if (8 + headerLength > raw.length) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(raw.subarray(8, 8 + headerLength).toString('utf8'));
  } catch {
    return undefined;
  }
  if (!header || typeof header !== 'object') return undefined;
  const { contentType, headers, etag, storedAt, expiresAt } = header as Record<string, unknown>;
  if (typeof contentType !== 'string' || !CONTENT_TYPES.has(contentType)) return undefined;
  if (typeof etag !== 'string' || !/^"[A-Za-z0-9_-]{1,64}"$/.test(etag)) return undefined;
  if (typeof storedAt !== 'number' || typeof expiresAt !== 'number' || !Number.isFinite(storedAt) || !Number.isFinite(expiresAt)) return undefined;
  if (!headers || typeof headers !== 'object' || Array.isArray(headers)) return undefined;
  const safeHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HEADER_NAME.test(name) || typeof value !== 'string' || !sendable(name, value)) return undefined;
    safeHeaders[name] = value;
  }
  return { body: raw.subarray(8 + headerLength), contentType, headers: safeHeaders, etag, storedAt, expiresAt };
}

function sendable(name: string, value: string): boolean {
  try {
    validateHeaderValue(name, value);
    return /^[\x20-\x7e]*$/.test(value);
  } catch {
    return false;
  }
}
