import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { ALL_SCOPES, type Scope } from '../store/schema.js';
import type { Authenticator } from './authenticator.js';
import type { Principal } from './principal.js';
import type { SignedLink } from './signed-link.js';
import { signedLinkOf } from './signed-request.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The scope a route needs; `any` = any valid key; routes without one are public
     * (e.g. /status).
     */
    scope?: Scope | 'any';
  }
}

/**
 * Query parameter names that carry credentials, in normal form (lower case, letters and
 * digits only), so `API_KEY`, `api-key`, `apiKey` and `api.key` are all `apikey`. A key in
 * a URL ends up in access logs, proxies and browser histories: such requests are refused
 * on every route, before anything else looks at them.
 */
const KEY_QUERY_PARAMETERS = new Set([
  'apikey',
  'key',
  'token',
  'accesstoken',
  'apitoken',
  'authtoken',
  'auth',
  'authorization',
  'xapikey',
  'bearer',
  'secret',
  'apisecret',
  'clientsecret',
  'password',
]);

/** `Api-Key[]` → `apikey`: case, separators and brackets do not make a different parameter. */
function normaliseParameterName(raw: string): string {
  let name = raw.replace(/\+/g, ' ');
  try {
    name = decodeURIComponent(name);
  } catch {
    // Not valid percent-encoding: compare the raw text, as the decoder would keep it.
  }
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * True when the raw query string of `url` names a credential parameter. Reads the URL
 * itself, not `request.query`, which only routes with a query schema would have parsed
 * the same way (and 404s not at all).
 */
export function hasKeyInQuery(url: string): boolean {
  const start = url.indexOf('?');
  if (start === -1) return false;
  for (const pair of url.slice(start + 1).split('&')) {
    const end = pair.indexOf('=');
    if (KEY_QUERY_PARAMETERS.has(normaliseParameterName(end === -1 ? pair : pair.slice(0, end)))) return true;
  }
  return false;
}

const ONE_YEAR_SECONDS = 31_536_000;

/** The key a request presents: `Authorization: Bearer <key>`, else `x-api-key`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1] ?? '';
  }
  const header = request.headers['x-api-key'];
  return typeof header === 'string' ? header.trim() : undefined;
}

function anonymous(ip: string): Principal {
  return {
    kind: 'anonymous',
    keyId: null,
    name: 'anonymous',
    hint: null,
    scopes: ALL_SCOPES,
    limits: {},
    allowedHosts: [],
    expiresAt: null,
    caller: `ip:${ip}`,
  };
}

/**
 * Adds the HTTPS requirement and the ban on keys in URLs (every route, unknown ones
 * included) and authentication (routes with a `scope`): HTTPS first, so a key sent over
 * plain HTTP is refused before it is even read; then no key in the query string; then
 * the key itself — or a signed link (GET /screenshot only, see signed-request.ts), which
 * stands for its key — and the route's scope. Whatever comes after (limits, usage, the
 * key's hosts) sees the same principal either way.
 */
export function registerAuth(app: FastifyInstance, config: Config, authenticator: Authenticator): void {
  /**
   * Everything up to the key itself; returns the key or the signed link to check, or
   * undefined when done. `scope` is the route's (read once per request: Fastify builds
   * `routeOptions` anew on every read).
   */
  function precheck(request: FastifyRequest, reply: FastifyReply, scope: Scope | 'any' | undefined): string | SignedLink | undefined {
    if (request.protocol.toLowerCase() === 'https') reply.header('strict-transport-security', `max-age=${ONE_YEAR_SECONDS}; includeSubDomains`);
    else if (config.requireHttps) throw new ApiError('HTTPS_REQUIRED', 'This server accepts requests over HTTPS only.');

    if (hasKeyInQuery(request.url)) {
      throw new ApiError('API_KEY_IN_QUERY', 'Send the API key in the Authorization or x-api-key header, never in the URL.');
    }
    // Before the scope: a signed link is refused on every route but GET /screenshot, public ones included.
    const link = request.url.includes('?') ? signedLinkOf(request, config.auth.enabled) : undefined;
    if (!scope) return undefined;
    if (!config.auth.enabled) {
      request.principal = anonymous(request.ip);
      return undefined;
    }
    if (link) return link;
    const presented = presentedKey(request);
    if (!presented) {
      reply.header('www-authenticate', 'Bearer');
      throw new ApiError('MISSING_API_KEY', 'An API key is required: send "Authorization: Bearer <key>".');
    }
    return presented;
  }

  function admit(request: FastifyRequest, principal: Principal, scope: Scope | 'any'): void {
    if (scope !== 'any' && !principal.scopes.includes(scope)) {
      throw new ApiError('INSUFFICIENT_SCOPE', `This API key lacks the "${scope}" scope.`, { extras: { requiredScope: scope } });
    }
    request.principal = principal;
  }

  // Callback style, so that the common case (a cached, valid key) costs no promise.
  // `done` is called outside every try block: it runs the next hooks synchronously.
  app.addHook('onRequest', (request, reply, done) => {
    const scope = request.routeOptions.config.scope;
    let presented: string | SignedLink | undefined;
    let cached: Principal | undefined;
    let failure: unknown;
    try {
      presented = precheck(request, reply, scope);
      if (typeof presented === 'string') cached = authenticator.authenticateCached(presented, request.ip);
      if (cached) admit(request, cached, scope!);
    } catch (error) {
      failure = error;
    }
    if (failure !== undefined) return done(failure as Error);
    if (presented === undefined || cached) return done();
    if (typeof presented !== 'string') {
      authenticator
        .authenticateSigned(presented, request.ip)
        .then((principal) => admit(request, principal, scope!))
        .then(() => done(), done);
      return;
    }
    authenticator
      .authenticate(presented, request.ip)
      .then((principal) => admit(request, principal, scope!))
      .then(() => done(), done);
  });
}
