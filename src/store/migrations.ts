import { sql, type Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationProvider } from 'kysely/migration';

/*
 * Migrations are code, not files read at run time, so the built package carries them
 * and no path has to be resolved. Each one is frozen once released: a change to the
 * schema is a new migration, never an edit. They take Kysely<any> on purpose — they
 * describe the database as it was at their point in history, not today's Database type.
 *
 * Only the portable schema builder is used, with types both SQLite and PostgreSQL store
 * alike (text, integer), so the same migration runs on either.
 */

const createApiKeys: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('name', 'text', (col) => col.notNull())
      .addColumn('hash', 'text', (col) => col.notNull())
      .addColumn('hint', 'text', (col) => col.notNull())
      .addColumn('scopes', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('updated_at', 'text', (col) => col.notNull())
      .addColumn('last_used_at', 'text')
      .addColumn('expires_at', 'text')
      .addColumn('revoked_at', 'text')
      .addColumn('disabled', 'integer', (col) => col.notNull())
      .addColumn('limits', 'text', (col) => col.notNull())
      .addColumn('allowed_hosts', 'text', (col) => col.notNull())
      .addColumn('allowed_ips', 'text', (col) => col.notNull())
      .addColumn('metadata', 'text', (col) => col.notNull())
      // Deleting an old key must not take its successor with it.
      .addColumn('rotated_from', 'text', (col) => col.references('api_keys.id').onDelete('set null'))
      .execute();
    // Every authenticated request looks its key up by hash; two keys must never share one.
    await db.schema.createIndex('api_keys_hash_unique').on('api_keys').column('hash').unique().execute();
    // The listing pages through keys in (created_at, id) order.
    await db.schema.createIndex('api_keys_created_at_id').on('api_keys').columns(['created_at', 'id']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('api_keys').execute();
  },
};

const createAuditEvents: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('time', 'text', (col) => col.notNull())
      .addColumn('type', 'text', (col) => col.notNull())
      // No foreign key: the log outlives the keys it mentions, and a failed
      // authentication may name a key that never existed.
      .addColumn('key_id', 'text')
      .addColumn('key_hint', 'text')
      .addColumn('actor_key_id', 'text')
      .addColumn('client_ip', 'text')
      .addColumn('reason', 'text')
      .addColumn('details', 'text', (col) => col.notNull())
      .execute();
    // The log is read newest first in (time, id) order; id breaks ties within a millisecond.
    await db.schema.createIndex('audit_events_time_id').on('audit_events').columns(['time', 'id']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('audit_events').execute();
  },
};

const createUsage: Migration = {
  async up(db: Kysely<any>) {
    // One row per subject (key id, or ip:… without authentication) per UTC day. The
    // counters are bigint: bytes sent in a day can pass 2^31 on PostgreSQL.
    await db.schema
      .createTable('usage_daily')
      .addColumn('subject', 'text', (col) => col.notNull())
      .addColumn('day', 'text', (col) => col.notNull())
      .addColumn('requests', 'bigint', (col) => col.notNull())
      .addColumn('succeeded', 'bigint', (col) => col.notNull())
      .addColumn('failed', 'bigint', (col) => col.notNull())
      .addColumn('rejected', 'bigint', (col) => col.notNull())
      .addColumn('render_ms', 'bigint', (col) => col.notNull())
      .addColumn('bytes_sent', 'bigint', (col) => col.notNull())
      .addPrimaryKeyConstraint('usage_daily_pk', ['subject', 'day'])
      .execute();
    // Rejections by reason (RATE_LIMITED, QUEUE_FULL, …): a row per reason keeps the
    // upsert a plain "count = count + n" on both databases.
    await db.schema
      .createTable('usage_rejections')
      .addColumn('subject', 'text', (col) => col.notNull())
      .addColumn('day', 'text', (col) => col.notNull())
      .addColumn('reason', 'text', (col) => col.notNull())
      .addColumn('count', 'bigint', (col) => col.notNull())
      .addPrimaryKeyConstraint('usage_rejections_pk', ['subject', 'day', 'reason'])
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('usage_rejections').execute();
    await db.schema.dropTable('usage_daily').execute();
  },
};

