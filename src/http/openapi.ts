import type { SwaggerOptions } from '@fastify/swagger';
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, RouteOptions } from 'fastify';
import { ERRORS, type ErrorCode } from '../errors.js';
import { VERSION } from '../version.js';
import { byStatus, errorCodesOf } from './error-responses.js';
import { compactDocument, ERROR_CODES_MARK } from './openapi-compact.js';
import { CAPTURE_HEADERS } from '../routes/capture-responses.js';

/** Where the document is served. */
export const OPENAPI_PATH = '/openapi.json';

/** The document as sent: built and serialised once (it only changes with a restart). */
interface DocumentText {
  body: string;
  etag: string;
}
const documents = new WeakMap<FastifyInstance, DocumentText>();

/**
 * Answers with the document, from one serialisation kept for the server's life: the
 * route is public, and serialising ~300 KB on every request would hand anyone a cheap
 * way to keep a core busy. `If-None-Match` gets a 304.
 */
export function sendDocument(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  let document = documents.get(app);
  if (!document) {
    const body = JSON.stringify(app.swagger());
    document = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    documents.set(app, document);
  }
  reply.header('cache-control', 'no-cache').header('etag', document.etag);
  if (request.headers['if-none-match'] === document.etag) return reply.code(304).send();
  return reply.type('application/json; charset=utf-8').send(document.body);
}

/** Headers on every answer. */
const REQUEST_ID_HEADER = {
  'x-request-id': { type: 'string', description: 'This request\'s id (the caller\'s own `X-Request-Id` when short and plain); log lines carry it.' },
} as const;

/** Headers on every answer to an authenticated request the limits looked at. */
const RATE_LIMIT_HEADERS = {
  'x-ratelimit-limit': { type: 'string', description: 'The limit of the policy closest to refusing (burst or daily).' },
  'x-ratelimit-remaining': { type: 'string', description: 'Requests left in that policy.' },
  'x-ratelimit-reset': { type: 'string', description: 'Unix time (seconds) when that policy has room again.' },
  ratelimit: { type: 'string', description: 'IETF RateLimit field: remaining quota per policy (form set by `PAGESHOT_RATELIMIT_HEADERS`).' },
  'ratelimit-policy': { type: 'string', description: 'IETF RateLimit-Policy field: each policy\'s quota and window.' },
  'ratelimit-limit': { type: 'string', description: 'With `PAGESHOT_RATELIMIT_HEADERS=draft-6` only: the limit.' },
  'ratelimit-remaining': { type: 'string', description: 'With `PAGESHOT_RATELIMIT_HEADERS=draft-6` only: requests left.' },
  'ratelimit-reset': { type: 'string', description: 'With `PAGESHOT_RATELIMIT_HEADERS=draft-6` only: seconds until the limit resets.' },
} as const;

const RETRY_AFTER_HEADER = {
  'retry-after': { type: 'string', description: 'Seconds to wait before the same request can succeed.' },
} as const;

/** A key, in either header. */
export const KEY_SECURITY: Array<Record<string, string[]>> = [{ apiKey: [] }, { bearer: [] }];
/** A key, or a signed link in the query (GET /screenshot). */
export const KEY_OR_SIGNED_LINK: Array<Record<string, string[]>> = [...KEY_SECURITY, { signedLink: [] }];

/** The shared error body; the fields after `requestId` appear on the codes that name them. */
export const ERROR_BODY_SCHEMA = {
  type: 'object',
  required: ['error', 'code', 'requestId'],
  additionalProperties: false,
  properties: {
    error: { type: 'string', description: 'A sentence for people; never branch on it.' },
    code: { type: 'string', enum: Object.keys(ERRORS), description: 'Stable machine-readable code.' },
    requestId: { type: 'string' },
    status: { type: 'string', enum: ['busy', 'unready'], description: '`busy` on every load-shedding answer; `unready` on `NOT_READY`.' },
    retryAfter: { type: 'integer', description: 'Seconds to wait (as `Retry-After`).' },
    limit: { type: 'number', description: 'The limit that refused the request, or the size limit broken.' },
    limitBytes: { type: 'integer' },
    policy: { type: 'string', enum: ['burst', 'daily', 'concurrent'] },
    queueLength: { type: 'integer' },
    cpuUsage: { type: 'string', description: 'The CPU reading that refused the request, e.g. `"93%"`.' },
    field: { type: 'string', description: 'The option at fault (`cookies/0/name`, `pdf/margin`).' },
    requiredScope: { type: 'string' },
    networkError: { type: 'string', description: "Chromium's network error (`net::ERR_NAME_NOT_RESOLVED`)." },
    targetStatus: { type: 'integer', description: 'The HTTP status the target answered.' },
    jobError: { type: 'string', description: 'On `JOB_FAILED`: the failed job\'s code.' },
    checks: { type: 'object', additionalProperties: { type: 'string' }, description: 'On `NOT_READY`: each part and `ok` or why not.' },
  },
} as const;

