/**
 * A queue that is fair between callers: each caller has its own FIFO line and
 * `shift()` takes from the lines in turn (round-robin), so one caller with a hundred
 * waiting requests delays another caller's request by at most one of theirs.
 */
export class FairQueue<T> {
  /** Lines in rotation order; a Map keeps insertion order, so the head is next. */
  private readonly lines = new Map<string, T[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `item` at the back of `caller`'s line. */
  push(caller: string, item: T): void {
    const line = this.lines.get(caller);
    if (line) line.push(item);
    else this.lines.set(caller, [item]);
    this.count++;
  }

  /** Takes the next item: the head of the next caller's line in rotation. */
  shift(): T | undefined {
    const next = this.lines.entries().next();
    if (next.done) return undefined;
    const [caller, line] = next.value;
    const item = line.shift() as T;
    this.lines.delete(caller);
    // The caller goes to the back of the rotation if they still have items waiting.
    if (line.length > 0) this.lines.set(caller, line);
    this.count--;
    return item;
  }

  /** Removes one waiting item (a timeout or a client that went away). */
  remove(caller: string, item: T): boolean {
    const line = this.lines.get(caller);
    const index = line?.indexOf(item) ?? -1;
    if (!line || index < 0) return false;
    line.splice(index, 1);
    if (line.length === 0) this.lines.delete(caller);
    this.count--;
    return true;
  }

  /** How many items `caller` has waiting. */
  waiting(caller: string): number {
    return this.lines.get(caller)?.length ?? 0;
  }

  /**
   * Takes out and returns the newest item of the caller with the most items waiting,
   * when that caller has more than `moreThan`; undefined otherwise (the queue is as fair
   * as it gets).
   */
  takeNewestOfLongest(moreThan: number): T | undefined {
    let longest: T[] | undefined;
    let longestCaller = '';
    for (const [caller, line] of this.lines) {
      if (!longest || line.length > longest.length) {
        longest = line;
        longestCaller = caller;
      }
    }
    if (!longest || longest.length <= moreThan) return undefined;
    const item = longest.pop() as T;
    if (longest.length === 0) this.lines.delete(longestCaller);
    this.count--;
    return item;
  }

  /** Empties the queue and returns what was in it. */
  drain(): T[] {
    const all = [...this.lines.values()].flat();
    this.lines.clear();
    this.count = 0;
    return all;
  }
}
