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

const spec = <Status extends number>(status: Status, retry: RetryAdvice, refunded: boolean, description: string) => ({ status, retry, refunded, description });

/** The error table. Order is the order the docs list them in. */
export const ERRORS = {
  VALIDATION_ERROR: spec(400, 'no', false, 'An option is missing, unknown or out of range; `field` names it.'),
  INVALID_JSON: spec(400, 'no', false, 'The body is not JSON.'),
  API_KEY_IN_QUERY: spec(400, 'no', false, 'A credential was sent in the URL, on any route (see API keys).'),
  MALFORMED_REQUEST: spec(400, 'no', false, 'The request is not valid HTTP (e.g. a NUL byte in a header) or its URL is not valid percent-encoding.'),
  WEBHOOK_SECRET_MISSING: spec(400, 'no', false, 'A job with `webhookUrl` from a key that has no webhook signing secret yet (webhooks are always signed).'),
  SIGNING_SECRET_MISSING: spec(400, 'no', false, 'A signed link was asked for, but the key has no signing secret yet.'),
  MISSING_API_KEY: spec(401, 'no', false, 'No key; the answer carries `WWW-Authenticate: Bearer`.'),
  INVALID_API_KEY: spec(403, 'no', false, 'Malformed (bad checksum) or unknown key.'),
  KEY_REVOKED: spec(403, 'no', false, 'The key was revoked.'),
  KEY_EXPIRED: spec(403, 'no', false, 'The key passed its expiry time.'),
  KEY_DISABLED: spec(403, 'no', false, 'The key is disabled (it can be enabled again).'),
  INSUFFICIENT_SCOPE: spec(403, 'no', false, 'The key lacks the route\'s scope (`requiredScope` names it).'),
  IP_NOT_ALLOWED: spec(403, 'no', false, 'The key is used from outside its `allowedIps`.'),
  HTTPS_REQUIRED: spec(403, 'no', false, 'Plain HTTP while `PAGESHOT_REQUIRE_HTTPS=true`.'),
  TARGET_FORBIDDEN: spec(403, 'no', false, "The target (or a page's own navigation) resolves to a private or reserved address, is outside the key's `allowedHosts`, or uses a scheme PageShot never loads. To capture pages on your own network (`localhost` included), the operator lists them in `PAGESHOT_ALLOW_PRIVATE_NETWORKS`."),
  SIGNATURE_INVALID: spec(403, 'no', false, 'A signed embed link whose signature does not match its parameters (one was changed, added or removed), whose key id is unknown, whose signing secret was revoked (revoking a key revokes its secrets), or whose `expires` is not a time within a year; also a whole link on any route but `GET /screenshot`. (A disabled or expired key gets its own code.)'),
  SIGNATURE_EXPIRED: spec(403, 'no', false, 'A signed embed link used after its `expires` time.'),
  NOT_FOUND: spec(404, 'no', false, 'No such route.'),
  KEY_NOT_FOUND: spec(404, 'no', false, 'No key with that id.'),
  JOB_NOT_FOUND: spec(404, 'no', false, 'No such job, or it belongs to another key (the two are never told apart).'),
  SIGNING_SECRET_NOT_FOUND: spec(404, 'no', false, 'No signing secret with that id on this key.'),
  REQUEST_TIMEOUT: spec(408, 'no', false, 'The client did not send its headers (or its whole request) in time; the connection is closed.'),
  KEY_ALREADY_REVOKED: spec(409, 'no', false, 'A revoked key cannot be changed or rotated.'),
  KEY_ALREADY_ROTATED: spec(409, 'no', false, 'The key was already replaced by a rotation: it cannot be rotated again, nor its expiry changed, nor be enabled again.'),
  JOB_NOT_READY: spec(409, 'no', false, 'The job\'s result was asked for, or the job deleted, while it is `queued` or `running` (`Retry-After: 1`).'),
  JOB_FAILED: spec(409, 'no', false, 'The job failed, so it has no result; `jobError` is its error\'s code.'),
  JOB_RESULT_EXPIRED: spec(410, 'no', false, 'The job\'s result was kept `PAGESHOT_JOB_RESULT_TTL` seconds and is gone.'),
  PAYLOAD_TOO_LARGE: spec(413, 'no', false, 'The body or `html` is over its size cap.'),
  UNSUPPORTED_MEDIA_TYPE: spec(415, 'no', false, 'A body that is not `application/json`.'),
  SELECTOR_NOT_FOUND: spec(422, 'no', false, '`selector` (or `clickSelector`) matched no visible element.'),
  SCRIPT_FAILED: spec(422, 'no', false, 'The `js` option threw.'),
  TARGET_IS_DOWNLOAD: spec(422, 'no', false, 'The target answered with a file to download (`Content-Disposition: attachment`, …), not a page.'),
  PAGE_CRASHED: spec(422, 'no', false, 'The page crashed the renderer (most often it ran out of memory); the capture ends at once.'),
  BLANK_PAGE: spec(422, 'no', false, '`failOnBlank` is on and the picture would be a single colour.'),
  TOO_MANY_PAGES: spec(422, 'no', false, 'The PDF would have more pages than `PAGESHOT_MAX_PDF_PAGES` (`limit`).'),
  PDF_TOO_LARGE: spec(422, 'no', false, 'The PDF would be larger than `PAGESHOT_MAX_PDF_BYTES` (`limitBytes`).'),
  RESULT_TOO_LARGE: spec(422, 'no', false, "An async job's result would be larger than `PAGESHOT_JOB_MAX_RESULT_BYTES` (`limitBytes`): the job failed and nothing was stored. Ask for less (JPEG or WebP, a lower `quality`, a smaller size) or capture it with `POST /screenshot`."),
  TOO_MANY_AUTH_FAILURES: spec(429, 'no', false, 'Too many failed authentications from this IP; see `Retry-After`.'),
  RATE_LIMITED: spec(429, 'yes', false, "The key's rate (requests per second) or burst is used up; `retryAfter` and `Retry-After` say when to retry."),
  QUOTA_EXCEEDED: spec(429, 'at-reset', false, "The key's daily quota is used up; it renews at 00:00 UTC (`retryAfter` runs to then)."),
  CONCURRENCY_LIMITED: spec(429, 'yes', false, 'The key already has as many captures running as its `concurrent` limit allows.'),
  RESULT_STORAGE_FULL: spec(429, 'no', false, "The key's job results kept now take its share, `PAGESHOT_JOB_MAX_STORED_BYTES_PER_KEY` (`limitBytes`, `storedBytes`): a new job is refused at once, and a job that finds the share full when it finishes fails with this code. Delete results you have fetched (`DELETE /v1/jobs/:id`), or wait until enough expire (`Retry-After`)."),
  TOO_MANY_DOWNLOADS: spec(429, 'yes', false, 'The key already has `PAGESHOT_JOB_MAX_DOWNLOADS_PER_KEY` job results downloading from this server (`limit`); retry when one ends (`Retry-After: 1`).'),
  HEADERS_TOO_LARGE: spec(431, 'no', false, 'The request headers are larger than 16 KB.'),
  CLIENT_CLOSED_REQUEST: spec(499, 'no', false, 'The client left before the answer: recorded in usage and logs; nobody receives it.'),
  INTERNAL_ERROR: spec(500, 'no', true, 'A bug (logged).'),
  CAPTURE_FAILED: spec(500, 'no', true, 'Chromium failed in a way we did not foresee (logged).'),
  FILTER_LISTS_UNAVAILABLE: spec(501, 'no', true, '`blockAds` or `blockTrackers` on a server whose filter list is not installed (`field` names the option). Not retried by the clients: it lasts until the operator installs the list.'),
  NAVIGATION_FAILED: spec(502, 'no', false, 'The target could not be loaded: `networkError` (e.g. `ERR_CONNECTION_REFUSED`) or `targetStatus` (its HTTP status when ≥ 400) says why.'),
  LIMITS_UNAVAILABLE: spec(503, 'yes', false, 'Redis is down and `PAGESHOT_LIMITS_ON_STORE_FAILURE=closed`.'),
  BROWSER_CRASHED: spec(503, 'yes', true, 'Chromium died during this capture; it is being restarted. Retry.'),
  QUEUE_FULL: spec(503, 'yes', true, 'Load shedding: the queue already holds `PAGESHOT_MAX_QUEUE` captures, and no other caller has two more waiting than this one (a full queue sheds the newest of the caller with the most waiting first; `status: "busy"`).'),
  QUEUE_TIMEOUT: spec(503, 'yes', true, 'Load shedding: the capture waited `PAGESHOT_QUEUE_TIMEOUT_MS` without a slot (`status: "busy"`).'),
  SERVER_BUSY: spec(503, 'yes', true, 'Load shedding: the machine\'s CPU is above `PAGESHOT_CPU_BUSY_PERCENT` and the capture would wait longer than the queue timeout allows (`status: "busy"`, `cpuUsage`).'),
  SHUTTING_DOWN: spec(503, 'yes', true, 'The server received SIGTERM and is draining (`status: "busy"`); another instance, or this one restarted, will answer.'),
  JOBS_UNAVAILABLE: spec(503, 'no', false, 'Async jobs (and, on an api node, every capture) need Redis: the server has no `PAGESHOT_REDIS_URL`, or Redis does not answer.'),
  WORKER_LOST: spec(503, 'no', true, 'The worker running the capture stopped (crash, SIGKILL) twice; the job was given up (its daily unit is given back).'),
  NOT_READY: spec(503, 'yes', false, 'Only from `GET /readyz`: a part this node needs (browser, database, Redis) is not up; `checks` names it.'),
  RENDER_TIMEOUT: spec(504, 'no', false, 'The page did not finish within `timeout` (also when `waitForSelector` never matched).'),
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
