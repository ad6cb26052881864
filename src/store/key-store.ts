import type { ExpressionBuilder, Kysely } from 'kysely';
import { AuditStore } from './audit-store.js';
import { checkLimit, decodeCursor, toPage, type Page } from './cursor.js';
import { canonicalTime, fromKeyRow, toKeyPatchRow, toKeyRow, type KeyPatch } from './rows.js';
import { callerOfKey, type ApiKeyRecord, type Database } from './schema.js';
import { DuplicateKeyError, isUniqueViolation } from './store-errors.js';

export type { KeyPatch } from './rows.js';

/** What a claim requires of a key besides existing; see KeyStore.claim. */
export interface ClaimConditions {
  /** Not replaced by a rotation (`replacedBy` is null). */
  notReplaced?: boolean;
  /** Not expired at this time. */
  notExpiredAt?: Date;
}

/** How the old key of a rotation stops: revoked at a time, or expiring by a time. */
export type Retirement = { revokedAt: string } | { expiresBy: string };

/** The stores a transaction works with: both write into it. */
export interface StoreTransaction {
  keys: KeyStore;
  audit: AuditStore;
}

/**
 * API keys in the database: the same queries on SQLite and PostgreSQL.
 *
 * Timestamps passed in must be ISO-8601 with a time zone; they are stored (and read
 * back) in canonical UTC form, `2025-01-31T12:00:00.000Z`. A value in another shape
 * throws a RangeError before anything is written.
 *
 * @example
 * const keys = new KeyStore(store.db);
 * const key = await keys.findByHash(sha256Hex(presentedKey));
 */
export class KeyStore {
  readonly #db: Kysely<Database>;
  readonly #now: () => Date;

  /**
   * @param db The database, or a transaction to make the store's writes part of it.
   * @param options.now The clock for `updatedAt`; tests pass a fixed one.
   */
  constructor(db: Kysely<Database>, options: { now?: () => Date } = {}) {
    this.#db = db;
    this.#now = options.now ?? (() => new Date());
  }

  /** Stores a new key. Throws DuplicateKeyError when its id or hash is already taken. */
  async insert(record: ApiKeyRecord): Promise<void> {
    try {
      await this.#db.insertInto('api_keys').values(toKeyRow(record)).execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new DuplicateKeyError({ cause: error });
      throw error;
    }
  }

