import { NetworkRefusal, type NetworkPolicy } from '../netguard/network-policy.js';
import { createWebhookMessageId, parseWebhookSecret, signWebhook } from './webhook-signature.js';
import { postWebhook, shortText, type AttemptOutcome } from './webhook-post.js';
import { DEFAULT_JITTER, DEFAULT_RETRY_DELAYS_MS, nextRetryDelay } from './webhook-retry.js';

export { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_WEBHOOK_TIMEOUT_MS, pinnedLookup, type AttemptOutcome } from './webhook-post.js';
export { backoffDelay, DEFAULT_RETRY_DELAYS_MS } from './webhook-retry.js';

/** What one attempt needs. */
export interface WebhookAttemptOptions {
  /** The receiver's URL (http or https); checked by the network guard before every attempt. */
  url: string;
  /** The JSON body, serialized once so that the signed bytes are the sent bytes. */
  payload: unknown;
  /** The `whsec_…` secret of the key that owns the job. */
  secret: string;
  /** The network guard's policy: private addresses are refused unless the operator allowed them. */
  policy: NetworkPolicy;
  /** The key's allowed hosts, when it has any (narrows the policy as for captures). */
  narrowHosts?: readonly string[];
  /** The `webhook-id`: the same on every attempt (receiver-side deduplication). */
  messageId: string;
  timeoutMs?: number | undefined;
  maxResponseBytes?: number;
  /** Stops the attempt (the check or the POST in flight); the outcome then says `aborted`. */
  signal?: AbortSignal | undefined;
}

/** What a whole in-process delivery needs: an attempt's options, and the schedule of retries. */
export interface WebhookDeliveryOptions extends Omit<WebhookAttemptOptions, 'messageId'> {
  /** The `webhook-id`; one is created when absent. */
  messageId?: string;
  /** Waits before attempts 2, 3…; its length + 1 is the number of attempts. Tests pass a few milliseconds. */
  retryDelaysMs?: readonly number[];
  /** Each wait is scaled by a random factor in [1 - jitter, 1 + jitter] (default 0.2), so retries of many jobs spread out. */
  jitter?: number;
  /** Random numbers in [0, 1) for the jitter; injectable for tests. */
  random?: () => number;
  /** Told after each attempt, so the job can show progress; its errors are ignored. */
  onAttempt?: (attempt: WebhookAttempt) => void;
}

/** The outcome of one attempt, as told to `onAttempt`. */
export interface WebhookAttempt {
  attempt: number;
  statusCode?: number;
  error?: string;
}

/** The record of a delivery, kept on the job. Errors are short, and never hold the secret or the URL. */
export interface WebhookDeliveryRecord {
  status: 'delivered' | 'failed';
  /** The `webhook-id` sent. */
  messageId: string;
  attempts: number;
  lastStatusCode?: number;
  lastError?: string;
  /** ISO time of the 2xx answer. */
  deliveredAt?: string;
}

/**
 * One attempt: checks the caller's input, asks the network guard, signs (a fresh
 * timestamp each time) and POSTs to exactly the address the guard approved. A refused
 * destination is final; a name that did not resolve may resolve later, so it is retried.
 * Resolves, never rejects: whatever the receiver (or the caller's input) does, the
 * answer is an outcome with a short error.
 */
export async function attemptWebhook(options: WebhookAttemptOptions): Promise<AttemptOutcome> {
  const prepared = prepare(options);
  if (typeof prepared === 'string') return { error: prepared, retry: false, invalid: true };
  let address: string;
  try {
    address = await options.policy.checkUrl(prepared.url, options.narrowHosts ?? []);
  } catch (error) {
    if (error instanceof NetworkRefusal) return { error: shortText(`refused: ${error.reason}`), retry: error.kind === 'unresolvable' };
    return { error: 'refused: the network check failed', retry: false };
  }
  if (options.signal?.aborted) return { error: 'aborted', retry: false };
  const headers = signWebhook(options.secret, options.messageId, Math.floor(Date.now() / 1000), prepared.body);
  return postWebhook(prepared.url, address, prepared.body, headers, options);
}

/**
 * Every attempt of one delivery in this process: posts, waits and retries with backoff
 * on network errors, timeouts, 429 and 5xx (never on other 4xx nor 3xx: redirects are
 * not followed, they could lead to private addresses), honouring Retry-After within the
 * schedule (see `nextRetryDelay`). It sleeps between attempts, so it is for tools and
 * tests: the dispatcher makes one attempt per queue job instead and never sleeps. Never
 * throws.
 */
export async function deliverWebhook(options: WebhookDeliveryOptions): Promise<WebhookDeliveryRecord> {
  const messageId = options.messageId ?? createWebhookMessageId();
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const record: WebhookDeliveryRecord = { status: 'failed', messageId, attempts: 0 };
  for (let attempt = 1; attempt <= delays.length + 1; attempt++) {
    if (options.signal?.aborted) return { ...record, lastError: 'aborted' };
    const outcome = await attemptWebhook({ ...options, messageId });
    if (outcome.invalid) return { ...record, lastError: outcome.error! }; // nothing was sent: no attempt
    record.attempts = attempt;
    record.lastStatusCode = outcome.statusCode;
    record.lastError = outcome.error;
    if (record.lastStatusCode === undefined) delete record.lastStatusCode;
    if (record.lastError === undefined) delete record.lastError;
    try {
      options.onAttempt?.({ attempt, ...(outcome.statusCode !== undefined ? { statusCode: outcome.statusCode } : {}), ...(outcome.error ? { error: outcome.error } : {}) });
    } catch {
      // A progress hook must not change the delivery.
    }
    if (!outcome.error) return { ...record, status: 'delivered', deliveredAt: new Date().toISOString() };
    if (!outcome.retry || options.signal?.aborted || attempt > delays.length) break;
    const wait = nextRetryDelay({ made: attempt, delaysMs: delays, retryAfterMs: outcome.retryAfterMs, jitter: options.jitter ?? DEFAULT_JITTER, ...(options.random ? { random: options.random } : {}) });
    await sleep(wait, options.signal);
    if (options.signal?.aborted) return { ...record, lastError: 'aborted' };
  }
  return record;
}

/**
 * Why a delivery cannot be sent at all (the caller's input, not the receiver), or the
 * parsed URL and serialized body. Never holds the secret or the URL in its text.
 */
function prepare(options: Pick<WebhookAttemptOptions, 'url' | 'payload' | 'secret'>): { url: URL; body: string } | string {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    return 'the webhook URL is not valid';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'the webhook URL must be http or https';
  if (url.username || url.password) return 'the webhook URL must not hold credentials';
  let body: string | undefined;
  try {
    body = JSON.stringify(options.payload);
  } catch {
    return 'the payload cannot be serialized as JSON';
  }
  if (body === undefined) return 'the payload cannot be serialized as JSON';
  try {
    parseWebhookSecret(options.secret);
  } catch (error) {
    return (error as Error).message; // written in webhook-signature.ts, never holds the secret
  }
  return { url, body };
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
