/**
 * One request against both policies at once — the rule both backends follow: the
 * request is admitted only if the burst bucket AND the day's quota admit it, and a
 * refusal by either charges neither.
 */
import { bucketState, ceilSeconds, emissionIntervalUs, gcra, usUntilNextUtcDay, utcDay } from './gcra.js';
import type { LimitDecision, LimitPolicy, PolicyState } from './policy.js';

/** What a backend keeps per caller. A new caller is `{ tatUs: 0, day: 0, used: 0 }`. */
export interface CallerState {
  /** GCRA's theoretical arrival time, µs since 1970. */
  tatUs: number;
  /** The UTC day `used` counts (see utcDay). */
  day: number;
  /** Requests admitted on `day`. */
  used: number;
}

/** Seconds an empty burst bucket takes to refill: RateLimit-Policy's `w` for it. */
export function burstWindowSeconds(policy: LimitPolicy): number {
  return Math.max(1, Math.ceil(policy.burst / policy.rate));
}

/** Which policy refused, as the Redis script answers it: 0 none, 1 rate, 2 daily. */
export const REFUSED_BY = [undefined, 'rate', 'daily'] as const;

/**
 * Builds the decision from the raw figures (µs for times; `nowUs` the instant of the
 * decision on the deciding clock), the same way for both backends. A policy the caller
 * does not have (rate 0, daily 0) gets no state.
 */
export function makeDecision(
  policy: LimitPolicy,
  refusedBy: 'rate' | 'daily' | undefined,
  retryUs: number,
  burstRemaining: number,
  burstResetUs: number,
  dailyRemaining: number,
  dailyResetUs: number,
  nowUs: number,
): LimitDecision {
  const decision: LimitDecision = { allowed: refusedBy === undefined };
  if (refusedBy !== undefined) {
    decision.refusedBy = refusedBy;
    decision.retryAfterSeconds = Math.max(1, ceilSeconds(retryUs));
  }
  if (policy.rate > 0) {
    decision.burst = state(policy.burst, burstRemaining, burstResetUs, burstWindowSeconds(policy), nowUs);
  }
  if (policy.daily > 0) {
    decision.daily = state(policy.daily, dailyRemaining, dailyResetUs, 86_400, nowUs);
  }
  return decision;
}

function state(limit: number, remaining: number, resetUs: number, windowSeconds: number, nowUs: number): PolicyState {
  return { limit, remaining: Math.max(0, remaining), resetSeconds: ceilSeconds(resetUs), resetAtUs: nowUs + resetUs, windowSeconds };
}

/**
 * Decides one request of a caller whose state is `caller` at `nowUs`, and charges it to
 * `caller` (mutated in place) only when both policies admit it. When both refuse, the
 * daily quota is named and the retry waits for the later of the two.
 */
export function decideRequest(caller: CallerState, policy: LimitPolicy, nowUs: number): LimitDecision {
  let refusedBy: 'rate' | 'daily' | undefined;
  let retryUs = 0;
  let nextTat = caller.tatUs;
  if (policy.rate > 0) {
    const bucket = gcra(caller.tatUs, nowUs, emissionIntervalUs(policy.rate), policy.burst);
    if (bucket.allowed) nextTat = bucket.tatUs;
    else {
      refusedBy = 'rate';
      retryUs = bucket.retryUs;
    }
  }
  const today = utcDay(nowUs);
  let used = caller.day === today ? caller.used : 0;
  if (policy.daily > 0 && used >= policy.daily) {
    refusedBy = 'daily';
    retryUs = Math.max(retryUs, usUntilNextUtcDay(nowUs));
  }
  if (refusedBy === undefined) {
    caller.tatUs = nextTat;
    if (policy.daily > 0) {
      caller.day = today;
      caller.used = used += 1;
    }
  }
  const bucket = policy.rate > 0 ? bucketState(caller.tatUs, nowUs, emissionIntervalUs(policy.rate), policy.burst) : undefined;
  return makeDecision(
    policy,
    refusedBy,
    retryUs,
    bucket?.remaining ?? 0,
    bucket?.resetUs ?? 0,
    policy.daily - used,
    usUntilNextUtcDay(nowUs),
    nowUs,
  );
}

/** Gives back one of today's units, never going below zero; a unit of a past day is gone. */
export function refundToday(caller: CallerState, nowUs: number): void {
  if (caller.day === utcDay(nowUs) && caller.used > 0) caller.used -= 1;
}
