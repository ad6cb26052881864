import type { RateLimitHeaderForm } from '../config.js';
import { US_PER_SECOND } from './gcra.js';
import type { LimitDecision, PolicyState } from './policy.js';

/**
 * Response headers describing a decision. Always the de-facto `X-RateLimit-Limit` /
 * `-Remaining` / `-Reset` trio for the one policy closest to refusing (the smallest
 * `remaining`); `X-RateLimit-Reset` is the Unix time in whole seconds, rounded up, at
 * which that policy's `remaining` next grows (the current second when it is full).
 *
 * Beside it, the IETF fields in the form `form` names (PAGESHOT_RATELIMIT_HEADERS):
 *
 * - `draft-10` (draft-ietf-httpapi-ratelimit-headers-10), for both policies:
 *   `RateLimit-Policy` (§3: a List of String Items with `q`, the quota, and `w`, the
 *   window in seconds) and `RateLimit` (§4: a List of Items with `r`, the remaining
 *   quota, and `t`, seconds until more quota is available). Lists are serialised as
 *   RFC 8941 §4.1.1 does: members joined by ", ".
 * - `draft-7`: `RateLimit: limit=L, remaining=R, reset=T` (one Dictionary, for the
 *   closest policy) and `RateLimit-Policy: 500;w=3, 2000;w=86400` (Integer Items).
 *   `ratelimit-header-parser` and express-rate-limit's `standardHeaders: 'draft-7'`.
 * - `draft-6`: `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta
 *   seconds), for the closest policy, and the same `RateLimit-Policy` as draft-7.
 * - `none`: only the X-RateLimit-* trio.
 *
 * draft-7 and draft-10 share the names `RateLimit` and `RateLimit-Policy` with
 * incompatible syntaxes: sent together they would merge into one field no parser reads,
 * so no form sends both. Every reset (`t`, `reset=`, `RateLimit-Reset`) means the same
 * as X-RateLimit-Reset, as whole seconds from now rounded up.
 *
 * The burst policy is advertised as q = burst over w = ceil(burst / rate) seconds, the
 * time an empty bucket takes to refill. A decision with no state (no limits, or an
 * outage in `open` mode) gives no headers.
 */
export function rateLimitHeaders(decision: LimitDecision, form: RateLimitHeaderForm = 'draft-10'): Record<string, string> {
  const closest = closestToRefusing(decision);
  if (closest === undefined) return {};
  // Built by hand, not with arrays and join: this runs on every authenticated request.
  const limit = String(closest.limit);
  const remaining = String(closest.remaining);
  const reset = String(Math.ceil(closest.resetAtUs / US_PER_SECOND));
  switch (form) {
    case 'draft-10':
      return {
        'X-RateLimit-Limit': limit,
        'X-RateLimit-Remaining': remaining,
        'X-RateLimit-Reset': reset,
        'RateLimit-Policy': draft10Policies(decision),
        RateLimit: draft10Remaining(decision),
      };
    case 'draft-7':
      return {
        'X-RateLimit-Limit': limit,
        'X-RateLimit-Remaining': remaining,
        'X-RateLimit-Reset': reset,
        'RateLimit-Policy': quotaPolicies(decision),
        RateLimit: `limit=${limit}, remaining=${remaining}, reset=${closest.resetSeconds}`,
      };
    case 'draft-6':
      return {
        'X-RateLimit-Limit': limit,
        'X-RateLimit-Remaining': remaining,
        'X-RateLimit-Reset': reset,
        'RateLimit-Policy': quotaPolicies(decision),
        'RateLimit-Limit': limit,
        'RateLimit-Remaining': remaining,
        'RateLimit-Reset': String(closest.resetSeconds),
      };
    case 'none':
      return { 'X-RateLimit-Limit': limit, 'X-RateLimit-Remaining': remaining, 'X-RateLimit-Reset': reset };
  }
}

/** draft-10 `RateLimit-Policy`: `"burst";q=<quota>;w=<window s>, "daily";q=…;w=86400`. */
function draft10Policies({ burst, daily }: LimitDecision): string {
  if (burst && daily) return `"burst";q=${burst.limit};w=${burst.windowSeconds}, "daily";q=${daily.limit};w=${daily.windowSeconds}`;
  const [name, state] = burst ? (['burst', burst] as const) : (['daily', daily!] as const);
  return `"${name}";q=${state.limit};w=${state.windowSeconds}`;
}

/** draft-10 `RateLimit`: `"burst";r=<remaining>;t=<seconds until more>, "daily";r=…;t=…`. */
function draft10Remaining({ burst, daily }: LimitDecision): string {
  if (burst && daily) return `"burst";r=${burst.remaining};t=${burst.resetSeconds}, "daily";r=${daily.remaining};t=${daily.resetSeconds}`;
  const [name, state] = burst ? (['burst', burst] as const) : (['daily', daily!] as const);
  return `"${name}";r=${state.remaining};t=${state.resetSeconds}`;
}

/** draft-6/-7 `RateLimit-Policy`: each policy as `<quota>;w=<window s>` (unnamed in those drafts). */
function quotaPolicies({ burst, daily }: LimitDecision): string {
  if (burst && daily) return `${burst.limit};w=${burst.windowSeconds}, ${daily.limit};w=${daily.windowSeconds}`;
  const state = (burst ?? daily)!;
  return `${state.limit};w=${state.windowSeconds}`;
}

/**
 * The value of `Retry-After` (delay-seconds, RFC 9110 §10.2.3) for a refused request, or
 * undefined when it was admitted. It is never earlier than the refusing policy's `t`
 * (draft §6: Retry-After SHOULD NOT point before the reset).
 */
export function retryAfterHeader(decision: LimitDecision): string | undefined {
  if (decision.allowed || decision.retryAfterSeconds === undefined) return undefined;
  return String(decision.retryAfterSeconds);
}

/**
 * The policy with the smallest `remaining`. On a tie the one that refused wins, else
 * the one that takes longer to grow: that is the figure a client must respect.
 */
function closestToRefusing(decision: LimitDecision): PolicyState | undefined {
  const { burst, daily } = decision;
  if (!burst || !daily) return burst ?? daily;
  if (burst.remaining !== daily.remaining) return burst.remaining < daily.remaining ? burst : daily;
  if (decision.refusedBy) return decision.refusedBy === 'rate' ? burst : daily;
  return burst.resetAtUs > daily.resetAtUs ? burst : daily;
}
