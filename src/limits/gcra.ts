/**
 * The arithmetic of both policies, as pure functions of the time so tests can step a
 * clock. The Lua script in redis-script.ts mirrors these lines; the shared test suite
 * runs both against the same expectations.
 *
 * Time is counted in whole microseconds: Redis's TIME answers in µs, and integers make
 * GCRA exact to the request (float milliseconds drift after a few hundred additions
 * of an interval such as 1000/3 ms, which admits or refuses one request too many).
 * Every value stays below 2^53 (µs since 1970 is ~1.8e15), so doubles hold them exactly.
 */

/** Microseconds in one second. */
export const US_PER_SECOND = 1_000_000;
/** Microseconds in one UTC day (UTC days have no leap seconds in Unix time). */
export const US_PER_DAY = 86_400 * US_PER_SECOND;

/** A clock reading in milliseconds (Date.now(), or a fraction of one) as whole µs. */
export function msToUs(ms: number): number {
  return Math.round(ms * 1000);
}

/**
 * GCRA's emission interval T for `rate` requests per second, in whole µs, rounded up so
 * the sustained rate never exceeds `rate` (rate 3 → 333 334 µs). Rates above 1 000 000/s
 * are held to 1 µs, i.e. 1 000 000/s.
 */
export function emissionIntervalUs(rate: number): number {
  return Math.max(1, Math.ceil(US_PER_SECOND / rate));
}

/** Where a GCRA bucket stands at one instant. */
export interface BucketState {
  /** Requests that would be admitted right now, one after the other. */
  remaining: number;
  /** µs until `remaining` grows by one; 0 when the bucket is full. */
  resetUs: number;
}

/** The outcome of asking GCRA about one request. */
export interface GcraResult extends BucketState {
  allowed: boolean;
  /** The theoretical arrival time to store: moved on when allowed, unchanged when refused. */
  tatUs: number;
  /** When refused, µs from `nowUs` until the same request would be allowed; else 0. */
  retryUs: number;
}

/**
 * The state of a bucket whose theoretical arrival time is `tatUs`, at `nowUs`.
 * `room` is how much of the burst tolerance B·T is unused; each whole T of it is one
 * request that would be admitted now, and it grows by 1 µs per µs.
 */
export function bucketState(tatUs: number, nowUs: number, intervalUs: number, burst: number): BucketState {
  const room = nowUs + intervalUs * burst - Math.max(tatUs, nowUs);
  const slots = Math.floor(room / intervalUs);
  if (slots >= burst) return { remaining: burst, resetUs: 0 };
  // `slots` is negative only when the burst was lowered below what the caller had used.
  const remaining = Math.max(0, slots);
  return { remaining, resetUs: (remaining + 1) * intervalUs - room };
}

/**
 * GCRA (the Generic Cell Rate Algorithm, ITU-T I.371): a request at `now` is allowed iff
 * max(tat, now) + T − now ≤ B·T, and then tat becomes max(tat, now) + T. A missing
 * bucket is `tatUs = 0`: full. Pure: the caller stores `tatUs` only if it keeps the
 * decision (both policies must allow it).
 */
export function gcra(tatUs: number, nowUs: number, intervalUs: number, burst: number): GcraResult {
  const tolerance = intervalUs * burst;
  const next = Math.max(tatUs, nowUs) + intervalUs;
  const allowed = next - nowUs <= tolerance;
  const tat = allowed ? next : tatUs;
  const state = bucketState(tat, nowUs, intervalUs, burst);
  const retryUs = allowed ? 0 : next - tolerance - nowUs;
  return { allowed, tatUs: tat, remaining: state.remaining, resetUs: state.resetUs, retryUs };
}

/** The UTC day of `nowUs`, counted from 1970-01-01 (day 0). */
export function utcDay(nowUs: number): number {
  return Math.floor(nowUs / US_PER_DAY);
}

/** µs from `nowUs` to the next 00:00 UTC (a full day at exactly midnight). */
export function usUntilNextUtcDay(nowUs: number): number {
  return (utcDay(nowUs) + 1) * US_PER_DAY - nowUs;
}

/**
 * Whole seconds, rounded up, for a wait in µs: a client told to come back after this
 * many seconds never comes back too early.
 */
export function ceilSeconds(us: number): number {
  return Math.ceil(us / US_PER_SECOND);
}
