import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { keyView, type KeyService } from '../auth/key-service.js';
import { ApiError } from '../errors.js';
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
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
/** Query of paged lists (keys, audit). */
export const PageQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }), cursor: Type.Optional(Type.String({ maxLength: 400 })) },
  { additionalProperties: false },
);

/** The key id of whoever made a management request (null when auth is off). */
function actorOf(request: FastifyRequest): string | null {
  return request.principal?.keyId ?? null;
}

/** `gracePeriodSeconds` from an optional JSON body, default 0 (the old key stops at once). */
function graceOf(body: unknown): number {
  if (body === undefined || body === null) return 0;
  const grace = (body as { gracePeriodSeconds?: unknown }).gracePeriodSeconds;
  if (grace === undefined) return 0;
  if (typeof grace !== 'number') {
    throw new ApiError('VALIDATION_ERROR', '"gracePeriodSeconds" must be a number.', { extras: { field: 'gracePeriodSeconds' } });
  }
  return grace;
}

/** `/v1/keys…`: create, list, read, change, revoke and rotate API keys (scope `keys:manage`). */
export function keyRoutes(app: FastifyInstance, service: KeyService): void {
  const config = { scope: 'keys:manage' as const };

  app.post('/v1/keys', { config, schema: { body: CreateBody } }, async (request, reply) => {
    const { key, record } = await service.create(request.body as Static<typeof CreateBody>, actorOf(request));
    return reply.status(201).header('cache-control', 'no-store').send({ ...keyView(record), key });
  });

  app.get('/v1/keys', { config, schema: { querystring: PageQuery } }, async (request) => {
    const { limit, cursor } = request.query as Static<typeof PageQuery>;
    const page = await service.list(limit, cursor);
    return { data: page.items.map((record) => keyView(record)), next: page.next };
  });

  app.get('/v1/keys/:id', { config, schema: { params: IdParams } }, async (request) => {
    return keyView(await service.get((request.params as Static<typeof IdParams>).id));
  });

  app.patch('/v1/keys/:id', { config, schema: { params: IdParams, body: PatchBody } }, async (request) => {
    const { id } = request.params as Static<typeof IdParams>;
    return keyView(await service.update(id, request.body as Static<typeof PatchBody>, actorOf(request)));
  });

  app.delete('/v1/keys/:id', { config, schema: { params: IdParams } }, async (request) => {
    return keyView(await service.revoke((request.params as Static<typeof IdParams>).id, actorOf(request)));
  });

  app.post('/v1/keys/:id/rotate', { config, schema: { params: IdParams } }, async (request, reply) => {
    const { id } = request.params as Static<typeof IdParams>;
    const { key, record } = await service.rotate(id, graceOf(request.body), actorOf(request));
    return reply.status(201).header('cache-control', 'no-store').send({ ...keyView(record), key });
  });
}
