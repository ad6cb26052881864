/**
 * Admission to the capture queue, decided in one step in Redis: a burst of captures or
 * job submissions far past the queue's bound gets the excess refused at once with
 * QUEUE_FULL, not queued to time out; places are let go of exactly once, and those of a
 * node that died lapse by themselves. PAGESHOT_MAX_QUEUE on an api node means what it
 * means on a single node: captures that may wait beyond those the workers run.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import type { CaptureJobData } from '../src/jobs/job-model.js';
import { newJobId } from '../src/jobs/queued-renderer.js';
import { CaptureQueue } from '../src/jobs/queue.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey } from './helpers/keys.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

const BURST = 100;
const MAX_QUEUE = 10;
const WORKER_SLOTS = 4;

function job(owner: string, kind: CaptureJobData['kind']): CaptureJobData {
  return { kind, owner, subject: owner, allowedHosts: [], request: { url: 'http://127.0.0.1:1/' } as CaptureJobData['request'], dailyCounted: false, submittedAt: Date.now() };
}

/** Polls `check` every 50 ms until it holds, or fails after `withinMs`. */
async function until(check: () => Promise<boolean>, what: string, withinMs = 10_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
}

/** How many answers had each code (200/202 counted as themselves). */
function tally(replies: Reply[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const reply of replies) {
    const code = reply.status < 300 ? String(reply.status) : String(reply.json?.code ?? reply.status);
    counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}

describe('places in the queue, in Redis', { skip: noRedisServer }, () => {
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

  it(`admits exactly ${MAX_QUEUE} of ${BURST} jobs added at once, and adds none of the others`, async () => {
    const outcomes = await Promise.all(Array.from({ length: BURST }, (_, i) => queue.add(newJobId(), job(`key:${i % 7}`, 'async'), { maxWaiting: MAX_QUEUE })));
    assert.equal(outcomes.filter((outcome) => outcome.admitted).length, MAX_QUEUE);
    assert.equal(await queue.waitingOf('async'), MAX_QUEUE);
    const counts = await queue.queue.getJobCounts('waiting', 'prioritized');
    assert.equal((counts.waiting ?? 0) + (counts.prioritized ?? 0), MAX_QUEUE);
  });

  it('lets go of a place once, however many times a job is said to have left', async () => {
    const id = newJobId();
    const data = job('key:twice', 'sync');
    const before = await queue.waitingOf('sync');
    assert.equal((await queue.add(id, data)).admitted, true);
    assert.equal(await queue.takeBack(id, data), true);
    await queue.leftWaiting(id, data);
    await queue.leftWaiting(id, data);
    assert.equal(await queue.waitingOf('sync'), before);
    // Another caller's place is untouched by the repeats.
    const other = newJobId();
    await queue.add(other, job('key:other', 'sync'));
    await queue.leftWaiting(id, data);
    assert.equal(await queue.waitingOf('sync'), before + 1);
    await queue.takeBack(other, job('key:other', 'sync'));
  });

  it('lets a place lapse when nobody lets go of it (a node died between reserving and adding)', async () => {
    const before = await queue.waitingOf('sync');
    // One place still held, so that it is the lapsed one that goes, not the whole set.
    const alive = newJobId();
    assert.equal((await queue.admission.admit(alive, 'sync', 'key:alive', 1_000, 60_000)).admitted, true);
    const admitted = await queue.admission.admit(newJobId(), 'sync', 'key:dead-node', 1_000, 300);
    assert.equal(admitted.admitted, true);
    assert.equal(await queue.waitingOf('sync'), before + 2);
    await until(async () => (await queue.waitingOf('sync')) === before + 1, 'the place lapses');
    await queue.admission.release(alive, 'sync', 'key:alive');
    assert.equal(await queue.waitingOf('sync'), before);
  });

  it("counts the workers' free slots for synchronous captures: PAGESHOT_MAX_QUEUE waiting beyond them", async () => {
    const admitted = async (n: number) => {
      const outcomes = await Promise.all(Array.from({ length: n }, () => queue.admission.admit(newJobId(), 'sync', 'key:slots', 2, 60_000)));
      return outcomes.filter((outcome) => outcome.admitted).length;
    };
    const worker = queue.admission.announce(3);
    try {
      await until(async () => Object.keys(await queue.redis.hgetall('pageshot:worker-slots')).length === 1, 'the worker is announced');
      assert.equal(await admitted(20), 2 + 3);
    } finally {
      await worker.stop();
    }
    assert.deepEqual(await queue.redis.hgetall('pageshot:worker-slots'), {}, 'a worker that stops takes its slots away');
  });
});

describe(`a burst of ${BURST} job submissions at PAGESHOT_JOB_MAX_QUEUE=${MAX_QUEUE}`, { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let api: TestServer;
  before(async () => {
    redis = await startPrivateRedis();
    // No worker: nothing leaves the queue during the burst.
    api = await startPageShot({ PAGESHOT_ROLE: 'api', PAGESHOT_REDIS_URL: redis.url, PAGESHOT_JOB_MAX_QUEUE: String(MAX_QUEUE) });
  });
  after(async () => {
    await api.stop();
    await redis.kill();
  });

  it(`accepts exactly ${MAX_QUEUE} and refuses the rest at once with QUEUE_FULL`, async () => {
    // A host name: the target's DNS look-ups end in batches, so submissions reach admission together.
    const replies = await Promise.all(Array.from({ length: BURST }, (_, i) => api.request('/v1/jobs', { body: { url: `http://localhost:9/?job=${i}` } })));
    assert.deepEqual(tally(replies), { 202: MAX_QUEUE, QUEUE_FULL: BURST - MAX_QUEUE });
    const full = replies.find((reply) => reply.json?.code === 'QUEUE_FULL')!;
    assert.equal(full.status, 503);
    assert.equal(full.json!.status, 'busy');
    assert.equal(full.json!.queueLength, MAX_QUEUE);
    assert.ok(Number(full.headers['retry-after']) >= 1);
  });
});

describe(`a burst of ${BURST} captures through an api node, one worker of ${WORKER_SLOTS} slots, PAGESHOT_MAX_QUEUE=${MAX_QUEUE}`, { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let client: Redis;
  let site: FixtureSite;
  let api: TestServer;
  let worker: TestServer;
  let key: string;
  before(async () => {
    redis = await startPrivateRedis();
    client = new Redis(redis.url);
    site = await startFixtureSite();
    const shared = { PAGESHOT_REDIS_URL: redis.url, PAGESHOT_CACHE_TTL: '0' };
    // Queue timeout far beyond the burst's last capture: a refusal here can only be QUEUE_FULL.
    api = await startPageShot({ ...shared, ...AUTH_ENV, PAGESHOT_ROLE: 'api', PAGESHOT_MAX_QUEUE: String(MAX_QUEUE), PAGESHOT_QUEUE_TIMEOUT_MS: '180000' });
    key = (await createKey(api, { name: 'burst', scopes: ['screenshot'] })).key;
    worker = await startPageShot({ ...shared, PAGESHOT_ROLE: 'worker', PAGESHOT_MAX_CONCURRENCY: String(WORKER_SLOTS) }, { cpuUsage: () => 0 });
    await until(async () => Object.keys(await client.hgetall('pageshot:worker-slots')).length === 1, 'the worker says how many slots it has', 30_000);
  });
  after(async () => {
    await api?.stop();
    await worker?.stop();
    client?.disconnect();
    await site?.close();
    await redis?.kill();
  });

  it("says on /status what the api node's admission will do: the workers' slots, and running until a capture would be refused", async () => {
    const idle = (await api.request('/status')).json!;
    assert.equal(idle.status, 'running');
    assert.equal((idle.cluster as Record<string, number>).slots, WORKER_SLOTS);
    assert.equal((idle.queue as Record<string, number>).maxConcurrency, WORKER_SLOTS);
    // Places held by nobody: PAGESHOT_MAX_QUEUE of them still leave the free slots, as on one node…
    const hold = (count: number) => Promise.all(Array.from({ length: count }, () => api.app.queue!.admission.admit(newJobId(), 'sync', 'key:holder', MAX_QUEUE, 60_000)));
    assert.ok((await hold(MAX_QUEUE)).every((place) => place.admitted));
    assert.equal((await api.request('/status')).json!.status, 'running');
    // …and once they are taken too, the next capture would be refused.
    assert.ok((await hold(WORKER_SLOTS)).every((place) => place.admitted));
    assert.equal((await api.request('/status')).json!.status, 'busy');
    await client.del('pageshot:waiting:sync', 'pageshot:waiting:sync:key:holder');
    assert.equal((await api.request('/status')).json!.status, 'running');
  });

  it(`captures ${MAX_QUEUE} waiting + ${WORKER_SLOTS} running and refuses the other ${BURST - MAX_QUEUE - WORKER_SLOTS} at once with QUEUE_FULL`, { timeout: 240_000 }, async () => {
    const started = Date.now();
    // Each page takes 4 s: every admission is decided before the first capture ends. A host
    // name, as real targets have: the guard's DNS look-ups end in batches, so requests reach
    // admission together (with an IP literal they trickle in one by one, and a check-then-add
    // admission looks right).
    const answers = await Promise.all(
      Array.from({ length: BURST }, async (_, i) => {
        const reply = await api.shoot({ url: `http://localhost:${site.port}/slow?ms=4000&shot=${i}`, width: 200, height: 100 }, { headers: bearer(key) });
        return { reply, afterMs: Date.now() - started };
      }),
    );
    const replies = answers.map(({ reply }) => reply);
    assert.deepEqual(tally(replies), { 200: MAX_QUEUE + WORKER_SLOTS, QUEUE_FULL: BURST - MAX_QUEUE - WORKER_SLOTS });
    const firstCapture = Math.min(...answers.filter(({ reply }) => reply.status === 200).map(({ afterMs }) => afterMs));
    const lastRefusal = Math.max(...answers.filter(({ reply }) => reply.status !== 200).map(({ afterMs }) => afterMs));
    assert.ok(lastRefusal < firstCapture, `every refusal (last after ${lastRefusal} ms) came before the first capture (${firstCapture} ms)`);
    const cluster = (await api.request('/status')).json!.cluster as Record<string, number>;
    assert.equal(cluster.waitingSync, 0, 'every place was let go of');
  });
});
