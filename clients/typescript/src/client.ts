import { captureInfo } from './capture-answer.js';
import { captureSpec, type CaptureCall, type CaptureRequestOptions } from './capture-call.js';
import { PageShotError } from './errors.js';
import { jobPath, waitForJob, type WaitOptions } from './jobs.js';
import { Keys } from './keys.js';
import { retryAfterMs, type RateLimitState } from './rate-limit.js';
import type { Repeatable, RetryEvent, RetryPolicy } from './retry.js';
import { signUrl } from './signed-url.js';
import { checkTarget, commitPart, writePart, type PartFile } from './to-file.js';
import { Transport, type Answer, type RequestOptions } from './transport.js';
import type {
  Device,
  Job,
  JobOptions,
  Me,
  PdfCaptureOptions,
  SavedScreenshot,
  Screenshot,
  ScreenshotOptions,
  SignedUrlOptions,
  Status,
  StreamedScreenshot,
  SubmittedJob,
  Usage,
  UsageRange,
  WebhookSecret,
} from './types.js';
import { usageQuery } from './usage-range.js';

/** Settings of a client. Only the key is needed, and it can come from the environment. */
export interface PageShotOptions {
  /**
   * Defaults to the `PAGESHOT_API_KEY` environment variable. Never shown in errors. May be
   * left out of a client that only signs links (`signingSecret` and `keyId`).
   */
  apiKey?: string;
  /** Defaults to `PAGESHOT_BASE_URL`, else `http://localhost:3000`. May include a path prefix. */
  baseUrl?: string;
  /** A signing secret of the key (`pss_…`, from `POST /v1/me/signing-secrets`), for `signedUrl()`. Never sent. */
  signingSecret?: string;
  /** The id of the key the signing secret belongs to (`keyId` of the secret), for `signedUrl()`. */
  keyId?: string;
  /** Retries after the first attempt (default 3; 0 = never retry). */
  maxRetries?: number;
  /**
   * The HTTP deadline of one attempt in ms (default 120000): from sending the request to
   * the last byte of the answer, queueing and rendering on the server included. Each retry
   * gets a new one; `maxRetryTimeMs` bounds the retries. Not the capture option `timeout`
   * (the server's render deadline), which must be shorter.
   */
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

/**
 * Default of `timeoutMs`: the server's longest render (`PAGESHOT_MAX_TIMEOUT_MS`, 60 s by
 * default) plus its longest queue wait (`PAGESHOT_QUEUE_TIMEOUT_MS`, 30 s), with 30 s to
 * spare for the transfer.
 */
const DEFAULT_TIMEOUT_MS = 120_000;

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

/** The `Screenshot` of a capture answer: the bytes and what the headers say about them. */
/** The body of a capture call from a URL or options. */
function captureBody<T extends ScreenshotOptions | PdfCaptureOptions>(urlOrOptions: string | T): T | { url: string } {
  return typeof urlOrOptions === 'string' ? { url: urlOrOptions } : urlOrOptions;
}

function toScreenshot(answer: Answer<Uint8Array>): Screenshot {
  return { ...captureInfo(answer), image: answer.data };
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
  /** The signing secret and its key's id, when given; private, so never printed. */
  readonly #signing: { secret: string; keyId: string } | undefined;

  constructor(options: PageShotOptions = {}) {
    const apiKey = (options.apiKey ?? env('PAGESHOT_API_KEY'))?.trim() || undefined;
    const { signingSecret, keyId } = options;
    if ((signingSecret === undefined) !== (keyId === undefined)) throw new PageShotError('Pass both { signingSecret } and { keyId } to sign links, or neither.');
    if (!apiKey && signingSecret === undefined) {
      throw new PageShotError('No API key: pass { apiKey } to new PageShot() or set the PAGESHOT_API_KEY environment variable.');
    }
    // A control character would make fetch throw an error that quotes the header, key included.
    if (apiKey && !/^[\x20-\x7e]+$/.test(apiKey)) throw new PageShotError('The API key holds characters an HTTP header cannot carry.');
    if (signingSecret !== undefined && keyId !== undefined) {
      if (typeof signingSecret !== 'string' || !signingSecret) throw new PageShotError('"signingSecret" must be the secret string (pss_…).');
      if (typeof keyId !== 'string' || !keyId) throw new PageShotError('"keyId" must be the id of the key the secret belongs to.');
      this.#signing = { secret: signingSecret, keyId };
    }
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
      timeoutMs: nonNegative('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS),
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
    return this.#bytes({ method: 'POST', path: '/screenshot', body: captureBody(urlOrOptions), repeatable: SCREENSHOT }, options);
  }

  /**
   * `POST /pdf`: prints a URL (a string) or whatever `options` describe as a PDF; paper,
   * margins, page ranges and header/footer go in `options.pdf`. The bytes are in
   * `image`, the page count in `pages`.
   */
  async pdf(urlOrOptions: string | PdfCaptureOptions, options?: CaptureRequestOptions): Promise<Screenshot> {
    return this.#bytes({ method: 'POST', path: '/pdf', body: captureBody(urlOrOptions), repeatable: SCREENSHOT }, options);
  }

  /**
   * `screenshot()` written to the file `path` as the bytes arrive, never held in memory
   * whole (Node, Deno, Bun). The bytes go to a new hidden file beside `path`, renamed over
   * it once complete: a failed capture leaves no file (and an existing one untouched), and
   * a retry — including after a download that broke off — starts a new file, never
   * appending to a partial one. `timeoutMs` covers each attempt's whole download. With
   * `ifNoneMatch` and an unchanged capture (`notModified`) the file is not touched.
   *
   * ```ts
   * const { bytes, contentType } = await pageshot.screenshotToFile({ url: 'https://example.com', fullPage: true }, 'example.png');
   * ```
   */
  async screenshotToFile(urlOrOptions: string | ScreenshotOptions, path: string, options?: CaptureRequestOptions): Promise<SavedScreenshot> {
    if (typeof path !== 'string' || !path) throw new PageShotError('screenshotToFile() needs the path of the file to write.');
    const body = captureBody(urlOrOptions);
    const sink = (stream: ReadableStream<Uint8Array> | null) => writePart(path, stream);
    const { spec, request } = captureSpec({ method: 'POST', path: '/screenshot', body, repeatable: SCREENSHOT, expect: 'sink', sink }, options, this.#transport.timeoutMs);
    await checkTarget(path);
    const answer = await this.#transport.call<PartFile | undefined>(spec, request);
    if (answer.notModified || !answer.data) return { ...captureInfo(answer), path, bytes: 0 };
    await commitPart(answer.data, path);
    return { ...captureInfo(answer), path, bytes: answer.data.bytes };
  }

  /**
   * `screenshot()` with the bytes as a stream, handed over once the server has rendered
   * and the answer's headers are in: pipe `body` to a file, an HTTP response, any
   * writable (`body.pipeTo(writable)`, or `stream.pipeline(Readable.fromWeb(body), out)` in
   * Node). Retries happen only before that point (busy, rate-limited, no connection);
   * once the body flows, a break is the stream's error (`ConnectionError`), never a
   * silent restart. `timeoutMs` ends at the headers; `signal` still ends the download.
   * Read the body to its end or `cancel()` it.
   */
  async screenshotStream(urlOrOptions: string | ScreenshotOptions, options?: CaptureRequestOptions): Promise<StreamedScreenshot> {
    const call = { method: 'POST', path: '/screenshot', body: captureBody(urlOrOptions), repeatable: SCREENSHOT, expect: 'stream' } as const;
    const { spec, request } = captureSpec(call, options, this.#transport.timeoutMs);
    const answer = await this.#transport.call<ReadableStream<Uint8Array>>(spec, request);
    return { ...captureInfo(answer), body: answer.data };
  }

  /**
   * A signed `GET /screenshot` URL for `options` (the scalar ones: no `headers`, `cookies`,
   * `hideSelectors`, `blockResources`, `pdf`) that works without an API key until
   * `expiresIn` seconds (default 3600, at most a year) from `now`: for an `<img src>`.
   * Made offline and synchronously from the client's `signingSecret` and `keyId`
   * (`PageShotError` without them); any change to the URL's parameters breaks it. The
   * server still applies the key's state, scope, limits and quota when it is loaded.
   *
   * ```ts
   * const src = pageshot.signedUrl({ url: 'https://example.com', width: 800 }, { expiresIn: 600 });
   * ```
   */
  signedUrl(options: SignedUrlOptions, settings: { expiresIn?: number; now?: Date } = {}): string {
    if (!this.#signing) throw new PageShotError('signedUrl() needs { signingSecret, keyId } in new PageShot().');
    if (options === null || typeof options !== 'object') throw new PageShotError('signedUrl() takes an object of screenshot options.');
    const { expiresIn = 3600, now = new Date() } = settings;
    return signUrl({ baseUrl: this.#transport.baseUrl, ...this.#signing, options, expiresIn, now });
  }

  /** A call answered with bytes (a capture, a job's result), conditional when `ifNoneMatch` is given. */
  async #bytes(call: Omit<CaptureCall, 'expect'>, options: CaptureRequestOptions | undefined): Promise<Screenshot> {
    const { spec, request } = captureSpec({ ...call, expect: 'bytes' }, options, this.#transport.timeoutMs);
    return toScreenshot(await this.#transport.call<Uint8Array>(spec, request));
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
    return this.#bytes({ method: 'GET', path: `${jobPath(id)}/result`, body: undefined, repeatable: READ }, options);
  }

  /**
   * `DELETE /v1/jobs/:id`: forgets a finished job and its result before they expire, giving
   * its bytes back to the key's result storage (`RESULT_STORAGE_FULL` comes from results
   * left behind). Done for a job already deleted, so it is safe to repeat. `ConflictError`
   * (`JOB_NOT_READY`) while the job is queued or running; `NotFoundError` for an unknown id
   * or another key's job.
   */
  async deleteJob(id: string, options?: RequestOptions): Promise<void> {
    await this.#transport.call<void>({ method: 'DELETE', path: jobPath(id), expect: 'none', repeatable: READ }, options);
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
