import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AuditStore } from '../store/audit-store.js';
import { ALL_SCOPES, AUDIT_EVENT_TYPES } from '../store/schema.js';
import { KeyViewSchema, PageQuery } from './keys.js';

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

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** The calling key, as `GET /v1/me` shows it. */
const MeAnswer = Type.Object(
  {
    id: Nullable(Type.String({ description: 'The key id; `root` for the root API_KEY; null with authentication off.' })),
    kind: Type.Union([Type.Literal('key'), Type.Literal('root'), Type.Literal('anonymous')]),
    name: Type.String(),
    hint: Nullable(Type.String()),
    scopes: Type.Array(Type.Union(ALL_SCOPES.map((scope) => Type.Literal(scope)))),
    limits: KeyViewSchema.properties.limits,
    allowedHosts: Type.Array(Type.String()),
    expiresAt: Nullable(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

const AuditEventSchema = Type.Object(
  {
    id: Type.String(),
    time: Type.String({ format: 'date-time' }),
    type: Type.Union(AUDIT_EVENT_TYPES.map((type) => Type.Literal(type))),
    keyId: Nullable(Type.String({ description: 'The key acted on (or presented, for `auth.failed`).' })),
    keyHint: Nullable(Type.String()),
    actorKeyId: Nullable(Type.String({ description: 'The key that made the change; null for the CLI or the server itself.' })),
    clientIp: Nullable(Type.String()),
    reason: Nullable(Type.String()),
    details: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
const AuditPage = Type.Object({ data: Type.Array(AuditEventSchema), next: Nullable(Type.String()) }, { additionalProperties: false });

/** `GET /v1/me`: the calling key as the server sees it; any valid key may ask. */
export function meRoutes(app: FastifyInstance): void {
  // Not async: nothing here waits, and an async handler costs a promise and a microtask
  // hop per request (more with Playwright's promise hooks on in the same process).
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const schema = { tags: ['account'], summary: 'The calling key: its id, scopes and limits', response: { 200: MeAnswer } };
  api.get('/v1/me', { config: { scope: 'any' }, schema }, (request, reply) => {
    const principal = request.principal!;
    void reply.send({
      id: principal.keyId,
      kind: principal.kind,
      name: principal.name,
      hint: principal.hint,
      scopes: [...principal.scopes],
      limits: principal.limits,
      allowedHosts: [...principal.allowedHosts],
      expiresAt: principal.expiresAt,
    });
  });
}

/**
 * `GET /v1/audit`: key events and summaries of failed authentications, newest first
 * (scope `keys:manage`); `?type=key.` or `?type=key.revoked` keeps one family or type.
 */
export function auditRoutes(app: FastifyInstance, audit: AuditStore): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const schema = { tags: ['keys'], summary: 'Key events and failed authentications, newest first', querystring: AuditQuery, response: { 200: AuditPage } };
  api.get('/v1/audit', { config: { scope: 'keys:manage' }, schema }, async (request) => {
    const { limit, cursor, type } = request.query;
    const page = await audit.list({ limit, ...(cursor ? { before: cursor } : {}), ...(type ? { type } : {}) });
    return { data: page.items, next: page.next };
  });
}
