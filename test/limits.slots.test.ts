/**
 * Per-key caps on captures in flight, held in Redis as leases: exact across instances,
 * freed when a holder dies (its leases expire), kept while a capture runs (renewed), and
 * what happens while Redis is away. A private redis-server per suite; two PageShots on it
 * for the HTTP case.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { RedisCaptureSlots, SlotStoreUnavailableError, type CaptureSlot } from '../src/limits/capture-slots.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, tempDataDir, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey } from './helpers/keys.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

const silent = pino({ level: 'silent' });

describe('capture slots in Redis', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  const stores: RedisCaptureSlots[] = [];
  const slotsOn = (options: Partial<ConstructorParameters<typeof RedisCaptureSlots>[0]> = {}) => {
    const store = new RedisCaptureSlots({ redis: redis.url, logger: silent, onStoreFailure: 'local', leaseMs: 300, ...options });
    stores.push(store);
    return store;
  };
  before(async () => {
    redis = await startPrivateRedis();
  });
  after(async () => {
    for (const store of stores) await store.close();
    await redis.kill();
  });

  it('holds a cap exactly across instances, and frees a slot when it is released', async () => {
    const [a, b] = [slotsOn(), slotsOn()];
    const first = await a.tryAcquire('key:exact', 2);
    const second = await b.tryAcquire('key:exact', 2);
    assert.ok(first && second);
    assert.equal(await a.tryAcquire('key:exact', 2), undefined);
    assert.equal(await b.tryAcquire('key:exact', 2), undefined);
    assert.ok(await b.tryAcquire('key:other', 2), 'each caller has its own cap');
    first.release();
    first.release(); // a second release gives back nothing more
    await sleep(20);
    const third = await b.tryAcquire('key:exact', 2);
    assert.ok(third);
    assert.equal(await a.tryAcquire('key:exact', 2), undefined, 'two were taken again');
  });

  it('keeps a running capture’s slot past the lease time, and frees a dead holder’s when its lease ends', async () => {
    const holder = slotsOn();
    const other = slotsOn();
    const held = await holder.tryAcquire('key:renew', 1);
    assert.ok(held);
    for (let i = 0; i < 6; i++) {
      await sleep(150);
      assert.equal(await other.tryAcquire('key:renew', 1), undefined, `renewed: still held after ${(i + 1) * 150} ms`);
    }
    await holder.close(); // as a node that dies: no release, no more renewals
    assert.equal(await other.tryAcquire('key:renew', 1), undefined, 'not before the lease ends');
    await sleep(400);
    assert.ok(await other.tryAcquire('key:renew', 1), 'free once the dead holder’s lease expired');
  });

  it('counts in this process (local), admits (open) or refuses (closed) while Redis is away', async () => {
    const down = 'redis://127.0.0.1:1';
    const local = slotsOn({ redis: down });
    const taken: Array<CaptureSlot | undefined> = [await local.tryAcquire('key:down', 1), await local.tryAcquire('key:down', 1)];
    assert.ok(taken[0]);
    assert.equal(taken[1], undefined, 'local: the cap still holds in this process');
    const open = slotsOn({ redis: down, onStoreFailure: 'open' });
    assert.ok((await open.tryAcquire('key:down', 1)) && (await open.tryAcquire('key:down', 1)));
    const closed = slotsOn({ redis: down, onStoreFailure: 'closed' });
    await assert.rejects(closed.tryAcquire('key:down', 1), SlotStoreUnavailableError);
  });
});

describe('a key’s concurrent cap across two PageShots on one Redis', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let site: FixtureSite;
  let a: TestServer;
  let b: TestServer;
  let dataDir: string;

  before(async () => {
    redis = await startPrivateRedis();
    site = await startFixtureSite();
    dataDir = tempDataDir();
    const env = { ...AUTH_ENV, PAGESHOT_REDIS_URL: redis.url, PAGESHOT_DATA_DIR: dataDir };
    a = await startPageShot(env);
    b = await startPageShot(env);
  });
  after(async () => {
    await a.stop();
    await b.stop();
    await site.close();
    await redis.kill();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses on B a second capture while the key’s one slot is taken on A, and admits it after', async () => {
    const { key } = await createKey(a, { name: 'one-at-a-time', scopes: ['screenshot'], limits: { concurrent: 1 } });
    const running = a.shoot({ url: `${site.url}/slow?ms=1500` }, { headers: bearer(key) });
    await sleep(400);
    const refused = await b.shoot({ url: `${site.url}/` }, { headers: bearer(key) });
    assert.equal(refused.status, 429);
    assert.equal(refused.json?.code, 'CONCURRENCY_LIMITED');
    assert.equal((await running).status, 200);
    await sleep(50);
    assert.equal((await b.shoot({ url: `${site.url}/` }, { headers: bearer(key) })).status, 200, 'the slot is free again');
  });
});
