/**
 * PageShot on many machines, played by processes: two api nodes and worker nodes
 * (separate `pageshot serve` processes) on one private Redis and one fresh PostgreSQL
 * database. Limits, key changes, captures, async jobs and usage hold across them; a
 * job outlives the api node that took it and a worker killed under it.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import type { Reply } from './helpers/harness.js';
import { AUTH_ENV, bearer, ROOT_KEY } from './helpers/keys.js';
import { startNode, type NodeProcess } from './helpers/node-process.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

const POSTGRES_URL = process.env.PAGESHOT_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A new empty database next to the test one, so that this suite's keys and usage are its own. */
async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  const name = `pageshot_cluster_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
  } catch {
    await admin.end().catch(() => undefined);
    return undefined;
  }
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/** Creates a key through `node` with the root key. */
async function createKey(node: NodeProcess, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const reply = await node.request('/v1/keys', { body, headers: bearer(ROOT_KEY) });
  assert.equal(reply.status, 201, reply.body.toString());
  return reply.json as { id: string; key: string };
}

/** Polls a job through `node` until `done` says so (or fails after `withinMs`). */
async function jobUntil(node: NodeProcess, id: string, key: string, done: (job: Record<string, unknown>) => boolean, withinMs = 45_000) {
  const deadline = Date.now() + withinMs;
  let job: Record<string, unknown> = {};
  while (Date.now() < deadline) {
    const reply = await node.request(`/v1/jobs/${id}`, { headers: bearer(key) });
    assert.equal(reply.status, 200, reply.body.toString());
    job = reply.json!;
    if (done(job)) return job;
    await sleep(100);
  }
  throw new Error(`job ${id} never got there; last seen ${JSON.stringify(job)}`);
}

/** Waits until `condition` holds (polling every 50 ms), or fails after `withinMs`. */
async function until(condition: () => boolean, what: string, withinMs = 30_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

const isFinished = (job: Record<string, unknown>) => job.status === 'succeeded' || job.status === 'failed';
const codes = (replies: Reply[]) => replies.map((reply) => (reply.status === 200 ? 200 : String(reply.json?.code))).sort();

const database = noRedisServer ? undefined : await createDatabase();
const skip = noRedisServer || (database ? false : `PostgreSQL at ${POSTGRES_URL} cannot create a database`);

describe('two api nodes and a worker on one Redis and one PostgreSQL', { skip }, () => {
  let redis: PrivateRedis;
  let site: FixtureSite;
  let env: Record<string, string>;
  let a: NodeProcess;
  let b: NodeProcess;
  let worker: NodeProcess;
  const extraWorkers: NodeProcess[] = [];

  before(async () => {
    redis = await startPrivateRedis();
    site = await startFixtureSite();
    env = {
      ...AUTH_ENV,
      PAGESHOT_REDIS_URL: redis.url,
      PAGESHOT_DATABASE_URL: database!.url,
      // A worker that stops renewing its lock loses its job after 2 s (30 s in production).
      PAGESHOT_JOB_LOCK_MS: '2000',
      PAGESHOT_MAX_CONCURRENCY: '4',
      PAGESHOT_LOG_LEVEL: 'warn',
    };
    // The first node migrates the new database; the others find it ready.
    a = await startNode('api', env);
    [b, worker] = await Promise.all([startNode('api', env), startNode('worker', env)]);
  });
  after(async () => {
    await Promise.all([a, b, worker, ...extraWorkers].map((node) => node?.kill()));
    await site?.close();
    await redis?.kill();
    await database?.drop();
  });

  it('gives each role its routes: a worker serves no public API, an api node no browser', async () => {
    const onWorker = await worker.request('/screenshot', { body: { url: `${site.url}/` }, headers: bearer(ROOT_KEY) });
    assert.equal(onWorker.status, 404);
    assert.equal(onWorker.json!.code, 'NOT_FOUND');
    const workerStatus = (await worker.request('/status')).json!;
    assert.equal(workerStatus.role, 'worker');
    assert.equal((workerStatus.browser as Record<string, unknown>).state, 'running');
    const apiStatus = (await a.request('/status')).json!;
    assert.equal(apiStatus.role, 'api');
    assert.equal(apiStatus.browser, null);
    assert.equal(apiStatus.status, 'running');
    const cluster = apiStatus.cluster as Record<string, number>;
    assert.equal(cluster.workers, 1);
  });

  it('captures through either api node, rendered by the worker', async () => {
    for (const node of [a, b]) {
      const reply = await node.request('/screenshot', { body: { url: `${site.url}/`, width: 300, height: 200 }, headers: bearer(ROOT_KEY) });
      assert.equal(reply.status, 200, reply.body.toString());
      assert.equal(reply.headers['content-type'], 'image/png');
      assert.ok(reply.body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));
      assert.match(String(reply.headers['server-timing']), /queue;dur=\d+/);
    }
    const failed = await a.request('/screenshot', { body: { url: `${site.url}/status?code=404` }, headers: bearer(ROOT_KEY) });
    assert.equal(failed.status, 502);
    assert.equal(failed.json!.code, 'NAVIGATION_FAILED');
  });

  it('enforces one burst exactly across both api nodes', async () => {
    const { key } = await createKey(a, { name: 'burst of 6', scopes: ['screenshot'], limits: { rate: 1, burst: 6 } });
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).request('/v1/me', { headers: bearer(key) })));
    assert.deepEqual(codes(replies), [...Array(6).fill(200), ...Array(6).fill('RATE_LIMITED')]);
  });

  it('refuses a key on node B within 1 s of its revocation through node A', async () => {
    const { id, key } = await createKey(a, { name: 'to revoke', scopes: ['screenshot'] });
    assert.equal((await b.request('/v1/me', { headers: bearer(key) })).status, 200); // now in B's key cache
    const revokedAt = Date.now();
    assert.equal((await a.request(`/v1/keys/${id}`, { method: 'DELETE', headers: bearer(ROOT_KEY) })).status, 200);
    let refusedAfter: number | undefined;
    while (Date.now() - revokedAt < 1000) {
      const reply = await b.request('/v1/me', { headers: bearer(key) });
      if (reply.status === 403 && reply.json!.code === 'KEY_REVOKED') {
        refusedAfter = Date.now() - revokedAt;
        break;
      }
      await sleep(20);
    }
    assert.ok(refusedAfter !== undefined, 'node B still took the key 1 s after its revocation');
  });

  it("holds a key's concurrent: 2 across both api nodes", async () => {
    const { key } = await createKey(a, { name: 'two at once', scopes: ['screenshot'], limits: { concurrent: 2 } });
    const slow = { url: `${site.url}/slow?ms=2500` };
    const replies = await Promise.all([a, b, a, b].map((node) => node.request('/screenshot', { body: slow, headers: bearer(key) })));
    assert.deepEqual(codes(replies), [200, 200, 'CONCURRENCY_LIMITED', 'CONCURRENCY_LIMITED']);
  });

  it('keeps an async job through the restart of the api node that accepted it', async () => {
    const { key } = await createKey(a, { name: 'async', scopes: ['screenshot'] });
    const submitted = await a.request('/v1/jobs', { body: { url: `${site.url}/slow?ms=2000` }, headers: bearer(key) });
    assert.equal(submitted.status, 202);
    const id = String(submitted.json!.id);
    assert.equal(await a.stop(), 0);
    const seenByB = await jobUntil(b, id, key, isFinished);
    assert.equal(seenByB.status, 'succeeded');
    a = await startNode('api', env);
    const seenByNewA = await jobUntil(a, id, key, isFinished);
    assert.equal(seenByNewA.status, 'succeeded');
    const image = await a.request(`/v1/jobs/${id}/result`, { headers: bearer(key) });
    assert.equal(image.status, 200);
    assert.equal(image.headers['content-type'], 'image/png');
  });

  it('runs a job again on another worker when its worker is killed, once; a second loss fails it with WORKER_LOST', async () => {
    const { key } = await createKey(a, { name: 'crashy', scopes: ['screenshot', 'usage:read'] });
    const slowPath = '/slow';
    const before = site.hits(slowPath);
    const submitted = await a.request('/v1/jobs', { body: { url: `${site.url}${slowPath}?ms=4000` }, headers: bearer(key) });
    const id = String(submitted.json!.id);
    // Killed mid-capture: once its page has asked the site for the document.
    await until(() => site.hits(slowPath) === before + 1, 'the worker loads the page');
    assert.equal((await a.request(`/v1/jobs/${id}`, { headers: bearer(key) })).json!.status, 'running');
    await worker.kill();
    worker = await startNode('worker', env);
    const done = await jobUntil(a, id, key, isFinished, 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.equal(done.attempts, 2);
    assert.equal(site.hits(slowPath) - before, 2, 'the page was loaded once per run');
    // Its one success is counted once (the lost run is no outcome), once the worker has written its usage (every 5 s).
    const totals = async () => (await a.request('/v1/usage', { headers: bearer(key) })).json!.totals as Record<string, number>;
    await sleep(5_500);
    assert.equal((await totals()).succeeded, 1);

    const doomed = (await a.request('/v1/jobs', { body: { url: `${site.url}${slowPath}?ms=600000`, timeout: 60_000 }, headers: bearer(key) })).json!;
    const doomedId = String(doomed.id);
    await until(() => site.hits(slowPath) === before + 3, 'the first worker loads the page');
    await worker.kill();
    worker = await startNode('worker', env);
    await until(() => site.hits(slowPath) === before + 4, 'the second worker loads the page', 60_000);
    await worker.kill();
    worker = await startNode('worker', env);
    const lost = await jobUntil(a, doomedId, key, isFinished, 60_000);
    assert.equal(lost.status, 'failed');
    assert.deepEqual(lost.error, {
      status: 503,
      code: 'WORKER_LOST',
      error: 'The worker running this capture stopped (twice); the capture was given up. Submit it again.',
    });
    assert.equal(lost.attempts, 2);
    assert.equal(site.hits(slowPath) - before, 4, 'never a third run');
    // The failure is counted once, by the worker that failed it.
    await sleep(5_500);
    const usage = await totals();
    assert.equal(usage.succeeded, 1);
    assert.equal((usage.failed ?? 0) + (usage.rejected ?? 0), 1);
  });

  it('adds up usage from both api nodes exactly', async () => {
    const { id, key } = await createKey(a, { name: 'counted', scopes: ['screenshot'] });
    const sent = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).request('/screenshot', { body: { url: `${site.url}/`, width: 200, height: 100 }, headers: bearer(key) })),
    );
    assert.deepEqual(codes(sent), Array(8).fill(200));
    const refused = await Promise.all([a, b].map((node) => node.request('/screenshot', { body: { url: 'ftp://x/' }, headers: bearer(key) })));
    assert.deepEqual(codes(refused), ['VALIDATION_ERROR', 'VALIDATION_ERROR']);
    // A graceful stop writes what each node counted.
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
    a = await startNode('api', env);
    const usage = await a.request(`/v1/keys/${id}/usage`, { headers: bearer(ROOT_KEY) });
    assert.equal(usage.status, 200, usage.body.toString());
    const totals = usage.json!.totals as Record<string, number>;
    assert.equal(totals.requests, 10);
    assert.equal(totals.succeeded, 8);
    b = await startNode('api', env);
  });
});
