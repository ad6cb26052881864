/**
 * Reading the server's rate-limit headers, in whichever form it sends them
 * (PAGESHOT_RATELIMIT_HEADERS): the de-facto `X-RateLimit-*` trio (always sent by
 * PageShot), and the IETF draft's fields as draft-ietf-httpapi-ratelimit-headers-10
 * (`RateLimit` / `RateLimit-Policy` lists of named items), -07 (`RateLimit: limit=…,
 * remaining=…, reset=…`) or -06 (`RateLimit-Limit` / `-Remaining` / `-Reset`) writes
 * them; and `Retry-After` (RFC 9110 §10.2.3).
 */

/** One policy as the draft-10 fields describe it (`burst`, `daily`). */
export interface RateLimitPolicy {
  /** Requests the policy allows per window (`q`), when `RateLimit-Policy` was sent. */
  quota: number | undefined;
  /** The window in seconds (`w`), when `RateLimit-Policy` was sent. */
  windowSeconds: number | undefined;
  /** Requests left (`r`). */
  remaining: number;
  /** Seconds until more are available (`t`), counted from `observedAt`. */
  resetSeconds: number;
}

/**
 * Where the key stands, from the last answer that said so. `limit`, `remaining` and
 * `reset` describe the policy closest to refusing; `policies` has each one.
 */
export interface RateLimitState {
  /** Requests the closest-to-refusing policy allows. */
  limit: number;
  /** Requests left before it refuses. */
  remaining: number;
  /**
   * When `remaining` next grows: `X-RateLimit-Reset` (server clock) when sent, else the
   * IETF field's delta seconds counted from `observedAt`.
   */
  reset: Date;
  /** Every policy by name, from draft-10 fields; empty when the server sent another form. */
  policies: Record<string, RateLimitPolicy>;
  /** When this answer arrived (client clock). */
  observedAt: Date;
}

/** The closest policy's figures, before they become a state. */
type Closest = Pick<RateLimitState, 'limit' | 'remaining' | 'reset'>;

function integer(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/** Splits an RFC 8941 list of `"name";k=v;k=v` items into name → parameters. */
function structuredItems(value: string | null): Map<string, Record<string, number>> {
  const items = new Map<string, Record<string, number>>();
  for (const member of (value ?? '').split(',')) {
    const [rawName, ...params] = member.trim().split(';');
    // A policy is named by a String (or Token) item: draft-7's `limit=5` members and
    // draft-6/-7's bare integer policies (`500;w=3`) name nothing.
    const name = /^\s*(?:"([^"]+)"|([A-Za-z*][\w:/!#$%&'*+.^`|~-]*))\s*$/.exec(rawName ?? '');
    if (!name) continue;
    const parsed: Record<string, number> = {};
    for (const param of params) {
      const [key, raw] = param.split('=');
      const number = integer(raw);
      if (key && number !== undefined) parsed[key.trim()] = number;
    }
    items.set((name[1] ?? name[2])!, parsed);
  }
  return items;
}

/** draft-10: each named policy with its `r` and `t`, and `q` / `w` from `RateLimit-Policy`. */
function draft10Policies(headers: Headers): Record<string, RateLimitPolicy> {
  const quotas = structuredItems(headers.get('ratelimit-policy'));
  const policies: Record<string, RateLimitPolicy> = {};
  for (const [name, params] of structuredItems(headers.get('ratelimit'))) {
    if (params.r === undefined || params.t === undefined) continue;
    const quota = quotas.get(name);
    policies[name] = { quota: quota?.q, windowSeconds: quota?.w, remaining: params.r, resetSeconds: params.t };
  }
  return policies;
}

const secondsAfter = (now: Date, seconds: number): Date => new Date(now.getTime() + seconds * 1000);

