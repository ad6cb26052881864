import { entrySize, type CachedResult, type ResultStore } from './result-store.js';

/**
 * Results in this process's memory, least recently used first out, bounded by bytes.
 * A JavaScript Map keeps insertion order: reading an entry moves it to the end, so the
 * first key is always the least recently used one.
 */
export class MemoryResultStore implements ResultStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, CachedResult>();
  private bytes = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<CachedResult | undefined> {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= this.now()) {
      this.bytes -= entrySize(entry);
      return undefined;
    }
    this.entries.set(key, entry);
    return entry;
  }

  async set(key: string, entry: CachedResult): Promise<void> {
    this.remove(key);
    const size = entrySize(entry);
    // One huge result must not push out everything else.
    if (size > this.maxBytes / 4) return;
    this.entries.set(key, entry);
    this.bytes += size;
    for (const [oldest] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.remove(oldest);
    }
  }

  stats(): { entries: number; bytes: number } {
    return { entries: this.entries.size, bytes: this.bytes };
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entrySize(entry);
  }
}
