import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { KeyService } from '../src/auth/key-service.js';
import { ApiError } from '../src/errors.js';
import { openDatabase, type StoreDatabase } from '../src/store/database.js';
import { KeyStore } from '../src/store/key-store.js';

/*
 * Key changes under real concurrency: many calls at once through KeyService, on SQLite
 * and on PostgreSQL (a pool of 10 connections, so the calls really overlap there).
 */

const POSTGRES_URL = process.env.PAGESHOT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** A database of its own, so this file never touches the tables other suites drop and create. */
const PG_DATABASE = 'pageshot_keys_atomic';
const DEFAULTS = { rate: 200, burst: 500 };
const CONCURRENCY = 10;

const tempDirs: string[] = [];
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function postgresSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    // Fresh each run, as CI's would be (the migrations run from the start).
    await client.query(`DROP DATABASE IF EXISTS ${PG_DATABASE} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${PG_DATABASE}`);
    return undefined;
  } catch (error) {
    return `PostgreSQL at ${POSTGRES_URL} did not answer (${error instanceof Error ? error.message : String(error)}); CI starts it`;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The error code a rejected call failed with (ApiError only: anything else is a bug). */
function codeOf(result: PromiseSettledResult<unknown>): string {
  if (result.status === 'fulfilled') return 'fulfilled';
  assert.ok(result.reason instanceof ApiError, `not an ApiError: ${String(result.reason)}`);
  return result.reason.code;
}

function atomicSuite(open: () => Promise<StoreDatabase>): void {
  let store: StoreDatabase;
  let keys: KeyStore;
  let service: KeyService;

  before(async () => {
    store = await open();
    keys = new KeyStore(store.db);
    service = new KeyService(keys, { prefix: 'ps_test', defaultLimits: DEFAULTS });
  });
  after(() => store?.close());
  beforeEach(async () => {
    await store.db.deleteFrom('audit_events').execute();
    await store.db.deleteFrom('api_keys').execute();
  });

  const eventsOf = async (type: string, keyId: string) =>
    store.db.selectFrom('audit_events').selectAll().where('type', '=', type).where('key_id', '=', keyId).execute();

  for (const grace of [0, 3600]) {
    it(`lets exactly one of ${CONCURRENCY} concurrent rotations win (grace ${grace} s); the others get 409`, async () => {
      const { record: old } = await service.create({ name: 'contended', scopes: ['screenshot'] }, null);
      const results = await Promise.allSettled(Array.from({ length: CONCURRENCY }, () => service.rotate(old.id, grace, null)));
      const codes = results.map(codeOf);
      assert.equal(codes.filter((code) => code === 'fulfilled').length, 1, codes.join());
      assert.deepEqual(codes.filter((code) => code !== 'fulfilled'), Array(CONCURRENCY - 1).fill('KEY_ALREADY_ROTATED'));

      const successors = await store.db.selectFrom('api_keys').select('id').where('rotated_from', '=', old.id).execute();
      assert.equal(successors.length, 1, 'exactly one successor row');
      assert.equal((await eventsOf('key.rotated', old.id)).length, 1, 'exactly one key.rotated event');
      assert.equal((await eventsOf('key.created', successors[0]!.id)).length, 1);
      const winner = results.find((result) => result.status === 'fulfilled')!.value;
      assert.equal(winner.record.id, successors[0]!.id);
      assert.equal((await keys.findById(old.id))?.replacedBy, winner.record.id, 'the old key names its successor');
    });
  }

  it('answers 409 KEY_ALREADY_REVOKED when rotating a key that was revoked', async () => {
    const { record } = await service.create({ name: 'gone', scopes: ['screenshot'] }, null);
    await service.revoke(record.id, null);
    await assert.rejects(service.rotate(record.id, 60, null), { code: 'KEY_ALREADY_REVOKED' });
  });

  it(`writes exactly one key.revoked event for ${CONCURRENCY} concurrent revokes, and answers each with the revoked key`, async () => {
    const { record } = await service.create({ name: 'doomed', scopes: ['screenshot'] }, null);
    const results = await Promise.all(Array.from({ length: CONCURRENCY }, () => service.revoke(record.id, null)));
    const times = new Set(results.map((revoked) => revoked.revokedAt));
    assert.equal(times.size, 1, `one revocation time, got ${[...times].join(', ')}`);
    assert.ok(!times.has(null));
    assert.equal((await eventsOf('key.revoked', record.id)).length, 1);
  });

  it('never changes a key after its revocation when PATCHes race a revoke', async () => {
    const { record } = await service.create({ name: 'raced', scopes: ['screenshot'] }, null);
    const updates = Array.from({ length: CONCURRENCY }, (_, index) => service.update(record.id, { name: `n${index}` }, null));
    const [revoked, ...results] = await Promise.allSettled([service.revoke(record.id, null), ...updates]);
    assert.equal(revoked!.status, 'fulfilled');
    for (const result of results) {
      if (result.status === 'fulfilled') assert.equal(result.value.revokedAt, null, 'an update acted on a revoked key');
      else assert.equal(codeOf(result), 'KEY_ALREADY_REVOKED');
    }
    const applied = results.filter((result) => result.status === 'fulfilled').length;
    assert.equal((await eventsOf('key.updated', record.id)).length, applied, 'one key.updated per applied change');
  });

  it('refuses to move the expiry of a key retired by rotation, or to enable it again', async () => {
    const { record } = await service.create({ name: 'retired', scopes: ['screenshot'] }, null);
    await service.update(record.id, { disabled: true }, null);
    await service.rotate(record.id, 3600, null);
    const retired = (await keys.findById(record.id))!;
    await assert.rejects(service.update(record.id, { expiresAt: null }, null), { code: 'KEY_ALREADY_ROTATED' });
    const later = new Date(Date.now() + 86_400_000).toISOString();
    await assert.rejects(service.update(record.id, { expiresAt: later }, null), { code: 'KEY_ALREADY_ROTATED' });
    await assert.rejects(service.update(record.id, { disabled: false }, null), { code: 'KEY_ALREADY_ROTATED' });
    const after = (await keys.findById(record.id))!;
    assert.equal(after.expiresAt, retired.expiresAt);
    assert.equal(after.disabled, true);
    // What cannot bring it back is still allowed.
    assert.equal((await service.update(record.id, { name: 'renamed' }, null)).name, 'renamed');
  });

  it('keeps a disabled key disabled through rotation', async () => {
    const { record } = await service.create({ name: 'off', scopes: ['screenshot'], limits: { daily: 7 } }, null);
    await service.update(record.id, { disabled: true }, null);
    const { record: successor } = await service.rotate(record.id, 60, null);
    assert.equal(successor.disabled, true);
    assert.equal((await keys.findById(successor.id))?.disabled, true);
    assert.deepEqual(successor.limits, { daily: 7 });
  });

  it('refuses a burst of 0 where the server default rate applies, and accepts one where no rate does', async () => {
    const noDefaultRate = new KeyService(keys, { prefix: 'ps_test', defaultLimits: { rate: 0, burst: 0 } });
    await assert.rejects(noDefaultRate.create({ name: 'b', scopes: ['screenshot'], limits: { rate: 5 } }, null), (error: ApiError) => {
      assert.equal(error.code, 'VALIDATION_ERROR');
      assert.equal(error.extras.field, 'limits/burst');
      return true;
    });
    await noDefaultRate.create({ name: 'b', scopes: ['screenshot'], limits: { burst: 0 } }, null);
    await assert.rejects(service.create({ name: 'b', scopes: ['screenshot'], limits: { burst: 0 } }, null), { code: 'VALIDATION_ERROR' });
  });
}

describe('key changes under concurrency on SQLite', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pageshot-atomic-'));
  tempDirs.push(dataDir);
  atomicSuite(() => openDatabase({ dataDir }));
});

const skip = await postgresSkipReason();
describe('key changes under concurrency on PostgreSQL', { skip }, () => {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${PG_DATABASE}`;
  atomicSuite(() => openDatabase({ dataDir: '', databaseUrl: url.href }));
});
