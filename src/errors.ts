/**
 * Every error PageShot answers with, in one place: the single source the server, the
 * OpenAPI document, the README's tables and both clients are built from or checked
 * against (test/contract.errors.test.ts).
 *
 * Codes are public API: clients and tests branch on them. Add new ones; never rename
 * or reuse one. The HTTP status of a code never changes either.
 */

/**
 * Whether a client should send the same request again after this answer:
 * - `yes`: the server refused before doing any work, for a reason that passes (limits, busy);
 * - `at-reset`: only once the daily quota renews (00:00 UTC), usually hours away: opt-in;
 * - `no`: the same request will fail the same way (fix the request, the key or the target).
 */
export type RetryAdvice = 'yes' | 'at-reset' | 'no';

/** What one code means for the caller. */
export interface ErrorSpec {
  /** The HTTP status; never changes for a code. */
  status: number;
  retry: RetryAdvice;
  /** True when the failure is ours, not the caller's or the target's: the daily unit is given back. */
  refunded: boolean;
  /** One sentence for the docs (README, OpenAPI). */
  description: string;
}

const spec = (status: number, retry: RetryAdvice, refunded: boolean, description: string): ErrorSpec => ({ status, retry, refunded, description });

/** The error table. Order is the order the docs list them in. */
export const ERRORS = {
  VALIDATION_ERROR: spec(400, 'no', false, 'The request body, query or parameters do not match the schema; `error` names the field.'),
  INVALID_JSON: spec(400, 'no', false, 'The body is not valid JSON.'),
  API_KEY_IN_QUERY: spec(400, 'no', false, 'A key was sent in the URL, where logs and referrers keep it; send it in a header (or use a signed link).'),
  MALFORMED_REQUEST: spec(400, 'no', false, 'The HTTP request itself could not be parsed (bad bytes in the request line or a header).'),
  WEBHOOK_SECRET_MISSING: spec(400, 'no', false, '`webhookUrl` was given but the key has no webhook signing secret yet.'),
  SIGNING_SECRET_MISSING: spec(400, 'no', false, 'A signed link was asked for, but the key has no signing secret yet.'),
  MISSING_API_KEY: spec(401, 'no', false, 'No key was sent (`X-API-Key` or `Authorization: Bearer`).'),
  INVALID_API_KEY: spec(403, 'no', false, 'The key is not known.'),
  KEY_REVOKED: spec(403, 'no', false, 'The key was revoked.'),
  KEY_EXPIRED: spec(403, 'no', false, 'The key passed its expiry time.'),
  KEY_DISABLED: spec(403, 'no', false, 'The key is disabled (it can be enabled again).'),
  INSUFFICIENT_SCOPE: spec(403, 'no', false, 'The key lacks the scope this route needs.'),
  IP_NOT_ALLOWED: spec(403, 'no', false, "The caller's address is not in the key's allow-list."),
  HTTPS_REQUIRED: spec(403, 'no', false, 'The server accepts keys over HTTPS only (`PAGESHOT_REQUIRE_HTTPS`).'),
  TARGET_FORBIDDEN: spec(403, 'no', false, "The URL's scheme, host or address is refused (private networks, the key's host allow-list)."),
  SIGNATURE_INVALID: spec(403, 'no', false, 'A signed link whose signature does not match its parameters, or whose key or secret is unknown or revoked.'),
  SIGNATURE_EXPIRED: spec(403, 'no', false, 'A signed link used after its `expires` time.'),
  NOT_FOUND: spec(404, 'no', false, 'No such route.'),
  KEY_NOT_FOUND: spec(404, 'no', false, 'No key with that id.'),
  JOB_NOT_FOUND: spec(404, 'no', false, 'No such job, or it belongs to another key (never told apart).'),
  SIGNING_SECRET_NOT_FOUND: spec(404, 'no', false, 'No signing secret with that id on this key.'),
  REQUEST_TIMEOUT: spec(408, 'no', false, 'The client did not finish sending its request in time.'),
  KEY_ALREADY_REVOKED: spec(409, 'no', false, 'The key was already revoked.'),
  KEY_ALREADY_ROTATED: spec(409, 'no', false, 'The key was already replaced by a rotation: it cannot be rotated again or brought back.'),
  JOB_NOT_READY: spec(409, 'no', false, 'The job is still queued or running: its result is not there yet (poll the job, then ask again).'),
  JOB_FAILED: spec(409, 'no', false, 'The job failed: it has no result (`jobError` and the job say why).'),
  JOB_RESULT_EXPIRED: spec(410, 'no', false, 'The job\'s result was kept for `PAGESHOT_JOB_RESULT_TTL` and is gone.'),
  PAYLOAD_TOO_LARGE: spec(413, 'no', false, 'The body (or `html`, `css`, `js`) is larger than the server accepts.'),
  UNSUPPORTED_MEDIA_TYPE: spec(415, 'no', false, 'The body is not `application/json`.'),
  SELECTOR_NOT_FOUND: spec(422, 'no', false, '`selector`, `waitForSelector` or `clickSelector` matched nothing in time.'),
  SCRIPT_FAILED: spec(422, 'no', false, 'The `js` option threw in the page.'),
  TARGET_IS_DOWNLOAD: spec(422, 'no', false, 'The target answered with a file to download, not a page to render.'),
  PAGE_CRASHED: spec(422, 'no', false, 'The page crashed its renderer (most often: it ran out of memory).'),
  BLANK_PAGE: spec(422, 'no', false, '`failOnBlank`: the page rendered as a single colour.'),
  TOO_MANY_PAGES: spec(422, 'no', false, 'The PDF would have more pages than `PAGESHOT_MAX_PDF_PAGES` allows.'),
  PDF_TOO_LARGE: spec(422, 'no', false, 'The PDF would be larger than `PAGESHOT_MAX_PDF_BYTES`.'),
  TOO_MANY_AUTH_FAILURES: spec(429, 'no', false, 'Too many wrong keys from this address: it is locked out for a while (a retry with the same key cannot help).'),
  RATE_LIMITED: spec(429, 'yes', false, "The key's per-minute rate or burst is used up; `Retry-After` says when to come back."),
  QUOTA_EXCEEDED: spec(429, 'at-reset', false, "The key's daily quota is used up; it renews at 00:00 UTC."),
  CONCURRENCY_LIMITED: spec(429, 'yes', false, 'The key already has as many captures running as it may (`concurrent`).'),
  HEADERS_TOO_LARGE: spec(431, 'no', false, "The request's headers are larger than the server accepts."),
  CLIENT_CLOSED_REQUEST: spec(499, 'no', false, 'The client left before the answer (recorded in usage; nobody receives it).'),
  INTERNAL_ERROR: spec(500, 'no', true, 'A fault of ours; the log line with this `requestId` says more.'),
  CAPTURE_FAILED: spec(500, 'no', true, 'The browser failed to capture for a reason of ours.'),
  FILTER_LISTS_UNAVAILABLE: spec(501, 'no', true, '`blockAds` / `blockTrackers` on a server without that filter list.'),
  NAVIGATION_FAILED: spec(502, 'no', false, 'The target could not be loaded (DNS, connection, TLS) or answered 4xx/5xx with `failOnHttpError`.'),
  LIMITS_UNAVAILABLE: spec(503, 'yes', false, 'The shared limits store (Redis) is unreachable and `PAGESHOT_LIMITS_ON_STORE_FAILURE=closed`.'),
  BROWSER_CRASHED: spec(503, 'yes', true, 'Chromium crashed during the capture; it is being restarted.'),
  QUEUE_FULL: spec(503, 'yes', true, 'Busy: the capture queue is full (`status: "busy"`, `queueLength`).'),
  QUEUE_TIMEOUT: spec(503, 'yes', true, 'Busy: the capture waited in the queue longer than `PAGESHOT_QUEUE_TIMEOUT_MS`.'),
  SERVER_BUSY: spec(503, 'yes', true, 'Busy: the machine\'s CPU is above `PAGESHOT_MAX_CPU_PERCENT` (`cpuUsage`).'),
  SHUTTING_DOWN: spec(503, 'yes', true, 'The server is draining before it stops; another instance (or this one, restarted) will answer.'),
  JOBS_UNAVAILABLE: spec(503, 'yes', false, 'Async jobs need Redis (`PAGESHOT_REDIS_URL`), which is not configured or unreachable.'),
  WORKER_LOST: spec(503, 'no', true, 'The worker running the capture stopped twice (crashed, killed); the capture was given up (the page may be what kills workers: not retried).'),
  NOT_READY: spec(503, 'yes', false, '`GET /readyz`: a part this node needs (browser, database, Redis) is not usable right now.'),
  RENDER_TIMEOUT: spec(504, 'no', false, 'The page did not finish loading and rendering within `timeout`.'),
} as const satisfies Record<string, ErrorSpec>;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERRORS;

/** Every code with its HTTP status (derived from `ERRORS`). */
export const ERROR_CODES = Object.fromEntries(Object.entries(ERRORS).map(([code, { status }]) => [code, status])) as {
  readonly [Code in ErrorCode]: (typeof ERRORS)[Code]['status'];
};

/** Codes whose request gets its daily unit back (derived from `ERRORS`). */
export const REFUNDED_CODES: ReadonlySet<ErrorCode> = new Set(
  (Object.keys(ERRORS) as ErrorCode[]).filter((code) => ERRORS[code].refunded),
);

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
