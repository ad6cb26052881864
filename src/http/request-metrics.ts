import type { FastifyInstance } from 'fastify';
import type { ErrorCode } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { whenSettled } from './settled.js';

const AUTH_FAILURES: ReadonlySet<ErrorCode> = new Set([
  'INVALID_API_KEY',
  'KEY_REVOKED',
  'KEY_EXPIRED',
  'KEY_DISABLED',
  'IP_NOT_ALLOWED',
  'TOO_MANY_AUTH_FAILURES',
]);

/**
 * Counts every answer by route pattern, method and status, and failed authentications by
 * reason. Settled on every end of a request (see settled.ts): a client that hangs up
 * before its answer is counted with status 499, which Fastify's onResponse would miss.
 * Register it before the hooks that may refuse a request, so refusals are counted too.
 */
export function registerHttpMetrics(app: FastifyInstance, metrics: Metrics): void {
  app.addHook('onRequest', (request, reply, done) => {
    whenSettled(request, reply, (aborted) => {
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.countHttpRequest(route, request.method, aborted ? '499' : String(reply.statusCode));
      if (request.errorCode && AUTH_FAILURES.has(request.errorCode)) metrics.authFailures.inc({ reason: request.errorCode });
    });
    done();
  });
}
