import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditStore } from '../store/audit-store.js';
import { AUDIT_EVENT_TYPES } from '../store/schema.js';
import { PageQuery } from './keys.js';

/** The family of an event type, by its prefix: `key.revoked` → `key.`. */
const familyOf = (type: string): `${string}.` => `${type.slice(0, type.indexOf('.'))}.`;
const TYPE_PREFIXES = [...new Set(AUDIT_EVENT_TYPES.map(familyOf))];

/** `?type=`: one event type exactly, or a family by its prefix (`key.`); anything else is a 400 naming `type`. */
const AuditQuery = Type.Object(
  {
    ...PageQuery.properties,
    type: Type.Optional(Type.Union([...AUDIT_EVENT_TYPES, ...TYPE_PREFIXES].map((type) => Type.Literal(type)))),
  },
  { additionalProperties: false },
);

/** `GET /v1/me`: the calling key as the server sees it; any valid key may ask. */
export function meRoutes(app: FastifyInstance): void {
  // Not async: nothing here waits, and an async handler costs a promise and a microtask
  // hop per request (more with Playwright's promise hooks on in the same process).
  app.get('/v1/me', { config: { scope: 'any' } }, (request, reply) => {
    const principal = request.principal!;
    return reply.send({
      id: principal.keyId,
      kind: principal.kind,
      name: principal.name,
      hint: principal.hint,
      scopes: principal.scopes,
      limits: principal.limits,
      allowedHosts: principal.allowedHosts,
      expiresAt: principal.expiresAt,
    });
  });
}

/**
 * `GET /v1/audit`: key events and summaries of failed authentications, newest first
 * (scope `keys:manage`); `?type=key.` or `?type=key.revoked` keeps one family or type.
 */
export function auditRoutes(app: FastifyInstance, audit: AuditStore): void {
  app.get('/v1/audit', { config: { scope: 'keys:manage' }, schema: { querystring: AuditQuery } }, async (request) => {
    const { limit, cursor, type } = request.query as Static<typeof AuditQuery>;
    const page = await audit.list({ limit, ...(cursor ? { before: cursor } : {}), ...(type ? { type } : {}) });
    return { data: page.items, next: page.next };
  });
}
