import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { NetworkRefusal, type NetworkPolicy } from '../netguard/network-policy.js';
import { createWebhookMessageId, parseWebhookSecret, signWebhook, type WebhookHeaders } from './webhook-signature.js';

/** Waits between attempts after the first: 5 s, 30 s, 2 min, 10 min (five attempts, ~13 min). */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [5_000, 30_000, 120_000, 600_000];
/** One attempt, connection to last byte read, takes at most this long. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Bytes of the receiver's answer read at most; the socket is destroyed past it. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/** What one delivery needs. */
export interface WebhookDeliveryOptions {
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
  /** The `webhook-id`; one is created when absent. The same on every retry (receiver-side deduplication). */
  messageId?: string;
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Waits before attempts 2, 3…; its length + 1 is the number of attempts. Tests pass a few milliseconds. */
  retryDelaysMs?: readonly number[];
  /** Each wait is scaled by a random factor in [1 - jitter, 1 + jitter] (default 0.2), so retries of many jobs spread out. */
  jitter?: number;
  /** Random numbers in [0, 1) for the jitter; injectable for tests. */
  random?: () => number;
  /** Stops the delivery (a pending wait or an attempt in flight); the record then says `aborted`. */
  signal?: AbortSignal;
  /** Told after each attempt, so the job can show progress; its errors are ignored. */
  onAttempt?: (attempt: WebhookAttempt) => void;
}

/** The outcome of one attempt. */
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

interface AttemptOutcome {
  statusCode?: number;
  error?: string;
  retry: boolean;
}

/**
 * Posts `payload` as JSON to `url`, signed with Standard Webhooks headers, and retries
 * with backoff on network errors, timeouts, 429 and 5xx (never on other 4xx nor 3xx:
 * redirects are not followed, they could lead to private addresses). Every attempt
 * checks the URL with the network guard and connects to exactly the address the guard
 * approved. Never throws: whatever the receiver (or the caller's input) does, the answer
 * is a record.
 */
export async function deliverWebhook(options: WebhookDeliveryOptions): Promise<WebhookDeliveryRecord> {
  const messageId = options.messageId ?? createWebhookMessageId();
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const record: WebhookDeliveryRecord = { status: 'failed', messageId, attempts: 0 };
  const prepared = prepare(options);
  if (typeof prepared === 'string') return { ...record, lastError: prepared };
  for (let attempt = 1; attempt <= delays.length + 1; attempt++) {
    if (attempt > 1) await sleep(backoffDelay(delays[attempt - 2]!, options.jitter ?? 0.2, options.random ?? Math.random), options.signal);
    if (options.signal?.aborted) return { ...record, lastError: 'aborted' };
    const outcome = await attemptOnce(options, prepared.url, prepared.body, messageId);
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
    if (!outcome.retry || options.signal?.aborted) break;
  }
  return record;
}

/** The wait before a retry: `base` scaled by a random factor in [1 - jitter, 1 + jitter]. */
export function backoffDelay(base: number, jitter: number, random: () => number): number {
  const spread = Math.min(Math.max(jitter, 0), 1);
  return Math.max(0, Math.round(base * (1 - spread + 2 * spread * random())));
}

