import type { ApiKeyRecord } from '../store/schema.js';

interface Entry {
  record: ApiKeyRecord | undefined;
  expires: number;
}

/**
 * A small LRU of key lookups by hash, so most requests need no database query.
 * Changes made through this instance (revoke, disable, rotate…) invalidate the entry at
 * once; `ttlMs` bounds how long a change made elsewhere (another instance, the CLI) can
 * go unseen. Unknown hashes are cached too, briefly, so a flood of well-formed but
 * invented keys does not become a flood of queries.
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly negativeTtlMs = 5_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached lookup: a record, `undefined` for "known not to exist", or `'miss'`. */
  get(hash: string, now = Date.now()): ApiKeyRecord | undefined | 'miss' {
    const entry = this.entries.get(hash);
    if (!entry || entry.expires <= now) return 'miss';
    this.entries.delete(hash);
    this.entries.set(hash, entry);
    return entry.record;
  }

  set(hash: string, record: ApiKeyRecord | undefined, now = Date.now()): void {
    this.entries.delete(hash);
    this.entries.set(hash, { record, expires: now + (record ? this.ttlMs : this.negativeTtlMs) });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  invalidate(hash: string): void {
    this.entries.delete(hash);
  }
}
