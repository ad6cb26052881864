import { randomUUID } from 'node:crypto';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { Migrator, NO_MIGRATIONS } from 'kysely/migration';
import pg from 'pg';
import { AuditStore } from '../src/store/audit-store.js';
import { DATABASE_FILE, openDatabase, type StoreDatabase } from '../src/store/database.js';
import { KeyStore } from '../src/store/key-store.js';
import { migrateToLatest, migrationProvider } from '../src/store/migrations.js';
import { toKeyRow } from '../src/store/rows.js';
import { UsageStore } from '../src/store/usage-store.js';
import type { ApiKeyRecord, AuditEventType, AuditTypeFilter } from '../src/store/schema.js';
import { DatabaseOpenError, DuplicateKeyError, InvalidCursorError } from '../src/store/store-errors.js';
import { collectPages, makeKey } from './helpers/store-records.js';
import { WebhookSecretStore } from '../src/store/webhook-secret-store.js';
import { POSTGRES_URL, postgresSkipReason } from './helpers/postgres.js';

/** The PostgreSQL the store suite also runs against (CI starts it); override with PAGESHOT_TEST_DATABASE_URL. */

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pageshot-store-'));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** The store tests every dialect must pass: the same code, the same answers. */
function storeSuite(open: () => Promise<StoreDatabase>, expectedDialect: StoreDatabase['dialect']): void {
  let store: StoreDatabase;
  let keys: KeyStore;

  before(async () => {
    store = await open();
    keys = new KeyStore(store.db);
  });
  after(async () => {
    await store?.close();
  });
  beforeEach(async () => {
    await store.db.deleteFrom('audit_events').execute();
    await store.db.deleteFrom('api_keys').execute();
  });

  it(`opens as ${expectedDialect}`, () => {
    assert.equal(store.dialect, expectedDialect);
  });

  describe('migrations', () => {
    it('create api_keys and audit_events with every column', async () => {
      const tables = await store.db.introspection.getTables();
      const columns = (name: string) => tables.find((table) => table.name === name)?.columns.map((c) => c.name).sort();
      assert.deepEqual(columns('api_keys'), [
        'allowed_hosts', 'allowed_ips', 'created_at', 'disabled', 'expires_at', 'hash', 'hint', 'id',
        'last_used_at', 'limits', 'metadata', 'name', 'replaced_by', 'revoked_at', 'rotated_from', 'scopes', 'updated_at',
      ]);
      assert.deepEqual(columns('audit_events'), [
        'actor_key_id', 'client_ip', 'details', 'id', 'key_hint', 'key_id', 'reason', 'time', 'type',
      ]);
    });

    it('create a unique index on api_keys.hash and an index on audit_events.time', async () => {
      const query =
        store.dialect === 'sqlite'
          ? sql<{ name: string }>`select name from sqlite_master where type = 'index' and name not like 'sqlite_%'`
          : sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = current_schema()`;
      const names = (await query.execute(store.db)).rows.map((row) => row.name);
      assert.ok(names.includes('api_keys_hash_unique'), `indexes: ${names.join(', ')}`);
      assert.ok(names.includes('audit_events_time_id'), `indexes: ${names.join(', ')}`);
    });

    it('are recorded as run, and re-opening runs none again and keeps the data', async () => {
      const key = makeKey();
      await keys.insert(key);
      const again = await open();
      try {
        const migrations = await new Migrator({ db: again.db, provider: migrationProvider }).getMigrations();
        assert.deepEqual(migrations.map((m) => m.name), [
          '0001_api_keys', '0002_audit_events', '0003_usage', '0004_api_keys_replaced_by', '0005_audit_events_type_index', '0006_usage_cache_hits', '0007_webhook_secrets', '0008_signing_secrets',
        ]);
        assert.ok(migrations.every((m) => m.executedAt instanceof Date), 'a migration is not recorded as run');
        const runs = await sql<{ n: number | string }>`select count(*) as n from kysely_migration`.execute(again.db);
        assert.equal(Number(runs.rows[0]?.n), 8);
        assert.deepEqual(await new KeyStore(again.db).findById(key.id), key);
      } finally {
        await again.close();
      }
    });

    it('0004 records on each rotated key its oldest successor, from the successors’ rotated_from', async () => {
      const migrator = new Migrator({ db: store.db, provider: migrationProvider });
      assert.equal((await migrator.migrateTo('0003_usage')).error, undefined);
      try {
        // Rows as they were before 0004: no replaced_by column.
        const row = (overrides: Partial<ApiKeyRecord> = {}) => {
          const { replaced_by: _none, ...columns } = toKeyRow(makeKey(overrides));
          return columns;
        };
        const old = row(), lone = row(), untouched = row();
        const first = row({ rotatedFrom: old.id, createdAt: '2025-02-01T00:00:00.000Z' });
        const second = row({ rotatedFrom: old.id, createdAt: '2025-02-02T00:00:00.000Z' });
        const loneSuccessor = row({ rotatedFrom: lone.id });
        for (const columns of [old, lone, untouched, second, first, loneSuccessor]) {
          await (store.db as Kysely<any>).insertInto('api_keys').values(columns).execute();
        }
        await migrateToLatest(store.db);
        assert.equal((await keys.findById(old.id))?.replacedBy, first.id, 'the oldest of two successors');
        assert.equal((await keys.findById(lone.id))?.replacedBy, loneSuccessor.id);
        assert.equal((await keys.findById(untouched.id))?.replacedBy, null);
        assert.equal((await keys.findById(first.id))?.replacedBy, null);
      } finally {
        await migrateToLatest(store.db);
      }
    });

    it('0006 gives usage days written before it zero cache hits, and counts them from then on', async () => {
      const migrator = new Migrator({ db: store.db, provider: migrationProvider });
      assert.equal((await migrator.migrateTo('0005_audit_events_type_index')).error, undefined);
      try {
        const old = { subject: 'key_0006', day: '2026-11-01', requests: 3, succeeded: 2, failed: 1, rejected: 0, render_ms: 10, bytes_sent: 99 };
        await (store.db as Kysely<any>).insertInto('usage_daily').values(old).execute();
        await migrateToLatest(store.db);
        const usage = new UsageStore(store.db);
        assert.equal((await usage.days('key_0006', '2026-11-01', '2026-11-01'))[0]?.cacheHits, 0);
        const delta = { subject: 'key_0006', day: '2026-11-01', requests: 2, succeeded: 2, failed: 0, rejected: 0, rejectedBy: {}, renderMs: 0, bytesSent: 5, cacheHits: 2 };
        await usage.add([delta, delta]);
        const [day] = await usage.days('key_0006', '2026-11-01', '2026-11-01');
        assert.equal(day?.cacheHits, 4);
        assert.equal(day?.succeeded, 6);
      } finally {
        await migrateToLatest(store.db);
      }
    });

    it('roll back with down and apply again', async () => {
      const migrator = new Migrator({ db: store.db, provider: migrationProvider });
      const down = await migrator.migrateTo(NO_MIGRATIONS);
      assert.equal(down.error, undefined);
      const tablesAfterDown = (await store.db.introspection.getTables()).map((t) => t.name);
      assert.ok(!tablesAfterDown.includes('api_keys') && !tablesAfterDown.includes('audit_events'), tablesAfterDown.join());
      await migrateToLatest(store.db);
      const tablesAfterUp = (await store.db.introspection.getTables()).map((t) => t.name);
      assert.ok(tablesAfterUp.includes('api_keys') && tablesAfterUp.includes('audit_events'), tablesAfterUp.join());
    });
  });

  describe('KeyStore', () => {
    it('returns every field of a key as inserted, by hash and by id', async () => {
      const parent = makeKey({ disabled: false });
      const full = makeKey({
        scopes: ['screenshot', 'usage:read', 'keys:manage'],
        createdAt: '2025-03-01T10:00:00.000Z',
        updatedAt: '2025-03-02T11:30:00.250Z',
        lastUsedAt: '2025-03-03T00:00:00.001Z',
        expiresAt: '2026-01-01T00:00:00.000Z',
        revokedAt: '2025-04-01T00:00:00.000Z',
        disabled: true,
        limits: { rate: 5, burst: 10, daily: 1000, concurrent: 2 },
        allowedHosts: ['*.example.com', 'example.org'],
        allowedIps: ['203.0.113.7', '2001:db8::/32'],
        metadata: { team: 'growth', nested: { ok: true, n: 1.5, list: [1, 'two', null] }, unicode: 'zürich ✓' },
        rotatedFrom: parent.id,
      });
      await keys.insert(parent);
      await keys.insert(full);
      assert.deepEqual(await keys.findByHash(full.hash), full);
      assert.deepEqual(await keys.findById(full.id), full);
      // The plain key: nulls, empty JSON, disabled false.
      assert.deepEqual(await keys.findById(parent.id), parent);
      assert.equal((await keys.findByHash(parent.hash))?.disabled, false);
    });

    it('answers undefined for a hash or id it does not know', async () => {
      await keys.insert(makeKey());
      assert.equal(await keys.findByHash('0'.repeat(64)), undefined);
      assert.equal(await keys.findById('key_missing'), undefined);
    });

    it('refuses a second key with the same hash or id with DuplicateKeyError', async () => {
      const first = makeKey({ name: 'first' });
      await keys.insert(first);
      await assert.rejects(keys.insert(makeKey({ hash: first.hash })), DuplicateKeyError);
      await assert.rejects(keys.insert(makeKey({ id: first.id })), DuplicateKeyError);
      assert.equal((await keys.list({ limit: 10 })).items.length, 1);
      assert.equal((await keys.findByHash(first.hash))?.name, 'first');
    });

    it('refuses a rotatedFrom that names no key, and clears it when the old key is deleted', async () => {
      const orphan = makeKey({ rotatedFrom: 'key_missing' });
      await assert.rejects(keys.insert(orphan));
      assert.equal(await keys.findById(orphan.id), undefined);
      const old = makeKey();
      const successor = makeKey({ rotatedFrom: old.id });
      await keys.insert(old);
      await keys.insert(successor);
      await store.db.deleteFrom('api_keys').where('id', '=', old.id).execute();
      assert.equal((await keys.findById(successor.id))?.rotatedFrom, null);
    });

    it('stores timestamps in one canonical UTC form, so text order is time order', async () => {
      const key = makeKey({ createdAt: '2025-01-01T00:00:00Z', updatedAt: '2025-01-01T02:00:00+02:00' });
      await keys.insert(key);
      const stored = await keys.findById(key.id);
      assert.equal(stored?.createdAt, '2025-01-01T00:00:00.000Z');
      assert.equal(stored?.updatedAt, '2025-01-01T00:00:00.000Z');
      await assert.rejects(keys.insert(makeKey({ createdAt: '2025-01-01T00:00:00' })), RangeError);
      await assert.rejects(keys.insert(makeKey({ expiresAt: 'tomorrow' })), RangeError);
    });

    it('lists 5 keys 2 at a time as 3 pages in (createdAt, id) order', async () => {
      const created = [
        makeKey({ createdAt: '2025-01-05T00:00:00.000Z' }),
        makeKey({ createdAt: '2025-01-01T00:00:00.000Z' }),
        makeKey({ createdAt: '2025-01-03T00:00:00.000Z', id: 'key_b_same_time' }),
        makeKey({ createdAt: '2025-01-03T00:00:00.000Z', id: 'key_a_same_time' }),
        makeKey({ createdAt: '2025-01-02T00:00:00.000Z' }),
      ];
      for (const key of created) await keys.insert(key);
      const pages = await collectPages((after) => keys.list({ limit: 2, after }));
      assert.deepEqual(pages.map((page) => page.items.length), [2, 2, 1]);
      assert.deepEqual(pages.map((page) => page.next === null), [false, false, true]);
      const expected = [...created]
        .sort((a, b) => (a.createdAt === b.createdAt ? (a.id < b.id ? -1 : 1) : a.createdAt < b.createdAt ? -1 : 1))
        .map((key) => key.id);
      assert.deepEqual(pages.flatMap((page) => page.items.map((key) => key.id)), expected);
    });

    it('ends with next null when the keys fill the last page exactly', async () => {
      for (let i = 0; i < 2; i += 1) await keys.insert(makeKey());
      const page = await keys.list({ limit: 2 });
      assert.equal(page.items.length, 2);
      assert.equal(page.next, null);
    });

    it('rejects a cursor it did not make, and a limit below 1', async () => {
      await assert.rejects(keys.list({ limit: 2, after: 'not-a-cursor' }), InvalidCursorError);
      const wrongShape = Buffer.from(JSON.stringify({ id: 'x' })).toString('base64url');
      await assert.rejects(keys.list({ limit: 2, after: wrongShape }), InvalidCursorError);
      await assert.rejects(keys.list({ limit: 0 }), RangeError);
    });

    it('updates the given fields, sets updatedAt to now and leaves the rest', async () => {
      const now = new Date('2030-06-01T12:00:00.000Z');
      const clocked = new KeyStore(store.db, { now: () => now });
      const key = makeKey({ expiresAt: '2031-01-01T00:00:00.000Z', metadata: { a: 1 } });
      await keys.insert(key);
      const patch = {
        name: 'renamed',
        scopes: ['usage:read'],
        limits: { daily: 50 },
        allowedHosts: ['*.example.net'],
        allowedIps: ['10.0.0.0/8'],
        disabled: true,
        expiresAt: null,
        metadata: { b: [2] },
        revokedAt: '2030-06-01T11:00:00.000Z',
      } satisfies Parameters<KeyStore['update']>[1];
      const updated = await clocked.update(key.id, patch);
      const expected: ApiKeyRecord = { ...key, ...patch, updatedAt: now.toISOString() };
      assert.deepEqual(updated, expected);
      assert.deepEqual(await keys.findById(key.id), expected);
    });

    it('leaves fields that are not in the patch alone, and answers undefined for an unknown id', async () => {
      const key = makeKey({ name: 'kept', disabled: true });
      await keys.insert(key);
      const updated = await keys.update(key.id, { name: undefined, metadata: { x: 'y' } });
      assert.equal(updated?.name, 'kept');
      assert.equal(updated?.disabled, true);
      assert.deepEqual(updated?.metadata, { x: 'y' });
      assert.ok((updated?.updatedAt ?? '') > key.updatedAt, `updatedAt did not move: ${updated?.updatedAt}`);
      assert.equal(await keys.update('key_missing', { name: 'x' }), undefined);
    });

    it('counts keys that are neither revoked nor expired as active', async () => {
      const now = new Date('2025-06-01T00:00:00.000Z');
      await keys.insert(makeKey());
      await keys.insert(makeKey({ expiresAt: '2025-06-01T00:00:00.001Z' }));
      await keys.insert(makeKey({ disabled: true }));
      await keys.insert(makeKey({ expiresAt: '2025-06-01T00:00:00.000Z' })); // expires at `now`
      await keys.insert(makeKey({ expiresAt: '2025-05-01T00:00:00.000Z' }));
      await keys.insert(makeKey({ revokedAt: '2025-05-01T00:00:00.000Z' }));
      await keys.insert(makeKey({ revokedAt: '2025-05-01T00:00:00.000Z', expiresAt: '2026-01-01T00:00:00.000Z' }));
      const count = await keys.countActive(now);
      assert.equal(typeof count, 'number');
      assert.equal(count, 3);
    });

    it('records many last-used times at once, never moving one back', async () => {
      const a = makeKey();
      const b = makeKey({ lastUsedAt: '2025-02-01T00:00:00.000Z' });
      const c = makeKey({ lastUsedAt: '2025-03-01T00:00:00.000Z' });
      for (const key of [a, b, c]) await keys.insert(key);
      await keys.touchLastUsed(
        new Map([
          [a.id, '2025-02-15T00:00:00.000Z'],
          [b.id, '2025-02-15T00:00:00.000Z'],
          [c.id, '2025-02-15T00:00:00.000Z'], // older than c's: ignored
          ['key_missing', '2025-02-15T00:00:00.000Z'],
        ]),
      );
      assert.equal((await keys.findById(a.id))?.lastUsedAt, '2025-02-15T00:00:00.000Z');
      assert.equal((await keys.findById(b.id))?.lastUsedAt, '2025-02-15T00:00:00.000Z');
      assert.equal((await keys.findById(c.id))?.lastUsedAt, '2025-03-01T00:00:00.000Z');
      assert.equal((await keys.findById(a.id))?.updatedAt, a.updatedAt);
    });

    it('writes no last-used time when one value of the batch is not a timestamp', async () => {
      const a = makeKey();
      await keys.insert(a);
      await assert.rejects(
        keys.touchLastUsed(new Map([[a.id, '2025-02-15T00:00:00.000Z'], ['other', 'yesterday']])),
        RangeError,
      );
      assert.equal((await keys.findById(a.id))?.lastUsedAt, null);
    });
  });

  describe('WebhookSecretStore', () => {
    it('keeps one secret per owner: created, shown by hint, replaced at once, deleted', async () => {
      const secrets = new WebhookSecretStore(store.db);
      const owner = `key:test-${randomUUID()}`;
      assert.equal(await secrets.infoOf(owner), null);
      const first = await secrets.create(owner, new Date('2026-01-01T00:00:00.000Z'));
      assert.match(first.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(first.hint, `whsec_…${first.secret.slice(-4)}`);
      assert.deepEqual(await secrets.infoOf(owner), { hint: first.hint, createdAt: '2026-01-01T00:00:00.000Z' });
      assert.equal(await secrets.secretOf(owner), first.secret);
      const second = await secrets.create(owner);
      assert.notEqual(second.secret, first.secret);
      assert.equal(await secrets.secretOf(owner), second.secret, 'the old secret stops signing at once');
      assert.equal(await secrets.secretOf(`${owner}-other`), undefined);
      assert.equal(await secrets.delete(owner), true);
      assert.equal(await secrets.delete(owner), false);
      assert.equal(await secrets.secretOf(owner), undefined);
    });
  });

  describe('AuditStore', () => {
    it('lists one type, or a family of types by prefix, page by page', async () => {
      const audit = new AuditStore(store.db);
      const record = (type: AuditEventType, time: string) =>
        audit.record({ time, type, keyId: null, keyHint: null, actorKeyId: null, clientIp: null, reason: null, details: {} });
      await record('key.created', '2025-01-01T00:00:01.000Z');
      await record('auth.failed', '2025-01-01T00:00:02.000Z');
      await record('key.revoked', '2025-01-01T00:00:03.000Z');
      await record('auth.failed', '2025-01-01T00:00:04.000Z');
      await record('key.rotated', '2025-01-01T00:00:05.000Z');
      const types = async (type: AuditTypeFilter) =>
        (await collectPages((before) => audit.list({ limit: 2, before, type }))).flatMap((page) => page.items.map((event) => event.type));
      assert.deepEqual(await types('key.'), ['key.rotated', 'key.revoked', 'key.created']);
      assert.deepEqual(await types('auth.'), ['auth.failed', 'auth.failed']);
      assert.deepEqual(await types('key.revoked'), ['key.revoked']);
      assert.deepEqual(await types('KEY.'), [], 'case counts, on SQLite too');
      assert.deepEqual(await types('ke' as AuditTypeFilter), [], 'without a dot, only an exact type matches');
    });

    it('records an event with a new evt_ id and the current time', async () => {
      const now = new Date('2025-07-01T08:00:00.000Z');
      const audit = new AuditStore(store.db, { now: () => now });
      const event = await audit.record({
        type: 'key.revoked',
        keyId: 'key_1',
        keyHint: 'ps_live_…a1b2',
        actorKeyId: 'key_admin',
        clientIp: '203.0.113.9',
        reason: 'leaked in a log',
        details: { via: 'cli', nested: { n: 1 } },
      });
      assert.match(event.id, /^evt_[0-9a-f]{32}$/);
      assert.equal(event.time, now.toISOString());
      const second = await audit.record({ ...event, type: 'auth.failed', keyId: null, keyHint: null, actorKeyId: null, clientIp: null, reason: null, details: {} });
      assert.notEqual(second.id, event.id);
      const { items } = await audit.list({ limit: 10 });
      assert.deepEqual(
        items.find((item) => item.id === event.id),
        event,
      );
      assert.deepEqual(
        items.find((item) => item.id === second.id),
        { ...second, keyId: null, keyHint: null, actorKeyId: null, clientIp: null, reason: null, details: {} },
      );
    });

    it('lists events newest first, 2 at a time, as 3 pages without repeats', async () => {
      const audit = new AuditStore(store.db);
      const times = [
        '2025-01-02T00:00:00.000Z',
        '2025-01-05T00:00:00.000Z',
        '2025-01-03T00:00:00.000Z',
        '2025-01-03T00:00:00.000Z',
        '2025-01-01T00:00:00.000Z',
      ];
      const recorded = [];
      for (const time of times) {
        recorded.push(
          await audit.record({ time, type: 'key.created', keyId: null, keyHint: null, actorKeyId: null, clientIp: null, reason: null, details: {} }),
        );
      }
      const pages = await collectPages((before) => audit.list({ limit: 2, before }));
      assert.deepEqual(pages.map((page) => page.items.length), [2, 2, 1]);
      assert.deepEqual(pages.map((page) => page.next === null), [false, false, true]);
      const expected = [...recorded]
        .sort((a, b) => (a.time === b.time ? (a.id < b.id ? 1 : -1) : a.time < b.time ? 1 : -1))
        .map((event) => event.id);
      assert.deepEqual(pages.flatMap((page) => page.items.map((event) => event.id)), expected);
    });
  });
}

describe('store on SQLite', () => {
  const dataDir = path.join(tempDir(), 'nested', 'data');
  storeSuite(() => openDatabase({ dataDir }), 'sqlite');

  it('keeps pageshot.db under the data directory, which it creates', () => {
    assert.ok(fs.statSync(path.join(dataDir, DATABASE_FILE)).isFile());
  });

  it('opens SQLite with WAL, a 5 s busy timeout and foreign keys on', async () => {
    const store = await openDatabase({ dataDir });
    try {
      const pragma = async (name: string) =>
        Object.values((await sql.raw<Record<string, unknown>>(`pragma ${name}`).execute(store.db)).rows[0] ?? {})[0];
      assert.equal(await pragma('journal_mode'), 'wal');
      assert.equal(await pragma('busy_timeout'), 5000);
      assert.equal(await pragma('foreign_keys'), 1);
    } finally {
      await store.close();
    }
  });

  it('reports a data directory it cannot create, naming PAGESHOT_DATA_DIR', async () => {
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, '');
    await assert.rejects(openDatabase({ dataDir: path.join(file, 'data') }), (error: unknown) => {
      assert.ok(error instanceof DatabaseOpenError, String(error));
      assert.match(error.message, /PAGESHOT_DATA_DIR/);
      return true;
    });
  });

  it('throws an error naming the migration that failed', async () => {
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SQLite(':memory:') }) });
    try {
      const broken = {
        async getMigrations() {
          return { '0001_broken': { up: async (db: Kysely<any>) => void (await sql`create tabel nope (x int)`.execute(db)) } };
        },
      };
      await assert.rejects(migrateToLatest(db, broken), /Database migration 0001_broken failed: .*syntax error/);
    } finally {
      await db.destroy();
    }
  });
});

const skip = await postgresSkipReason();
describe('store on PostgreSQL', { skip }, () => {
  before(async () => {
    // Start from an empty database each run, as CI's would be.
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      // Every table a migration creates (add new ones here), and Kysely's own.
      await client.query('DROP TABLE IF EXISTS signing_secrets, webhook_secrets, usage_rejections, usage_daily, api_keys, audit_events, kysely_migration, kysely_migration_lock');
    } finally {
      await client.end();
    }
  });
  storeSuite(() => openDatabase({ dataDir: tempDir(), databaseUrl: POSTGRES_URL }), 'postgres');
});

describe('openDatabase errors', () => {
  it('rejects an unreachable PostgreSQL URL naming PAGESHOT_DATABASE_URL, without its password', async () => {
    const cases = [
      { url: 'postgres://pageshot:Sup3r-Secret_pw@127.0.0.1:1/pageshot', secrets: ['Sup3r-Secret_pw'] },
      { url: 'postgresql://pageshot:p%40ss%2Fw0rd@127.0.0.1:1/pageshot?password=QueryS3cret', secrets: ['p%40ss%2Fw0rd', 'p@ss/w0rd', 'QueryS3cret'] },
    ];
    for (const { url, secrets } of cases) {
      await assert.rejects(openDatabase({ dataDir: tempDir(), databaseUrl: url }), (error: unknown) => {
        assert.ok(error instanceof DatabaseOpenError, String(error));
        assert.match(error.message, /PAGESHOT_DATABASE_URL/);
        assert.match(error.message, /127\.0\.0\.1:1/);
        const everything = `${error.message}\n${error.stack}\n${JSON.stringify(error)}`;
        for (const secret of secrets) assert.ok(!everything.includes(secret), `the error reveals ${secret}: ${everything}`);
        return true;
      });
    }
  });

  it('rejects a URL of another database naming PAGESHOT_DATABASE_URL, without echoing it', async () => {
    await assert.rejects(openDatabase({ dataDir: tempDir(), databaseUrl: 'mysql://root:hunter2pw@db/app' }), (error: unknown) => {
      assert.ok(error instanceof DatabaseOpenError, String(error));
      assert.match(error.message, /PAGESHOT_DATABASE_URL/);
      assert.ok(!error.message.includes('hunter2pw'), error.message);
      return true;
    });
  });
});
