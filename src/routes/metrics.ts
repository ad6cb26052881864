import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { presentedKey } from '../auth/auth-hook.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { KEY_SECURITY } from '../http/openapi.js';
import type { Metrics } from '../metrics.js';

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * `GET /metrics` in Prometheus text format, for a `keys:manage` key or the separate
 * PAGESHOT_METRICS_TOKEN (so a scraper needs no admin key); open when authentication
 * is off.
 */
export function metricsRoutes(app: FastifyInstance, deps: { config: Config; metrics: Metrics; authenticator: Authenticator }): void {
  const { config, metrics, authenticator } = deps;
  const tokenHash = config.metricsToken ? sha256(config.metricsToken) : undefined;

  const schema = {
    tags: ['operations'],
    summary: 'Prometheus metrics (a keys:manage key or PAGESHOT_METRICS_TOKEN)',
    security: KEY_SECURITY,
    response: { 200: { description: 'Prometheus text format.', content: { 'text/plain': { schema: { type: 'string' } } } } },
  };
  // Its own authentication (the metrics token), so its key errors are listed here.
  const errors = ['MISSING_API_KEY', 'INVALID_API_KEY', 'KEY_REVOKED', 'KEY_EXPIRED', 'KEY_DISABLED', 'INSUFFICIENT_SCOPE', 'IP_NOT_ALLOWED', 'TOO_MANY_AUTH_FAILURES'] as const;
  app.get('/metrics', { schema, config: { errors } }, async (request, reply) => {
    if (config.auth.enabled) {
      const presented = presentedKey(request);
      if (!presented) {
        reply.header('www-authenticate', 'Bearer');
        throw new ApiError('MISSING_API_KEY', 'Send a keys:manage key or the metrics token as a Bearer token.');
      }
      const isToken = tokenHash !== undefined && timingSafeEqual(sha256(presented), tokenHash);
      if (!isToken) {
        const principal = await authenticator.authenticate(presented, request.ip);
        if (!principal.scopes.includes('keys:manage')) {
          throw new ApiError('INSUFFICIENT_SCOPE', 'Reading metrics needs the "keys:manage" scope or the metrics token.', {
            extras: { requiredScope: 'keys:manage' },
          });
        }
      }
    }
    reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store');
    return metrics.registry.metrics();
  });
}
