import { AbortError, ConnectionError, errorClassFor, PageShotError, TimeoutError, type ErrorBody } from './errors.js';
import { parseRateLimit, resetAfterMs, retryAfterMs, type RateLimitState } from './rate-limit.js';
import { withRetries, type Repeatable, type RetryEvent, type RetryPolicy } from './retry.js';

const USER_AGENT = 'pageshot-client-typescript/0.1.0';

/** Settings of one client's transport. */
export interface TransportOptions {
  /** Undefined for a client made only to sign links: every call then fails before sending. */
  apiKey: string | undefined;
  baseUrl: string;
  timeoutMs: number;
  policy: RetryPolicy;
  fetch: typeof fetch;
  headers: Record<string, string>;
  onRetry: ((event: RetryEvent) => void) | undefined;
}

/** One API call, as the resource methods describe it. */
export interface CallSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | undefined>;
  /** JSON body; omitted means no body and no content-type (Fastify refuses a JSON type without a body). */
  body?: unknown;
  /**
   * What a success carries: JSON, bytes (a capture), nothing worth reading (a 204), the
   * body unread (`stream`: handed to the caller once the headers are in; the deadline ends
   * there), or the body given to `sink`, inside the attempt (its deadline and retry rules
   * cover the whole download).
   */
  expect: 'json' | 'bytes' | 'none' | 'stream' | 'sink';
  /** With `expect: 'sink'`: consumes an OK answer's body; what it returns is the answer's `data`. */
  sink?: (body: ReadableStream<Uint8Array> | null) => Promise<unknown>;
  repeatable: Repeatable;
  /** Headers of this call only (a capture's `If-None-Match`); never `authorization`. */
  headers?: Record<string, string>;
}

/** Per-call settings every method accepts. */
export interface RequestOptions {
  /** Cancels the call, including a wait between retries. */
  signal?: AbortSignal;
  /**
   * Deadline of each attempt in ms, overriding the client's `timeoutMs`: from sending the
   * request to the last byte of the answer. Each retry gets a new one.
   */
  timeoutMs?: number;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
  /** Sent as `X-Request-Id` (1–64 of `A-Z a-z 0-9 . _ : -`), so your logs and the server's join up. */
  requestId?: string;
}

/** A successful answer. */
export interface Answer<T> {
  data: T;
  headers: Headers;
  /** True for a 304 to a conditional capture: `data` is empty, the caller already holds the bytes. */
  notModified: boolean;
  requestId: string | undefined;
  rateLimit: RateLimitState | undefined;
}

/** Replaces every occurrence of `secret` in strings, however deeply nested. */
function redact<T>(value: T, secret: string): T {
  if (typeof value === 'string') return value.split(secret).join('[redacted]') as T;
  if (Array.isArray(value)) return value.map((item: unknown) => redact(item, secret)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redact(item, secret)])) as T;
  }
  return value;
}

/**
 * The body of an answer handed to the caller, with the errors of a broken download as
 * the client's own (`ConnectionError`, `AbortError`); `done` runs once it ended either way.
 */
function guardedBody(body: ReadableStream<Uint8Array> | null, mapError: (error: unknown) => PageShotError, done: () => void): ReadableStream<Uint8Array> {
  if (!body) {
    done();
    return new ReadableStream({ start: (controller) => controller.close() });
  }
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done: ended, value } = await reader.read();
        if (ended) {
          done();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        done();
        controller.error(mapError(error));
      }
    },
    async cancel(reason) {
      done();
      await reader.cancel(reason);
    },
  });
}

/**
 * Sends calls to one PageShot server: authentication, per-attempt deadline, retries,
 * error mapping, and the last rate-limit state seen. The key lives in a private field,
 * so it shows in neither `util.inspect` nor `JSON.stringify` of the client.
 */
export class Transport {
  readonly #apiKey: string | undefined;
  /** The server's wait (ms) for each error that came with one. */
  readonly #waits = new WeakMap<PageShotError, number>();
  /** The last rate-limit state any answer described. */
  rateLimit: RateLimitState | undefined;

  private readonly options: Omit<TransportOptions, 'apiKey'>;

  constructor({ apiKey, ...options }: TransportOptions) {
    this.#apiKey = apiKey;
    this.options = options;
  }

  /** The server's base URL, without a trailing slash. */
  get baseUrl(): string {
    return this.options.baseUrl.replace(/\/+$/, '');
  }

  /** The client's deadline of one attempt, in ms. */
  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** Runs one call with the retry rules; throws a `PageShotError` when it fails for good. */
  async call<T>(spec: CallSpec, request: RequestOptions = {}): Promise<Answer<T>> {
    if (this.#apiKey === undefined) {
      throw new PageShotError('No API key: this client was made to sign links only. Pass { apiKey } or set PAGESHOT_API_KEY to call the API.');
    }
    const policy = request.maxRetries === undefined ? this.options.policy : { ...this.options.policy, maxRetries: request.maxRetries };
    return withRetries(() => this.attempt<T>(spec, request), {
      policy,
      repeatable: spec.repeatable,
      signal: request.signal,
      waitOf: (error) => this.#waits.get(error),
      onRetry: this.options.onRetry,
    });
  }

