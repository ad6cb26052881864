import type { RouteOptions } from 'fastify';
import { ERRORS, type ErrorCode } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Error codes this route answers with beyond those every route of its kind shares
     * (authentication, limits, validation, capture failures), for its OpenAPI document.
     */
    errors?: readonly ErrorCode[];
  }
}

/**
 * Every route may answer these: a key in the URL, a signed link used where it cannot be,
 * a server draining, a fault of ours.
 */
const EVERY_ROUTE: readonly ErrorCode[] = ['API_KEY_IN_QUERY', 'SIGNATURE_INVALID', 'HTTPS_REQUIRED', 'SHUTTING_DOWN', 'INTERNAL_ERROR'];

/** A route with a `scope`: the key is checked, then the key's rate limit and daily quota. */
const AUTHENTICATED: readonly ErrorCode[] = [
  'MISSING_API_KEY',
  'INVALID_API_KEY',
  'KEY_REVOKED',
  'KEY_EXPIRED',
  'KEY_DISABLED',
  'INSUFFICIENT_SCOPE',
  'IP_NOT_ALLOWED',
  'TOO_MANY_AUTH_FAILURES',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'LIMITS_UNAVAILABLE',
];

/** A route with a JSON body. */
const WITH_BODY: readonly ErrorCode[] = ['VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'];

/** A route that renders (`config.capture`): the target, the page and the browser can each fail it. */
const CAPTURING: readonly ErrorCode[] = [
  'CONCURRENCY_LIMITED',
  'TARGET_FORBIDDEN',
  'SELECTOR_NOT_FOUND',
  'SCRIPT_FAILED',
  'TARGET_IS_DOWNLOAD',
  'PAGE_CRASHED',
  'BLANK_PAGE',
  'TOO_MANY_PAGES',
  'PDF_TOO_LARGE',
  'FILTER_LISTS_UNAVAILABLE',
  'NAVIGATION_FAILED',
  'RENDER_TIMEOUT',
  'CAPTURE_FAILED',
  'BROWSER_CRASHED',
  'QUEUE_FULL',
  'QUEUE_TIMEOUT',
  'SERVER_BUSY',
  'WORKER_LOST',
];

/** The codes a route can answer with, from what its options say about it. */
export function errorCodesOf(route: Pick<RouteOptions, 'schema' | 'config'>): ErrorCode[] {
  const config = route.config ?? {};
  const schema = route.schema ?? {};
  const codes = new Set<ErrorCode>(EVERY_ROUTE);
  if (config.scope) AUTHENTICATED.forEach((code) => codes.add(code));
  if (schema.body) WITH_BODY.forEach((code) => codes.add(code));
  if (schema.querystring || schema.params) codes.add('VALIDATION_ERROR');
  if (config.capture) CAPTURING.forEach((code) => codes.add(code));
  config.errors?.forEach((code) => codes.add(code));
  // Ordered as the table is, so the document reads the same on every build.
  return (Object.keys(ERRORS) as ErrorCode[]).filter((code) => codes.has(code));
}

/** Groups codes by their HTTP status. */
export function byStatus(codes: readonly ErrorCode[]): Map<number, ErrorCode[]> {
  const groups = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = ERRORS[code].status;
    groups.set(status, [...(groups.get(status) ?? []), code]);
  }
  return groups;
}
