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
    // Every authenticated request asks; with no failures anywhere, nothing to look at.
    if (this.failures.size === 0) return 0;
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

/** One failed authentication, as the audit log is told about it. */
export interface AuthFailure {
  /** The error code it was refused with, e.g. `INVALID_API_KEY`. */
  reason: string;
  clientIp: string;
  /** The presented key's hint when it was well formed (never the key). */
  keyHint: string | null;
  /** When it happened (ms since the epoch). */
  at: number;
}

/** An `auth.failed` audit event, ready to record. */
export interface FailureSummary {
  type: 'auth.failed';
  time: string;
  keyId: null;
  keyHint: string | null;
  actorKeyId: null;
  clientIp: string | null;
  reason: string;
  details: Record<string, unknown>;
}

/** Client IPs and key hints named in one summary, at most. */
const SAMPLE_SIZE = 10;
/** Distinct IPs counted exactly per summary; past this, `distinctIps` is a lower bound. */
const MAX_COUNTED_IPS = 10_000;
const MINUTE_MS = 60_000;

interface Bucket {
  minute: number;
  reason: string;
  /** Failures not written yet. */
  count: number;
  last: number;
  ips: Set<string>;
  hints: Set<string>;
  /** Failures whose key was too malformed to have a hint. */
  hintless: number;
}

/**
 * Summarises failed authentications for the audit log, per reason and per UTC minute,
 * so that a flood from many addresses (one row per failure: 303 IPs wrote 360 rows in a
 * minute) cannot push key events out of sight or grow the log without bound.
 *
 * The first failure of a reason in a minute is returned by `add()` to be written at
 * once, so a lone failure shows up without delay; the rest are counted in memory and
 * returned by `drain()` as one row per reason and minute, with the count, the number of
 * distinct client IPs and a sample of IPs and key hints. So a minute costs at most
 * 1 + (number of drains in it) rows per reason, whatever the number of failures.
 */
export class FailureLog {
  /** `minute|reason` → what is pending. A bucket with count 0 only marks "first already written". */
  private readonly buckets = new Map<string, Bucket>();

  /** Counts a failure. Returns the event to write now when it is the first of its reason this minute. */
  add(failure: AuthFailure): FailureSummary | undefined {
    const minute = Math.floor(failure.at / MINUTE_MS) * MINUTE_MS;
    const id = `${minute}|${failure.reason}`;
    const bucket = this.buckets.get(id);
    if (bucket === undefined) {
      const first = newBucket(minute, failure.reason);
      note(first, failure);
      this.buckets.set(id, newBucket(minute, failure.reason));
      return summarise(first);
    }
    note(bucket, failure);
    return undefined;
  }

  /**
   * The summaries of failures counted since the last drain, and forgets minutes before
   * `now`'s (their first failure can no longer come again).
   */
  drain(now: number): FailureSummary[] {
    const current = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    const summaries: FailureSummary[] = [];
    for (const [id, bucket] of this.buckets) {
      if (bucket.count > 0) summaries.push(summarise(bucket));
      if (bucket.minute < current) this.buckets.delete(id);
      else this.buckets.set(id, newBucket(bucket.minute, bucket.reason));
    }
    return summaries;
  }
}

function newBucket(minute: number, reason: string): Bucket {
  return { minute, reason, count: 0, last: minute, ips: new Set(), hints: new Set(), hintless: 0 };
}

function note(bucket: Bucket, failure: AuthFailure): void {
  bucket.count += 1;
  bucket.last = Math.max(bucket.last, failure.at);
  if (bucket.ips.size < MAX_COUNTED_IPS) bucket.ips.add(failure.clientIp);
  if (failure.keyHint === null) bucket.hintless += 1;
  else if (bucket.hints.size < SAMPLE_SIZE) bucket.hints.add(failure.keyHint);
}

function summarise(bucket: Bucket): FailureSummary {
  const ips = [...bucket.ips];
  const hints = [...bucket.hints];
  return {
    type: 'auth.failed',
    time: new Date(bucket.last).toISOString(),
    keyId: null,
    // The columns name the one IP or hint when there is only one, as a single failure's row did.
    keyHint: hints.length === 1 && bucket.hintless === 0 ? hints[0]! : null,
    actorKeyId: null,
    clientIp: ips.length === 1 ? ips[0]! : null,
    reason: bucket.reason,
    details: {
      count: bucket.count,
      distinctIps: ips.length,
      ...(ips.length >= MAX_COUNTED_IPS ? { distinctIpsAtLeast: true } : {}),
      minute: new Date(bucket.minute).toISOString(),
      clientIps: ips.slice(0, SAMPLE_SIZE),
      keyHints: hints,
    },
  };
}