  private url(spec: CallSpec): string {
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) if (value !== undefined) query.set(name, String(value));
    const search = query.toString();
    return `${this.baseUrl}${spec.path}${search ? `?${search}` : ''}`;
  }

  private headers(spec: CallSpec, request: RequestOptions): Record<string, string> {
    const headers: Record<string, string> = {
      ...this.options.headers,
      ...spec.headers,
      accept: spec.expect === 'json' || spec.expect === 'none' ? 'application/json' : 'image/*, application/pdf, application/json',
      'user-agent': USER_AGENT,
      authorization: `Bearer ${this.#apiKey ?? ''}`,
    };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (request.requestId) headers['x-request-id'] = request.requestId;
    return headers;
  }

  /**
   * One request. Its deadline runs from sending to the last byte of the answer (for
   * `stream`, to the headers: the caller then reads at its own pace, and its `signal`
   * still ends the download).
   */
  private async attempt<T>(spec: CallSpec, request: RequestOptions): Promise<Answer<T>> {
    const { signal } = request;
    if (signal?.aborted) throw new AbortError('The request was aborted.');
    const controller = new AbortController();
    let timedOut = false;
    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const release = () => signal?.removeEventListener('abort', onAbort);
    const noAnswer = (error: unknown) => this.noAnswer(error, signal, timedOut, timeoutMs);
    let handedOver = false;
    try {
      const response = await this.options.fetch(this.url(spec), {
        method: spec.method,
        headers: this.headers(spec, request),
        ...(spec.body !== undefined ? { body: JSON.stringify(spec.body) } : {}),
        signal: controller.signal,
      });
      const rateLimit = parseRateLimit(response.headers);
      if (rateLimit) this.rateLimit = rateLimit;
      const requestId = response.headers.get('x-request-id') ?? undefined;
      const answer = { headers: response.headers, notModified: false, requestId, rateLimit };
      // A capture with If-None-Match is answered 304 when the caller already holds the bytes:
      // a success with no body, so neither an error nor anything to retry.
      if (response.status === 304 && spec.expect !== 'json' && spec.expect !== 'none') {
        await response.body?.cancel();
        const empty = spec.expect === 'bytes' ? new Uint8Array(0) : spec.expect === 'stream' ? guardedBody(null, noAnswer, () => {}) : undefined;
        return { ...answer, data: empty as T, notModified: true };
      }
      if (!response.ok) throw this.apiError(response, await response.text(), requestId);
      if (spec.expect === 'stream') {
        clearTimeout(timer);
        handedOver = true;
        return { ...answer, data: guardedBody(response.body, (error) => this.noAnswer(error, signal, false, timeoutMs), release) as T };
      }
      const data = (
        spec.expect === 'json'
          ? await response.json()
          : spec.expect === 'bytes'
            ? new Uint8Array(await response.arrayBuffer())
            : spec.expect === 'sink'
              ? await spec.sink!(response.body)
              : await response.body?.cancel()
      ) as T;
      return { ...answer, data };
    } catch (error) {
      throw noAnswer(error);
    } finally {
      clearTimeout(timer);
      if (!handedOver) release();
    }
  }

  /** The client's error for a failed attempt: `PageShotError`s as they are, else why no answer came. */
  private noAnswer(error: unknown, signal: AbortSignal | undefined, timedOut: boolean, timeoutMs: number): PageShotError {
    if (error instanceof PageShotError) return error;
    // A 2xx whose JSON does not parse came from something other than PageShot (a proxy's page).
    if (error instanceof SyntaxError) return new PageShotError(`The answer from ${this.options.baseUrl} is not PageShot's JSON.`);
    if (signal?.aborted) return new AbortError('The request was aborted.');
    if (timedOut) return new TimeoutError(`No complete answer within ${timeoutMs} ms.`);
    return this.connectionError(error);
  }

  /** Replaces the key in text that could carry it. */
  private redact<T>(value: T): T {
    return this.#apiKey ? redact(value, this.#apiKey) : value;
  }

  /** The typed error for an error answer; records the server's wait for the retry loop. */
  private apiError(response: Response, text: string, headerRequestId: string | undefined): PageShotError {
    let body: ErrorBody | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && typeof (parsed as ErrorBody).code === 'string') body = this.redact(parsed as ErrorBody);
    } catch {
      // Not PageShot's JSON (a proxy's page, say): the status alone describes it.
    }
    const headerWait = retryAfterMs(response.headers);
    const bodyWait = typeof body?.retryAfter === 'number' ? body.retryAfter * 1000 : undefined;
    const waitMs = headerWait ?? (response.status === 429 ? resetAfterMs(response.headers) : undefined) ?? bodyWait;
    const ErrorClass = errorClassFor(response.status);
    const error = new ErrorClass({
      status: response.status,
      code: body?.code ?? `HTTP_${response.status}`,
      message: typeof body?.error === 'string' ? body.error : `HTTP ${response.status} ${this.redact(response.statusText)}`.trim(),
      requestId: headerRequestId ?? (typeof body?.requestId === 'string' ? body.requestId : undefined),
      retryAfter: waitMs === undefined ? undefined : Math.ceil(waitMs / 1000),
      body,
    });
    if (waitMs !== undefined) this.#waits.set(error, waitMs);
    return error;
  }

  /**
   * A `ConnectionError` whose cause is a plain copy of what failed (name, message,
   * code), so no request object or header can ride along inside the cause chain.
   */
  private connectionError(error: unknown): ConnectionError {
    const root = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const message = this.redact(root instanceof Error ? root.message : String(root));
    const cause = new Error(message);
    cause.name = root instanceof Error ? root.name : 'Error';
    const code = (root as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') Object.assign(cause, { code });
    return new ConnectionError(`Could not reach PageShot at ${this.options.baseUrl}: ${message}`, { cause });
  }
}
