import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditStore } from '../store/audit-store.js';
import { PageQuery } from './keys.js';

/** `GET /v1/me`: the calling key as the server sees it; any valid key may ask. */
export function meRoutes(app: FastifyInstance): void {
  app.get('/v1/me', { config: { scope: 'any' } }, async (request) => {
    const principal = request.principal!;
    return {
      id: principal.keyId,
      kind: principal.kind,
      name: principal.name,
      hint: principal.hint,
      scopes: principal.scopes,
      limits: principal.limits,
      allowedHosts: principal.allowedHosts,
      expiresAt: principal.expiresAt,
    };
  });
}

/** `GET /v1/audit`: key events and failed authentications, newest first (scope `keys:manage`). */
export function auditRoutes(app: FastifyInstance, audit: AuditStore): void {
  app.get('/v1/audit', { config: { scope: 'keys:manage' }, schema: { querystring: PageQuery } }, async (request) => {
    const { limit, cursor } = request.query as Static<typeof PageQuery>;
    const page = await audit.list({ limit, ...(cursor ? { before: cursor } : {}) });
    return { data: page.items, next: page.next };
  });
}
