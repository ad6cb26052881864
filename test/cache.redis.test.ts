/**
 * The result cache in Redis: shared by two PageShot instances, and never in the way of a
 * capture when Redis is gone (a private redis-server this test kills), or holds an entry
 * that is not PageShot's.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

const RUN = randomUUID();

/** Requests the fixture received for `url` (one per render). */
function renders(site: FixtureSite, url: string): number {
  const wanted = new URL(url);
  return site.seen.filter((seen) => seen.path === wanted.pathname && seen.query === wanted.search).length;
}

async function storeFailures(server: TestServer): Promise<number> {
  const metric = await server.app.metrics.registry.getSingleMetric('pageshot_cache_store_failures_total')?.get();
  return (metric?.values ?? []).reduce((sum, value) => sum + value.value, 0);
}

describe('result cache in Redis', { skip: noRedisServer }, () => {
  let site: FixtureSite;
  let redis: PrivateRedis;
  let first: TestServer;
  let second: TestServer;

  before(async () => {
    site = await startFixtureSite();
    redis = await startPrivateRedis();
    const env = { PAGESHOT_REDIS_URL: redis.url, PAGESHOT_CACHE_TTL: '60' };
    first = await startPageShot(env);
    second = await startPageShot(env);
  });
  after(async () => {
    await first.stop();
    await second.stop();
    await redis.kill();
    await site.close();
  });

  it("answers one instance's repeat from the other's render", async () => {
    const url = `${site.url}/?shared=${RUN}`;
    const miss = await first.shoot({ url });
    assert.equal(miss.headers['x-cache'], 'MISS');
    const hit = await second.shoot({ url });
    assert.equal(hit.status, 200);
    assert.equal(hit.headers['x-cache'], 'HIT');
    assert.equal(hit.headers.etag, miss.headers.etag);
    assert.ok(hit.body.equals(miss.body));
    assert.equal(hit.headers['x-pageshot-target-status'], '200');
    assert.equal(renders(site, url), 1);
  });

  it('treats an entry that is not exactly PageShot’s as a miss and renders', async () => {
    const url = `${site.url}/?foreign=${RUN}`;
    const client = new Redis(redis.url);
    try {
      const before = new Set(await client.keys('pageshot:cache:v1:*'));
      assert.equal((await first.shoot({ url })).headers['x-cache'], 'MISS');
      const key = (await client.keys('pageshot:cache:v1:*')).find((candidate) => !before.has(candidate));
      assert.ok(key, 'the render was stored');
      const stored = (await client.getBuffer(key))!;
      const forged = Buffer.from(stored.toString('latin1').replace('image/png', 'text/html'), 'latin1');
      for (const value of [Buffer.from('not pageshot'), stored.subarray(0, 12), forged]) {
        await client.set(key, value, 'EX', 60);
        const reply = await first.shoot({ url });
        assert.equal(reply.status, 200);
        assert.equal(reply.headers['x-cache'], 'MISS', String(value.subarray(0, 16)));
        assert.equal(reply.headers['content-type'], 'image/png');
      }
      assert.equal(renders(site, url), 4);
    } finally {
      client.disconnect();
    }
  });

  it('keeps capturing while Redis is down, and uses it again once it is back', async () => {
    const url = `${site.url}/?outage=${RUN}`;
    assert.equal((await first.shoot({ url })).headers['x-cache'], 'MISS');
    assert.equal((await first.shoot({ url })).headers['x-cache'], 'HIT');
    await redis.kill();
    const failuresBefore = await storeFailures(first);
    for (let i = 0; i < 2; i++) {
      const reply = await first.shoot({ url });
      assert.equal(reply.status, 200, 'a cache outage never fails a capture');
      assert.equal(reply.headers['x-cache'], 'MISS');
      assert.equal(reply.headers['content-type'], 'image/png');
    }
    assert.ok((await storeFailures(first)) > failuresBefore, 'the failures are counted');
    assert.equal(renders(site, url), 3);

    redis = await startPrivateRedis(redis.port);
    let status: unknown;
    for (let attempt = 0; attempt < 40 && status !== 'HIT'; attempt++) {
      await sleep(250);
      status = (await first.shoot({ url })).headers['x-cache'];
    }
    assert.equal(status, 'HIT', 'the cache is used again once Redis answers');
  });
});
