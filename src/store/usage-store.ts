import type { Kysely } from 'kysely';
import type { Database, UsageCounts, UsageDay } from './schema.js';

/** Counters to add to one subject's day. */
export interface UsageDelta extends UsageCounts {
  subject: string;
  day: string;
}

const COUNTERS = ['requests', 'succeeded', 'failed', 'rejected', 'render_ms', 'bytes_sent', 'cache_hits'] as const;

/**
 * Per-subject, per-UTC-day usage counters. Writes are additive upserts
 * (`count = count + n`), so several instances can flush into one database.
 */
export class UsageStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Adds every delta in one transaction. */
  async add(deltas: readonly UsageDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    await this.db.transaction().execute(async (trx) => {
      for (const delta of deltas) {
        const values = {
          subject: delta.subject,
          day: delta.day,
          requests: delta.requests,
          succeeded: delta.succeeded,
          failed: delta.failed,
          rejected: delta.rejected,
          render_ms: delta.renderMs,
          bytes_sent: delta.bytesSent,
          cache_hits: delta.cacheHits,
        };
        await trx
          .insertInto('usage_daily')
          .values(values)
          .onConflict((conflict) =>
            conflict.columns(['subject', 'day']).doUpdateSet((eb) =>
              Object.fromEntries(COUNTERS.map((column) => [column, eb(`usage_daily.${column}`, '+', eb.ref(`excluded.${column}`))])),
            ),
          )
          .execute();
        for (const [reason, count] of Object.entries(delta.rejectedBy)) {
          await trx
            .insertInto('usage_rejections')
            .values({ subject: delta.subject, day: delta.day, reason, count })
            .onConflict((conflict) =>
              conflict.columns(['subject', 'day', 'reason']).doUpdateSet((eb) => ({
                count: eb('usage_rejections.count', '+', eb.ref('excluded.count')),
              })),
            )
            .execute();
        }
      }
    });
  }

  /** The subject's days from `from` to `to` (YYYY-MM-DD, inclusive), oldest first; days without use are left out. */
  async days(subject: string, from: string, to: string): Promise<UsageDay[]> {
    const rows = await this.db
      .selectFrom('usage_daily')
      .selectAll()
      .where('subject', '=', subject)
      .where('day', '>=', from)
      .where('day', '<=', to)
      .orderBy('day')
      .execute();
    const reasons = await this.db
      .selectFrom('usage_rejections')
      .selectAll()
      .where('subject', '=', subject)
      .where('day', '>=', from)
      .where('day', '<=', to)
      .execute();
    return rows.map((row) => ({
      day: row.day,
      requests: Number(row.requests),
      succeeded: Number(row.succeeded),
      failed: Number(row.failed),
      rejected: Number(row.rejected),
      rejectedBy: Object.fromEntries(reasons.filter((reason) => reason.day === row.day).map((reason) => [reason.reason, Number(reason.count)])),
      renderMs: Number(row.render_ms),
      bytesSent: Number(row.bytes_sent),
      cacheHits: Number(row.cache_hits),
    }));
  }
}
