/**
 * Every error PageShot answers with, in one place.
 *
 * Codes are public API: clients and tests branch on them. Add new ones; never rename
 * or reuse one. The HTTP status of a code never changes either.
 */
export const ERROR_CODES = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  API_KEY_IN_QUERY: 400,
  MISSING_API_KEY: 401,
  INVALID_API_KEY: 403,
  KEY_REVOKED: 403,
  KEY_EXPIRED: 403,
  KEY_DISABLED: 403,
  INSUFFICIENT_SCOPE: 403,
  IP_NOT_ALLOWED: 403,
  HTTPS_REQUIRED: 403,
  KEY_NOT_FOUND: 404,
  KEY_ALREADY_REVOKED: 409,
  /** The key was already replaced by a rotation: it cannot be rotated again or brought back. */
  KEY_ALREADY_ROTATED: 409,
  TOO_MANY_AUTH_FAILURES: 429,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  CONCURRENCY_LIMITED: 429,
  LIMITS_UNAVAILABLE: 503,
  NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TARGET_FORBIDDEN: 403,
  SELECTOR_NOT_FOUND: 422,
  SCRIPT_FAILED: 422,
  NAVIGATION_FAILED: 502,
  RENDER_TIMEOUT: 504,
  CAPTURE_FAILED: 500,
  BROWSER_CRASHED: 503,
  QUEUE_FULL: 503,
  QUEUE_TIMEOUT: 503,
  SERVER_BUSY: 503,
  SHUTTING_DOWN: 503,
  CLIENT_CLOSED_REQUEST: 499,
  INTERNAL_ERROR: 500,
  /** The HTTP request itself could not be parsed (bad bytes in the request line or a header). */
  MALFORMED_REQUEST: 400,
  /** The request's headers are larger than the server accepts. */
  HEADERS_TOO_LARGE: 431,
  /** The client did not finish sending its request in time. */
  REQUEST_TIMEOUT: 408,
  /** The target answered with a file to download, not a page to render. */
  TARGET_IS_DOWNLOAD: 422,
  /** The page crashed its renderer (most often: it ran out of memory). */
  PAGE_CRASHED: 422,
  /** `failOnBlank`: the page rendered as a single colour. */
  BLANK_PAGE: 422,
  /** The PDF would have more pages than `PAGESHOT_MAX_PDF_PAGES` allows. */
  TOO_MANY_PAGES: 422,
  /** The PDF would be larger than `PAGESHOT_MAX_PDF_BYTES`. */
  PDF_TOO_LARGE: 422,
  /** `blockAds` / `blockTrackers` on a server without that filter list (not the request's fault, and not passing). */
  FILTER_LISTS_UNAVAILABLE: 501,
  /** Async jobs need the Redis the queue lives in (PAGESHOT_REDIS_URL), or it is unreachable. */
  JOBS_UNAVAILABLE: 503,
  /** No such job, or it belongs to another key (never told apart). */
  JOB_NOT_FOUND: 404,
  /** The job is still queued or running: its result is not there yet. */
  JOB_NOT_READY: 409,
  /** The job failed: it has no result (its error is on the job). */
  JOB_FAILED: 409,
  /** The job's result was kept for PAGESHOT_JOB_RESULT_TTL and is gone. */
  JOB_RESULT_EXPIRED: 410,
  /** `webhookUrl` was given but the key has no webhook signing secret yet. */
  WEBHOOK_SECRET_MISSING: 400,
  /** The worker running the capture stopped (crashed, killed) twice; the capture was given up. */
  WORKER_LOST: 503,
  /** `GET /readyz`: a part this node needs (browser, database, Redis) is not usable right now. */
  NOT_READY: 503,
} as const;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Extra fields some errors carry in their JSON body (busy answers, for instance). */
export type ErrorExtras = Record<string, string | number | boolean>;

/**
 * An error meant for the caller: its message is safe to show, its code is stable.
 * Anything thrown that is not an ApiError becomes a plain 500 with no internals.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Fields merged into the JSON body, e.g. `{ status: 'busy', queueLength: 3 }`. */
  readonly extras: ErrorExtras;
  /** Seconds after which a retry may succeed; sent as `Retry-After`. */
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: { extras?: ErrorExtras; retryAfter?: number } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.statusCode = ERROR_CODES[code];
    this.extras = options.extras ?? {};
    this.retryAfter = options.retryAfter;
  }
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: string;
  code: ErrorCode;
  requestId: string;
  [extra: string]: string | number | boolean;
}

/** Builds the shared error body; extras never override the three core fields. */
export function errorBody(error: ApiError, requestId: string): ErrorBody {
  return { ...error.extras, error: error.message, code: error.code, requestId };
}
