import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { checkLimit, decodeCursor, toPage, type Page } from './cursor.js';
import { fromAuditRow, toAuditRow } from './rows.js';
import type { AuditEvent, AuditTypeFilter, Database } from './schema.js';

/** What a caller gives to record an event: everything but the id, and the time optionally. */
export type NewAuditEvent = Omit<AuditEvent, 'id' | 'time'> & { time?: string };

/**
 * The audit log: an append-only record of changes to keys and of failed
 * authentications. Events are never updated or deleted through this class.
 *
 * Pass a transaction as `db` to record an event in the same transaction as the change
 * it describes, so that neither is stored without the other.
 *
 * @example
 * await audit.record({ type: 'key.revoked', keyId: key.id, keyHint: key.hint,
 *   actorKeyId: caller.id, clientIp: request.ip, reason: null, details: {} });
 */
export class AuditStore {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;

  /**
   * @param db The database, or a transaction.
   * @param options.now The clock for events recorded without a `time`; tests pass a fixed one.
   */
  constructor(db: Kysely<Database>, options: { now?: () => Date } = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Appends an event, with a new random id (`evt_` and 32 hex digits) and `time` now
   * unless given. Never put a secret in `reason` or `details`: the log is shown to
   * whoever may manage keys.
   *
   * @returns The event as stored (its time in canonical ISO-8601 UTC form).
   */
  async record(event: NewAuditEvent): Promise<AuditEvent> {
    const row = toAuditRow({
      ...event,
      id: `evt_${randomUUID().replaceAll('-', '')}`,
      time: event.time ?? this.#now().toISOString(),
    });
    await this.#db.insertInto('audit_events').values(row).execute();
    return fromAuditRow(row);
  }

  /**
   * Appends several events at once (one statement), with new ids; for batches such as
   * the per-minute summaries of failed authentications.
   */
  async recordMany(events: NewAuditEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((event) =>
      toAuditRow({ ...event, id: `evt_${randomUUID().replaceAll('-', '')}`, time: event.time ?? this.#now().toISOString() }),
    );
    await this.#db.insertInto('audit_events').values(rows).execute();
  }

  /**
   * One page of events, newest first. Pass the page's `next` as `before` to get the
   * following (older) page; `next` is null on the last page. Events of the same
   * millisecond come in a fixed but arbitrary order (by id). A cursor the store did not
   * make throws InvalidCursorError.
   *
   * `type` keeps only events of one type (`key.revoked`) or, when it ends with a dot, of
   * every type starting with it (`key.`). Pass the same `type` with the cursor.
   */
  async list(options: { limit: number; before?: string; type?: AuditTypeFilter }): Promise<Page<AuditEvent>> {
    checkLimit(options.limit);
    let query = this.#db
      .selectFrom('audit_events')
      .selectAll()
      .orderBy('time', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit + 1);
    const type = options.type;
    if (type !== undefined && type.endsWith('.')) {
      // Not LIKE (case-blind on SQLite only, `_` a wildcard) nor a >=/< range (PostgreSQL's
      // linguistic collations may ignore the dot): an exact comparison of the first letters.
      query = query.where(sql<string>`substr(${sql.ref('type')}, 1, ${sql.lit(type.length)})`, '=', type);
    } else if (type !== undefined) {
      query = query.where('type', '=', type);
    }
    if (options.before !== undefined) {
      const { time, id } = decodeCursor(options.before);
      query = query.where((eb) => eb.or([eb('time', '<', time), eb.and([eb('time', '=', time), eb('id', '<', id)])]));
    }
    const rows = await query.execute();
    return toPage(rows.map(fromAuditRow), options.limit, (event) => ({ time: event.time, id: event.id }));
  }
}

