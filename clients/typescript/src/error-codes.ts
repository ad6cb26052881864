/**
 * The server's error codes as data: HTTP status and retry advice of every code, copied
 * from the server's one table (`ERRORS` in src/errors.ts; a contract test compares the
 * two). The retry rules (retry.ts) read it, so a code the server calls retryable is
 * retried here without a hand-kept list.
 *
 * Codes are stable API: the server adds codes, never renames one or changes its status.
 * A code missing here (a newer server) falls back to the rules for unknown codes in retry.ts.
 */

/**
 * Whether sending the same request again can succeed:
 * - `yes`: the server refused before doing any work, for a reason that passes (limits, busy);
 * - `at-reset`: only once the daily quota renews (00:00 UTC), usually hours away: opt-in
 *   (`retryQuotaExceeded`);
 * - `no`: the same request fails the same way (fix the request, the key or the target).
 */
export type RetryAdvice = 'yes' | 'at-reset' | 'no';

/** What one error code means for a caller. */
export interface ErrorCodeSpec {
  /** The HTTP status the server answers the code with; never changes for a code. */
  status: number;
  retry: RetryAdvice;
}

/** Every code the server answers with, in the order of its table. */
export const ERROR_CODES: Readonly<Record<string, ErrorCodeSpec>> = Object.freeze({
  VALIDATION_ERROR: { status: 400, retry: 'no' },
  INVALID_JSON: { status: 400, retry: 'no' },
  API_KEY_IN_QUERY: { status: 400, retry: 'no' },
  MALFORMED_REQUEST: { status: 400, retry: 'no' },
  WEBHOOK_SECRET_MISSING: { status: 400, retry: 'no' },
  SIGNING_SECRET_MISSING: { status: 400, retry: 'no' },
  MISSING_API_KEY: { status: 401, retry: 'no' },
  INVALID_API_KEY: { status: 403, retry: 'no' },
  KEY_REVOKED: { status: 403, retry: 'no' },
  KEY_EXPIRED: { status: 403, retry: 'no' },
  KEY_DISABLED: { status: 403, retry: 'no' },
  INSUFFICIENT_SCOPE: { status: 403, retry: 'no' },
  IP_NOT_ALLOWED: { status: 403, retry: 'no' },
  HTTPS_REQUIRED: { status: 403, retry: 'no' },
  TARGET_FORBIDDEN: { status: 403, retry: 'no' },
  SIGNATURE_INVALID: { status: 403, retry: 'no' },
  SIGNATURE_EXPIRED: { status: 403, retry: 'no' },
  NOT_FOUND: { status: 404, retry: 'no' },
  KEY_NOT_FOUND: { status: 404, retry: 'no' },
  JOB_NOT_FOUND: { status: 404, retry: 'no' },
  SIGNING_SECRET_NOT_FOUND: { status: 404, retry: 'no' },
  REQUEST_TIMEOUT: { status: 408, retry: 'no' },
  KEY_ALREADY_REVOKED: { status: 409, retry: 'no' },
  KEY_ALREADY_ROTATED: { status: 409, retry: 'no' },
  JOB_NOT_READY: { status: 409, retry: 'no' },
  JOB_FAILED: { status: 409, retry: 'no' },
  JOB_RESULT_EXPIRED: { status: 410, retry: 'no' },
  PAYLOAD_TOO_LARGE: { status: 413, retry: 'no' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retry: 'no' },
  SELECTOR_NOT_FOUND: { status: 422, retry: 'no' },
  SCRIPT_FAILED: { status: 422, retry: 'no' },
  TARGET_IS_DOWNLOAD: { status: 422, retry: 'no' },
  PAGE_CRASHED: { status: 422, retry: 'no' },
  BLANK_PAGE: { status: 422, retry: 'no' },
  TOO_MANY_PAGES: { status: 422, retry: 'no' },
  PDF_TOO_LARGE: { status: 422, retry: 'no' },
  RESULT_TOO_LARGE: { status: 422, retry: 'no' },
  TOO_MANY_AUTH_FAILURES: { status: 429, retry: 'no' },
  RATE_LIMITED: { status: 429, retry: 'yes' },
  QUOTA_EXCEEDED: { status: 429, retry: 'at-reset' },
  CONCURRENCY_LIMITED: { status: 429, retry: 'yes' },
  RESULT_STORAGE_FULL: { status: 429, retry: 'no' },
  TOO_MANY_DOWNLOADS: { status: 429, retry: 'yes' },
  HEADERS_TOO_LARGE: { status: 431, retry: 'no' },
  CLIENT_CLOSED_REQUEST: { status: 499, retry: 'no' },
  INTERNAL_ERROR: { status: 500, retry: 'no' },
  CAPTURE_FAILED: { status: 500, retry: 'no' },
  FILTER_LISTS_UNAVAILABLE: { status: 501, retry: 'no' },
  NAVIGATION_FAILED: { status: 502, retry: 'no' },
  LIMITS_UNAVAILABLE: { status: 503, retry: 'yes' },
  BROWSER_CRASHED: { status: 503, retry: 'yes' },
  QUEUE_FULL: { status: 503, retry: 'yes' },
  QUEUE_TIMEOUT: { status: 503, retry: 'yes' },
  SERVER_BUSY: { status: 503, retry: 'yes' },
  SHUTTING_DOWN: { status: 503, retry: 'yes' },
  JOBS_UNAVAILABLE: { status: 503, retry: 'no' },
  WORKER_LOST: { status: 503, retry: 'no' },
  NOT_READY: { status: 503, retry: 'yes' },
  RENDER_TIMEOUT: { status: 504, retry: 'no' },
});

/** The table's entry for `code`, or undefined for a code this client does not know. */
export function errorCodeSpec(code: string): ErrorCodeSpec | undefined {
  // Own properties only: a code such as `constructor` must not find Object's prototype.
  return Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code] : undefined;
}
