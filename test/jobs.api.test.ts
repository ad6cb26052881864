/**
 * Async jobs on one node (role `all`) with a private Redis: submit, read the state, fetch
 * the result; ownership; hostile job bodies and ids; webhooks signed with the key's
 * secret and checked with the npm `standardwebhooks` package (a verifier nobody here
 * wrote); the daily quota counted at submission and given back on our failures.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, near, startPageShot, tempDataDir, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY } from './helpers/keys.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { startReceiver } from './helpers/webhook-rig.js';

/** Polls GET /v1/jobs/:id until the job is finished (succeeded or failed). */
async function finished(server: TestServer, id: string, key: string, withinMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const reply = await server.request(`/v1/jobs/${id}`, { headers: bearer(key) });
    assert.equal(reply.status, 200, reply.body.toString());
    if (reply.json!.status === 'succeeded' || reply.json!.status === 'failed') return reply.json!;
    await sleep(100);
  }
  throw new Error(`job ${id} did not finish within ${withinMs} ms`);
}

describe('async jobs without Redis', () => {
  let server: TestServer;
  before(async () => (server = await startPageShot(AUTH_ENV)));
  after(() => server.stop());

  it('answers 503 JOBS_UNAVAILABLE, saying that jobs need Redis', async () => {
    const reply = await server.request('/v1/jobs', { body: { url: 'http://127.0.0.1:1/' }, headers: bearer(ROOT_KEY) });
    assert.equal(reply.status, 503);
    assert.equal(reply.json!.code, 'JOBS_UNAVAILABLE');
    assert.match(String(reply.json!.error), /Redis/);
  });
});

