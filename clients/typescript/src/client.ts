import { PageShotError } from './errors.js';
import { jobPath, waitForJob, type WaitOptions } from './jobs.js';
import { Keys } from './keys.js';
import { retryAfterMs, type RateLimitState } from './rate-limit.js';
import type { Repeatable, RetryEvent, RetryPolicy } from './retry.js';
import { Transport, type Answer, type RequestOptions } from './transport.js';
import type {
  CacheStatus,
  Device,
  Job,
  JobOptions,
  Me,
  PdfCaptureOptions,
  Screenshot,
  ScreenshotOptions,
  Status,
  SubmittedJob,
  Timing,
  Usage,
  UsageRange,
  WebhookSecret,
} from './types.js';
import { usageQuery } from './usage-range.js';

/** Per-call settings of `screenshot()` and `pdf()`: those of every call, and a conditional request. */
export interface CaptureRequestOptions extends RequestOptions {
  /**
   * The `etag` of a capture you already hold (sent as `If-None-Match`). When the answer's
   * bytes carry the same tag, the server sends none: the result has `notModified: true`
   * and an empty `image`. Useful with `cacheTtl`, where a repeat is a cache `HIT`.
   */
  ifNoneMatch?: string;
}

/** Settings of a client. Only the key is needed, and it can come from the environment. */
export interface PageShotOptions {
  /** Defaults to the `PAGESHOT_API_KEY` environment variable. Never shown in errors. */
  apiKey?: string;
  /** Defaults to `PAGESHOT_BASE_URL`, else `http://localhost:3000`. May include a path prefix. */
  baseUrl?: string;
  /** Retries after the first attempt (default 3; 0 = never retry). */
  maxRetries?: number;
  /** Deadline of one attempt in ms, queueing and rendering included (default 120000). */
  timeoutMs?: number;
  /** No retry starts later than this many ms after the call began (default 120000). */
  maxRetryTimeMs?: number;
  /** First backoff step in ms (default 500); the n-th retry waits up to base × 2^n. */
  retryBaseDelayMs?: number;
  /** Largest backoff step in ms when the server gave no wait (default 20000). */
  retryMaxDelayMs?: number;
  /** Wait out a used-up daily quota (`QUOTA_EXCEEDED`) even past `maxRetryTimeMs` (default false). */
  retryQuotaExceeded?: boolean;
  /** Headers added to every request (not `authorization`). */
  headers?: Record<string, string>;
  /** A `fetch` to use instead of the global one (a proxy agent, instrumentation). */
  fetch?: typeof fetch;
  /** Called before each retry with the error and the wait, for logging. */
  onRetry?: (event: RetryEvent) => void;
}

const DEFAULT_BASE_URL = 'http://localhost:3000';

/** Reads an environment variable where there is one (Node, Deno, Bun); undefined in a browser. */
function env(name: string): string | undefined {
  return globalThis.process?.env?.[name];
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new PageShotError(`"${name}" must be a number >= 0.`);
  return value;
}

/** A screenshot is safe to repeat after a lost connection; a timed-out one may still be rendering, so not after a timeout. */
const SCREENSHOT = { onConnectionError: true, onTimeout: false };
const READ = { onConnectionError: true, onTimeout: true };
/**
 * A job submission is repeated only when the server refused it before doing anything (429,
 * busy 503): after a lost answer the job may exist, and a second one would render, count
 * against the quota and call the webhook twice.
 */
const SUBMIT = { onConnectionError: false, onTimeout: false };
/**
 * Creating a webhook secret replaces the old one at once. If an answer is lost the old
 * secret is dead already and the new one was never seen: asking again is the fix.
 */
const NEW_SECRET = READ;

/**
 * `Server-Timing: queue;dur=3, navigation;dur=120, capture;dur=40, render;dur=170`:
 * `queue` and `render` (the total), and every other entry as a phase, in order; or
 * `cache;desc="hit";dur=0.4` for an answer from the result cache, which is no phase.
 */
function parseServerTiming(header: string | null): Timing {
  const timing: Timing = { phases: {} };
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.split(';').map((part) => part.trim());
    const dur = params.find((param) => /^dur=/i.test(param));
    const ms = dur === undefined ? Number.NaN : Number(dur.slice(4).replace(/^"|"$/g, ''));
    if (!name || !Number.isFinite(ms)) continue;
    if (name === 'queue') timing.queueMs = ms;
    else if (name === 'render') timing.renderMs = ms;
    else if (name === 'cache') timing.cacheMs = ms;
    else timing.phases[name] = ms;
  }
  return timing;
}