const addReplacedBy: Migration = {
  async up(db: Kysely<any>) {
    // No foreign key, unlike rotated_from: a key replaced by a rotation stays retired even if
    // its successor row is deleted, and SQLite cannot drop a column that is part of one.
    await db.schema.alterTable('api_keys').addColumn('replaced_by', 'text').execute();
    // Keys rotated before this column existed: their successors name them in rotated_from.
    // Concurrent rotations on PostgreSQL could leave several successors; the oldest is
    // recorded (the others stay as they are: they are keys someone may be using).
    await sql`
      update api_keys set replaced_by = (
        select successor.id from api_keys successor
        where successor.rotated_from = api_keys.id
        order by successor.created_at, successor.id
        limit 1
      )
      where replaced_by is null
        and exists (select 1 from api_keys successor where successor.rotated_from = api_keys.id)
    `.execute(db);
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('api_keys').dropColumn('replaced_by').execute();
  },
};

const indexAuditEventsByType: Migration = {
  async up(db: Kysely<any>) {
    // GET /v1/audit?type=… pages through one type newest first; without this index a type
    // that is rare among many failed authentications means scanning the whole log.
    await db.schema.createIndex('audit_events_type_time_id').on('audit_events').columns(['type', 'time', 'id']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropIndex('audit_events_type_time_id').execute();
  },
};

const addUsageCacheHits: Migration = {
  async up(db: Kysely<any>) {
    // Captures answered from the result cache (or from another request's render), a part
    // of `succeeded`. Rows written before this column count none.
    await db.schema.alterTable('usage_daily').addColumn('cache_hits', 'bigint', (col) => col.notNull().defaultTo(0)).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.alterTable('usage_daily').dropColumn('cache_hits').execute();
  },
};

const createWebhookSecrets: Migration = {
  async up(db: Kysely<any>) {
    // One signing secret per owner (a key's caller identity). Kept as written: signing
    // needs the secret itself, so it cannot be hashed like a key; it is shown once.
    await db.schema
      .createTable('webhook_secrets')
      .addColumn('owner', 'text', (col) => col.primaryKey())
      .addColumn('secret', 'text', (col) => col.notNull())
      .addColumn('hint', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('webhook_secrets').execute();
  },
};

const createSigningSecrets: Migration = {
  async up(db: Kysely<any>) {
    // Secrets that sign a key's embed links, several per key so one can be rotated in
    // while links signed with the old one still work. Kept as written, like webhook
    // secrets: verifying an HMAC needs the secret itself. A revoked row keeps its id,
    // hint and times, not its secret.
    await db.schema
      .createTable('signing_secrets')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('key_id', 'text', (col) => col.notNull().references('api_keys.id').onDelete('cascade'))
      .addColumn('secret', 'text', (col) => col.notNull())
      .addColumn('hint', 'text', (col) => col.notNull())
      .addColumn('created_at', 'text', (col) => col.notNull())
      .addColumn('last_used_at', 'text')
      .addColumn('revoked_at', 'text')
      .execute();
    // Every signed request reads the active secrets of one key.
    await db.schema.createIndex('signing_secrets_key_id_created_at').on('signing_secrets').columns(['key_id', 'created_at']).execute();
  },
  async down(db: Kysely<any>) {
    await db.schema.dropTable('signing_secrets').execute();
  },
};

/**
 * PageShot's migrations, in the form Kysely's Migrator asks for. Names sort in the
 * order the migrations run.
 */
export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return {
      '0001_api_keys': createApiKeys,
      '0002_audit_events': createAuditEvents,
      '0003_usage': createUsage,
      '0004_api_keys_replaced_by': addReplacedBy,
      '0005_audit_events_type_index': indexAuditEventsByType,
      '0006_usage_cache_hits': addUsageCacheHits,
      '0007_webhook_secrets': createWebhookSecrets,
      '0008_signing_secrets': createSigningSecrets,
    };
  },
};

/**
 * Brings the database up to the newest schema, running only the migrations it has not
 * run yet (so calling it on every start is safe). Kysely takes a lock first, so
 * instances starting together against one PostgreSQL do not race.
 *
 * Throws an Error naming the migration that failed, with the database's error as
 * `cause`; on PostgreSQL the failed migration's changes are rolled back.
 */
export async function migrateToLatest(db: Kysely<any>, provider: MigrationProvider = migrationProvider): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error === undefined) return;
  const failed = results?.find((result) => result.status === 'Error')?.migrationName;
  const reason = error instanceof Error ? error.message : String(error);
  const what = failed === undefined ? 'Database migrations could not start' : `Database migration ${failed} failed`;
  throw new Error(`${what}: ${reason}`, { cause: error });
}
