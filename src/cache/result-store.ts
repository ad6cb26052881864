/** One capture's answer as the cache keeps it. */
export interface CachedResult {
  body: Buffer;
  contentType: string;
  /** Answer headers that describe the bytes (final URL, target status, truncation, pages), sent again with every hit. */
  headers: Record<string, string>;
  /** Strong entity tag of `body`, quoted (`"…"`). */
  etag: string;
  /** When the capture was stored, ms since the epoch (gives `Age`). */
  storedAt: number;
  /** When it stops being served, ms since the epoch. */
  expiresAt: number;
}

/**
 * Where cached results live: this process's memory, or Redis shared by instances. A
 * store may fail (Redis down); the result cache turns every failure into a miss, so a
 * store never has to hide its errors.
 */
export interface ResultStore {
  /** `memory` or `redis`, for /status and logs. */
  readonly kind: string;
  /** The entry under `key`, or undefined when there is none or it has expired. */
  get(key: string): Promise<CachedResult | undefined>;
  /** Stores `entry` until its `expiresAt`. */
  set(key: string, entry: CachedResult): Promise<void>;
  /** What the store holds now, where it can tell cheaply. */
  stats(): { entries?: number; bytes?: number };
  close(): Promise<void>;
}

/** Bytes an entry is counted as: its body plus a fixed allowance for its headers and bookkeeping. */
export function entrySize(entry: CachedResult): number {
  return entry.body.length + 512;
}
