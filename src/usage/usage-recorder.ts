import type { Logger } from 'pino';
import { addUsage, emptyUsage } from '../store/schema.js';
import type { UsageDelta, UsageStore } from '../store/usage-store.js';

/** How one request ended, for the usage counters. */
export type UsageOutcome =
  /** A screenshot was sent; `cached` when it came from the result cache or another request's render. */
  | { kind: 'succeeded'; renderMs: number; bytes: number; cached?: boolean }
  /** The capture ran and failed (navigation, timeout, crash…). */
  | { kind: 'failed'; renderMs: number }
  /** Refused before capturing: rate limit, queue, validation…; `reason` is the error code. */
  | { kind: 'rejected'; reason: string }
  /** Any other authenticated request (key management, /v1/me…). */
  | { kind: 'other' };

const FLUSH_MS = 5_000;

const DAY_MS = 86_400_000;
/** The last day formatted, reused until the clock passes midnight: this runs on every request. */
let cachedDay = { start: 0, name: '1970-01-01' };

/** The UTC day of `time`, as YYYY-MM-DD. */
export function utcDay(time: number): string {
  if (time < cachedDay.start || time >= cachedDay.start + DAY_MS) {
    const start = time - (((time % DAY_MS) + DAY_MS) % DAY_MS);
    cachedDay = { start, name: new Date(start).toISOString().slice(0, 10) };
  }
  return cachedDay.name;
}

function emptyDelta(subject: string, day: string): UsageDelta {
  return { subject, day, ...emptyUsage() };
}

/**
 * Counts requests per subject and UTC day in memory and writes them in batches every
 * few seconds, so the hot path never waits on the database. A failed write keeps the
 * counts for the next flush; `close()` flushes what is left (graceful shutdown).
 */
export class UsageRecorder {
  private pending = new Map<string, UsageDelta>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: UsageStore,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  /**
   * Counts one request of `subject` and how it ended. `countRequest: false` counts only
   * the outcome: an async job's request was counted when it was submitted.
   */
  record(subject: string, outcome: UsageOutcome, { countRequest = true }: { countRequest?: boolean } = {}): void {
    const day = utcDay(this.now());
    const slot = `${subject}\n${day}`;
    let delta = this.pending.get(slot);
    if (!delta) {
      delta = emptyDelta(subject, day);
      this.pending.set(slot, delta);
    }
    if (countRequest) delta.requests++;
    if (outcome.kind === 'succeeded') {
      delta.succeeded++;
      delta.renderMs += outcome.renderMs;
      delta.bytesSent += outcome.bytes;
      if (outcome.cached) delta.cacheHits++;
    } else if (outcome.kind === 'failed') {
      delta.failed++;
      delta.renderMs += outcome.renderMs;
    } else if (outcome.kind === 'rejected') {
      delta.rejected++;
      delta.rejectedBy[outcome.reason] = (delta.rejectedBy[outcome.reason] ?? 0) + 1;
    }
  }

  /** Writes what has been counted so far; resolves when it is stored (or kept for later). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  /** Stops the timer and writes everything still pending. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.store.add([...batch.values()]);
    } catch (error) {
      this.logger.error({ err: error }, 'could not write usage; keeping it for the next attempt');
      for (const [slot, delta] of batch) this.merge(slot, delta);
    }
  }

  private merge(slot: string, delta: UsageDelta): void {
    const current = this.pending.get(slot);
    if (current) addUsage(current, delta);
    else this.pending.set(slot, delta);
  }
}
