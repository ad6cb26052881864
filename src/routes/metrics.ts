import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { presentedKey } from '../auth/auth-hook.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
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

  app.get('/metrics', async (request, reply) => {
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