describe('async jobs', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let site: FixtureSite;
  let server: TestServer;
  let key: string;
  let other: string;

  before(async () => {
    redis = await startPrivateRedis();
    site = await startFixtureSite();
    // No filter lists: `blockAds` then fails on the server's side (FILTER_LISTS_UNAVAILABLE, refunded).
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_REDIS_URL: redis.url, PAGESHOT_FILTER_LISTS_DIR: tempDataDir() });
    key = (await createKey(server, { name: 'jobs', scopes: ['screenshot'] })).key;
    other = (await createKey(server, { name: 'someone else', scopes: ['screenshot'] })).key;
  });
  after(async () => {
    await server.stop();
    await site.close();
    await redis.kill();
  });

  const submit = (body: Record<string, unknown>, as = key): Promise<Reply> => server.request('/v1/jobs', { body, headers: bearer(as) });

  it('runs a submitted capture: 202 with where to look, then its state, timings, metadata and image', async () => {
    const reply = await submit({ url: `${site.url}/`, width: 400, height: 300, metadata: { order: 42, tag: 'x' } });
    assert.equal(reply.status, 202, reply.body.toString());
    const { id, status, statusUrl, resultUrl } = reply.json as Record<string, string>;
    assert.match(id!, /^job_[A-Za-z0-9_-]{22}$/);
    assert.equal(status, 'queued');
    assert.equal(statusUrl, `/v1/jobs/${id}`);
    assert.equal(reply.headers.location, statusUrl);
    const job = await finished(server, id!, key);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.deepEqual(job.metadata, { order: 42, tag: 'x' });
    assert.equal(job.error, null);
    assert.equal(job.attempts, 1);
    assert.ok(Date.parse(String(job.startedAt)) >= Date.parse(String(job.createdAt)));
    assert.ok(Date.parse(String(job.finishedAt)) >= Date.parse(String(job.startedAt)));
    const result = job.result as Record<string, unknown>;
    assert.equal(result.url, resultUrl);
    assert.equal(result.contentType, 'image/png');
    const image = await server.request(resultUrl!, { headers: bearer(key) });
    assert.equal(image.status, 200);
    assert.equal(image.headers['content-type'], 'image/png');
    assert.equal(image.headers.etag, result.etag);
    assert.equal(image.body.length, result.bytes);
    const decoded = await decodeImage(image.body);
    assert.deepEqual([decoded.width, decoded.height], [400, 300]);
    assert.ok(near(decoded.pixel(10, 10), [255, 0, 0]), `expected red, got ${decoded.pixel(10, 10)}`);
    const again = await server.request(resultUrl!, { headers: { ...bearer(key), 'if-none-match': String(result.etag) } });
    assert.equal(again.status, 304);
  });

  it("hides a job from every other key: 404 for its state and its result, as for no job at all", async () => {
    const { id } = (await submit({ url: `${site.url}/` })).json as { id: string };
    await finished(server, id, key);
    for (const path of [`/v1/jobs/${id}`, `/v1/jobs/${id}/result`]) {
      const reply = await server.request(path, { headers: bearer(other) });
      assert.equal(reply.status, 404, path);
      assert.equal(reply.json!.code, 'JOB_NOT_FOUND');
    }
    const none = await server.request(`/v1/jobs/job_${'A'.repeat(22)}`, { headers: bearer(key) });
    assert.equal(none.status, 404);
    assert.equal(none.json!.code, 'JOB_NOT_FOUND');
  });

  it('says a job failed, with the error in the shared shape; its result is 409 JOB_FAILED', async () => {
    const { id } = (await submit({ url: `${site.url}/status?code=500` })).json as { id: string };
    const job = await finished(server, id, key);
    assert.equal(job.status, 'failed');
    const error = job.error as Record<string, unknown>;
    assert.equal(error.code, 'NAVIGATION_FAILED');
    assert.equal(error.status, 502);
    assert.equal(typeof error.error, 'string');
    const result = await server.request(`/v1/jobs/${id}/result`, { headers: bearer(key) });
    assert.equal(result.status, 409);
    assert.equal(result.json!.code, 'JOB_FAILED');
    assert.equal(result.json!.jobError, 'NAVIGATION_FAILED');
  });

  it('answers 409 JOB_NOT_READY with Retry-After while the job runs, and 410 once its result is gone', async () => {
    const { id } = (await submit({ url: `${site.url}/slow?ms=1500` })).json as { id: string };
    const early = await server.request(`/v1/jobs/${id}/result`, { headers: bearer(key) });
    assert.equal(early.status, 409);
    assert.equal(early.json!.code, 'JOB_NOT_READY');
    assert.equal(early.headers['retry-after'], '1');
    await finished(server, id, key);
    // What PAGESHOT_JOB_RESULT_TTL does at its end (its least is a minute): the bytes expire.
    const client = new Redis(redis.url);
    await client.del(`pageshot:job-result:${id}`);
    client.disconnect();
    const gone = await server.request(`/v1/jobs/${id}/result`, { headers: bearer(key) });
    assert.equal(gone.status, 410);
    assert.equal(gone.json!.code, 'JOB_RESULT_EXPIRED');
  });

  it('refuses hostile job bodies and ids with 400 and a code, before anything is queued', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ url: `${site.url}/`, webhookUrl: 'ftp://127.0.0.1/hook' }, 'webhookUrl'],
      [{ url: `${site.url}/`, webhookUrl: 'http://user:password@127.0.0.1/hook' }, 'webhookUrl'],
      [{ url: `${site.url}/`, webhookUrl: 'http://[::1' }, 'webhookUrl'],
      [{ url: `${site.url}/`, webhookUrl: `http://${'a'.repeat(2100)}.test/` }, 'webhookUrl'],
      [{ url: `${site.url}/`, metadata: 'not an object' }, 'metadata'],
      [{ url: `${site.url}/`, metadata: { blob: 'x'.repeat(5000) } }, 'metadata'],
      [{ url: `${site.url}/`, jobId: 'mine' }, 'jobId'],
    ];
    for (const [body, field] of cases) {
      const reply = await submit(body);
      assert.equal(reply.status, 400, `${field}: ${reply.body.toString()}`);
      assert.equal(reply.json!.code, 'VALIDATION_ERROR', field);
    }
    for (const id of ['job_short', '..%2F..%2Fetc', `job_${'A'.repeat(21)}:`, 'pageshot:job-result:x']) {
      const reply = await server.request(`/v1/jobs/${id}`, { headers: bearer(key) });
      assert.equal(reply.status, 400, id);
      assert.equal(reply.json!.code, 'VALIDATION_ERROR', id);
    }
  });

  it('refuses a webhook to a private address (403, like a target) and one without a signing secret (400)', async () => {
    const unsigned = await submit({ url: `${site.url}/`, webhookUrl: 'http://127.0.0.1:9/hook' });
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.json!.code, 'WEBHOOK_SECRET_MISSING');
    const secret = await server.request('/v1/me/webhook-secret', { method: 'POST', headers: bearer(key) });
    assert.equal(secret.status, 201);
    for (const webhookUrl of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/hook', 'http://[fd00::1]/hook']) {
      const reply = await submit({ url: `${site.url}/`, webhookUrl });
      assert.equal(reply.status, 403, webhookUrl);
      assert.equal(reply.json!.code, 'TARGET_FORBIDDEN', webhookUrl);
      assert.equal(reply.json!.field, 'webhookUrl');
    }
  });

  it('signs the webhook with the key\'s secret (Standard Webhooks), and shows the delivery on the job', async () => {
    const receiver = await startReceiver(() => ({ status: 200 }));
    try {
      const created = await server.request('/v1/me/webhook-secret', { method: 'POST', headers: bearer(key) });
      assert.equal(created.status, 201);
      const secret = String(created.json!.secret);
      assert.match(secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
      const shown = (await server.request('/v1/me/webhook-secret', { headers: bearer(key) })).json!.webhookSecret as Record<string, unknown>;
      assert.deepEqual(shown, { hint: created.json!.hint, createdAt: created.json!.createdAt }, 'the secret itself is shown once');

      const { id } = (await submit({ url: `${site.url}/`, webhookUrl: receiver.url, metadata: { order: 7 } })).json as { id: string };
      await finished(server, id, key);
      const deadline = Date.now() + 10_000;
      while (receiver.arrivals.length === 0 && Date.now() < deadline) await sleep(50);
      assert.equal(receiver.arrivals.length, 1);
      const [delivery] = receiver.arrivals;
      const payload = new Webhook(secret).verify(delivery!.body, delivery!.headers as Record<string, string>) as Record<string, any>;
      assert.equal(payload.type, 'job.succeeded');
      assert.equal(payload.data.id, id);
      assert.equal(payload.data.status, 'succeeded');
      assert.deepEqual(payload.data.metadata, { order: 7 });
      assert.equal(payload.data.result.url, `/v1/jobs/${id}/result`);
      // Signed with another key's secret, or altered, it does not verify.
      assert.throws(() => new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(delivery!.body, delivery!.headers as Record<string, string>));
      assert.throws(() => new Webhook(secret).verify(delivery!.body.replace('succeeded', 'failed'), delivery!.headers as Record<string, string>));

      let webhook: Record<string, unknown> = {};
      while (Date.now() < deadline) {
        webhook = (await server.request(`/v1/jobs/${id}`, { headers: bearer(key) })).json!.webhook as Record<string, unknown>;
        if (webhook.status === 'delivered') break;
        await sleep(50);
      }
      assert.equal(webhook.status, 'delivered');
      assert.equal(webhook.attempts, 1);
      assert.equal(webhook.lastStatusCode, 200);
      assert.equal(webhook.url, receiver.url);
    } finally {
      await receiver.close();
    }
  });

  it('counts a job against the daily quota when it is submitted, and not the polling', async () => {
    const limited = (await createKey(server, { name: 'two a day', scopes: ['screenshot'], limits: { daily: 2 } })).key;
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const reply = await submit({ url: `${site.url}/` }, limited);
      assert.equal(reply.status, 202);
      ids.push(String(reply.json!.id));
    }
    // Polling (many reads) renders nothing and costs no daily unit: the jobs can still be read.
    for (const id of ids) await finished(server, id, limited);
    const refused = await submit({ url: `${site.url}/` }, limited);
    assert.equal(refused.status, 429);
    assert.equal(refused.json!.code, 'QUOTA_EXCEEDED');
  });

  it("gives the daily unit back when a job fails on the server's side, not when the target fails", async () => {
    const ourFault = (await createKey(server, { name: 'one a day, ours', scopes: ['screenshot'], limits: { daily: 1 } })).key;
    const ours = await submit({ url: `${site.url}/`, blockAds: true }, ourFault);
    assert.equal(ours.status, 202);
    const failed = await finished(server, String(ours.json!.id), ourFault);
    assert.equal((failed.error as Record<string, unknown>).code, 'FILTER_LISTS_UNAVAILABLE');
    assert.equal((await submit({ url: `${site.url}/` }, ourFault)).status, 202);

    const theirFault = (await createKey(server, { name: 'one a day, target', scopes: ['screenshot'], limits: { daily: 1 } })).key;
    const theirs = await submit({ url: `${site.url}/status?code=500` }, theirFault);
    assert.equal(theirs.status, 202);
    await finished(server, String(theirs.json!.id), theirFault);
    assert.equal((await submit({ url: `${site.url}/` }, theirFault)).status, 429);
  });
});
