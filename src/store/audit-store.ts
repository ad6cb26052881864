import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { checkLimit, decodeCursor, toPage, type Page } from './cursor.js';
import { fromAuditRow, toAuditRow } from './rows.js';
import type { AuditEvent, Database } from './schema.js';

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
   * One page of events, newest first. Pass the page's `next` as `before` to get the
   * following (older) page; `next` is null on the last page. Events of the same
   * millisecond come in a fixed but arbitrary order (by id). A cursor the store did not
   * make throws InvalidCursorError.
   */
  async list(options: { limit: number; before?: string }): Promise<Page<AuditEvent>> {
    checkLimit(options.limit);
    let query = this.#db
      .selectFrom('audit_events')
      .selectAll()
      .orderBy('time', 'desc')
      .orderBy('id', 'desc')
      .limit(options.limit + 1);
    if (options.before !== undefined) {
      const { time, id } = decodeCursor(options.before);
      query = query.where((eb) => eb.or([eb('time', '<', time), eb.and([eb('time', '=', time), eb('id', '<', id)])]));
    }
    const rows = await query.execute();
    return toPage(rows.map(fromAuditRow), options.limit, (event) => ({ time: event.time, id: event.id }));
  }
}
