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
 *
 * A lookup takes the cache's `epoch` before it queries the store and hands it back to
 * `set()`. Every invalidation moves the epoch on, so a lookup that was already under way
 * when a key was revoked cannot put the record it read before the revoke back into the
 * cache (where it would stay valid for `ttlMs`): its result is used once, not stored.
 *
 * @example
 * const epoch = cache.epoch;
 * const record = await store.findByHash(hash);
 * cache.set(hash, record && toCachedKey(record), epoch);
 */
export class KeyCache {
  private readonly entries = new Map<string, Entry>();
  // One counter for all hashes: invalidations are rare (admin actions), and a per-hash
  // one would have to remember every invalidated hash. The cost of sharing it is only
  // that a lookup overlapping any invalidation is not cached, and is repeated next time.
  #epoch = 0;
  /** The hash last moved to (or inserted at) the newest end of `entries`. */
  private newest: string | undefined;

  constructor(
    private readonly ttlMs = 30_000,
    private readonly negativeTtlMs = 5_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached lookup: a key, `undefined` for "known not to exist", or `'miss'`. */
  get(hash: string, now = Date.now()): CachedKey | undefined | 'miss' {
    const entry = this.entries.get(hash);
    if (!entry || entry.expires <= now) return 'miss';
    // Moved to the newest end (the Map's order is least recently used first), unless it
    // is there already: a key that sends request after request skips the delete + set.
    if (this.newest !== hash) {
      this.entries.delete(hash);
      this.entries.set(hash, entry);
      this.newest = hash;
    }
    return entry.key;
  }

  /** Moves on with every invalidation; pass the value read before a lookup to `set()`. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * Caches a lookup's result, unless an invalidation happened since the lookup began
   * (`epoch` is what `this.epoch` was then): that result may predate the change.
   *
   * @returns Whether the result was stored.
   */
  set(hash: string, key: CachedKey | undefined, epoch: number, now = Date.now()): boolean {
    if (epoch !== this.#epoch) return false;
    this.entries.delete(hash);
    this.entries.set(hash, { key, expires: now + (key ? this.ttlMs : this.negativeTtlMs) });
    this.newest = hash;
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return true;
  }

  /** Forgets `hash`, and keeps lookups already under way from storing what they read. */
  invalidate(hash: string): void {
    this.#epoch += 1;
    this.entries.delete(hash);
  }

  /** Forgets every key (changes may have been missed), and keeps lookups under way from storing theirs. */
  clear(): void {
    this.#epoch += 1;
    this.entries.clear();
    this.newest = undefined;
  }
}