function errorResponse(status: number, codes: readonly ErrorCode[], authenticated: boolean) {
  const retryable = status === 429 || status === 503;
  return {
    description: codes.map((code) => `\`${code}\`: ${ERRORS[code].description}`).join('\n\n'),
    headers: { ...REQUEST_ID_HEADER, ...(retryable ? RETRY_AFTER_HEADER : {}), ...(authenticated ? RATE_LIMIT_HEADERS : {}) },
    content: {
      'application/json': {
        schema: { ...ERROR_BODY_SCHEMA, properties: { ...ERROR_BODY_SCHEMA.properties, code: { type: 'string', enum: codes } }, [ERROR_CODES_MARK]: codes },
      },
    },
  };
}

/**
 * Adds to one route's schema what every route of its kind shares, for the document only
 * (Fastify never sees it): the error answers it can give (from the error table), the
 * headers on every answer, and the key it needs.
 */
function documentRoute(schema: FastifySchema, route: RouteOptions): FastifySchema {
  const authenticated = Boolean(route.config?.scope);
  const responses: Record<string, unknown> = {};
  for (const [status, response] of Object.entries((schema.response ?? {}) as Record<string, { headers?: object; description?: string }>)) {
    responses[status] = {
      ...response,
      // Without one, the document would say "Default Response": the route's summary says what comes back.
      description: response.description ?? schema.summary ?? 'Success',
      headers: { ...REQUEST_ID_HEADER, ...(authenticated ? RATE_LIMIT_HEADERS : {}), ...response.headers },
    };
  }
  for (const [status, codes] of byStatus(errorCodesOf(route))) {
    // 499 is an answer nobody receives: the client has gone.
    if (status !== 499) responses[status] = errorResponse(status, codes, authenticated);
  }
  return {
    ...schema,
    response: responses,
    security: schema.security ?? (authenticated ? KEY_SECURITY : []),
  };
}

/**
 * Options for @fastify/swagger: the OpenAPI 3.1 document built from the route schemas
 * (TypeBox), with every route, option, error code and header. Register it before the
 * routes: it collects them as they are added.
 */
export function openApiOptions(): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'PageShot',
        version: VERSION,
        description:
          'Self-hosted screenshot API: a URL in, an image or a PDF out, rendered by headless Chromium. ' +
          'Errors share one JSON shape (`error`, `code`, `requestId`); branch on `code`. ' +
          'Every request may also be refused before it reaches a route with `MALFORMED_REQUEST` (400), ' +
          '`REQUEST_TIMEOUT` (408) or `HEADERS_TOO_LARGE` (431).',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      components: {
        securitySchemes: {
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (`ps_live_…`), or the root `API_KEY`.' },
          bearer: { type: 'http', scheme: 'bearer', description: 'The same key as `Authorization: Bearer <key>`.' },
          signedLink: {
            type: 'apiKey',
            in: 'query',
            name: 'signature',
            description: 'A signed embed link (GET /screenshot only): `keyId`, `expires` and `signature` in the query instead of a key; see the README, "Signed embed links".',
          },
        },
      },
      tags: [
        { name: 'capture', description: 'Screenshots and PDFs, answered at once.' },
        { name: 'jobs', description: 'Captures run in the background, with signed webhooks.' },
        { name: 'keys', description: 'API keys: issue, change, rotate, revoke (scope `keys:manage`).' },
        { name: 'account', description: 'The calling key: who it is, its usage, its secrets.' },
        { name: 'operations', description: 'Health, readiness, status and metrics: no key needed.' },
      ],
    },
    // Console pages and the docs' own files are not API.
    hideUntagged: true,
    transform: ({ schema, url, route }) => ({ schema: schema ? documentRoute(schema, route) : schema, url }),
    transformObject: (documentObject) => {
      if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
      const headers = { ...REQUEST_ID_HEADER, ...RATE_LIMIT_HEADERS, ...RETRY_AFTER_HEADER, ...CAPTURE_HEADERS };
      return compactDocument(documentObject.openapiObject as Record<string, unknown>, ERROR_BODY_SCHEMA, headers);
    },
  };
}