/** The parsed URL and serialized body, or why the delivery cannot start (the caller's input, not the receiver). */
function prepare(options: WebhookDeliveryOptions): { url: URL; body: string } | string {
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

/** One attempt: guard check, then a pinned POST. Resolves, never rejects. */
async function attemptOnce(options: WebhookDeliveryOptions, url: URL, body: string, messageId: string): Promise<AttemptOutcome> {
  let address: string;
  try {
    address = await options.policy.checkUrl(url, options.narrowHosts ?? []);
  } catch (error) {
    // A refused destination stays refused; a name that did not resolve may resolve later.
    if (error instanceof NetworkRefusal) return { error: short(`refused: ${error.reason}`), retry: error.kind === 'unresolvable' };
    return { error: 'refused: the network check failed', retry: false };
  }
  if (options.signal?.aborted) return { error: 'aborted', retry: false };
  const headers = signWebhook(options.secret, messageId, Math.floor(Date.now() / 1000), body);
  return post(url, address, body, headers, options);
}

/**
 * A `lookup` that answers `address` whatever it is asked: the socket connects to the
 * address the guard checked, never to what DNS says a moment later (rebinding), while
 * the Host header and TLS name (SNI, certificate check) stay the URL's host.
 */
export function pinnedLookup(address: string): LookupFunction {
  const family = isIP(address) === 6 ? 6 : 4;
  return ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    // Node 20 asks for every address (`all: true`) when it may race IPv4 and IPv6.
    if (options?.all) callback(null, [{ address, family }]);
    else callback(null, address, family);
  }) as LookupFunction;
}

function post(url: URL, address: string, body: string, signed: WebhookHeaders, options: WebhookDeliveryOptions): Promise<AttemptOutcome> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  return new Promise<AttemptOutcome>((resolve) => {
    let settled: AttemptOutcome | undefined;
    let statusCode: number | undefined;
    const finish = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = outcome;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      request.destroy(); // no keep-alive, no trailing bytes: the attempt owns its socket to the end
      resolve(outcome);
    };
    // Once the status is known, the outcome is decided; reading the body only lets the receiver finish.
    const decided = () => (statusCode === undefined ? undefined : classifyStatus(statusCode));
    const client = url.protocol === 'https:' ? https : http;
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const request = client.request({
      method: 'POST',
      hostname,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      lookup: pinnedLookup(address),
      agent: false,
      // SNI may not carry an IP address; for names, the certificate is checked against the name.
      ...(url.protocol === 'https:' && isIP(hostname) === 0 ? { servername: hostname } : {}),
      headers: {
        ...signed,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': 'PageShot-Webhooks/1',
        connection: 'close',
      },
    });
    const timer = setTimeout(() => finish(decided() ?? { error: `timed out after ${timeoutMs} ms`, retry: true }), timeoutMs);
    const onAbort = () => finish(decided() ?? { error: 'aborted', retry: false });
    options.signal?.addEventListener('abort', onAbort, { once: true });
    // Listeners stay on for the socket's whole life: a late error after destroy must find a handler.
    request.on('error', (error) => finish(decided() ?? { error: networkError(error), retry: true }));
    request.on('response', (response) => {
      statusCode = response.statusCode ?? 0;
      let read = 0;
      response.on('error', () => finish(decided()!));
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= maxBytes) finish(decided()!);
      });
      response.on('end', () => finish(decided()!));
      response.on('aborted', () => finish(decided()!));
    });
    request.end(body);
  });
}

/** 2xx delivers; 429 and 5xx are worth another try; anything else (3xx, other 4xx, odd codes) is final. */
function classifyStatus(code: number): AttemptOutcome {
  if (code >= 200 && code <= 299) return { statusCode: code, retry: false };
  if (code >= 300 && code <= 399) return { statusCode: code, error: `redirect not followed (HTTP ${code})`, retry: false };
  if (code === 429 || (code >= 500 && code <= 599)) return { statusCode: code, error: `HTTP ${code}`, retry: true };
  return { statusCode: code, error: `HTTP ${code}`, retry: false };
}

/** A short, fixed description of a network error: never its message, which may carry the URL. */
function networkError(error: unknown): string {
  const code = String((error as { code?: unknown })?.code ?? '');
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET' || code === 'EPIPE') return 'connection reset';
  if (code.startsWith('HPE_')) return 'invalid HTTP answer';
  if (/CERT|SSL|TLS|ERR_TLS/.test(code)) return `TLS error (${short(code.replace(/[^A-Z0-9_]/g, ''))})`;
  if (/^[A-Z0-9_]{1,40}$/.test(code)) return `network error (${code})`;
  return 'network error';
}

function short(text: string): string {
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
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
