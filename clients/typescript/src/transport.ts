import { AbortError, ConnectionError, errorClassFor, PageShotError, TimeoutError, type ErrorBody } from './errors.js';
import { parseRateLimit, resetAfterMs, retryAfterMs, type RateLimitState } from './rate-limit.js';
import { withRetries, type Repeatable, type RetryEvent, type RetryPolicy } from './retry.js';

const USER_AGENT = 'pageshot-client-typescript/0.1.0';

/** Settings of one client's transport. */
export interface TransportOptions {
  apiKey: string;
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
  /** What a success carries: JSON, bytes (a capture), or nothing worth reading (a 204). */
  expect: 'json' | 'bytes' | 'none';
  repeatable: Repeatable;
  /** Headers of this call only (a capture's `If-None-Match`); never `authorization`. */
  headers?: Record<string, string>;
}

/** Per-call settings every method accepts. */
export interface RequestOptions {
  /** Cancels the call, including a wait between retries. */
  signal?: AbortSignal;
  /** Deadline of each attempt, overriding the client's `timeoutMs`. */
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
 * Sends calls to one PageShot server: authentication, per-attempt deadline, retries,
 * error mapping, and the last rate-limit state seen. The key lives in a private field,
 * so it shows in neither `util.inspect` nor `JSON.stringify` of the client.
 */
export class Transport {
  readonly #apiKey: string;
  /** The server's wait (ms) for each error that came with one. */
  readonly #waits = new WeakMap<PageShotError, number>();
  /** The last rate-limit state any answer described. */
  rateLimit: RateLimitState | undefined;

  private readonly options: Omit<TransportOptions, 'apiKey'>;

  constructor({ apiKey, ...options }: TransportOptions) {
    this.#apiKey = apiKey;
    this.options = options;
  }

  /** Runs one call with the retry rules; throws a `PageShotError` when it fails for good. */
  async call<T>(spec: CallSpec, request: RequestOptions = {}): Promise<Answer<T>> {
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
    const base = this.options.baseUrl.replace(/\/+$/, '');
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) if (value !== undefined) query.set(name, String(value));
    const search = query.toString();
    return `${base}${spec.path}${search ? `?${search}` : ''}`;
  }

  private headers(spec: CallSpec, request: RequestOptions): Record<string, string> {
    const headers: Record<string, string> = {
      ...this.options.headers,
      ...spec.headers,
      accept: spec.expect === 'bytes' ? 'image/*, application/pdf, application/json' : 'application/json',
      'user-agent': USER_AGENT,
      authorization: `Bearer ${this.#apiKey}`,
    };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (request.requestId) headers['x-request-id'] = request.requestId;
    return headers;
  }

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
      // A capture with If-None-Match is answered 304 when the caller already holds the bytes:
      // a success with no body, so neither an error nor anything to retry.
      if (response.status === 304 && spec.expect === 'bytes') {
        return { data: new Uint8Array(0) as T, headers: response.headers, notModified: true, requestId, rateLimit };
      }
      if (!response.ok) throw this.apiError(response, await response.text(), requestId);
      const data = (
        spec.expect === 'json' ? await response.json() : spec.expect === 'bytes' ? new Uint8Array(await response.arrayBuffer()) : await response.body?.cancel()
      ) as T;
      return { data, headers: response.headers, notModified: false, requestId, rateLimit };
    } catch (error) {
      if (error instanceof PageShotError) throw error;
      // A 2xx whose JSON does not parse came from something other than PageShot (a proxy's page).
      if (error instanceof SyntaxError) throw new PageShotError(`The answer from ${this.options.baseUrl} is not PageShot's JSON.`);
      if (signal?.aborted) throw new AbortError('The request was aborted.');
      if (timedOut) throw new TimeoutError(`No answer within ${timeoutMs} ms.`);
      throw this.connectionError(error);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The typed error for an error answer; records the server's wait for the retry loop. */
  private apiError(response: Response, text: string, headerRequestId: string | undefined): PageShotError {
    let body: ErrorBody | undefined;
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && typeof (parsed as ErrorBody).code === 'string') body = redact(parsed as ErrorBody, this.#apiKey);
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
      message: typeof body?.error === 'string' ? body.error : `HTTP ${response.status} ${redact(response.statusText, this.#apiKey)}`.trim(),
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
    const message = redact(root instanceof Error ? root.message : String(root), this.#apiKey);
    const cause = new Error(message);
    cause.name = root instanceof Error ? root.name : 'Error';
    const code = (root as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string') Object.assign(cause, { code });
    return new ConnectionError(`Could not reach PageShot at ${this.options.baseUrl}: ${message}`, { cause });
  }
}
