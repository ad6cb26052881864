/**
 * Caps captures in flight per caller, in this process. Taking a slot either succeeds
 * at once or fails at once: a caller over its cap is refused (429), never queued, and
 * nothing else is consumed. It holds in this process; RedisCaptureSlots (capture-slots.ts)
 * holds it across instances.
 */
export class ConcurrencyLimiter {
  private readonly inFlight = new Map<string, number>();

  /** Takes a slot for `caller` unless it already has `limit` (0 = no cap). */
  tryAcquire(caller: string, limit: number): boolean {
    if (limit <= 0) return true;
    const current = this.inFlight.get(caller) ?? 0;
    if (current >= limit) return false;
    this.inFlight.set(caller, current + 1);
    return true;
  }

  /** Gives back a slot taken with `tryAcquire` (with a non-zero limit). */
  release(caller: string): void {
    const current = this.inFlight.get(caller) ?? 0;
    if (current <= 1) this.inFlight.delete(caller);
    else this.inFlight.set(caller, current - 1);
  }

  /** Captures in flight for `caller`. */
  count(caller: string): number {
    return this.inFlight.get(caller) ?? 0;
  }
}
