import type { ApiKeyRecord } from '../store/schema.js';
import type { Principal } from './principal.js';

/** A stored key as the hot path needs it: times already parsed, principal already built. */
export interface CachedKey {
  record: ApiKeyRecord;
  principal: Principal;
  revokedAtMs: number | null;
  expiresAtMs: number | null;
}

interface Entry {
  key: CachedKey | undefined;
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

  /** The cached lookup: a key, `undefined` for "known not to exist", or `'miss'`. */
  get(hash: string, now = Date.now()): CachedKey | undefined | 'miss' {
    const entry = this.entries.get(hash);
    if (!entry || entry.expires <= now) return 'miss';
    this.entries.delete(hash);
    this.entries.set(hash, entry);
    return entry.key;
  }

  set(hash: string, key: CachedKey | undefined, now = Date.now()): void {
    this.entries.delete(hash);
    this.entries.set(hash, { key, expires: now + (key ? this.ttlMs : this.negativeTtlMs) });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  invalidate(hash: string): void {
    this.entries.delete(hash);
  }
}
