/**
 * The job queue's own rules, with no worker running: the order jobs wait in (fair
 * between callers, synchronous captures first), and an api node's busy answers when no
 * worker takes its captures (QUEUE_FULL at PAGESHOT_MAX_QUEUE, QUEUE_TIMEOUT after
 * PAGESHOT_QUEUE_TIMEOUT_MS, the timed-out job taken out of the queue).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import type { CaptureJobData } from '../src/jobs/job-model.js';
import { newJobId } from '../src/jobs/queued-renderer.js';
import { CaptureQueue } from '../src/jobs/queue.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

function job(owner: string, kind: CaptureJobData['kind']): CaptureJobData {
  return { kind, owner, subject: owner, allowedHosts: [], request: { url: 'http://127.0.0.1:1/' } as CaptureJobData['request'], dailyCounted: false, submittedAt: Date.now() };
}

describe('job queue order', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let queue: CaptureQueue;
  before(async () => {
    redis = await startPrivateRedis();
    queue = new CaptureQueue(redis.url, loadConfig({}).jobs, pino({ level: 'silent' }));
    assert.ok(await queue.ready());
  });
  after(async () => {
    await queue.close();
    await redis.kill();
  });

  it("serves callers in turn: one caller's tenth job waits behind another caller's first, and synchronous captures go first", async () => {
    const added: Array<[string, string]> = [];
    const add = async (owner: string, kind: CaptureJobData['kind']) => {
      const id = newJobId();
      await queue.add(id, job(owner, kind));
      added.push([id, `${owner}/${kind}`]);
    };
    for (let i = 0; i < 3; i++) await add('key:flood', 'async');
    await add('key:polite', 'async');
    await add('key:flood', 'sync');
    await add('key:polite', 'sync');
    // BullMQ hands out prioritized jobs lowest priority first, then in the order added.
    const waiting = await queue.queue.getJobs(['prioritized', 'waiting']);
    const order = waiting.sort((a, b) => a.priority - b.priority || a.timestamp - b.timestamp).map((entry) => added.find(([id]) => id === entry.id)![1]);
    assert.deepEqual(order, ['key:flood/sync', 'key:polite/sync', 'key:flood/async', 'key:polite/async', 'key:flood/async', 'key:flood/async']);
    assert.equal(await queue.waitingOf('async'), 4);
    assert.equal(await queue.waitingOf('sync'), 2);
  });

  it('forgets a job taken back before a worker took it, and counts it out of the waiting', async () => {
    const id = newJobId();
    const data = job('key:gone', 'sync');
    const before = await queue.waitingOf('sync');
    await queue.add(id, data);
    assert.equal(await queue.waitingOf('sync'), before + 1);
    assert.equal(await queue.takeBack(id, data), true);
    assert.equal(await queue.snapshot(id), undefined);
    assert.equal(await queue.waitingOf('sync'), before);
  });
});

describe('an api node with no worker', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let api: TestServer;
  before(async () => {
    redis = await startPrivateRedis();
    api = await startPageShot({ PAGESHOT_ROLE: 'api', PAGESHOT_REDIS_URL: redis.url, PAGESHOT_MAX_QUEUE: '1', PAGESHOT_QUEUE_TIMEOUT_MS: '800' });
  });
  after(async () => {
    await api.stop();
    await redis.kill();
  });

  it('says so in /status: no browser, the cluster figures, and busy (nobody would take a capture)', async () => {
    const status = (await api.request('/status')).json!;
    assert.equal(status.role, 'api');
    assert.equal(status.browser, null);
    assert.equal(status.pool, null);
    assert.deepEqual(status.cluster, { waiting: 0, waitingSync: 0, running: 0, workers: 0, slots: 0 });
    assert.equal(status.status, 'busy');
  });

  it('answers QUEUE_FULL past PAGESHOT_MAX_QUEUE waiting captures, and QUEUE_TIMEOUT when no worker took one in time', async () => {
    const waited = api.shoot({ url: 'http://127.0.0.1:9/' });
    // The first capture is in the queue before the second asks.
    for (let i = 0; i < 50 && Number(((await api.request("/status")).json!.cluster as Record<string, number>).waitingSync) < 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const full = await api.shoot({ url: 'http://127.0.0.1:9/?second' });
    assert.equal(full.status, 503);
    assert.equal(full.json!.code, 'QUEUE_FULL');
    assert.equal(full.json!.status, 'busy');
    assert.ok(Number(full.headers['retry-after']) >= 1);
    const timedOut = await waited;
    assert.equal(timedOut.status, 503);
    assert.equal(timedOut.json!.code, 'QUEUE_TIMEOUT');
    assert.equal(timedOut.json!.status, 'busy');
    // Taken out of the queue: a worker starting now finds nothing to run.
    const cluster = (await api.request('/status')).json!.cluster as Record<string, number>;
    assert.equal(cluster.waiting, 0);
    assert.equal(cluster.waitingSync, 0);
  });

  it('serves no capture of its own: async jobs wait for a worker', async () => {
    const submitted = await api.request('/v1/jobs', { body: { url: 'http://127.0.0.1:9/' } });
    assert.equal(submitted.status, 202);
    const state = await api.request(String(submitted.json!.statusUrl));
    assert.equal(state.json!.status, 'queued');
  });
});