  /** The key whose SHA-256 hex hash is `hash` — how a presented key is recognised. */
  async findByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.#db.selectFrom('api_keys').selectAll().where('hash', '=', hash).executeTakeFirst();
    return row === undefined ? undefined : fromKeyRow(row);
  }

  /** The key with this id, revoked or not. */
  async findById(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.#db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : fromKeyRow(row);
  }

  /**
   * One page of keys, oldest first (by `createdAt`, then `id`), revoked ones included.
   * Pass the page's `next` as `after` to get the following page; `next` is null on the
   * last page. A cursor the store did not make throws InvalidCursorError.
   */
  async list(options: { limit: number; after?: string }): Promise<Page<ApiKeyRecord>> {
    checkLimit(options.limit);
    let query = this.#db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').limit(options.limit + 1);
    if (options.after !== undefined) {
      const { time, id } = decodeCursor(options.after);
      query = query.where((eb) =>
        eb.or([eb('created_at', '>', time), eb.and([eb('created_at', '=', time), eb('id', '>', id)])]),
      );
    }
    const rows = await query.execute();
    return toPage(rows.map(fromKeyRow), options.limit, (key) => ({ time: key.createdAt, id: key.id }));
  }

  /**
   * Changes some fields of a key and sets its `updatedAt` to now. Fields that are absent
   * or undefined stay as they are; `null` clears `expiresAt` or `revokedAt`.
   *
   * @returns The key as it is after the change, or undefined when there is no such id.
   */
  async update(id: string, patch: KeyPatch): Promise<ApiKeyRecord | undefined> {
    const changes = { ...toKeyPatchRow(patch), updated_at: this.#now().toISOString() };
    // RETURNING (SQLite ≥ 3.35 and PostgreSQL): the write and the read are one statement,
    // so a concurrent change cannot slip in between them.
    const row = await this.#db.updateTable('api_keys').set(changes).where('id', '=', id).returningAll().executeTakeFirst();
    return row === undefined ? undefined : fromKeyRow(row);
  }

  /**
   * Runs `work` in one transaction, with a KeyStore and an AuditStore that write into it:
   * either all of its writes are stored or, when it throws, none. Inside a transaction
   * already, `work` simply joins it (Kysely cannot nest them).
   */
  async transaction<T>(work: (stores: StoreTransaction) => Promise<T>): Promise<T> {
    const run = (db: Kysely<Database>) =>
      work({ keys: new KeyStore(db, { now: this.#now }), audit: new AuditStore(db, { now: this.#now }) });
    if (this.#db.isTransaction) return run(this.#db);
    return this.#db.transaction().execute(run);
  }

  /**
   * Claims a key for a change, inside a transaction: when the key exists, is not revoked
   * and meets `conditions`, touches its `updatedAt` and returns it; otherwise returns
   * undefined and changes nothing.
   *
   * The check and the write are one conditional UPDATE, so the row is locked from then to
   * the end of the transaction on PostgreSQL (SQLite runs one transaction at a time):
   * a concurrent revoke, rotation or change waits, and then sees this one's result.
   * Reading first and writing later would let two callers both pass the check.
   */
  async claim(id: string, conditions: ClaimConditions = {}): Promise<ApiKeyRecord | undefined> {
    if (!this.#db.isTransaction) throw new Error('KeyStore.claim() holds its lock only inside a transaction');
    let query = this.#db
      .updateTable('api_keys')
      .set({ updated_at: this.#now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null);
    if (conditions.notReplaced) query = query.where('replaced_by', 'is', null);
    const at = conditions.notExpiredAt?.toISOString();
    if (at !== undefined) query = query.where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]));
    const row = await query.returningAll().executeTakeFirst();
    return row === undefined ? undefined : fromKeyRow(row);
  }

  /**
   * Revokes a key unless it is revoked already, in one conditional statement: of many
   * concurrent calls exactly one gets the revoked key back; the others get undefined.
   */
  async revokeIfNot(id: string, at: string): Promise<ApiKeyRecord | undefined> {
    const revokedAt = canonicalTime(at, 'revokedAt');
    const row = await this.#db
      .updateTable('api_keys')
      .set({ revoked_at: revokedAt, updated_at: this.#now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) return undefined;
    await this.#wipeSecrets(id, revokedAt);
    return fromKeyRow(row);
  }

  /**
   * Revokes a revoked key's signing secrets and wipes them from their rows, and deletes its
   * webhook signing secret: no link can pass and no webhook can be signed with them any
   * more, and a copy of the database no longer holds them.
   */
  async #wipeSecrets(keyId: string, at: string): Promise<void> {
    await this.#db.updateTable('signing_secrets').set({ revoked_at: at, secret: '' }).where('key_id', '=', keyId).where('revoked_at', 'is', null).execute();
    await this.#db.deleteFrom('webhook_secrets').where('owner', '=', callerOfKey(keyId)).execute();
  }

  /**
   * Gives a rotation's successor the webhook signing secret of the key it replaces, so that
   * receivers keep verifying with the secret they have. The old key keeps its copy while it
   * still works (its grace period) and loses it when it is revoked.
   */
  async inheritWebhookSecret(fromId: string, toId: string): Promise<void> {
    const row = await this.#db
      .selectFrom('webhook_secrets')
      .select(['secret', 'hint', 'created_at'])
      .where('owner', '=', callerOfKey(fromId))
      .executeTakeFirst();
    if (row) await this.#db.insertInto('webhook_secrets').values({ owner: callerOfKey(toId), ...row }).execute();
  }

  /**
   * Marks a key as replaced by `successorId` and retires it: revoked at a time, or made to
   * expire by a time (never later than its own expiry: the earlier of the two is kept,
   * decided by the database on the current row). Only a key that is neither revoked nor
   * replaced yet is changed.
   *
   * @returns The retired key, or undefined when no key met the conditions.
   */
  async retire(id: string, successorId: string, retirement: Retirement): Promise<ApiKeyRecord | undefined> {
    const stop =
      'revokedAt' in retirement
        ? { revoked_at: canonicalTime(retirement.revokedAt, 'revokedAt') }
        : { expires_at: this.#earlierExpiry(canonicalTime(retirement.expiresBy, 'expiresBy')) };
    const row = await this.#db
      .updateTable('api_keys')
      .set({ ...stop, replaced_by: successorId, updated_at: this.#now().toISOString() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where('replaced_by', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (row === undefined) return undefined;
    // Retired at once: its secrets go with it (with a grace period, its links work until it ends).
    if ('revokedAt' in retirement) await this.#wipeSecrets(id, canonicalTime(retirement.revokedAt, 'revokedAt'));
    return fromKeyRow(row);
  }

  /** SQL for "the row's expires_at, or `by` when that is earlier or there is none". */
  #earlierExpiry(by: string) {
    // Canonical ISO-8601 UTC text compares in time order on both databases.
    return (eb: ExpressionBuilder<Database, 'api_keys'>) =>
      eb
        .case()
        .when(eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', by)]))
        .then(eb.val(by))
        .else(eb.ref('expires_at'))
        .end();
  }

  /**
   * How many keys could authenticate at `now`: not revoked and not expired (a key
   * expires at its `expiresAt`). Disabled keys are counted — disabling is temporary.
   */
  async countActive(now: Date): Promise<number> {
    const at = now.toISOString();
    const row = await this.#db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll().as('count'))
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', at)]))
      .executeTakeFirstOrThrow();
    // PostgreSQL's count() is a bigint, which pg returns as a string; SQLite's is a number.
    return Number(row.count);
  }

  /**
   * Records when keys were last used, many at once in one transaction: `times` maps a
   * key id to an ISO-8601 timestamp. Meant for a caller that batches uses in memory and
   * flushes now and then, instead of one write per request.
   *
   * A value only moves forward: when several instances flush, an older time never
   * overwrites a newer one. Unknown ids are ignored; `updatedAt` is not changed, as a use
   * is not an edit.
   */
  async touchLastUsed(times: Map<string, string>): Promise<void> {
    if (times.size === 0) return;
    // Checked up front so that one bad value writes nothing, not half the batch.
    const entries = [...times].map(([id, time]) => [id, canonicalTime(time, 'lastUsedAt')] as const);
    const write = async (db: Kysely<Database>): Promise<void> => {
      for (const [id, at] of entries) {
        await db
          .updateTable('api_keys')
          .set({ last_used_at: at })
          .where('id', '=', id)
          .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', at)]))
          .execute();
      }
    };
    // Kysely cannot nest transactions: inside the caller's one, write straight into it.
    if (this.#db.isTransaction) await write(this.#db);
    else await this.#db.transaction().execute(write);
  }
}
