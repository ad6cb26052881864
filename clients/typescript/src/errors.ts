/**
 * Everything the client throws is a `PageShotError`. Answers from the server are
 * `ApiError`s, one subclass per kind of answer a caller handles differently; failures
 * without an answer are `ConnectionError` / `TimeoutError`; a cancelled call is an
 * `AbortError`.
 *
 * No error ever holds the API key: errors are built from the server's answer (which
 * never echoes a key) and any text that could carry it is redacted first.
 */
export class PageShotError extends Error {
  /** How many requests were sent before giving up (1 when it was not retried). */
  attempts = 1;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The JSON error body every PageShot error answer has. */
export interface ErrorBody {
  error: string;
  code: string;
  requestId?: string;
  [extra: string]: unknown;
}

/** What an `ApiError` is built from. */
export interface ApiErrorInit {
  status: number;
  code: string;
  message: string;
  requestId: string | undefined;
  /** Seconds, from `Retry-After` (or the body's `retryAfter`). */
  retryAfter: number | undefined;
  body: ErrorBody | undefined;
}

/**
 * An error answer from the server. Branch on `code` (stable API, see the README's
 * error table); `status` is the HTTP status and `requestId` joins up with the server's
 * logs.
 */
export class ApiError extends PageShotError {
  /** HTTP status of the answer. */
  readonly status: number;
  /** Stable machine-readable code, e.g. `VALIDATION_ERROR`, `QUEUE_FULL`. */
  readonly code: string;
  /** The server's request id (`X-Request-Id`), for support and logs. */
  readonly requestId: string | undefined;
  /** Seconds after which a retry may succeed, when the server said so. */
  readonly retryAfter: number | undefined;
  /** The whole JSON error body (e.g. `field`, `requiredScope`, `targetStatus`). */
  readonly body: ErrorBody | undefined;

