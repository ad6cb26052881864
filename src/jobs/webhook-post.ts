import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { WebhookHeaders } from './webhook-signature.js';
import { headerValues, parseRetryAfter } from './webhook-retry.js';

/** One attempt, connection to last byte read, takes at most this long. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Bytes of the receiver's answer read at most; the socket is destroyed past it. */
export const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024;

/** The outcome of one POST: the status (if one came), a short error (if it failed), whether to try again. */
export interface AttemptOutcome {
  statusCode?: number;
  error?: string;
  retry: boolean;
  /** The receiver's Retry-After (429, 503), in ms from when the answer came; see `parseRetryAfter`. */
  retryAfterMs?: number;
  /** The caller's input cannot be sent (bad URL, payload or secret): nothing was attempted. */
  invalid?: true;
}

/** How one POST may go. */
export interface PostLimits {
  timeoutMs?: number | undefined;
  maxResponseBytes?: number | undefined;
  /** Ends the attempt early; the outcome then says `aborted` (unless the status was already known). */
  signal?: AbortSignal | undefined;
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

/**
 * POSTs `body` to `url`, connecting to `address` only (see `pinnedLookup`), with the
 * signed headers. Redirects are not followed; the answer's body is read up to the byte
 * cap only to let the receiver finish. Resolves, never rejects.
 */
export function postWebhook(url: URL, address: string, body: string, signed: WebhookHeaders, limits: PostLimits): Promise<AttemptOutcome> {
  const timeoutMs = limits.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const maxBytes = limits.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const { signal } = limits;
  return new Promise<AttemptOutcome>((resolve) => {
    let settled: AttemptOutcome | undefined;
    let decided: AttemptOutcome | undefined;
    const finish = (outcome: AttemptOutcome) => {
      if (settled) return;
      settled = outcome;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      request.destroy(); // no keep-alive, no trailing bytes: the attempt owns its socket to the end
      resolve(outcome);
    };
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
    // Once the status is known, the outcome is decided; reading the body only lets the receiver finish.
    const timer = setTimeout(() => finish(decided ?? { error: `timed out after ${timeoutMs} ms`, retry: true }), timeoutMs);
    const onAbort = () => finish(decided ?? { error: 'aborted', retry: false });
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    // Listeners stay on for the socket's whole life: a late error after destroy must find a handler.
    request.on('error', (error) => finish(decided ?? { error: networkError(error), retry: true }));
    request.on('response', (response) => {
      decided = classifyStatus(response.statusCode ?? 0);
      if (decided.statusCode === 429 || decided.statusCode === 503) {
        const retryAfterMs = parseRetryAfter(headerValues(response.rawHeaders, 'retry-after'), Date.now());
        if (retryAfterMs !== undefined) decided.retryAfterMs = retryAfterMs;
      }
      let read = 0;
      response.on('error', () => finish(decided!));
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= maxBytes) finish(decided!);
      });
      response.on('end', () => finish(decided!));
      response.on('aborted', () => finish(decided!));
    });
    request.end(body);
  });
}

/** 2xx delivers; 429 and 5xx are worth another try; anything else (3xx, other 4xx, odd codes) is final. */
export function classifyStatus(code: number): AttemptOutcome {
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
  if (/CERT|SSL|TLS|ERR_TLS/.test(code)) return `TLS error (${shortText(code.replace(/[^A-Z0-9_]/g, ''))})`;
  if (/^[A-Z0-9_]{1,40}$/.test(code)) return `network error (${code})`;
  return 'network error';
}

/** `text`, cut to 200 characters: records keep short errors. */
export function shortText(text: string): string {
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}
