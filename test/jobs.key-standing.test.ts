/**
 * A job stands or falls with the key that submitted it: jobs queued by a key that is then
 * revoked, disabled, stripped of its scope or narrowed to other hosts do not capture what
 * the key may no longer capture, and a key that went away is not spoken for by a signed
 * webhook. Rotation: with a grace period the old key's jobs run; without one they stop
 * like a revoked key's; either way the successor reads them and signs with the same
 * webhook secret. One node (role `all`) capturing one job at a time, a private Redis, and
 * a page that holds the only slot until the test lets it go, so that jobs wait in the queue.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Webhook } from 'standardwebhooks';
import { DATABASE_FILE } from '../src/store/database.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, tempDataDir, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY } from './helpers/keys.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { startReceiver, type Receiver } from './helpers/webhook-rig.js';

describe('queued jobs and their key', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let site: FixtureSite;
  let server: TestServer;
  let receiver: Receiver;
  let dataDir: string;
  /** Lets the page that holds the capture slot answer. */
  let releaseGate: () => void = () => undefined;

  before(async () => {
    redis = await startPrivateRedis();
    site = await startFixtureSite({
      '/gate': (_req, res) => {
        releaseGate = () => {
          if (!res.headersSent) res.writeHead(200, { 'content-type': 'text/html' }).end('<p>gate</p>');
        };
      },
    });
    receiver = await startReceiver(() => ({ status: 204 }));
    dataDir = tempDataDir();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_REDIS_URL: redis.url, PAGESHOT_MAX_CONCURRENCY: '1', PAGESHOT_DATA_DIR: dataDir });
  });
  after(async () => {
    releaseGate();
    await server?.stop();
    await receiver?.close();
    await site?.close();
    await redis?.kill();
  });

  /** A key with the screenshot scope and a webhook secret; returns its id, key and secret. */
  async function keyWithSecret(settings: Record<string, unknown> = {}) {
    const created = await createKey(server, { name: 'tenant', scopes: ['screenshot'], ...settings });
    const secret = await server.request('/v1/me/webhook-secret', { method: 'POST', headers: bearer(created.key) });
    assert.equal(secret.status, 201);
    return { id: created.id, key: created.key, secret: String(secret.json!.secret), hint: String(secret.json!.hint) };
  }

  /**
   * Holds the only capture slot with a job of the root key's on /gate, then has `key`
   * submit `count` jobs of `url` with a webhook; they wait behind it. Returns their ids.
   */
  async function queueBehindGate(key: string, count: number, url = `${site.url}/`): Promise<string[]> {
    const gateHits = site.hits('/gate');
    const gate = await server.request('/v1/jobs', { body: { url: `${site.url}/gate`, timeout: 60_000 }, headers: bearer(ROOT_KEY) });
    assert.equal(gate.status, 202);
    while (site.hits('/gate') === gateHits) await sleep(20);
    const ids: string[] = [];
    for (let index = 0; index < count; index++) {
      const reply = await server.request('/v1/jobs', { body: { url: `${url}?job=${index}`, webhookUrl: receiver.url }, headers: bearer(key) });
      assert.equal(reply.status, 202, reply.body.toString());
      ids.push(String(reply.json!.id));
    }
    return ids;
  }

  /** Waits until every job in `ids` has finished, reading the queue directly (its key may be gone). */
  async function settled(ids: string[]) {
    const queue = server.app.queue!;
    const deadline = Date.now() + 60_000;
    for (const id of ids) {
      for (;;) {
        const job = await queue.snapshot(id);
        if (job && (job.state === 'completed' || job.state === 'failed')) break;
        assert.ok(Date.now() < deadline, `job ${id} never finished`);
        await sleep(50);
      }
    }
    return Promise.all(ids.map(async (id) => (await queue.snapshot(id))!));
  }

  /** The error code each finished job ended with (undefined for a success). */
  const codesOf = (jobs: Awaited<ReturnType<typeof settled>>) => jobs.map((job) => (job.returnvalue && !job.returnvalue.ok ? job.returnvalue.error.code : undefined));

  /** How many webhooks were sent for `ids` (after a moment for any stray delivery to arrive). */
  async function webhooksFor(ids: string[]): Promise<number> {
    await sleep(500);
    return receiver.arrivals.filter((delivery) => ids.some((id) => delivery.body.includes(id))).length;
  }

  it('a key revoked while its jobs wait: none of them captures, none sends a webhook, and its webhook secret is wiped', async () => {
    const tenant = await keyWithSecret();
    const ids = await queueBehindGate(tenant.key, 4);
    const pageHits = site.hits('/');
    assert.equal((await server.request(`/v1/keys/${tenant.id}`, { method: 'DELETE', headers: bearer(ROOT_KEY) })).status, 200);
    releaseGate();
    const jobs = await settled(ids);
    assert.deepEqual(codesOf(jobs), ['KEY_REVOKED', 'KEY_REVOKED', 'KEY_REVOKED', 'KEY_REVOKED']);
    assert.equal(site.hits('/'), pageHits, 'no capture of the revoked key reached the page');
    assert.equal(await webhooksFor(ids), 0);
    const db = new Database(path.join(dataDir, DATABASE_FILE), { readonly: true });
    try {
      assert.equal((db.prepare('select count(*) as n from webhook_secrets where owner = ?').get(`key:${tenant.id}`) as { n: number }).n, 0);
    } finally {
      db.close();
    }
  });

  it('a key disabled while its jobs wait: they fail KEY_DISABLED without a webhook, and the key reads why once enabled again', async () => {
    const tenant = await keyWithSecret();
    const ids = await queueBehindGate(tenant.key, 2);
    assert.equal((await server.request(`/v1/keys/${tenant.id}`, { method: 'PATCH', body: { disabled: true }, headers: bearer(ROOT_KEY) })).status, 200);
    releaseGate();
    assert.deepEqual(codesOf(await settled(ids)), ['KEY_DISABLED', 'KEY_DISABLED']);
    assert.equal(await webhooksFor(ids), 0);
    assert.equal((await server.request(`/v1/keys/${tenant.id}`, { method: 'PATCH', body: { disabled: false }, headers: bearer(ROOT_KEY) })).status, 200);
    const view = await server.request(`/v1/jobs/${ids[0]}`, { headers: bearer(tenant.key) });
    assert.equal(view.status, 200);
    assert.equal((view.json!.error as Record<string, unknown>).code, 'KEY_DISABLED');
    assert.equal(view.json!.status, 'failed');
  });

  it('a key stripped of its screenshot scope while its jobs wait: they fail INSUFFICIENT_SCOPE without a webhook', async () => {
    const tenant = await keyWithSecret();
    const ids = await queueBehindGate(tenant.key, 2);
    assert.equal((await server.request(`/v1/keys/${tenant.id}`, { method: 'PATCH', body: { scopes: ['usage:read'] }, headers: bearer(ROOT_KEY) })).status, 200);
    releaseGate();
    assert.deepEqual(codesOf(await settled(ids)), ['INSUFFICIENT_SCOPE', 'INSUFFICIENT_SCOPE']);
    assert.equal(await webhooksFor(ids), 0);
  });

  it('a key narrowed to other hosts while its jobs wait: they fail TARGET_FORBIDDEN, capture nothing, and say so by webhook', async () => {
    const tenant = await keyWithSecret({ allowedHosts: ['127.0.0.1', 'localhost'] });
    const ids = await queueBehindGate(tenant.key, 2, `http://localhost:${site.port}/`);
    const pageHits = site.hits('/');
    assert.equal((await server.request(`/v1/keys/${tenant.id}`, { method: 'PATCH', body: { allowedHosts: ['127.0.0.1'] }, headers: bearer(ROOT_KEY) })).status, 200);
    releaseGate();
    assert.deepEqual(codesOf(await settled(ids)), ['TARGET_FORBIDDEN', 'TARGET_FORBIDDEN']);
    assert.equal(site.hits('/'), pageHits);
    // The key itself still stands: its receiver hears that the jobs failed.
    assert.equal(await webhooksFor(ids), 2);
  });

  it('a rotation with a grace period: the old key\'s queued jobs run, sign with the secret the receiver has, and the successor reads them', async () => {
    const tenant = await keyWithSecret();
    const ids = await queueBehindGate(tenant.key, 2);
    const rotated = await server.request(`/v1/keys/${tenant.id}/rotate`, { body: { gracePeriodSeconds: 600 }, headers: bearer(ROOT_KEY) });
    assert.equal(rotated.status, 201);
    const successor = String(rotated.json!.key);
    releaseGate();
    assert.deepEqual(codesOf(await settled(ids)), [undefined, undefined]);
    assert.equal(await webhooksFor(ids), 2);
    const verifier = new Webhook(tenant.secret);
    for (const delivery of receiver.arrivals.filter((item) => ids.some((id) => item.body.includes(id)))) {
      assert.doesNotThrow(() => verifier.verify(delivery.body, delivery.headers as Record<string, string>));
    }
    const secretInfo = await server.request('/v1/me/webhook-secret', { headers: bearer(successor) });
    assert.equal((secretInfo.json!.webhookSecret as Record<string, unknown>).hint, tenant.hint);
    const result = await server.request(`/v1/jobs/${ids[0]}/result`, { headers: bearer(successor) });
    assert.equal(result.status, 200);
    assert.equal(result.headers['content-type'], 'image/png');
  });

  it('a rotation without grace retires the old key at once: its queued jobs fail KEY_REVOKED without a webhook; the successor reads them and keeps the secret', async () => {
    const tenant = await keyWithSecret();
    const ids = await queueBehindGate(tenant.key, 2);
    const rotated = await server.request(`/v1/keys/${tenant.id}/rotate`, { body: { gracePeriodSeconds: 0 }, headers: bearer(ROOT_KEY) });
    assert.equal(rotated.status, 201);
    const successor = String(rotated.json!.key);
    releaseGate();
    assert.deepEqual(codesOf(await settled(ids)), ['KEY_REVOKED', 'KEY_REVOKED']);
    assert.equal(await webhooksFor(ids), 0);
    const view = await server.request(`/v1/jobs/${ids[1]}`, { headers: bearer(successor) });
    assert.equal(view.status, 200);
    assert.equal((view.json!.error as Record<string, unknown>).code, 'KEY_REVOKED');
    // Its webhook says it was never sent, rather than "pending" for ever.
    assert.deepEqual(
      { status: (view.json!.webhook as Record<string, unknown>).status, attempts: (view.json!.webhook as Record<string, unknown>).attempts },
      { status: 'failed', attempts: 0 },
    );
    const secretInfo = await server.request('/v1/me/webhook-secret', { headers: bearer(successor) });
    assert.equal((secretInfo.json!.webhookSecret as Record<string, unknown>).hint, tenant.hint);
  });

  it('another key, even one created later, still cannot read the jobs (404, as for an unknown id)', async () => {
    const tenant = await keyWithSecret();
    const ids = await queueBehindGate(tenant.key, 1);
    releaseGate();
    await settled(ids);
    const stranger = await createKey(server, { name: 'stranger', scopes: ['screenshot'] });
    const reply = await server.request(`/v1/jobs/${ids[0]}`, { headers: bearer(stranger.key) });
    assert.equal(reply.status, 404);
    assert.equal(reply.json!.code, 'JOB_NOT_FOUND');
  });
});
