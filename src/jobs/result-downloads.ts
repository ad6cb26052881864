/**
 * How many job results each key is downloading from this node at once. Each download
 * holds a connection and a few chunks of memory for as long as its client takes to read
 * it: a bound per key keeps one tenant's slow readers from holding them all. Counted per
 * node (in memory, no Redis round trip): behind a load balancer a key may have this many
 * downloads on each api node.
 */
export class ResultDownloads {
  private readonly running = new Map<string, number>();

  constructor(private readonly perKey: number) {}

  /** The most downloads one key may have running on this node. */
  get limit(): number {
    return this.perKey;
  }

  /**
   * Takes a download slot for `caller`: the function that gives it back (idempotent), or
   * undefined when the caller already has as many downloads running as allowed.
   */
  take(caller: string): (() => void) | undefined {
    const now = this.running.get(caller) ?? 0;
    if (now >= this.perKey) return undefined;
    this.running.set(caller, now + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(caller) ?? 1) - 1;
      if (left > 0) this.running.set(caller, left);
      else this.running.delete(caller);
    };
  }

  /** Downloads `caller` has running on this node. */
  of(caller: string): number {
    return this.running.get(caller) ?? 0;
  }
}
