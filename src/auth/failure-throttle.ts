const WINDOW_MS = 60_000;
/** Clients remembered at most; the oldest are forgotten first (bounded memory under attack). */
const MAX_CLIENTS = 100_000;

/**
 * Counts failed authentications per client IP over a sliding minute. A client with
 * `limit` failures in the last minute is refused until the oldest one leaves the window;
 * other clients are not affected.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limit: number) {}

  /** Seconds until `ip` may try again, or 0 when it is not throttled. */
  retryAfter(ip: string, now = Date.now()): number {
    const times = this.recent(ip, now);
    if (times.length < this.limit) return 0;
    return Math.max(1, Math.ceil((times[times.length - this.limit]! + WINDOW_MS - now) / 1000));
  }

  /** Counts one failure for `ip`. */
  record(ip: string, now = Date.now()): void {
    const times = this.recent(ip, now);
    times.push(now);
    if (times.length > this.limit) times.splice(0, times.length - this.limit);
    this.failures.delete(ip);
    this.failures.set(ip, times); // re-inserted: the Map's order is least recently failed first
    if (this.failures.size > MAX_CLIENTS) this.failures.delete(this.failures.keys().next().value!);
  }

  private recent(ip: string, now: number): number[] {
    const times = this.failures.get(ip);
    if (!times) return [];
    while (times.length > 0 && times[0]! <= now - WINDOW_MS) times.shift();
    if (times.length === 0) this.failures.delete(ip);
    return times;
  }
}
