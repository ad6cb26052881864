/**
 * Reading the server's rate-limit headers: the de-facto `X-RateLimit-*` trio, the IETF
 * draft's `RateLimit` / `RateLimit-Policy` fields (draft-ietf-httpapi-ratelimit-headers-10)
 * and `Retry-After` (RFC 9110 §10.2.3).
 */

/** One policy as the IETF fields describe it (`burst`, `daily`). */
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
  /** Requests the closest-to-refusing policy allows (`X-RateLimit-Limit`). */
  limit: number;
  /** Requests left before it refuses (`X-RateLimit-Remaining`). */
  remaining: number;
  /** When `remaining` next grows (`X-RateLimit-Reset`, server clock). */
  reset: Date;
  /** Every policy by name, from the IETF fields; empty when the server sent none. */
  policies: Record<string, RateLimitPolicy>;
  /** When this answer arrived (client clock). */
  observedAt: Date;
}

function integer(value: string | null): number | undefined {
  if (value === null || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/** Splits an RFC 8941 list of `"name";k=v;k=v` items into name → parameters. */
function structuredItems(value: string | null): Map<string, Record<string, number>> {
  const items = new Map<string, Record<string, number>>();
  for (const member of (value ?? '').split(',')) {
    const [rawName, ...params] = member.trim().split(';');
    const name = rawName?.trim().replace(/^"|"$/g, '');
    if (!name) continue;
    const parsed: Record<string, number> = {};
    for (const param of params) {
      const [key, raw] = param.split('=');
      const number = Number(raw);
      if (key && raw !== undefined && Number.isFinite(number)) parsed[key.trim()] = number;
    }
    items.set(name, parsed);
  }
  return items;
}

/** The rate-limit state an answer's headers describe, or undefined when they describe none. */
export function parseRateLimit(headers: Headers, now: Date = new Date()): RateLimitState | undefined {
  const limit = integer(headers.get('x-ratelimit-limit'));
  const remaining = integer(headers.get('x-ratelimit-remaining'));
  const reset = integer(headers.get('x-ratelimit-reset'));
  if (limit === undefined || remaining === undefined || reset === undefined) return undefined;
  const quotas = structuredItems(headers.get('ratelimit-policy'));
  const policies: Record<string, RateLimitPolicy> = {};
  for (const [name, params] of structuredItems(headers.get('ratelimit'))) {
    if (params.r === undefined || params.t === undefined) continue;
    const quota = quotas.get(name);
    policies[name] = { quota: quota?.q, windowSeconds: quota?.w, remaining: params.r, resetSeconds: params.t };
  }
  return { limit, remaining, reset: new Date(reset * 1000), policies, observedAt: now };
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
 * Milliseconds until `X-RateLimit-Reset`, measured on the server's clock (its `Date`
 * header) when it sent one. Used for a 429 that carries no `Retry-After`.
 */
export function resetAfterMs(headers: Headers, nowMs: number = Date.now()): number | undefined {
  const reset = integer(headers.get('x-ratelimit-reset'));
  if (reset === undefined) return undefined;
  return Math.max(0, reset * 1000 - serverNow(headers, nowMs));
}

function serverNow(headers: Headers, nowMs: number): number {
  const date = Date.parse(headers.get('date') ?? '');
  return Number.isNaN(date) ? nowMs : date;
}
