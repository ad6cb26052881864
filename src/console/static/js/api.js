// Talks to PageShot's public API with the signed-in key. The console has no endpoint of
// its own: everything it shows is what `curl` with the same key would get.

// The key lives in this module and in sessionStorage (this tab only, gone when the tab
// closes); never in localStorage or a cookie, which outlive the tab and, for cookies,
// travel with every request.
const STORAGE_NAME = 'pageshot.console.key';
let apiKey = null;

// Codes that mean the signed-in key itself no longer works: the console signs out.
const AUTH_LOST = new Set(['MISSING_API_KEY', 'INVALID_API_KEY', 'KEY_REVOKED', 'KEY_EXPIRED', 'KEY_DISABLED']);
let onAuthLost = () => {};

/** An error answer of the API: its `code`, message and, when given, `field` and `retryAfter`. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body.error ?? `HTTP ${status}`);
    this.status = status;
    this.code = body.code ?? 'HTTP_ERROR';
    this.field = body.field;
    this.retryAfter = body.retryAfter;
  }
}

/** The key kept from earlier in this tab, if any. */
export function restoreKey() {
  apiKey = sessionStorage.getItem(STORAGE_NAME);
  return apiKey;
}

/** Keeps `key` for this tab. */
export function rememberKey(key) {
  apiKey = key;
  sessionStorage.setItem(STORAGE_NAME, key);
}

/** Forgets the key everywhere the console kept it. */
export function forgetKey() {
  apiKey = null;
  sessionStorage.removeItem(STORAGE_NAME);
}

/** Registers what to do when the API says the signed-in key stopped working. */
export function whenAuthLost(handler) {
  onAuthLost = handler;
}

/** Turns a failed answer into an ApiError, whatever its body holds. */
async function errorOf(response) {
  let body = {};
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page): the status alone has to do.
  }
  const error = new ApiError(response.status, body);
  // Error answers carry headers worth showing too (rate limits, Retry-After).
  error.headers = response.headers;
  return error;
}

/**
 * Sends one request with `key` (default: the signed-in one). A JSON `body` is sent as
 * JSON; without a body no content-type is sent (Fastify refuses an empty JSON body).
 * Resolves to the Response; rejects with an ApiError for any answer but 2xx.
 */
export async function send(path, { method = 'GET', body, key = apiKey } = {}) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, { code: 'NETWORK_ERROR', error: 'PageShot could not be reached.' });
  }
  if (response.ok) return response;
  const error = await errorOf(response);
  if (key === apiKey && AUTH_LOST.has(error.code)) onAuthLost(error);
  return Promise.reject(error);
}

/** Like send(), resolved to the parsed JSON body. */
export async function api(path, options) {
  const response = await send(path, options);
  return response.json();
}

/** GET /v1/me with a key that is not (yet) the signed-in one: checks it without side effects. */
export async function whoIs(key) {
  return (await send('/v1/me', { key })).json();
}