  constructor(init: ApiErrorInit) {
    super(init.message);
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.retryAfter = init.retryAfter;
    this.body = init.body;
  }
}

/** 400 (`VALIDATION_ERROR`, `INVALID_JSON`, …), 413 or 415: fix the request; `field` names the culprit. */
export class ValidationError extends ApiError {
  /** The option the server complained about, when it named one. */
  get field(): string | undefined {
    return typeof this.body?.field === 'string' ? this.body.field : undefined;
  }
}

/** 401: no usable key reached the server (`MISSING_API_KEY`). Never retried. */
export class AuthenticationError extends ApiError {}

/**
 * 403: the key is unknown, revoked, expired or disabled, lacks a scope, is used from a
 * forbidden IP, or the target is forbidden; a signed link that does not match or has
 * expired (`SIGNATURE_INVALID`, `SIGNATURE_EXPIRED`). Never retried.
 */
export class PermissionDeniedError extends ApiError {}

/**
 * 404: no such key (`KEY_NOT_FOUND`), job (`JOB_NOT_FOUND`, also for another key's job),
 * signing secret (`SIGNING_SECRET_NOT_FOUND`) or route (`NOT_FOUND`).
 */
export class NotFoundError extends ApiError {}

/**
 * 409: the key is revoked and cannot be changed (`KEY_ALREADY_REVOKED`) or was already
 * replaced by a rotation (`KEY_ALREADY_ROTATED`), or a job's result is not there to
 * fetch: still queued or running (`JOB_NOT_READY`, with `retryAfter`; poll the job, not
 * retried) or the job failed (`JOB_FAILED`, with `jobError`).
 */
export class ConflictError extends ApiError {
  /** The failed job's error code (`RENDER_TIMEOUT`, …), on `JOB_FAILED`. */
  get jobError(): string | undefined {
    return typeof this.body?.jobError === 'string' ? this.body.jobError : undefined;
  }
}

/** 410: it existed and is gone for good: a job's result past its lifetime (`JOB_RESULT_EXPIRED`). */
export class GoneError extends ApiError {}

/**
 * 429: a limit refused the request (`RATE_LIMITED`, `QUOTA_EXCEEDED`,
 * `CONCURRENCY_LIMITED`, `TOO_MANY_AUTH_FAILURES`). Thrown once retries are used up,
 * or at once when waiting cannot help (see the retry rules).
 */
export class RateLimitError extends ApiError {
  /** The limit that refused: the request count of the policy (burst, daily quota or concurrency cap). */
  get limit(): number | undefined {
    return typeof this.body?.limit === 'number' ? this.body.limit : undefined;
  }
  /** Which policy refused: `burst`, `daily` or `concurrent`. */
  get policy(): string | undefined {
    return typeof this.body?.policy === 'string' ? this.body.policy : undefined;
  }
}

/**
 * 503: the server shed the request (`QUEUE_FULL`, `QUEUE_TIMEOUT`, `SERVER_BUSY`,
 * `SHUTTING_DOWN`), its browser crashed (`BROWSER_CRASHED`) or its limit store is down
 * (`LIMITS_UNAVAILABLE`): retried, and thrown once retries are used up. Thrown at once,
 * as the server's error table says waiting does not help: `JOBS_UNAVAILABLE` (a server
 * without Redis for async jobs) and `WORKER_LOST` (a job's worker died twice).
 */
export class ServerBusyError extends ApiError {
  /** Requests waiting in the server's queue when it refused, if it said. */
  get queueLength(): number | undefined {
    return typeof this.body?.queueLength === 'number' ? this.body.queueLength : undefined;
  }
}

/**
 * The page could not be captured as asked: 422 (`SELECTOR_NOT_FOUND`, `SCRIPT_FAILED`,
 * `TARGET_IS_DOWNLOAD`, `PAGE_CRASHED`, `BLANK_PAGE` with `failOnBlank`, and for a PDF
 * over the server's caps `TOO_MANY_PAGES` or `PDF_TOO_LARGE`), 502 (`NAVIGATION_FAILED`,
 * also a 4xx/5xx target with `failOnHttpError`; `targetStatus` says which) or 504
 * (`RENDER_TIMEOUT`).
 * A problem of the target or the options, so it is not retried.
 */
export class CaptureError extends ApiError {
  /** The target's HTTP status, when the server gave it (`NAVIGATION_FAILED` on a 4xx/5xx answer). */
  get targetStatus(): number | undefined {
    return typeof this.body?.targetStatus === 'number' ? this.body.targetStatus : undefined;
  }
}

/** No answer: the connection failed or broke (DNS, refused, reset). */
export class ConnectionError extends PageShotError {}

/**
 * No complete answer within `timeoutMs` (one attempt's deadline, from sending to the last
 * byte), or a job not finished within `wait()`'s `timeoutMs`.
 */
export class TimeoutError extends ConnectionError {}

/** The caller's `AbortSignal` fired, during a request or while waiting to retry. */
export class AbortError extends PageShotError {}

/**
 * A webhook delivery that must not be trusted: a header missing, no signature that
 * matches, a timestamp outside the tolerance, or a body that is not JSON. Answer it with
 * a 4xx and do not act on it. (A malformed secret is your configuration, not the
 * request's fault: that is a plain `PageShotError`.)
 */
export class WebhookVerificationError extends PageShotError {}

/** The error class for an HTTP status. */
export function errorClassFor(status: number): typeof ApiError {
  if (status === 400 || status === 413 || status === 415) return ValidationError;
  if (status === 401) return AuthenticationError;
  if (status === 403) return PermissionDeniedError;
  if (status === 404) return NotFoundError;
  if (status === 409) return ConflictError;
  if (status === 410) return GoneError;
  if (status === 429) return RateLimitError;
  if (status === 503) return ServerBusyError;
  if (status === 422 || status === 502 || status === 504) return CaptureError;
  return ApiError;
}
