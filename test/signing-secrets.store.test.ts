import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { SIGNING_SECRET_SHAPE } from '../src/auth/signed-link.js';
import { openDatabase, type StoreDatabase } from '../src/store/database.js';
import { KeyStore } from '../src/store/key-store.js';
import { SigningSecretStore, type IssuedSigningSecret } from '../src/store/signing-secret-store.js';
import { POSTGRES_URL, postgresSkipReason } from './helpers/postgres.js';
import { makeKey } from './helpers/store-records.js';

const MAX = 5;

/** `create` that must succeed. */
async function issue(store: SigningSecretStore, keyId: string, now?: Date): Promise<IssuedSigningSecret> {
  const created = await store.create(keyId, MAX, now);
  assert.ok(typeof created === 'object', `not created: ${String(created)}`);
  return created;
}

function suite(open: () => Promise<StoreDatabase>): void {
  let database: StoreDatabase;
  let store: SigningSecretStore;
  let keys: KeyStore;
  const touchErrors: unknown[] = [];

  before(async () => {
    database = await open();
    keys = new KeyStore(database.db);
    store = new SigningSecretStore(database.db, { onTouchError: (error) => touchErrors.push(error) });
  });
  after(() => database.close());

  async function newKeyId(): Promise<string> {
    const key = makeKey();
    await keys.insert(key);
    return key.id;
  }

  it('issues a secret once, and lists it by id and hint only', async () => {
    const keyId = await newKeyId();
    const created = await issue(store, keyId, new Date('2026-01-02T03:04:05.000Z'));
    assert.match(created.secret, SIGNING_SECRET_SHAPE);
    assert.match(created.id, /^sks_[0-9a-f]{24}$/);
    assert.equal(created.hint, `pss_…${created.secret.slice(-4)}`);
    assert.equal(created.keyId, keyId);
    const listed = await store.list(keyId);
    assert.deepEqual(listed, [{ id: created.id, hint: created.hint, createdAt: '2026-01-02T03:04:05.000Z', lastUsedAt: null }]);
    assert.ok(!JSON.stringify(listed).includes(created.secret));
  });

  it('keeps at most five active secrets per key, counting only active ones', async () => {
    const keyId = await newKeyId();
    const made = [];
    for (let i = 0; i < MAX; i++) made.push(await issue(store, keyId));
    assert.equal(await store.create(keyId, MAX), 'limit-reached');
    assert.equal(await store.revoke(keyId, made[0]!.id), true);
    await issue(store, keyId);
    assert.equal(await store.create(keyId, MAX), 'limit-reached');
    assert.equal((await store.list(keyId)).length, MAX);
    // Another key's room is its own.
    await issue(store, await newKeyId());
  });

  it('does not let concurrent creations pass the limit', async () => {
    const keyId = await newKeyId();
    const results = await Promise.all(Array.from({ length: 12 }, () => store.create(keyId, MAX)));
    assert.equal(results.filter((result) => typeof result === 'object').length, MAX);
    assert.equal((await store.active(keyId)).length, MAX);
  });

  it('refuses to create a secret for a key that does not exist', async () => {
    assert.equal(await store.create('key_nope', MAX), 'unknown-key');
  });

  it('signs with the newest active secret, and with none once all are revoked', async () => {
    const keyId = await newKeyId();
    const older = await issue(store, keyId, new Date('2026-01-01T00:00:00.000Z'));
    const newer = await issue(store, keyId, new Date('2026-01-02T00:00:00.000Z'));
    assert.deepEqual(await store.newestActive(keyId), { id: newer.id, secret: newer.secret });
    assert.deepEqual((await store.list(keyId)).map((secret) => secret.id), [newer.id, older.id]);
    await store.revoke(keyId, newer.id);
    assert.deepEqual(await store.newestActive(keyId), { id: older.id, secret: older.secret });
    await store.revoke(keyId, older.id);
    assert.equal(await store.newestActive(keyId), undefined);
    assert.deepEqual(await store.active(keyId), []);
  });

  it("revokes only the key's own active secret, and wipes the secret from its row", async () => {
    const [mine, theirs] = [await newKeyId(), await newKeyId()];
    const secret = await issue(store, theirs);
    assert.equal(await store.revoke(mine, secret.id), false, "another key's secret");
    assert.equal(await store.revoke(theirs, 'sks_unknown'), false);
    assert.equal(await store.revoke(theirs, secret.id), true);
    assert.equal(await store.revoke(theirs, secret.id), false, 'revoked already');
    const row = await database.db.selectFrom('signing_secrets').selectAll().where('id', '=', secret.id).executeTakeFirstOrThrow();
    assert.equal(row.secret, '');
    assert.notEqual(row.revoked_at, null);
  });

  it("wipes a key's secrets when the key is revoked at once, and keeps them through a rotation's grace period", async () => {
    const [revoked, graced] = [await newKeyId(), await newKeyId()];
    await issue(store, revoked);
    await issue(store, graced);
    assert.ok(await keys.revokeIfNot(revoked, new Date().toISOString()));
    const rows = await database.db.selectFrom('signing_secrets').selectAll().where('key_id', '=', revoked).execute();
    assert.ok(rows.every((row) => row.secret === '' && row.revoked_at !== null));
    assert.deepEqual(await store.active(revoked), []);
    const successor = await newKeyId();
    assert.ok(await keys.retire(graced, successor, { expiresBy: new Date(Date.now() + 60_000).toISOString() }));
    assert.equal((await store.active(graced)).length, 1, 'links keep working through the grace period');
  });

  it('records a last use in the background, at most once a minute, never going back in time', async () => {
    const keyId = await newKeyId();
    await issue(store, keyId);
    const [active] = await store.active(keyId);
    store.touch(active!, new Date('2026-03-01T10:00:00.000Z'));
    await store.flush();
    assert.equal((await store.list(keyId))[0]!.lastUsedAt, '2026-03-01T10:00:00.000Z');
    // As verification sees it next: stored 30 s ago, so not written again.
    store.touch({ ...active!, lastUsedAt: '2026-03-01T10:00:00.000Z' }, new Date('2026-03-01T10:00:30.000Z'));
    await store.flush();
    assert.equal((await store.list(keyId))[0]!.lastUsedAt, '2026-03-01T10:00:00.000Z');
    store.touch({ ...active!, lastUsedAt: '2026-03-01T10:00:00.000Z' }, new Date('2026-03-01T10:01:00.000Z'));
    await store.flush();
    assert.equal((await store.list(keyId))[0]!.lastUsedAt, '2026-03-01T10:01:00.000Z');
    // Another instance with an older reading: ignored.
    store.touch({ ...active!, lastUsedAt: null }, new Date('2026-03-01T09:00:00.000Z'));
    await store.flush();
    assert.equal((await store.list(keyId))[0]!.lastUsedAt, '2026-03-01T10:01:00.000Z');
    assert.deepEqual(touchErrors, []);
  });
}

describe('signing secret store on SQLite', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-signing-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  suite(() => openDatabase({ dataDir: dir }));
});

/*
 * PostgreSQL: a database of this run's own, created and dropped here, so the shared
 * `test` database other suites reset is never touched.
 */
const skip = await postgresSkipReason();
const pgDatabase = `pageshot_signing_${randomBytes(6).toString('hex')}`;

/** Runs `sql` on the server's maintenance connection. */
async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describe('signing secret store on PostgreSQL', { skip }, () => {
  before(() => admin(`CREATE DATABASE ${pgDatabase}`));
  after(() => admin(`DROP DATABASE IF EXISTS ${pgDatabase} WITH (FORCE)`));
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${pgDatabase}`;
  suite(() => openDatabase({ dataDir: os.tmpdir(), databaseUrl: url.href }));
});
