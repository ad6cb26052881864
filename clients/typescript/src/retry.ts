import { errorCodeSpec, type RetryAdvice } from './error-codes.js';
import { AbortError, ApiError, ConnectionError, PageShotError, TimeoutError } from './errors.js';

/** How the client retries; every field has a default in `PageShot`. */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = never retry). */
  maxRetries: number;
  /** No retry starts later than this many ms after the first attempt began. */
  maxRetryTimeMs: number;
  /** First backoff step; the n-th retry waits a random time up to base × 2^n (full jitter). */
  baseDelayMs: number;
  /** Largest backoff step when the server gave no time to wait. */
  maxDelayMs: number;
  /**
   * Wait out a used-up daily quota (`QUOTA_EXCEEDED`) however long it takes, even past
   * `maxRetryTimeMs`. Off by default: the quota renews at 00:00 UTC, usually hours away.
   */
  retryQuotaExceeded: boolean;
}

/** What may be repeated of one kind of call when no answer came back. */
export interface Repeatable {
  /** Retry after a failed or broken connection. */
  onConnectionError: boolean;
  /** Retry after the per-attempt timeout. */
  onTimeout: boolean;
}

/** Details of a retry about to happen, for logging (`onRetry`). */
export interface RetryEvent {
  /** The attempt that failed (1 = the first request). */
  attempt: number;
  /** How long the client waits before the next attempt. */
  delayMs: number;
  error: PageShotError;
}

/**
 * The retry advice for an error answer: the server's table (error-codes.ts) for a code it
 * lists. A code this client does not know (a newer server, a proxy in front) is judged by
 * what the answer shows: a 429 is a limit that passes, and a 503 whose body says
 * `status: "busy"` is load shedding; anything else is not retried.
 */
export function retryAdvice(error: ApiError): RetryAdvice {
  const known = errorCodeSpec(error.code);
  if (known) return known.retry;
  if (error.status === 429) return 'yes';
  if (error.status === 503 && error.body?.status === 'busy') return 'yes';
  return 'no';
}

/** A decision to retry, with the server's own wait when it gave one. */
interface Verdict {
  /** Ms the server asked for (`Retry-After` or the rate-limit reset). */
  waitMs: number | undefined;
  /** True when the wait may run past `maxRetryTimeMs` (an accepted quota wait). */
  unbounded: boolean;
}

/**
 * Whether an error is worth another attempt. Refusals the server made before doing any
 * work (429 limits, 503 busy) are safe to repeat for every call; failures without an
 * answer only for calls marked repeatable, since the first attempt may have done its work.
 */
export function retryVerdict(error: PageShotError, repeatable: Repeatable, policy: RetryPolicy, waitMs?: number): Verdict | undefined {
  if (error instanceof ApiError) {
    const advice = retryAdvice(error);
    // `at-reset` (a used-up daily quota) waits for the renewal, past maxRetryTimeMs only when asked to.
    if (advice === 'at-reset') return { waitMs, unbounded: policy.retryQuotaExceeded };
    return advice === 'yes' ? { waitMs, unbounded: false } : undefined;
  }
  if (error instanceof TimeoutError) return repeatable.onTimeout ? { waitMs: undefined, unbounded: false } : undefined;
  if (error instanceof ConnectionError) return repeatable.onConnectionError ? { waitMs: undefined, unbounded: false } : undefined;
  return undefined;
}

/**
 * The wait before retry number `retry` (0-based). Without a server time it is "full
 * jitter" (a random time up to base × 2^retry, capped): clients that failed together
 * spread out instead of returning in step. With one, it is that time plus up to one
 * base step of jitter, so it is never earlier than the server asked.
 */
export function backoffMs(retry: number, policy: RetryPolicy, waitMs: number | undefined, random: () => number = Math.random): number {
  if (waitMs !== undefined) return waitMs + Math.round(random() * policy.baseDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(random() * ceiling);
}

/** Resolves after `ms`, or rejects with `AbortError` as soon as `signal` fires; `waitingFor` names the wait in that error. */
export function sleep(ms: number, signal?: AbortSignal, waitingFor = 'to retry'): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortError('The request was aborted.'));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortError(`The request was aborted while waiting ${waitingFor}.`));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One attempt at a call. */
export type Attempt<T> = () => Promise<T>;

/**
 * Runs `attempt` until it succeeds, the error is not retryable, `maxRetries` is used
 * up, or the next attempt would start past `maxRetryTimeMs`; then throws the last error
 * (its `attempts` says how many were made). A wait the budget cannot cover is not slept
 * at all: the caller gets the error, with its `retryAfter`, at once.
 */
export async function withRetries<T>(
  attempt: Attempt<T>,
  options: {
    policy: RetryPolicy;
    repeatable: Repeatable;
    signal: AbortSignal | undefined;
    /** The server's wait for an error (`Retry-After`, or the reset of a 429). */
    waitOf: (error: PageShotError) => number | undefined;
    onRetry: ((event: RetryEvent) => void) | undefined;
  },
): Promise<T> {
  const { policy, repeatable, signal } = options;
  const started = Date.now();
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof PageShotError)) throw error;
      error.attempts = retry + 1;
      if (retry >= policy.maxRetries) throw error;
      const verdict = retryVerdict(error, repeatable, policy, options.waitOf(error));
      if (!verdict) throw error;
      const delayMs = backoffMs(retry, policy, verdict.waitMs);
      if (!verdict.unbounded && Date.now() + delayMs - started > policy.maxRetryTimeMs) throw error;
      options.onRetry?.({ attempt: retry + 1, delayMs, error });
      await sleep(delayMs, signal).catch((aborted: PageShotError) => {
        aborted.attempts = retry + 1;
        throw aborted;
      });
    }
  }
}
