/**
 * The result store on a real (private) Redis, without a browser: each key's share of it,
 * counted when a result is stored and given back when it is deleted or expires, with no
 * way to count a result twice or keep counting one that is gone; and results read in
 * chunks, only as fast as the reader takes them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisJobResultStore } from '../src/jobs/result-store.js';
import { resultStream } from '../src/jobs/result-stream.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

/** Polls `check` every 50 ms until it holds, or fails after `withinMs`. */
async function until(check: () => Promise<boolean>, what: string, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

describe("each key's share of the result store", { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let client: Redis;
  let store: RedisJobResultStore;
  before(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
    store = new RedisJobResultStore(client, 'pageshot');
  });
  after(async () => {
    client.disconnect();
    await redis.kill();
  });

  const share = (owner: string, limitBytes: number) => ({ ttlSeconds: 600, share: { owner, limitBytes } });

  it('counts what a key keeps, refuses to keep more once its share is reached (nothing stored), and says when room comes back', async () => {
    assert.equal((await store.put('a', Buffer.alloc(600), share('key:full', 1000))).stored, true);
    assert.equal((await store.put('b', Buffer.alloc(600), share('key:full', 1000))).stored, true, 'the result that crosses the share is kept');
    const standing = await store.share('key:full', 1000);
    assert.deepEqual({ ...standing, retryAfterSeconds: undefined }, { storedBytes: 1200, limitBytes: 1000, full: true, retryAfterSeconds: undefined });
    assert.ok(standing.retryAfterSeconds! > 590 && standing.retryAfterSeconds! <= 600, `Retry-After ${standing.retryAfterSeconds}`);
    const refused = await store.put('c', Buffer.alloc(10), share('key:full', 1000));
    assert.equal(refused.stored, false);
    assert.equal(await store.size('c'), undefined, 'a refused result is not kept');
    assert.equal((await store.share('key:full', 1000)).storedBytes, 1200);
    // Another key's share is its own.
    assert.equal((await store.put('d', Buffer.alloc(10), share('key:other', 1000))).stored, true);
  });

  it('gives bytes back once when a result is deleted, however often it is deleted', async () => {
    await store.put('e', Buffer.alloc(300), share('key:deleting', 1000));
    await store.put('f', Buffer.alloc(200), share('key:deleting', 1000));
    await store.delete('e', 'key:deleting');
    await store.delete('e', 'key:deleting');
    assert.equal(await store.size('e'), undefined);
    assert.equal((await store.share('key:deleting', 1000)).storedBytes, 200);
  });

  it('counts a result stored twice under one id (a job run again after its worker was lost) once', async () => {
    await store.put('g', Buffer.alloc(400), share('key:rerun', 1000));
    await store.put('g', Buffer.alloc(500), share('key:rerun', 1000));
    assert.equal((await store.share('key:rerun', 1000)).storedBytes, 500);
  });

  it('gives the bytes of an expired result back without anyone deleting it, and leaves no account behind', async () => {
    // A result kept for long beside it: the account lives on, and only the expired bytes go.
    await store.put('kept', Buffer.alloc(100), { ttlSeconds: 600, share: { owner: 'key:expiring', limitBytes: 800 } });
    await store.put('h', Buffer.alloc(900), { ttlSeconds: 1, share: { owner: 'key:expiring', limitBytes: 800 } });
    const full = await store.share('key:expiring', 800);
    assert.equal(full.full, true);
    assert.ok(full.retryAfterSeconds! <= 1, `Retry-After ${full.retryAfterSeconds}`);
    await until(async () => !(await store.share('key:expiring', 800)).full, 'the result expires');
    assert.equal((await store.share('key:expiring', 800)).storedBytes, 100);
    assert.equal(await store.size('h'), undefined);
    await store.delete('kept', 'key:expiring');
    assert.equal((await store.share('key:expiring', 800)).storedBytes, 0);
    assert.deepEqual(await client.keys('pageshot:result-share*:key:expiring'), []);
    assert.equal((await store.put('i', Buffer.alloc(10), { ttlSeconds: 60, share: { owner: 'key:expiring', limitBytes: 800 } })).stored, true);
  });

  it('keeps a synchronous capture\'s bytes without counting them in any share', async () => {
    const accounts = async () => Object.fromEntries(await Promise.all((await client.keys('pageshot:result-share-bytes:*')).map(async (key) => [key, await client.hgetall(key)])));
    const before = await accounts();
    await store.put('j', Buffer.alloc(5000), { ttlSeconds: 60 });
    assert.equal(await store.size('j'), 5000);
    assert.equal((await store.get('j'))?.length, 5000);
    assert.deepEqual(await accounts(), before);
  });
});

describe('a result read as a stream', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let client: Redis;
  let store: RedisJobResultStore;
  const reads: Array<[number, number]> = [];
  before(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
    const real = new RedisJobResultStore(client, 'pageshot');
    // The real store, with its reads written down.
    store = Object.assign(Object.create(real) as RedisJobResultStore, {
      read: (id: string, offset: number, length: number) => {
        reads.push([offset, length]);
        return real.read(id, offset, length);
      },
    });
  });
  after(async () => {
    client.disconnect();
    await redis.kill();
  });

  it('reads the next chunk only once the reader has taken the last: a reader that stops makes the store stop', async () => {
    const body = randomBytes(5 * 64 * 1024 + 123);
    await store.put('big', body, { ttlSeconds: 60 });
    reads.length = 0;
    const stream = resultStream(store, 'big', body.length, 64 * 1024);
    const first = await new Promise<Buffer>((resolve) => stream.once('readable', () => resolve(stream.read(64 * 1024) as Buffer)));
    assert.equal(first.length, 64 * 1024);
    // Taken one chunk; the stream may read one ahead to refill its buffer, and then waits.
    await until(async () => reads.length >= 2, 'the stream refills its buffer');
    await sleep(200);
    assert.equal(reads.length, 2, `reads while nobody reads: ${JSON.stringify(reads)}`);
    const rest: Buffer[] = [first];
    for await (const chunk of stream) rest.push(chunk as Buffer);
    assert.ok(Buffer.concat(rest).equals(body));
    assert.equal(reads.length, 6);
    assert.ok(reads.every(([, length]) => length <= 64 * 1024));
  });

  it('ends with an error, not a short image, when the result goes away mid-read', async () => {
    const body = randomBytes(3 * 1024);
    await store.put('vanishing', body, { ttlSeconds: 60 });
    const stream = resultStream(store, 'vanishing', body.length, 1024);
    const chunks: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) {
          chunks.push(chunk as Buffer);
          await store.delete('vanishing');
        }
      })(),
      /went away/,
    );
    assert.ok(Buffer.concat(chunks).length < body.length);
  });
});
