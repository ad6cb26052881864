/**
 * Key changes across instances: two PageShots sharing one store (a SQLite file) and one
 * Redis. A key revoked through one (or by the CLI) is refused by the other within 1 s,
 * not after its key cache's 30 s; when the other missed the message (Redis was down) it
 * forgets every cached key once it hears Redis again.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { KEY_CHANGES_CHANNEL } from '../src/auth/key-changes.js';
import { runKeys } from '../src/cli-keys.js';
import { loadConfig } from '../src/config.js';
import { startPageShot, tempDataDir, TEST_ENV, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY, whoAmI } from './helpers/keys.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

/** Milliseconds until `server` refuses `key` (polling every 50 ms), or undefined after `withinMs`. */
async function refusedAfter(server: TestServer, key: string, withinMs: number): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    const reply = await whoAmI(server, key);
    if (reply.status === 403 && reply.json?.code === 'KEY_REVOKED') return Date.now() - started;
    await sleep(50);
  }
  return undefined;
}

/** Two instances on one data directory, with `env` (a Redis URL, or none). */
async function twoInstances(env: Record<string, string>): Promise<{ a: TestServer; b: TestServer; dataDir: string; stop: () => Promise<void> }> {
  const dataDir = tempDataDir();
  const shared = { ...AUTH_ENV, ...env, PAGESHOT_DATA_DIR: dataDir };
  const a = await startPageShot(shared);
  const b = await startPageShot(shared);
  return {
    a,
    b,
    dataDir,
    stop: async () => {
      await a.stop();
      await b.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A key created on `a` and already cached by `b` (it answered one request with it). */
async function keyCachedOn(a: TestServer, b: TestServer): Promise<{ id: string; key: string }> {
  const created = await createKey(a, { name: 'cluster', scopes: ['screenshot'] });
  assert.equal((await whoAmI(b, created.key)).status, 200);
  return created;
}

const revoke = (server: TestServer, id: string) => server.request(`/v1/keys/${id}`, { method: 'DELETE', headers: bearer(ROOT_KEY) });

describe('key changes reach every instance', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
    await redis?.kill();
  });

  it('refuses on B, within 1 s, a key revoked through A', async () => {
    redis = await startPrivateRedis();
    const { a, b, stop } = await twoInstances({ PAGESHOT_REDIS_URL: redis.url });
    cleanups.push(stop);
    const { id, key } = await keyCachedOn(a, b);
    assert.equal((await revoke(a, id)).status, 200);
    const ms = await refusedAfter(b, key, 1_000);
    assert.ok(ms !== undefined, 'B still accepted the revoked key after 1 s');
  });

  it('ignores whatever else arrives on the channel, and keeps serving its cached keys', async () => {
    const { a, b, stop } = await twoInstances({ PAGESHOT_REDIS_URL: redis.url });
    cleanups.push(stop);
    const { key } = await keyCachedOn(a, b);
    const lookups = b.app.authenticator.databaseLookups;
    const client = new Redis(redis.url);
    try {
      for (const junk of ['', 'x', 'G'.repeat(64), `${'a'.repeat(64)}\n`, '\u0000'.repeat(64), 'a'.repeat(1_000_000)]) {
        await client.publish(KEY_CHANGES_CHANNEL, junk);
      }
    } finally {
      client.disconnect();
    }
    await sleep(200);
    assert.equal((await whoAmI(b, key)).status, 200);
    assert.equal(b.app.authenticator.databaseLookups, lookups, 'the key was still cached: nothing was invalidated');
  });

  it('without Redis, B keeps the revoked key in its cache (the 30 s backstop): what the messages save', async () => {
    const { a, b, stop } = await twoInstances({});
    cleanups.push(stop);
    const { id, key } = await keyCachedOn(a, b);
    assert.equal((await revoke(a, id)).status, 200);
    assert.equal(await refusedAfter(b, key, 1_000), undefined);
  });

  it('refuses on B, within 1 s, a key revoked by the CLI', async () => {
    const { a, b, dataDir, stop } = await twoInstances({ PAGESHOT_REDIS_URL: redis.url });
    cleanups.push(stop);
    const { id, key } = await keyCachedOn(a, b);
    const config = loadConfig({ ...TEST_ENV, ...AUTH_ENV, PAGESHOT_DATA_DIR: dataDir, PAGESHOT_REDIS_URL: redis.url });
    let printed = '';
    await runKeys(config, ['revoke', id], (text) => (printed += text));
    assert.match(printed, /revoked/);
    assert.ok((await refusedAfter(b, key, 1_000)) !== undefined, 'B still accepted the key the CLI revoked after 1 s');
  });

  it('forgets every cached key when it hears Redis again after missing messages', async () => {
    const { a, b, stop } = await twoInstances({ PAGESHOT_REDIS_URL: redis.url });
    cleanups.push(stop);
    const { id, key } = await keyCachedOn(a, b);
    await redis.kill();
    assert.equal((await revoke(a, id)).status, 200, 'a revoke works while Redis is down');
    assert.equal((await whoAmI(b, key)).status, 200, 'B did not hear of it');
    redis = await startPrivateRedis(redis.port);
    assert.ok((await refusedAfter(b, key, 5_000)) !== undefined, 'B still accepted the key 5 s after Redis came back');
  });
});
