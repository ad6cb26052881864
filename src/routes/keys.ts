import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { keyView, type KeyService } from '../auth/key-service.js';
import { ALL_SCOPES } from '../store/schema.js';

const ScopeSchema = Type.Union(ALL_SCOPES.map((scope) => Type.Literal(scope)));
const Count = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
const LimitsSchema = Type.Object(
  { rate: Type.Optional(Count), burst: Type.Optional(Count), daily: Type.Optional(Count), concurrent: Type.Optional(Count) },
  { additionalProperties: false },
);
const settings = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  scopes: Type.Array(ScopeSchema, { minItems: 1, uniqueItems: true }),
  expiresAt: Type.Optional(Type.Union([Type.String({ minLength: 10, maxLength: 40 }), Type.Null()])),
  limits: Type.Optional(LimitsSchema),
  allowedHosts: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 100 })),
  allowedIps: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100 })),
  metadata: Type.Optional(Type.Record(Type.String({ maxLength: 100 }), Type.Unknown())),
};
const CreateBody = Type.Object(settings, { additionalProperties: false });
const PatchBody = Type.Object(
  {
    name: Type.Optional(settings.name),
    scopes: Type.Optional(settings.scopes),
    expiresAt: settings.expiresAt,
    limits: settings.limits,
    allowedHosts: settings.allowedHosts,
    allowedIps: settings.allowedIps,
    metadata: settings.metadata,
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64, description: 'The key id (`key_…`), as listed.' }) });
const Timestamp = Type.String({ format: 'date-time' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

/** A key as the API shows it: everything but its hash. */
export const KeyViewSchema = Type.Object(
  {
    id: Type.String({ description: 'Stable id (`key_…`), for the API, the CLI and signed links.' }),
    name: Type.String(),
    hint: Type.String({ description: 'Display form of the key (`ps_live_…a1b2`).' }),
    scopes: Type.Array(ScopeSchema),
    createdAt: Timestamp,
    updatedAt: Timestamp,
    lastUsedAt: NullableTimestamp,
    expiresAt: NullableTimestamp,
    revokedAt: NullableTimestamp,
    disabled: Type.Boolean(),
    limits: LimitsSchema,
    allowedHosts: Type.Array(Type.String()),
    allowedIps: Type.Array(Type.String()),
    metadata: Type.Record(Type.String(), Type.Unknown()),
    rotatedFrom: Type.Union([Type.String(), Type.Null()], { description: 'The key this one replaced by rotation.' }),
    replacedBy: Type.Union([Type.String(), Type.Null()], { description: 'The key that replaced this one by rotation.' }),
    state: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('expired'), Type.Literal('revoked')]),
  },
  { additionalProperties: false },
);
/** A key just issued: its view plus the key itself, shown this once. */
const IssuedKeySchema = Type.Object(
  { ...KeyViewSchema.properties, key: Type.String({ description: 'The API key itself: shown this once, stored only as a hash.' }) },
  { additionalProperties: false },
);
const KeyPage = Type.Object(
  { data: Type.Array(KeyViewSchema), next: Type.Union([Type.String(), Type.Null()], { description: 'Cursor of the next page; null on the last.' }) },
  { additionalProperties: false },
);
const RotateBody = Type.Union([
  Type.Object(
    {
      gracePeriodSeconds: Type.Optional(
        Type.Number({ minimum: 0, description: 'Seconds the old key keeps working (default 0: it stops at once; at most 30 days).' }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Null(),
]);
/** Query of paged lists (keys, audit). */
export const PageQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Type.String({ maxLength: 400 })) },
  { additionalProperties: false },
);

/** The key id of whoever made a management request (null when auth is off). */
function actorOf(request: FastifyRequest): string | null {
  return request.principal?.keyId ?? null;
}

/** `/v1/keys…`: create, list, read, change, revoke and rotate API keys (scope `keys:manage`). */
export function keyRoutes(app: FastifyInstance, service: KeyService): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const config = { scope: 'keys:manage' as const };
  const tags = ['keys'];
  const byId = { config: { ...config, errors: ['KEY_NOT_FOUND'] as const } };

  api.post(
    '/v1/keys',
    { config, schema: { tags, summary: 'Issue a key (shown once)', body: CreateBody, response: { 201: IssuedKeySchema } } },
    async (request, reply) => {
      const { key, record } = await service.create(request.body, actorOf(request));
      return reply.status(201).header('cache-control', 'no-store').send({ ...keyView(record), key });
    },
  );

  api.get('/v1/keys', { config, schema: { tags, summary: 'List keys, newest first', querystring: PageQuery, response: { 200: KeyPage } } }, async (request) => {
    const page = await service.list(request.query.limit, request.query.cursor);
    return { data: page.items.map((record) => keyView(record)), next: page.next };
  });

  api.get('/v1/keys/:id', { ...byId, schema: { tags, summary: 'Read a key', params: IdParams, response: { 200: KeyViewSchema } } }, async (request) => {
    return keyView(await service.get(request.params.id));
  });

  api.patch(
    '/v1/keys/:id',
    { ...byId, schema: { tags, summary: 'Change, disable or enable a key', params: IdParams, body: PatchBody, response: { 200: KeyViewSchema } } },
    async (request) => keyView(await service.update(request.params.id, request.body, actorOf(request))),
  );

  api.delete(
    '/v1/keys/:id',
    {
      config: { ...config, errors: ['KEY_NOT_FOUND', 'KEY_ALREADY_REVOKED', 'KEY_ALREADY_ROTATED'] },
      schema: { tags, summary: 'Revoke a key (final)', params: IdParams, response: { 200: KeyViewSchema } },
    },
    async (request) => keyView(await service.revoke(request.params.id, actorOf(request))),
  );

  api.post(
    '/v1/keys/:id/rotate',
    {
      config: { ...config, errors: ['KEY_NOT_FOUND', 'KEY_ALREADY_REVOKED', 'KEY_ALREADY_ROTATED'] },
      schema: {
        tags,
        summary: 'Replace a key with a new one that keeps its settings (shown once)',
        params: IdParams,
        body: RotateBody,
        response: { 201: IssuedKeySchema },
      },
    },
    async (request, reply) => {
      const { key, record } = await service.rotate(request.params.id, request.body?.gracePeriodSeconds ?? 0, actorOf(request));
      return reply.status(201).header('cache-control', 'no-store').send({ ...keyView(record), key });
    },
  );
}
