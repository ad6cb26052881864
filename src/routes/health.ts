import type { FastifyInstance } from 'fastify';

/**
 * `GET /healthz`: liveness, on every role. It answers as long as the process serves
 * HTTP, and reads nothing else: a probe that restarts a node because Redis or the
 * browser is away would turn an outage of one part into restarts of every node.
 */
export function healthRoutes(app: FastifyInstance): void {
  app.get('/healthz', (_request, reply) => {
    reply.header('cache-control', 'no-store').send({ status: 'ok' });
  });
}
