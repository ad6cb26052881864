import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { KeyService } from '../auth/key-service.js';
import { ApiError } from '../errors.js';
import { addUsage, emptyUsage, type UsageCounts, type UsageDay } from '../store/schema.js';
import type { UsageStore } from '../store/usage-store.js';
import { utcDay, type UsageRecorder } from '../usage/usage-recorder.js';

const DAY = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'A UTC day, YYYY-MM-DD.' });
const RangeQuery = Type.Object(
  {
    from: Type.Optional({ ...DAY, description: 'First UTC day (default: 29 days before `to`).' }),
    to: Type.Optional({ ...DAY, description: 'Last UTC day (default: today). At most 366 days in all.' }),
  },
  { additionalProperties: false },
);
const Count = Type.Integer({ minimum: 0 });
const countFields = {
  requests: Count,
  succeeded: Count,
  failed: Count,
  rejected: Count,
  rejectedBy: Type.Record(Type.String(), Count, { description: 'Rejections by error code, e.g. `{"RATE_LIMITED": 3}`.' }),
  renderMs: Type.Number({ minimum: 0 }),
  bytesSent: Count,
  cacheHits: Type.Integer({ minimum: 0, description: 'Successes answered from the cache or another request\'s render.' }),
};
const UsageReport = Type.Object(
  {
    keyId: Type.Union([Type.String(), Type.Null()]),
    from: DAY,
    to: DAY,
    days: Type.Array(Type.Object({ day: DAY, ...countFields }, { additionalProperties: false }), { description: 'Days with any use; days without are left out.' }),
    totals: Type.Object(countFields, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
const MAX_DAYS = 366;
const DEFAULT_DAYS = 30;

/** The days asked for: default the last 30 days up to today (UTC), at most 366. */
export function usageRange(query: { from?: string; to?: string }, now = Date.now()): { from: string; to: string } {
  const to = query.to ?? utcDay(now);
  const from = query.from ?? utcDay(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_DAYS - 1) * 86_400_000);
  const span = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
  if (Number.isNaN(span)) throw new ApiError('VALIDATION_ERROR', '"from" and "to" must be real dates (YYYY-MM-DD).', { extras: { field: 'from' } });
  if (span < 0) throw new ApiError('VALIDATION_ERROR', '"from" must not be after "to".', { extras: { field: 'from' } });
  if (span >= MAX_DAYS) throw new ApiError('VALIDATION_ERROR', `Ask for at most ${MAX_DAYS} days at once.`, { extras: { field: 'from' } });
  return { from, to };
}

/** Sums of a range of days. */
export function usageTotals(days: readonly UsageDay[]): UsageCounts {
  const totals = emptyUsage();
  for (const { day: _day, ...counts } of days) addUsage(totals, counts);
  return totals;
}

/**
 * `GET /v1/usage` (scope `usage:read`: the calling key's own usage) and
 * `GET /v1/keys/:id/usage` (scope `keys:manage`): usage per UTC day and totals.
 * Pending counts are written first, so the answer includes the requests just made.
 */
export function usageRoutes(app: FastifyInstance, deps: { store: UsageStore; recorder: UsageRecorder; keys: KeyService }): void {
  async function report(subject: string, query: Static<typeof RangeQuery>) {
    const range = usageRange(query);
    await deps.recorder.flush();
    const days = await deps.store.days(subject, range.from, range.to);
    return { ...range, days, totals: usageTotals(days) };
  }

  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const response = { 200: UsageReport };
  api.get(
    '/v1/usage',
    { config: { scope: 'usage:read' }, schema: { tags: ['account'], summary: "The calling key's usage per UTC day", querystring: RangeQuery, response } },
    async (request) => {
      const principal = request.principal!;
      return { keyId: principal.keyId, ...(await report(principal.keyId ?? principal.caller, request.query)) };
    },
  );

  api.get(
    '/v1/keys/:id/usage',
    {
      config: { scope: 'keys:manage', errors: ['KEY_NOT_FOUND'] },
      schema: { tags: ['keys'], summary: "A key's usage per UTC day", querystring: RangeQuery, params: Type.Object({ id: Type.String({ maxLength: 64 }) }), response },
    },
    async (request) => {
      const key = await deps.keys.get(request.params.id);
      return { keyId: key.id, ...(await report(key.id, request.query)) };
    },
  );
}
