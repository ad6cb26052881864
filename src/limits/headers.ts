import type { LimitDecision, PolicyState } from './policy.js';

/**
 * Response headers describing a decision, two ways:
 *
 * - the de-facto `X-RateLimit-Limit` / `-Remaining` / `-Reset` trio (Reset in Unix epoch
 *   seconds), for the one policy closest to refusing — the smallest `remaining`; and
 * - the IETF fields of draft-ietf-httpapi-ratelimit-headers-10, for both policies:
 *   `RateLimit-Policy` (§3: a List of String Items with `q`, the quota, and `w`, the
 *   window in seconds, §3.1.1 and §3.1.3) and `RateLimit` (§4: a List of Items with `r`,
 *   the remaining quota, and `t`, seconds until more quota is available, §4.1.1–4.1.2).
 *   Lists are serialised as RFC 8941 §4.1.1 does: members joined by ", ".
 *
 * The burst policy is advertised as q = burst over w = ceil(burst / rate) seconds, the
 * time an empty bucket takes to refill; `t` is when the next request frees up. A
 * decision with no state (no limits, or an outage in `open` mode) gives no headers.
 */
export function rateLimitHeaders(decision: LimitDecision, nowMs: number = Date.now()): Record<string, string> {
  const { burst, daily } = decision;
  const closest = closestToRefusing(decision);
  if (closest === undefined) return {};
  // Built by hand, not with arrays and join: this runs on every authenticated request.
  let policy: string;
  let remaining: string;
  if (burst && daily) {
    policy = `${policyItem('burst', burst)}, ${policyItem('daily', daily)}`;
    remaining = `${remainingItem('burst', burst)}, ${remainingItem('daily', daily)}`;
  } else {
    const [name, state] = burst ? (['burst', burst] as const) : (['daily', daily!] as const);
    policy = policyItem(name, state);
    remaining = remainingItem(name, state);
  }
  return {
    'X-RateLimit-Limit': String(closest.limit),
    'X-RateLimit-Remaining': String(closest.remaining),
    'X-RateLimit-Reset': String(Math.ceil(nowMs / 1000 + closest.resetSeconds)),
    'RateLimit-Policy': policy,
    RateLimit: remaining,
  };
}

/** One member of `RateLimit-Policy`: `"name";q=<quota>;w=<window seconds>`. */
function policyItem(name: string, state: PolicyState): string {
  return `"${name}";q=${state.limit};w=${state.windowSeconds}`;
}

/** One member of `RateLimit`: `"name";r=<remaining>;t=<seconds until more>`. */
function remainingItem(name: string, state: PolicyState): string {
  return `"${name}";r=${state.remaining};t=${state.resetSeconds}`;
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
  return burst.resetSeconds > daily.resetSeconds ? burst : daily;
}
