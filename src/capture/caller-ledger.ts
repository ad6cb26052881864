/** What one caller holds in the pool: idle entries (oldest first) and busy contexts. */
interface CallerRecord<E> {
  readonly caller: string;
  readonly idle: E[];
  /** Contexts of this caller that are in use, being opened, or being taken out of idle. */
  busy: number;
}

/**
 * Idle contexts (entries `E`) per caller, with the order the warm pool evicts them in:
 *
 * 1. surplus first: an idle entry of a caller that holds another context (a second idle
 *    one, or one in use), least recently used first: evicting it still leaves that
 *    caller a warm context;
 * 2. otherwise the least recently used idle entry of all, a caller's last one.
 *
 * Every operation is O(1) except taking a caller's entry (O(that caller's entries)) and
 * finding a surplus victim, which stops at the first surplus entry in LRU order and is
 * skipped entirely when no caller has a surplus (a running count says so). Nothing sorts:
 * entries join the LRU order when they become idle, which is the order they were last
 * used in, and a Map keeps insertion order.
 */
export class CallerLedger<E> {
  private readonly callers = new Map<string, CallerRecord<E>>();
  /** Every idle entry, least recently used first, with its caller's record. */
  private readonly lru = new Map<E, CallerRecord<E>>();
  /** Idle entries whose caller holds another context (see `surplusOf`). */
  private surplusCount = 0;

  /** Idle entries in all. */
  get idleCount(): number {
    return this.lru.size;
  }

  /** Callers that hold a context, idle or busy. */
  get callerCount(): number {
    return this.callers.size;
  }

  /** Idle entries that are some caller's surplus (evicted before anyone's last one). */
  get surplus(): number {
    return this.surplusCount;
  }

  /** Counts a context of `caller` as busy (in use, being opened or being taken). */
  hold(caller: string): void {
    this.change(this.record(caller), (record) => {
      record.busy++;
    });
  }

  /** Ends what `hold()` counted. */
  unhold(caller: string): void {
    const record = this.callers.get(caller);
    if (!record) return;
    this.change(record, (changed) => {
      changed.busy = Math.max(0, changed.busy - 1);
    });
  }

  /** Adds an idle entry of `caller`, as its most recently used. */
  addIdle(caller: string, entry: E): void {
    const record = this.record(caller);
    this.change(record, (changed) => {
      changed.idle.push(entry);
    });
    this.lru.set(entry, record);
  }

  /** Removes an idle entry; false when it was not idle here (taken or removed already). */
  removeIdle(entry: E): boolean {
    const record = this.lru.get(entry);
    if (!record) return false;
    this.lru.delete(entry);
    this.change(record, (changed) => {
      changed.idle.splice(changed.idle.indexOf(entry), 1);
    });
    return true;
  }

  /**
   * Takes `caller`'s most recently used idle entry that `accept` accepts, out of the
   * idle set, and counts it busy (`hold`) in the same step, so that it stays the
   * caller's while the pool waits for its reset.
   */
  takeNewest(caller: string, accept: (entry: E) => boolean): E | undefined {
    const record = this.callers.get(caller);
    const entry = record?.idle.findLast(accept);
    if (!record || entry === undefined) return undefined;
    this.lru.delete(entry);
    this.change(record, (changed) => {
      changed.idle.splice(changed.idle.indexOf(entry), 1);
      changed.busy++;
    });
    return entry;
  }

  /** The idle entry to evict next (see the class comment); undefined when none is idle. */
  victim(): E | undefined {
    if (this.surplusCount > 0) {
      for (const [entry, record] of this.lru) if (surplusOf(record) > 0) return entry;
    }
    return this.lru.keys().next().value;
  }

  /** Idle entries, least recently used first (a live view: do not change it while reading). */
  oldestFirst(): IterableIterator<E> {
    return this.lru.keys();
  }

  /** Every idle entry, in a new array. */
  allIdle(): E[] {
    return [...this.lru.keys()];
  }

  /** Forgets everything. */
  clear(): void {
    this.callers.clear();
    this.lru.clear();
    this.surplusCount = 0;
  }

  private record(caller: string): CallerRecord<E> {
    let record = this.callers.get(caller);
    if (!record) {
      record = { caller, idle: [], busy: 0 };
      this.callers.set(caller, record);
    }
    return record;
  }

  /** Applies `mutate` to a record, keeping the surplus count right and empty records gone. */
  private change(record: CallerRecord<E>, mutate: (record: CallerRecord<E>) => void): void {
    const before = surplusOf(record);
    mutate(record);
    this.surplusCount += surplusOf(record) - before;
    if (record.idle.length === 0 && record.busy === 0) this.callers.delete(record.caller);
  }
}

/**
 * How many of a caller's idle entries could go while it keeps a context: all of them
 * when one of its contexts is busy, else all but one.
 */
function surplusOf(record: CallerRecord<unknown>): number {
  return record.busy > 0 ? record.idle.length : Math.max(0, record.idle.length - 1);
}