/** A whole number from a header, or undefined. */
function intHeader(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

/**
 * `X-Cache` as PageShot sends it; anything else (a CDN in front that sets its own, say
 * `Hit from cloudfront`) is not about PageShot's cache, so undefined.
 */
function cacheStatus(headers: Headers): CacheStatus | undefined {
  const value = headers.get('x-cache')?.trim().toUpperCase();
  return value === 'HIT' || value === 'MISS' || value === 'BYPASS' ? value : undefined;
}

/** The `Screenshot` of a capture answer: the bytes and what the headers say about them. */
function toScreenshot(answer: Answer<Uint8Array>): Screenshot {
  const { headers } = answer;
  return {
    image: answer.data,
    // A 304 carries no body, so no type; the bytes the caller holds keep theirs.
    contentType: answer.notModified ? '' : (headers.get('content-type') ?? 'application/octet-stream'),
    notModified: answer.notModified,
    cache: cacheStatus(headers),
    etag: headers.get('etag') ?? undefined,
    age: intHeader(headers, 'age'),
    finalUrl: headers.get('x-pageshot-final-url') ?? undefined,
    targetStatus: intHeader(headers, 'x-pageshot-target-status'),
    truncated: headers.get('x-pageshot-truncated')?.trim().toLowerCase() === 'true',
    pages: intHeader(headers, 'x-pageshot-pages'),
    rateLimit: answer.rateLimit,
    requestId: answer.requestId,
    timing: parseServerTiming(headers.get('server-timing')),
  };
}

/**
 * A client of one PageShot server.
 *
 * ```ts
 * const pageshot = new PageShot({ baseUrl: 'https://shots.example.com' }); // key from PAGESHOT_API_KEY
 * const { image } = await pageshot.screenshot('https://example.com');
 * ```
 *
 * Busy (503) and rate-limited (429) answers are retried with exponential backoff and
 * full jitter, never earlier than `Retry-After`; see the README for the full rules.
 */
export class PageShot {
  /** Key management (scope `keys:manage`). */
  readonly keys: Keys;
  readonly #transport: Transport;

  constructor(options: PageShotOptions = {}) {
    const apiKey = (options.apiKey ?? env('PAGESHOT_API_KEY'))?.trim();
    if (!apiKey) {
      throw new PageShotError('No API key: pass { apiKey } to new PageShot() or set the PAGESHOT_API_KEY environment variable.');
    }
    // A control character would make fetch throw an error that quotes the header, key included.
    if (!/^[\x20-\x7e]+$/.test(apiKey)) throw new PageShotError('The API key holds characters an HTTP header cannot carry.');
    const policy: RetryPolicy = {
      maxRetries: Math.floor(nonNegative('maxRetries', options.maxRetries, 3)),
      maxRetryTimeMs: nonNegative('maxRetryTimeMs', options.maxRetryTimeMs, 120_000),
      baseDelayMs: nonNegative('retryBaseDelayMs', options.retryBaseDelayMs, 500),
      maxDelayMs: nonNegative('retryMaxDelayMs', options.retryMaxDelayMs, 20_000),
      retryQuotaExceeded: options.retryQuotaExceeded ?? false,
    };
    // The key goes only where the client puts it.
    const headers = Object.fromEntries(
      Object.entries(options.headers ?? {}).filter(([name]) => !['authorization', 'x-api-key'].includes(name.toLowerCase())),
    );
    this.#transport = new Transport({
      apiKey,
      baseUrl: options.baseUrl ?? env('PAGESHOT_BASE_URL') ?? DEFAULT_BASE_URL,
      timeoutMs: nonNegative('timeoutMs', options.timeoutMs, 120_000),
      policy,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      headers,
      onRetry: options.onRetry,
    });
    this.keys = new Keys(this.#transport);
  }

  /**
   * The last rate-limit state any answer described (limit, remaining, reset, and each
   * policy), so a caller can slow down before it meets a 429. Undefined before the
   * first authenticated answer.
   */
  get rateLimit(): RateLimitState | undefined {
    return this.#transport.rateLimit;
  }

  /**
   * `POST /screenshot`: captures a URL (a string) or whatever `options` describe (`url`
   * or `html`, size, format, device, waits, blocking…). With `format: 'pdf'` the bytes
   * are a PDF, as from `pdf()`.
   */
  async screenshot(urlOrOptions: string | ScreenshotOptions, options?: CaptureRequestOptions): Promise<Screenshot> {
    const body = typeof urlOrOptions === 'string' ? { url: urlOrOptions } : urlOrOptions;
    return this.#capture('/screenshot', body, options);
  }

  /**
   * `POST /pdf`: prints a URL (a string) or whatever `options` describe as a PDF; paper,
   * margins, page ranges and header/footer go in `options.pdf`. The bytes are in
   * `image`, the page count in `pages`.
   */
  async pdf(urlOrOptions: string | PdfCaptureOptions, options?: CaptureRequestOptions): Promise<Screenshot> {
    const body = typeof urlOrOptions === 'string' ? { url: urlOrOptions } : urlOrOptions;
    return this.#capture('/pdf', body, options);
  }

  async #capture(path: string, body: ScreenshotOptions | PdfCaptureOptions, options: CaptureRequestOptions | undefined): Promise<Screenshot> {
    return this.#bytes('POST', path, body, SCREENSHOT, options);
  }

  /** A call answered with bytes (a capture, a job's result), conditional when `ifNoneMatch` is given. */
  async #bytes(
    method: 'GET' | 'POST',
    path: string,
    body: ScreenshotOptions | PdfCaptureOptions | undefined,
    repeatable: Repeatable,
    options: CaptureRequestOptions | undefined,
  ): Promise<Screenshot> {
    const { ifNoneMatch, ...request } = options ?? {};
    let headers: Record<string, string> | undefined;
    if (ifNoneMatch !== undefined) {
      // Checked here: fetch would throw a TypeError for it, which reads as a lost connection and is retried.
      if (!/^[\x20-\x7e]+$/.test(ifNoneMatch)) throw new PageShotError('"ifNoneMatch" must be an entity tag such as a capture\'s `etag`.');
      headers = { 'if-none-match': ifNoneMatch };
    }
    const call = { method, path, body, expect: 'bytes' as const, repeatable, ...(headers ? { headers } : {}) };
    return toScreenshot(await this.#transport.call<Uint8Array>(call, request));
  }

  /**
   * `POST /v1/jobs`: queues a capture and answers at once (202) with the job's `id`; the
   * server renders it in the background. Takes every option of `screenshot()`, plus
   * `webhookUrl` (PageShot POSTs the outcome there, signed: see `verifyWebhook()`; needs
   * `createWebhookSecret()` first, else `ValidationError` `WEBHOOK_SECRET_MISSING`) and
   * `metadata` (given back unchanged). Then `wait(id)` and `result(id)`, or the webhook.
   *
   * Retried only when the server refused it (429, busy 503): after a lost answer or a
   * timeout the job may exist, and repeating it would run it twice.
   *
   * ```ts
   * const { id } = await pageshot.submit({ url: 'https://example.com', fullPage: true });
   * const job = await pageshot.wait(id);
   * if (job.status === 'succeeded') await writeFile('example.png', (await pageshot.result(id)).image);
   * ```
   */
  async submit(urlOrOptions: string | JobOptions, options?: RequestOptions): Promise<SubmittedJob> {
    const body = typeof urlOrOptions === 'string' ? { url: urlOrOptions } : urlOrOptions;
    return (await this.#transport.call<SubmittedJob>({ method: 'POST', path: '/v1/jobs', body, expect: 'json', repeatable: SUBMIT }, options)).data;
  }

  /**
   * `GET /v1/jobs/:id`: where the job is (`queued`, `running`, `succeeded`, `failed`), its
   * `result` or `error`, and its webhook delivery. `NotFoundError` (`JOB_NOT_FOUND`) for an
   * unknown id and for another key's job.
   */
  async job(id: string, options?: RequestOptions): Promise<Job> {
    return (await this.#job(id, options)).data;
  }

  async #job(id: string, options: RequestOptions | undefined): Promise<Answer<Job>> {
    return this.#transport.call<Job>({ method: 'GET', path: jobPath(id), expect: 'json', repeatable: READ }, options);
  }

  /**
   * Polls `job(id)` until it `succeeded` or `failed`, and returns it (a failed job is
   * returned, not thrown: its `error` says why). Pauses start at `pollIntervalMs` (1 s)
   * and grow gently to 5 s, never shorter than a `Retry-After`. Throws `TimeoutError` once
   * `timeoutMs` (10 minutes) is up, `AbortError` when `signal` fires.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<Job> {
    const request = options.signal ? { signal: options.signal } : {};
    const poll = async () => {
      const answer = await this.#job(id, request);
      return { job: answer.data, retryAfterMs: retryAfterMs(answer.headers) };
    };
    return waitForJob(id, poll, options);
  }

  /**
   * `GET /v1/jobs/:id/result`: the bytes of a succeeded job, as a `Screenshot` (`image`,
   * `contentType`, `etag`; `ifNoneMatch` works as for captures). Throws `ConflictError`
   * while the job is not finished (`JOB_NOT_READY`) or when it failed (`JOB_FAILED`, with
   * `jobError`), `GoneError` once the result expired (`JOB_RESULT_EXPIRED`), `NotFoundError`
   * for an unknown id or another key's job.
   */
  async result(id: string, options?: CaptureRequestOptions): Promise<Screenshot> {
    return this.#bytes('GET', `${jobPath(id)}/result`, undefined, READ, options);
  }

  /**
   * `POST /v1/me/webhook-secret`: a new secret that signs this key's webhooks, replacing
   * the old one at once. The answer's `secret` is the only time it is shown: store it
   * where your receiver reads it (for `verifyWebhook()`).
   */
  async createWebhookSecret(options?: RequestOptions): Promise<WebhookSecret> {
    const call = { method: 'POST' as const, path: '/v1/me/webhook-secret', expect: 'json' as const, repeatable: NEW_SECRET };
    return (await this.#transport.call<WebhookSecret>(call, options)).data;
  }

  /** `GET /v1/me/webhook-secret`: this key's signing secret as its hint and creation time; null when it has none. */
  async webhookSecret(options?: RequestOptions): Promise<Omit<WebhookSecret, 'secret'> | null> {
    const call = { method: 'GET' as const, path: '/v1/me/webhook-secret', expect: 'json' as const, repeatable: READ };
    return (await this.#transport.call<{ webhookSecret: Omit<WebhookSecret, 'secret'> | null }>(call, options)).data.webhookSecret;
  }

  /**
   * `DELETE /v1/me/webhook-secret`: removes this key's signing secret; jobs submitted with
   * a `webhookUrl` are refused (`WEBHOOK_SECRET_MISSING`) until a new one is created.
   * Done whether the key had one or not, so it is safe to repeat.
   */
  async deleteWebhookSecret(options?: RequestOptions): Promise<void> {
    await this.#transport.call<void>({ method: 'DELETE', path: '/v1/me/webhook-secret', expect: 'none', repeatable: READ }, options);
  }

  /** `GET /v1/devices`: the presets the `device` option takes (any valid key). */
  async devices(options?: RequestOptions): Promise<Device[]> {
    const call = { method: 'GET' as const, path: '/v1/devices', expect: 'json' as const, repeatable: READ };
    return (await this.#transport.call<{ data: Device[] }>(call, options)).data.data;
  }

  /** `GET /status`: the server's load, queue and browser (needs no scope). */
  async status(options?: RequestOptions): Promise<Status> {
    return (await this.#transport.call<Status>({ method: 'GET', path: '/status', expect: 'json', repeatable: READ }, options)).data;
  }

  /** `GET /v1/me`: the calling key as the server sees it (any valid key). */
  async me(options?: RequestOptions): Promise<Me> {
    return (await this.#transport.call<Me>({ method: 'GET', path: '/v1/me', expect: 'json', repeatable: READ }, options)).data;
  }

  /** `GET /v1/usage`: the calling key's usage per UTC day (scope `usage:read`); default the last 30 days. */
  async usage(range: UsageRange = {}, options?: RequestOptions): Promise<Usage> {
    const call = { method: 'GET' as const, path: '/v1/usage', query: usageQuery(range), expect: 'json' as const, repeatable: READ };
    return (await this.#transport.call<Usage>(call, options)).data;
  }
}
