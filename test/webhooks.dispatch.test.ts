/**
 * The webhook dispatcher on a private Redis with real receivers on loopback: one attempt
 * per queue job, retries as delayed jobs, fairness between owners (the attack of issue 22:
 * one key's failing and hanging receivers holding every delivery slot), Retry-After, and
 * the key's standing checked before every attempt.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { noRedisServer } from './helpers/redis-server.js';
import { startReceiver, until, WebhookRig, type Receiver } from './helpers/webhook-rig.js';

describe('webhook dispatch', { skip: noRedisServer }, () => {
  let rig: WebhookRig;
  const receivers: Receiver[] = [];
  const receiver = async (...args: Parameters<typeof startReceiver>) => {
    const started = await startReceiver(...args);
    receivers.push(started);
    return started;
  };

  before(async () => (rig = await WebhookRig.start()));
  after(() => rig.stop());
  afterEach(async () => {
    // Receivers first: attempts hanging on them end at once, so closing a dispatcher waits for nothing.
    for (const started of receivers.splice(0)) await started.close();
    for (const dispatcher of rig.dispatchers.splice(0)) await dispatcher.close();
    await rig.queue.redis.flushdb();
  });

  it("one owner's flood of failing and hanging deliveries does not delay another owner's first attempt by more than a few seconds, on two nodes", async () => {
    // Real schedule and the real 10 s timeout: what an attacker gets.
    const [one, two] = [rig.dispatcher(), rig.dispatcher()];
    const [attacker, victim] = [await rig.owner(), await rig.owner()];
    const failing = await receiver(() => ({ status: 500 }));
    const hanging = await receiver(() => 'hang');
    const fine = await receiver(() => ({ status: 200 }));
    // One in five hangs until the timeout; the others answer 500 (and are retried).
    for (let i = 0; i < 240; i++) await rig.send(attacker, i % 5 === 0 ? hanging.url : failing.url, i % 2 ? one : two);
    await until(() => hanging.open >= 8 && failing.arrivals.length >= 20, 30_000, "the attacker's deliveries to be under way");

    const { sentAt } = await rig.send(victim, fine.url);
    await until(() => fine.arrivals.length === 1, 30_000, "the victim's delivery");
    const delay = fine.arrivals[0]!.at - sentAt;
    assert.ok(delay < 3_000, `the victim's first attempt came ${delay} ms after it was queued`);
    // Each node gave the attacker's hanging receiver a quarter of its 16 slots, no more.
    assert.ok(hanging.maxOpen <= 8, `${hanging.maxOpen} attempts hung at once`);
  });

  it("serves owners round robin: another owner's first delivery goes before the rest of one owner's backlog", async () => {
    // One slot, so that nothing is parked: the order is the queue's alone.
    rig.dispatcher({ concurrency: 1 });
    const [busy, other] = [await rig.owner(), await rig.owner()];
    const slow = await receiver(() => ({ status: 200, afterMs: 300 }));
    for (let i = 0; i < 20; i++) await rig.send(busy, slow.url);
    const { jobId } = await rig.send(other, slow.url);
    await until(() => slow.arrivals.length === 21, 30_000, 'every delivery');
    const position = slow.arrivals.findIndex((arrival) => JSON.parse(arrival.body).data.id === jobId);
    assert.ok(position >= 0 && position <= 5, `the other owner's delivery went ${position + 1}th of 21`);
  });

  it('waits out a retry as a delayed job: with one slot, another delivery goes while the first waits', async () => {
    rig.dispatcher({ concurrency: 1, retryDelaysMs: [1_500] });
    const [first, second] = [await rig.owner(), await rig.owner()];
    const flaky = await receiver((n) => ({ status: n === 0 ? 500 : 200 }));
    const fine = await receiver(() => ({ status: 200 }));
    const { jobId } = await rig.send(first, flaky.url);
    await until(async () => (await rig.record(jobId))?.attempts === 1, 15_000, 'the first attempt to be recorded');
    assert.deepEqual(await rig.record(jobId), { status: 'pending', attempts: 1, lastStatusCode: 500, lastError: 'HTTP 500' });
    assert.equal(await rig.deliveryState(jobId), 'delayed', 'the retry waits in the delayed set, not in a slot');

    await rig.send(second, fine.url);
    await until(() => flaky.arrivals.length === 2, 15_000, 'the retry');
    assert.equal(fine.arrivals.length, 1);
    assert.ok(fine.arrivals[0]!.at < flaky.arrivals[1]!.at, 'the other delivery went during the wait');
    assert.ok(flaky.arrivals[1]!.at - flaky.arrivals[0]!.at >= 1_200, 'the retry waited its scheduled 1.5 s (-20 %)');
    // The same webhook-id, and a valid signature, on both attempts.
    assert.equal(flaky.arrivals[0]!.id, flaky.arrivals[1]!.id);
    for (const got of flaky.arrivals) new Webhook(first.secret).verify(got.body, got.headers as Record<string, string>);
    await until(async () => (await rig.record(jobId))?.status === 'delivered', 15_000, 'the delivered record');
    const record = await rig.record(jobId);
    assert.equal(record?.attempts, 2);
    assert.equal(record?.lastStatusCode, 200);
    assert.ok(Date.parse(record?.deliveredAt ?? '') > 0);
  });

  it("honours a 429's Retry-After within the schedule, and caps a 503's huge one at the schedule's longest wait", async () => {
    rig.dispatcher({ retryDelaysMs: [100, 3_000] });
    const owner = await rig.owner();
    const polite = await receiver((n) => (n === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 }));
    const greedy = await receiver((n) => (n === 0 ? { status: 503, headers: { 'retry-after': '999999' } } : { status: 200 }));
    await rig.send(owner, polite.url);
    await rig.send(owner, greedy.url);
    await until(() => polite.arrivals.length === 2 && greedy.arrivals.length === 2, 20_000, 'both retries');
    const politeGap = polite.arrivals[1]!.at - polite.arrivals[0]!.at;
    assert.ok(politeGap >= 1_950, `Retry-After: 2 lengthened the 100 ms wait to 2 s (waited ${politeGap} ms)`);
    // 999999 s (11 days) came down to the schedule's longest wait, 3 s, checked by the 20 s deadline above.
    assert.ok(greedy.arrivals[1]!.at - greedy.arrivals[0]!.at >= 1_950);
  });

  for (const [how, change, code] of [
    ['revoked', (rig: WebhookRig, keyId: string) => rig.keys.revokeIfNot(keyId, new Date().toISOString()), 'KEY_REVOKED'],
    ['disabled', (rig: WebhookRig, keyId: string) => rig.keys.update(keyId, { disabled: true }), 'KEY_DISABLED'],
    ['stripped of its screenshot scope', (rig: WebhookRig, keyId: string) => rig.keys.update(keyId, { scopes: ['usage:read'] }), 'INSUFFICIENT_SCOPE'],
  ] as const) {
    it(`makes no further attempt for a key ${how} between attempts, and says why on the record`, async () => {
      rig.dispatcher({ retryDelaysMs: [400, 400, 400] });
      const owner = await rig.owner();
      const failing = await receiver(() => ({ status: 500 }));
      const { jobId } = await rig.send(owner, `${failing.url}?token=s3cr3t`);
      await until(async () => (await rig.record(jobId))?.attempts === 1, 15_000, 'the first attempt');
      await change(rig, owner.keyId);
      await until(async () => (await rig.record(jobId))?.status === 'failed', 15_000, 'the failed record');
      const record = await rig.record(jobId);
      assert.equal(record?.attempts, 1);
      assert.match(record?.lastError ?? '', new RegExp(`\\(${code}\\)$`));
      assert.ok(!record?.lastError?.includes('s3cr3t') && !record?.lastError?.includes(owner.secret));
      assert.equal(await rig.deliveryState(jobId), 'completed');
      assert.equal(failing.arrivals.length, 1, 'no attempt after the change');
    });
  }

  it('makes no further attempt once the key has no webhook signing secret (deleted), and says so', async () => {
    rig.dispatcher({ retryDelaysMs: [400, 400, 400] });
    const owner = await rig.owner();
    const failing = await receiver(() => ({ status: 503 }));
    const { jobId } = await rig.send(owner, failing.url);
    await until(async () => (await rig.record(jobId))?.attempts === 1, 15_000, 'the first attempt');
    await rig.secrets.delete(owner.owner);
    await until(async () => (await rig.record(jobId))?.status === 'failed', 15_000, 'the failed record');
    assert.deepEqual(await rig.record(jobId), { status: 'failed', attempts: 1, lastError: 'the key has no webhook signing secret (it was deleted)' });
    assert.equal(failing.arrivals.length, 1);
  });

  it('signs each attempt with the secret the key has now (a replaced secret signs the next attempt)', async () => {
    rig.dispatcher({ retryDelaysMs: [400] });
    const owner = await rig.owner();
    const flaky = await receiver((n) => ({ status: n === 0 ? 500 : 204 }));
    const { jobId } = await rig.send(owner, flaky.url);
    await until(async () => (await rig.record(jobId))?.attempts === 1, 15_000, 'the first attempt');
    const { secret } = await rig.secrets.create(owner.owner);
    await until(() => flaky.arrivals.length === 2, 15_000, 'the retry');
    new Webhook(owner.secret).verify(flaky.arrivals[0]!.body, flaky.arrivals[0]!.headers as Record<string, string>);
    new Webhook(secret).verify(flaky.arrivals[1]!.body, flaky.arrivals[1]!.headers as Record<string, string>);
    assert.throws(() => new Webhook(owner.secret).verify(flaky.arrivals[1]!.body, flaky.arrivals[1]!.headers as Record<string, string>));
  });

  it('gives up after the last attempt of the schedule, and the record says failed with the last answer', async () => {
    rig.dispatcher({ retryDelaysMs: [50, 50] });
    const owner = await rig.owner();
    const failing = await receiver(() => ({ status: 502 }));
    const { jobId } = await rig.send(owner, failing.url);
    await until(async () => (await rig.record(jobId))?.status === 'failed', 15_000, 'the failed record');
    assert.deepEqual(await rig.record(jobId), { status: 'failed', attempts: 3, lastStatusCode: 502, lastError: 'HTTP 502' });
    assert.equal(failing.arrivals.length, 3);
    assert.equal(new Set(failing.arrivals.map((arrival) => arrival.id)).size, 1);
  });
});

describe('webhook dispatch: workers lost mid-attempt', { skip: noRedisServer }, () => {
  let rig: WebhookRig;
  before(async () => (rig = await WebhookRig.start(1_000)));
  after(() => rig.stop());

  /** A worker node of its own process (see helpers/webhook-node.ts), once it runs; `kill` is SIGKILL. */
  async function workerProcess(secret: string) {
    const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers/webhook-node.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, REDIS_URL: rig.redis.url, WEBHOOK_SECRET: secret, LOCK_MS: '1000' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    await once(child.stdout!, 'data');
    return {
      async kill() {
        child.kill('SIGKILL');
        await exited;
      },
    };
  }

  it('a delivery whose worker died is taken up by another once its lock lapses, with the same webhook-id', async () => {
    const owner = await rig.owner();
    const receiver = await startReceiver((n) => (n === 0 ? 'hang' : { status: 200 }));
    const doomed = await workerProcess(owner.secret);
    try {
      const { jobId } = await rig.send(owner, receiver.url, rig.dispatcher({}, false));
      await until(() => receiver.arrivals.length === 1, 30_000, "the doomed worker's attempt");
      await doomed.kill();
      rig.dispatcher();
      await until(async () => (await rig.record(jobId))?.status === 'delivered', 30_000, 'another worker to deliver it');
      assert.equal(receiver.arrivals.length, 2);
      assert.equal(receiver.arrivals[1]!.id, receiver.arrivals[0]!.id);
      new Webhook(owner.secret).verify(receiver.arrivals[1]!.body, receiver.arrivals[1]!.headers as Record<string, string>);
    } finally {
      await doomed.kill();
      await receiver.close();
      for (const dispatcher of rig.dispatchers.splice(0)) await dispatcher.close();
    }
  });

  it('a delivery that lost its worker twice fails, and its record says so', async () => {
    const owner = await rig.owner();
    const receiver = await startReceiver(() => 'hang');
    const workers = [await workerProcess(owner.secret)];
    try {
      const { jobId } = await rig.send(owner, receiver.url, rig.dispatcher({}, false));
      await until(() => receiver.arrivals.length === 1, 30_000, 'the first attempt');
      await workers[0]!.kill();
      workers.push(await workerProcess(owner.secret));
      await until(() => receiver.arrivals.length === 2, 30_000, 'the attempt after the first loss');
      await workers[1]!.kill();
      rig.dispatcher();
      await until(async () => (await rig.record(jobId))?.status === 'failed', 30_000, 'the failed record');
      assert.equal((await rig.record(jobId))?.lastError, 'the delivery was lost (its worker stopped twice)');
      assert.equal(await rig.deliveryState(jobId), 'failed');
      assert.equal(receiver.arrivals.length, 2, 'not a third time');
    } finally {
      for (const worker of workers) await worker.kill();
      await receiver.close();
      for (const dispatcher of rig.dispatchers.splice(0)) await dispatcher.close();
    }
  });
});