function deFacto(headers: Headers): Closest | undefined {
  const limit = integer(headers.get('x-ratelimit-limit'));
  const remaining = integer(headers.get('x-ratelimit-remaining'));
  const reset = integer(headers.get('x-ratelimit-reset'));
  if (limit === undefined || remaining === undefined || reset === undefined) return undefined;
  return { limit, remaining, reset: new Date(reset * 1000) };
}

/** draft-7: `RateLimit` as an RFC 8941 Dictionary with integer `limit`, `remaining`, `reset`. */
function draft7(headers: Headers, now: Date): Closest | undefined {
  const fields: Record<string, number | undefined> = {};
  for (const member of (headers.get('ratelimit') ?? '').split(',')) {
    const [key, value] = member.split('=');
    if (key && value !== undefined) fields[key.trim()] = integer(value);
  }
  const { limit, remaining, reset } = fields;
  if (limit === undefined || remaining === undefined || reset === undefined) return undefined;
  return { limit, remaining, reset: secondsAfter(now, reset) };
}

/** draft-6: separate `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta seconds). */
function draft6(headers: Headers, now: Date): Closest | undefined {
  const limit = integer(headers.get('ratelimit-limit'));
  const remaining = integer(headers.get('ratelimit-remaining'));
  const reset = integer(headers.get('ratelimit-reset'));
  if (limit === undefined || remaining === undefined || reset === undefined) return undefined;
  return { limit, remaining, reset: secondsAfter(now, reset) };
}

/** The draft-10 policy closest to refusing (fewest left; on a tie, the longer wait). */
function closestPolicy(policies: Record<string, RateLimitPolicy>, now: Date): Closest | undefined {
  let closest: RateLimitPolicy | undefined;
  for (const policy of Object.values(policies)) {
    if (policy.quota === undefined) continue;
    const closer = !closest || policy.remaining < closest.remaining || (policy.remaining === closest.remaining && policy.resetSeconds > closest.resetSeconds);
    if (closer) closest = policy;
  }
  return closest && { limit: closest.quota!, remaining: closest.remaining, reset: secondsAfter(now, closest.resetSeconds) };
}

/**
 * The rate-limit state an answer's headers describe, or undefined when they describe none.
 * `X-RateLimit-*` is preferred (its reset is exact to the second); without it (a proxy
 * may strip `X-` fields) the IETF fields of any draft above stand in.
 */
export function parseRateLimit(headers: Headers, now: Date = new Date()): RateLimitState | undefined {
  const policies = draft10Policies(headers);
  const closest = deFacto(headers) ?? draft7(headers, now) ?? draft6(headers, now) ?? closestPolicy(policies, now);
  if (!closest) return undefined;
  return { ...closest, policies, observedAt: now };
}

/**
 * Milliseconds the server asked us to wait: `Retry-After` as delay-seconds or as an
 * HTTP date, else undefined. An HTTP date is compared with the server's own `Date`
 * header when there is one, so a skewed client clock does not shorten the wait.
 */
export function retryAfterMs(headers: Headers, nowMs: number = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  const seconds = integer(value);
  if (seconds !== undefined) return seconds * 1000;
  const at = Date.parse(value);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - serverNow(headers, nowMs));
}

/**
 * Milliseconds until the closest policy's reset: `X-RateLimit-Reset` measured on the
 * server's clock (its `Date` header) when it sent one, else the IETF field's delta
 * seconds. Used for a 429 that carries no `Retry-After`.
 */
export function resetAfterMs(headers: Headers, nowMs: number = Date.now()): number | undefined {
  const reset = integer(headers.get('x-ratelimit-reset'));
  if (reset !== undefined) return Math.max(0, reset * 1000 - serverNow(headers, nowMs));
  const state = parseRateLimit(headers, new Date(nowMs));
  return state && Math.max(0, state.reset.getTime() - nowMs);
}

function serverNow(headers: Headers, nowMs: number): number {
  const date = Date.parse(headers.get('date') ?? '');
  return Number.isNaN(date) ? nowMs : date;
}
