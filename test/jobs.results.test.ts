/**
 * Job results as an attacker would push them, on one node (role `all`) with a private
 * Redis and real Chromium: a result larger than the server keeps, a key that fills its
 * share of result storage, downloads streamed out of Redis in chunks however slowly the
 * client reads, many downloads at once, and deleting a job to free its result early.
 * Pages of noise (test/helpers/noise-page.ts) make results of a chosen size: 600 × 400
 * is ~723 KB, 800 × 600 ~1.44 MB.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey } from './helpers/keys.js';
import { noiseCapture } from './helpers/noise-page.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

const MAX_RESULT = 1_000_000;
const SHARE = 2_000_000;
const CHUNK = 256 * 1024;

/** A download whose client reads nothing until told: the server must wait for it, not buffer. */
interface SlowDownload {
  status: number;
  /** Reads the rest and resolves with the whole body. */
  finish(): Promise<Buffer>;
  destroy(): void;
}

function slowDownload(base: string, path: string, key: string): Promise<SlowDownload> {
  return new Promise((resolve, reject) => {
    const request = http.get(new URL(path, base), { headers: bearer(key), agent: false }, (res) => {
      // No 'data' listener: the response stays paused, so the socket stops being read.
      resolve({
        status: res.statusCode ?? 0,
        finish: () =>
          new Promise((done, fail) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => done(Buffer.concat(chunks)));
            res.on('error', fail);
          }),
        destroy: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}

describe('job results under attack', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let client: Redis;
  let site: FixtureSite;
  let server: TestServer;
  /**
   * GETRANGE commands Redis has run (INFO commandstats): only result downloads use it. (Not
   * MONITOR: it echoes every large value written, and ioredis's monitor mode is fragile.)
   */
  async function rangeReads(): Promise<number> {
    return Number(/cmdstat_getrange:calls=(\d+)/.exec(await client.info('commandstats'))?.[1] ?? 0);
  }

  before(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
    site = await startFixtureSite();
    server = await startPageShot({
      ...AUTH_ENV,
      PAGESHOT_REDIS_URL: redis.url,
      PAGESHOT_JOB_MAX_RESULT_BYTES: String(MAX_RESULT),
      PAGESHOT_JOB_MAX_STORED_BYTES_PER_KEY: String(SHARE),
      PAGESHOT_JOB_MAX_DOWNLOADS_PER_KEY: '2',
      PAGESHOT_JOB_RESULT_TTL: '600',
    });
  });
  after(async () => {
    client.disconnect();
    await server.stop();
    await site.close();
    await redis.kill();
  });

  const submit = (body: Record<string, unknown>, key: string): Promise<Reply> => server.request('/v1/jobs', { body, headers: bearer(key) });

  /** Polls a job until it has finished; returns its view. */
  async function finished(id: string, key: string, withinMs = 60_000): Promise<Record<string, any>> {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      const reply = await server.request(`/v1/jobs/${id}`, { headers: bearer(key) });
      assert.equal(reply.status, 200, reply.body.toString());
      if (reply.json!.status === 'succeeded' || reply.json!.status === 'failed') return reply.json!;
      await sleep(50);
    }
    throw new Error(`job ${id} did not finish within ${withinMs} ms`);
  }

  /** Submits a capture and waits for its job to finish. */
  async function run(body: Record<string, unknown>, key: string): Promise<Record<string, any>> {
    const reply = await submit(body, key);
    assert.equal(reply.status, 202, reply.body.toString());
    return finished(String(reply.json!.id), key);
  }

  /** Waits until Redis has run no GETRANGE for `quietMs` (the server has stopped reading); answers the count. */
  async function readsSettle(quietMs = 500): Promise<number> {
    let seen = -1;
    let now = await rangeReads();
    while (seen !== now) {
      seen = now;
      await sleep(quietMs);
      now = await rangeReads();
    }
    return now;
  }

  it('fails a job whose result is over PAGESHOT_JOB_MAX_RESULT_BYTES with 422 RESULT_TOO_LARGE, the limit in its error, and keeps none of it', async () => {
    const { key } = await createKey(server, { name: 'too large', scopes: ['screenshot'] });
    const job = await run(noiseCapture(800, 600), key);
    assert.equal(job.status, 'failed');
    assert.equal(job.error.code, 'RESULT_TOO_LARGE');
    assert.equal(job.error.status, 422);
    assert.equal(job.error.limitBytes, MAX_RESULT);
    assert.equal(job.result, null);
    assert.equal(await client.exists(`pageshot:job-result:${job.id}`), 0);
    const result = await server.request(`/v1/jobs/${job.id}/result`, { headers: bearer(key) });
    assert.equal(result.status, 409);
    assert.equal(result.json!.jobError, 'RESULT_TOO_LARGE');
  });

  it('refuses at once a key whose kept results fill its share (429 RESULT_STORAGE_FULL until the oldest expires), and takes it again once one is deleted', async () => {
    const { key } = await createKey(server, { name: 'hoarder', scopes: ['screenshot'] });
    const kept: Array<Record<string, any>> = [];
    // 3 × ~723 KB: the third crosses the 2 MB share (and is kept).
    for (let seed = 1; seed <= 3; seed++) kept.push(await run(noiseCapture(600, 400, seed), key));
    assert.deepEqual(kept.map((job) => job.status), ['succeeded', 'succeeded', 'succeeded']);
    const stored = kept.reduce((sum, job) => sum + Number(job.result.bytes), 0);
    assert.ok(stored >= SHARE, `the three results take ${stored} bytes`);

    const refused = await submit({ url: `${site.url}/` }, key);
    assert.equal(refused.status, 429, refused.body.toString());
    assert.equal(refused.json!.code, 'RESULT_STORAGE_FULL');
    assert.equal(refused.json!.limitBytes, SHARE);
    assert.equal(refused.json!.storedBytes, stored);
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter > 500 && retryAfter <= 600, `Retry-After ${retryAfter}: when the first result expires`);
    // Another key's share is its own.
    const { key: neighbour } = await createKey(server, { name: 'neighbour', scopes: ['screenshot'] });
    assert.equal((await submit({ url: `${site.url}/` }, neighbour)).status, 202);

    const deleted = await server.request(`/v1/jobs/${kept[0]!.id}`, { method: 'DELETE', headers: bearer(key) });
    assert.equal(deleted.status, 204);
    // Room again (two results, under the share): two jobs at once are both taken; the one
    // that finishes second finds the share full and fails, keeping nothing.
    const pair = await Promise.all([submit(noiseCapture(600, 400, 4), key), submit(noiseCapture(600, 400, 5), key)]);
    const outcomes = await Promise.all(
      pair.map(async (reply) => (reply.status === 202 ? finished(String(reply.json!.id), key) : { id: undefined, status: 'refused', error: reply.json })),
    );
    const succeeded = outcomes.filter((job) => job.status === 'succeeded');
    const full = outcomes.filter((job) => job.status !== 'succeeded');
    assert.equal(succeeded.length, 1, JSON.stringify(outcomes));
    assert.equal(full[0]!.error.code, 'RESULT_STORAGE_FULL');
    if (full[0]!.status === 'failed') assert.equal(await client.exists(`pageshot:job-result:${full[0]!.id}`), 0);
  });

  it('streams a result out of Redis in chunks (GETRANGE of 256 KiB), never in one read', async () => {
    const { key } = await createKey(server, { name: 'streamed', scopes: ['screenshot'] });
    const job = await run(noiseCapture(600, 400, 9), key);
    const before = await rangeReads();
    const image = await server.request(`/v1/jobs/${job.id}/result`, { headers: bearer(key) });
    assert.equal(image.status, 200);
    assert.equal(image.headers['content-length'], String(job.result.bytes));
    assert.equal(image.body.length, job.result.bytes);
    assert.equal(image.body.subarray(1, 4).toString(), 'PNG');
    assert.equal((await rangeReads()) - before, Math.ceil(job.result.bytes / CHUNK), 'one GETRANGE per 256 KiB');

    // HEAD says the size and reads nothing.
    const beforeHead = await rangeReads();
    const head = await server.request(`/v1/jobs/${job.id}/result`, { method: 'HEAD' as 'GET', headers: bearer(key) });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(job.result.bytes));
    assert.equal(await rangeReads(), beforeHead);
  });

  it('reads no further ahead of a client that stops reading than its socket holds, and bounds the downloads a key runs at once (429 TOO_MANY_DOWNLOADS)', async () => {
    const { key } = await createKey(server, { name: 'slow reader', scopes: ['screenshot'] });
    const job = await run(noiseCapture(600, 400, 11), key);
    // A client that reads nothing still takes what the loopback socket's buffers hold (~4 MB
    // here); past that the server reads no more. The result made 24 MB (the size of a tall page of noise) without a 20 s capture:
    // the route streams whatever the store holds under the job's key.
    const big = Buffer.alloc(24 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    await client.set(`pageshot:job-result:${job.id}`, big, 'KEEPTTL');

    const before = await rangeReads();
    const first = await slowDownload(server.url, `/v1/jobs/${job.id}/result`, key);
    assert.equal(first.status, 200);
    const fetched = ((await readsSettle()) - before) * CHUNK;
    assert.ok(fetched >= CHUNK, 'the download began');
    assert.ok(fetched <= big.length / 3, `read ${fetched} of ${big.length} bytes for a client that reads nothing`);

    const second = await slowDownload(server.url, `/v1/jobs/${job.id}/result`, key);
    assert.equal(second.status, 200);
    const third = await server.request(`/v1/jobs/${job.id}/result`, { headers: bearer(key) });
    assert.equal(third.status, 429);
    assert.equal(third.json!.code, 'TOO_MANY_DOWNLOADS');
    assert.equal(third.json!.limit, 2);
    assert.equal(third.headers['retry-after'], '1');
    // Other keys download meanwhile.
    const { key: other } = await createKey(server, { name: 'other reader', scopes: ['screenshot'] });
    const theirs = await run({ url: `${site.url}/`, width: 200, height: 100 }, other);
    assert.equal((await server.request(`/v1/jobs/${theirs.id}/result`, { headers: bearer(other) })).status, 200);

    // The slow client, once it reads, gets the whole result, intact.
    const whole = await first.finish();
    assert.equal(createHash('sha256').update(whole).digest('hex'), createHash('sha256').update(big).digest('hex'));
    second.destroy();
    // Both slots come back: one download finished, one cut off by its client.
    let again: Reply | undefined;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && again?.status !== 200; ) {
      again = await server.request(`/v1/jobs/${job.id}/result`, { headers: bearer(key) });
      if (again.status !== 200) await sleep(50);
    }
    assert.equal(again?.status, 200);
    assert.equal(again?.body.length, big.length);
    const pair = await Promise.all([0, 1].map(() => slowDownload(server.url, `/v1/jobs/${job.id}/result`, key)));
    assert.deepEqual(pair.map((download) => download.status), [200, 200]);
    pair.forEach((download) => download.destroy());
  });

  it('deletes a finished job for its owner only (204, again 204), frees its result, and refuses one still running (409)', async () => {
    const { key } = await createKey(server, { name: 'deleter', scopes: ['screenshot'] });
    const { key: stranger } = await createKey(server, { name: 'stranger', scopes: ['screenshot'] });
    const job = await run({ url: `${site.url}/`, width: 200, height: 100 }, key);
    const path = `/v1/jobs/${job.id}`;
    const foreign = await server.request(path, { method: 'DELETE', headers: bearer(stranger) });
    assert.equal(foreign.status, 404);
    assert.equal(foreign.json!.code, 'JOB_NOT_FOUND');
    assert.equal((await server.request(`${path}/result`, { headers: bearer(key) })).status, 200, 'still there for its owner');

    assert.equal((await server.request(path, { method: 'DELETE', headers: bearer(key) })).status, 204);
    assert.equal((await server.request(path, { method: 'DELETE', headers: bearer(key) })).status, 204, 'deleting again is done too');
    assert.equal((await server.request(path, { method: 'DELETE', headers: bearer(stranger) })).status, 404, 'and still nothing to a stranger');
    assert.equal(await client.exists(`pageshot:job-result:${job.id}`), 0);
    for (const gone of [path, `${path}/result`]) assert.equal((await server.request(gone, { headers: bearer(key) })).json!.code, 'JOB_NOT_FOUND');
    const none = await server.request(`/v1/jobs/job_${'B'.repeat(22)}`, { method: 'DELETE', headers: bearer(key) });
    assert.equal(none.status, 404);
    assert.equal(none.json!.code, 'JOB_NOT_FOUND');

    const slow = await submit({ url: `${site.url}/slow?ms=2000` }, key);
    const busy = await server.request(`/v1/jobs/${slow.json!.id}`, { method: 'DELETE', headers: bearer(key) });
    assert.equal(busy.status, 409);
    assert.equal(busy.json!.code, 'JOB_NOT_READY');
    await finished(String(slow.json!.id), key);
  });
});
