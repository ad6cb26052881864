/**
 * When a webhook is tried again: the schedule, its jitter, and what a receiver's
 * `Retry-After` may change in it. Pure functions: the dispatcher (one attempt per queue
 * job, the next one a delayed job) and `deliverWebhook` (all attempts in one call) share them.
 */

/** Waits between attempts after the first: 5 s, 30 s, 2 min, 10 min (five attempts, ~13 min). */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [5_000, 30_000, 120_000, 600_000];

/** Each wait is scaled by a random factor in [1 - jitter, 1 + jitter], so retries of many webhooks spread out. */
export const DEFAULT_JITTER = 0.2;

/** A Retry-After value longer than this is not a date nor a number of seconds anyone means. */
const MAX_RETRY_AFTER_CHARS = 64;

/** The wait before a retry: `base` scaled by a random factor in [1 - jitter, 1 + jitter]. */
export function backoffDelay(base: number, jitter: number, random: () => number): number {
  const spread = Math.min(Math.max(jitter, 0), 1);
  return Math.max(0, Math.round(base * (1 - spread + 2 * spread * random())));
}

/**
 * The wait before the next attempt, after `made` attempts (1, 2, …) of which the last was
 * retryable. The schedule's wait for that attempt, jittered, is the least; a receiver's
 * `Retry-After` (429 or 503) may lengthen it, up to the schedule's longest wait and no
 * further. So a receiver can slow its own deliveries down within the schedule, never
 * hurry them, and never park a delivery for longer than the schedule would.
 */
export function nextRetryDelay(options: {
  made: number;
  delaysMs: readonly number[];
  retryAfterMs?: number | undefined;
  jitter?: number;
  random?: () => number;
}): number {
  const { made, delaysMs } = options;
  if (delaysMs.length === 0) return 0;
  const base = delaysMs[Math.min(Math.max(made, 1), delaysMs.length) - 1]!;
  const scheduled = backoffDelay(base, options.jitter ?? DEFAULT_JITTER, options.random ?? Math.random);
  const { retryAfterMs } = options;
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs)) return scheduled;
  return Math.max(scheduled, Math.min(retryAfterMs, Math.max(...delaysMs)));
}

const DAYS = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAYS = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** The three forms of HTTP-date a recipient must accept (RFC 9110 §5.6.7). */
const IMF_FIXDATE = new RegExp(`^${DAYS}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC_850 = new RegExp(`^${LONG_DAYS}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAYS} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/** An HTTP-date as ms since the epoch, or undefined when it is not one (or names no real day). */
export function parseHttpDate(text: string, now: number): number | undefined {
  let day: string, month: string, year: number, hms: [string, string, string];
  let match = IMF_FIXDATE.exec(text);
  if (match) {
    [day, month, year, hms] = [match[1]!, match[2]!, Number(match[3]), [match[4]!, match[5]!, match[6]!]];
  } else if ((match = RFC_850.exec(text))) {
    // A two-digit year more than 50 years ahead is in the past century (RFC 9110 §5.6.7).
    const nowYear = new Date(now).getUTCFullYear();
    let full = Math.floor(nowYear / 100) * 100 + Number(match[3]);
    if (full > nowYear + 50) full -= 100;
    [day, month, year, hms] = [match[1]!, match[2]!, full, [match[4]!, match[5]!, match[6]!]];
  } else if ((match = ASCTIME.exec(text))) {
    [month, day, hms, year] = [match[1]!, match[2]!.trim(), [match[3]!, match[4]!, match[5]!], Number(match[6])];
  } else {
    return undefined;
  }
  const [d, mo, h, mi, s] = [Number(day), MONTHS.indexOf(month), Number(hms[0]), Number(hms[1]), Number(hms[2])];
  const time = Date.UTC(year, mo, d, h, mi, s);
  // Date.UTC rolls 31 Feb over to March: a date that does not round-trip is not a date.
  const back = new Date(time);
  if (back.getUTCDate() !== d || back.getUTCMonth() !== mo || back.getUTCHours() !== h || back.getUTCMinutes() !== mi || back.getUTCSeconds() !== s) {
    return undefined;
  }
  return time;
}

/**
 * A receiver's `Retry-After` as ms from `now` (0 for a date in the past), or undefined when
 * it is absent or not to be trusted: not delay-seconds (digits only, so no negative or
 * fractional value) nor an HTTP-date, longer than 64 characters, or sent several times
 * with different values (which one would it mean?). A huge number of seconds is kept as
 * it is; `nextRetryDelay` caps it. Never throws.
 */
export function parseRetryAfter(values: readonly string[], now: number): number | undefined {
  if (values.length === 0) return undefined;
  const first = values[0]!.trim();
  if (values.some((value) => value.trim() !== first)) return undefined;
  if (first.length === 0 || first.length > MAX_RETRY_AFTER_CHARS) return undefined;
  if (/^\d+$/.test(first)) return Number(first) * 1000; // may be Infinity-like huge; finite for ≤64 digits
  const date = parseHttpDate(first, now);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/** Every value of the header `name` in Node's `rawHeaders` (name, value, name, value…), case-insensitive. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === name) values.push(rawHeaders[i + 1]!);
  }
  return values;
}
