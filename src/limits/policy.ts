/**
 * What a rate-limit backend is asked and what it answers. The HTTP layer picks a
 * policy per caller, asks a backend for one decision per request, and turns the
 * decision into a 429 and response headers (see headers.ts).
 */

/**
 * The limits of one caller.
 *
 * - `rate` and `burst` are one GCRA policy: `rate` requests per second sustained, and at
 *   most `burst` admitted at once after the caller has been idle. `rate` may be a
 *   fraction (0.5 = one request every two seconds); `0` means no rate limit.
 * - `daily` is requests per UTC day, renewed at 00:00 UTC; `0` means no daily limit.
 */
export interface LimitPolicy {
  rate: number;
  burst: number;
  daily: number;
}

/** Where one policy stands after a decision. */
export interface PolicyState {
  /** The policy's quota: `burst` for the rate policy, `daily` for the daily one. */
  limit: number;
  /** Requests that could still be admitted right now (never negative). */
  remaining: number;
  /**
   * Seconds until `remaining` next grows, rounded up: for the burst, until the bucket
   * holds one more request (0 when it is full); for the daily quota, until 00:00 UTC.
   */
  resetSeconds: number;
  /**
   * The exact instant `remaining` next grows, in µs since 1970 on the clock that decided
   * (this process's, or Redis's): the decision's time when the bucket is full. The
   * `X-RateLimit-Reset` epoch is this rounded up to a whole second, not `resetSeconds`
   * added to the time again (which rounded twice and said 1–2 s for a 5 ms refill).
   */
  resetAtUs: number;
  /**
   * The policy's time window in whole seconds, as advertised in `RateLimit-Policy`:
   * `ceil(burst / rate)` for the rate policy (the time an empty bucket takes to refill),
   * 86400 for the daily one.
   */
  windowSeconds: number;
}

/** The answer to one request. */
export interface LimitDecision {
  allowed: boolean;
  /** The policy that refused, when refused. */
  refusedBy?: 'rate' | 'daily';
  /**
   * Seconds after which a retry can succeed (rounded up, at least 1), when refused.
   * Never earlier than the moment a retry can succeed.
   */
  retryAfterSeconds?: number;
  /** The rate/burst policy; absent when `rate` is 0 (unlimited), or when no store answered. */
  burst?: PolicyState;
  /** The daily quota; absent when `daily` is 0 (unlimited), or when no store answered. */
  daily?: PolicyState;
}

/** Where rate-limit state lives: one process's memory, or Redis shared by instances. */
export interface LimitBackend {
  /**
   * One atomic decision for one request of `caller`: consumes 1 from the burst bucket
   * AND 1 from the day's quota, or nothing at all when either policy refuses.
   * Throws a RangeError for a policy that makes no sense (see `validatePolicy`).
   */
  consume(caller: string, policy: LimitPolicy): Promise<LimitDecision>;
  /** Gives back one unit of today's daily quota (a capture that failed on our side is not charged). */
  refundDaily(caller: string): Promise<void>;
  /** Stops timers and closes connections the backend opened itself. */
  close(): Promise<void>;
}

/**
 * Throws a RangeError unless `policy` can be enforced: `rate` a finite number >= 0,
 * `burst` an integer >= 1 whenever `rate` > 0, `daily` an integer >= 0. A bad policy is
 * a configuration bug; refusing it loudly beats admitting everyone or no one.
 */
export function validatePolicy(policy: LimitPolicy): void {
  const { rate, burst, daily } = policy;
  if (!(rate >= 0) || rate === Infinity) {
    throw new RangeError(`rate must be a finite number >= 0 (0 = no rate limit), got ${rate}`);
  }
  if (rate > 0 && !(Number.isInteger(burst) && burst >= 1)) {
    throw new RangeError(`burst must be an integer >= 1 when rate > 0, got ${burst}`);
  }
  if (!(Number.isInteger(daily) && daily >= 0)) {
    throw new RangeError(`daily must be an integer >= 0 (0 = no daily limit), got ${daily}`);
  }
}
