/**
 * Property: whatever a caller submits as a job — webhook URLs in every spelling, metadata
 * of any shape and depth, options in odd combinations — the submission answers 202 or a
 * JSON error in the shared shape (never a 500), every accepted job ends without a 500 of
 * its own, and the process keeps serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey } from './helpers/keys.js';
import { anyJson, assertJsonErrorNot500, nastyString, seeded } from './helpers/property.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

/** Webhook URLs from valid to hostile: private and mapped addresses, credentials, odd schemes, junk. */
function webhookUrl(receiver: string) {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(receiver) },
    fc.constantFrom(
      'http://127.0.0.2:1/hook',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://0x7f.1/',
      'http://2130706433/',
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'https://user:pw@example.test/',
      'http://example.test:99999/',
      'HTTP://EXAMPLE.test/',
      'https://xn--/',
      'http://a b.test/',
      'javascript:alert(1)',
      'file:///etc/passwd',
      `http://${'a'.repeat(300)}.test/`,
      `http://x.test/${'%'.repeat(2000)}`,
    ),
    nastyString,
    anyJson,
  );
}

/** Metadata: JSON of any shape, objects with keys that bite, values too big, and nesting deep and wide. */
const metadata = fc.oneof(
  { weight: 4, arbitrary: fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 4 }), { maxKeys: 8 }) },
  fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 8 }),
  fc.constantFrom(
    { ['__proto__']: { polluted: true } },
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}') as unknown,
    { big: 'x'.repeat(5000) },
    Object.fromEntries(Array.from({ length: 100 }, (_, index) => [`k${index}`, index])),
    [1, 2, 3],
    null,
  ),
  anyJson,
);

/** Capture options a job may carry, plausible and not. */
function captureOptions(site: FixtureSite) {
  return {
    // Mostly valid, so that many jobs get as far as a worker.
    url: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(`${site.url}/`, `${site.url}/tall?h=2000`, `${site.url}/status?code=500`) }, fc.constant('http://10.0.0.1/'), nastyString),
    format: fc.constantFrom('png', 'jpeg', 'webp', 'pdf', 'png', 'gif'),
    fullPage: fc.boolean(),
    width: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 100, max: 1600 }) }, anyJson),
    selector: fc.constantFrom('#block', '#missing', 'div['),
    js: fc.constantFrom('1', 'throw 1', 'for(;;){}'),
    cacheTtl: fc.constantFrom(0, 60, 60, -1),
    fresh: fc.boolean(),
  };
}

/** A body `depth` objects deep under `field`, as raw JSON (too deep to build as an object and stringify). */
function deepBody(url: string, field: string, depth: number): string {
  return `{"url":${JSON.stringify(url)},${JSON.stringify(field)}:${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
}

const noRedis = noRedisServer;

describe('property: job submissions never answer 500, and the jobs they start never end in one', { skip: noRedis }, () => {
  let redis: PrivateRedis;
  let site: FixtureSite;
  let server: TestServer;
  let key: string;
  let receiver: string;
  const accepted: string[] = [];

  before(async () => {
    redis = await startPrivateRedis();
    site = await startFixtureSite();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_REDIS_URL: redis.url, PAGESHOT_ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32' });
    key = (await createKey(server, { name: 'property', scopes: ['screenshot'] })).key;
    assert.equal((await server.request('/v1/me/webhook-secret', { method: 'POST', headers: bearer(key) })).status, 201);
    receiver = `${site.url}/`;
  });
  after(async () => {
    await server?.stop();
    await site?.close();
    await redis?.kill();
  });

  /** Submits `body`; a 202 is remembered, anything else must be a JSON error that is not a 500. */
  async function submit(body: unknown, raw?: string): Promise<Reply> {
    const reply = await server.request('/v1/jobs', {
      headers: bearer(key),
      ...(raw === undefined ? { body } : { rawBody: { data: raw, contentType: 'application/json' } }),
    });
    if (reply.status === 202) accepted.push(String(reply.json!.id));
    else assertJsonErrorNot500(reply, body ?? raw?.slice(0, 200));
    return reply;
  }

  it('over webhook URLs, metadata shapes and option combinations', async () => {
    const body = fc
      .tuple(fc.record(captureOptions(site), { requiredKeys: ['url'] }), fc.option(webhookUrl(receiver), { freq: 3 }), fc.option(metadata, { freq: 3 }))
      .map(([options, webhook, meta]) => ({ timeout: 3000, ...options, ...(webhook === null ? {} : { webhookUrl: webhook }), ...(meta === null ? {} : { metadata: meta }) }));
    await fc.assert(
      fc.asyncProperty(body, async (job) => {
        await submit(job);
      }),
      { numRuns: 80, interruptAfterTimeLimit: 120_000, ...seeded },
    );
    assert.ok(accepted.length >= 10, `only ${accepted.length} generated jobs were valid and accepted`);
  });

  it('refuses metadata nested deeper than any real use with 400 VALIDATION_ERROR naming the field', async () => {
    for (const depth of [1_000, 5_000, 50_000]) {
      const reply = await submit(undefined, deepBody(`${site.url}/`, 'metadata', depth));
      assert.equal(reply.status, 400, `depth ${depth}: ${reply.body.toString().slice(0, 200)}`);
      assert.equal(reply.json!.code, 'VALIDATION_ERROR');
      assert.equal(reply.json!.field, 'metadata');
    }
  });

  it('ends every accepted job without a 500 of its own, and keeps serving', async () => {
    const deadline = Date.now() + 180_000;
    const pending = new Set(accepted);
    while (pending.size > 0 && Date.now() < deadline) {
      for (const id of [...pending]) {
        const reply = await server.request(`/v1/jobs/${id}`, { headers: bearer(key) });
        assert.equal(reply.status, 200, reply.body.toString());
        const job = reply.json!;
        if (job.status !== 'succeeded' && job.status !== 'failed') continue;
        pending.delete(id);
        const error = job.error as { status: number; code: string } | null;
        assert.ok(!error || error.status !== 500, `job ${id} ended in ${JSON.stringify(error)}`);
      }
      if (pending.size > 0) await sleep(250);
    }
    assert.equal(pending.size, 0, `${pending.size} jobs never finished`);
    assert.equal((await server.request('/status')).status, 200);
    assert.equal((await server.shoot({ url: `${site.url}/` }, { headers: bearer(key) })).status, 200);
  });
});
