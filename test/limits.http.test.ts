import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MemoryLimitBackend } from '../src/limits/memory-backend.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY, whoAmI } from './helpers/keys.js';

const REDIS_URL = process.env.PAGESHOT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when something answers on the Redis port. */
async function redisAnswers(): Promise<boolean> {
  const { hostname, port } = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) || 6379 }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** The `r` (remaining) of one policy in the IETF `RateLimit` header. */
function remainingOf(reply: Reply, policy: 'burst' | 'daily'): number {
  const match = new RegExp(`"${policy}";r=(\\d+)`).exec(String(reply.headers.ratelimit));
  assert.ok(match, `no ${policy} in RateLimit: ${reply.headers.ratelimit}`);
  return Number(match[1]);
}

describe('rate limits over HTTP (in-process backend)', () => {
  let server: TestServer;
  let site: FixtureSite;
  let clock = Date.parse('2026-11-23T23:59:58Z');

  before(async () => {
    site = await startFixtureSite();
    server = await startPageShot(
      { ...AUTH_ENV, PAGESHOT_MAX_CONCURRENCY: '1', PAGESHOT_MAX_QUEUE: '0' },
      { limitBackend: new MemoryLimitBackend({ now: () => clock }) },
    );
  });
  after(async () => {
    await server.stop();
    await site.close();
  });

  it('admits exactly `burst` of many simultaneous requests, and says so in its headers', async () => {
    const { key } = await createKey(server, { name: 'burst', scopes: ['screenshot'], limits: { rate: 1, burst: 5, daily: 1000 } });
    const replies = await Promise.all(Array.from({ length: 25 }, () => whoAmI(server, key)));
    const admitted = replies.filter((reply) => reply.status === 200);
    const refused = replies.filter((reply) => reply.status === 429);
    assert.equal(admitted.length, 5);
    assert.equal(refused.length, 20);
    assert.deepEqual(admitted.map((reply) => remainingOf(reply, 'burst')).sort(), [0, 1, 2, 3, 4]);
    const body = refused[0]!.json!;
    assert.equal(body.code, 'RATE_LIMITED');
    assert.equal(body.retryAfter, 1);
    assert.equal(refused[0]!.headers['retry-after'], '1');
    assert.equal(refused[0]!.headers['x-ratelimit-remaining'], '0');
    assert.equal(refused[0]!.headers['ratelimit-policy'], '"burst";q=5;w=5, "daily";q=1000;w=86400');
  });

  it('admits the retry once Retry-After has passed', async () => {
    const { key } = await createKey(server, { name: 'retry', scopes: ['screenshot'], limits: { rate: 1, burst: 1, daily: 1000 } });
    assert.equal((await whoAmI(server, key)).status, 200);
    const refused = await whoAmI(server, key);
    assert.equal(refused.status, 429);
    clock += Number(refused.headers['retry-after']) * 1000;
    assert.equal((await whoAmI(server, key)).status, 200);
  });

  it('refuses past the daily quota with QUOTA_EXCEEDED until 00:00 UTC, consuming no burst', async () => {
    clock = Date.parse('2026-11-23T23:59:58Z');
    const { key } = await createKey(server, { name: 'daily', scopes: ['screenshot'], limits: { rate: 100, burst: 100, daily: 3 } });
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) replies.push(await whoAmI(server, key));
    assert.deepEqual(replies.map((reply) => remainingOf(reply, 'daily')), [2, 1, 0]);
    assert.equal(replies[2]!.headers['x-ratelimit-limit'], '3', 'the daily quota is closest to refusing');
    const refused = await whoAmI(server, key);
    assert.equal(refused.status, 429);
    assert.equal(refused.json?.code, 'QUOTA_EXCEEDED');
    assert.equal(refused.headers['retry-after'], '2', 'two seconds to midnight');
    assert.equal(remainingOf(refused, 'burst'), remainingOf(replies[2]!, 'burst'), 'the refusal used no burst');
    clock = Date.parse('2026-11-24T00:00:00Z');
    const renewed = await whoAmI(server, key);
    assert.equal(renewed.status, 200);
    assert.equal(remainingOf(renewed, 'daily'), 2);
  });

  it('caps captures in flight per key, refusing at once and consuming nothing', async () => {
    const { key } = await createKey(server, { name: 'conc', scopes: ['screenshot'], limits: { concurrent: 1, rate: 100, burst: 100, daily: 1000 } });
    const running = server.shoot({ url: `${site.url}/slow?ms=1500` }, { headers: bearer(key) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = await whoAmI(server, key);
    const refused = await server.shoot({ url: `${site.url}/` }, { headers: bearer(key) });
    assert.equal(refused.status, 429);
    assert.equal(refused.json?.code, 'CONCURRENCY_LIMITED');
    assert.equal(refused.json?.limit, 1);
    const afterRefusal = await whoAmI(server, key);
    assert.equal(remainingOf(afterRefusal, 'daily'), remainingOf(before, 'daily') - 1, 'only the /v1/me call was counted');
    assert.equal((await running).status, 200);
    assert.equal((await server.shoot({ url: `${site.url}/` }, { headers: bearer(key) })).status, 200, 'the slot is free again');
  });

  it('gives back the daily unit of a request that failed on our side', async () => {
    const { key } = await createKey(server, { name: 'refund', scopes: ['screenshot'], limits: { rate: 100, burst: 100, daily: 1000 } });
    const other = await createKey(server, { name: 'hog', scopes: ['screenshot'] });
    const hog = server.shoot({ url: `${site.url}/slow?ms=1500` }, { headers: bearer(other.key) });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const busy = await server.shoot({ url: `${site.url}/` }, { headers: bearer(key) });
    assert.equal(busy.status, 503, 'the one slot is taken and the queue holds none');
    assert.equal(busy.json?.code, 'QUEUE_FULL');
    const next = await whoAmI(server, key);
    assert.equal(remainingOf(next, 'daily'), 999, 'the refused capture was not charged; only this call was');
    await hog;
  });

  it('counts usage per key: successes, failures and rejections by reason', async () => {
    const { key, id } = await createKey(server, {
      name: 'usage',
      scopes: ['screenshot', 'usage:read'],
      limits: { rate: 100, burst: 3, daily: 1000 },
    });
    assert.equal((await server.shoot({ url: `${site.url}/` }, { headers: bearer(key) })).status, 200);
    assert.equal((await server.shoot({ url: `${site.url}/status?code=500` }, { headers: bearer(key) })).status, 502);
    const limited = await Promise.all([whoAmI(server, key), whoAmI(server, key)]);
    assert.ok(limited.some((reply) => reply.status === 429));
    clock += 2000;
    const own = await server.request('/v1/usage', { headers: bearer(key) });
    assert.equal(own.status, 200);
    const totals = (own.json as { totals: Record<string, unknown> }).totals;
    assert.equal(totals.succeeded, 1);
    assert.equal(totals.failed, 1);
    assert.ok((totals.bytesSent as number) > 1000, 'the image bytes are counted');
    assert.deepEqual(totals.rejectedBy, { RATE_LIMITED: limited.filter((reply) => reply.status === 429).length });
    assert.equal(totals.requests, 4);
    const admin = await server.request(`/v1/keys/${id}/usage`, { headers: bearer(ROOT_KEY) });
    // The admin's view also counts the key's own /v1/usage call made just before.
    assert.deepEqual((admin.json as { totals: unknown }).totals, { ...totals, requests: 5 });
    const forbidden = await server.request(`/v1/keys/${id}/usage`, { headers: bearer(key) });
    assert.equal(forbidden.json?.code, 'INSUFFICIENT_SCOPE');
  });

  it('refuses a backwards or too long usage range', async () => {
    const reply = await server.request('/v1/usage?from=2026-11-10&to=2026-11-01', { headers: bearer(ROOT_KEY) });
    assert.equal(reply.status, 400);
    assert.equal(reply.json?.field, 'from');
  });
});

describe('metrics', () => {
  it('serves Prometheus text to a keys:manage key or the metrics token, with no key or URL in any label', async () => {
    const site = await startFixtureSite();
    const server = await startPageShot({ ...AUTH_ENV, PAGESHOT_METRICS_TOKEN: 'scrape-token-123' });
    try {
      const shooter = await createKey(server, { name: 'm', scopes: ['screenshot'] });
      assert.equal((await server.shoot({ url: `${site.url}/?secret-path=1` }, { headers: bearer(shooter.key) })).status, 200);
      assert.equal((await server.request('/metrics')).status, 401);
      assert.equal((await server.request('/metrics', { headers: bearer(shooter.key) })).json?.code, 'INSUFFICIENT_SCOPE');
      const scraped = await server.request('/metrics', { headers: bearer('scrape-token-123') });
      assert.equal(scraped.status, 200);
      const text = scraped.body.toString();
      assert.match(text, /pageshot_http_requests_total\{route="\/screenshot",method="POST",status="200"\} 1/);
      assert.match(text, /pageshot_capture_duration_seconds_count\{outcome="succeeded"\} 1/);
      assert.match(text, /pageshot_queue_depth 0/);
      assert.match(text, /pageshot_rate_limit_refusals_total/);
      for (const secret of [shooter.key, shooter.id, 'secret-path', site.url]) assert.equal(text.includes(secret), false, secret);
      assert.equal((await server.request('/metrics', { headers: bearer(ROOT_KEY) })).status, 200);
    } finally {
      await server.stop();
      await site.close();
    }
  });

  it('names Node\'s process metrics as stock dashboards expect, and every PageShot metric pageshot_*', async () => {
    const server = await startPageShot({ ...AUTH_ENV, PAGESHOT_METRICS_TOKEN: 'scrape-token-123' });
    try {
      const text = (await server.request('/metrics', { headers: bearer('scrape-token-123') })).body.toString();
      const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]!);
      // What Grafana's "NodeJS Application Dashboard" (11159) and its kin query.
      for (const name of [
        'process_cpu_seconds_total',
        'process_cpu_user_seconds_total',
        'process_resident_memory_bytes',
        'process_start_time_seconds',
        'nodejs_eventloop_lag_seconds',
        'nodejs_heap_size_used_bytes',
        'nodejs_heap_size_total_bytes',
        'nodejs_active_handles_total',
        'nodejs_version_info',
      ]) {
        assert.ok(families.includes(name), `${name} is missing from /metrics`);
        assert.match(text, new RegExp(`^${name}(?:\\{[^}]*\\})? \\S+`, 'm'), `${name} has no sample`);
      }
      // The old prefixed names are gone; the rest are PageShot's own, each under pageshot_.
      assert.deepEqual(families.filter((name) => /^pageshot_(?:process|nodejs)_/.test(name)), []);
      const own = families.filter((name) => !/^(?:process|nodejs)_/.test(name));
      assert.ok(own.length >= 8 && own.every((name) => name.startsWith('pageshot_')), own.join(', '));
      assert.equal(new Set(families).size, families.length, 'no name is served twice');
    } finally {
      await server.stop();
    }
  });
});

describe('rate limits shared through Redis', async () => {
  const available = await redisAnswers();
  const skip = available ? false : `Redis at ${REDIS_URL} does not answer; CI starts it`;

  it('shares one burst exactly between two instances', { skip }, async () => {
    const dataDir = (await import('./helpers/harness.js')).tempDataDir();
    const env = { ...AUTH_ENV, PAGESHOT_REDIS_URL: REDIS_URL, PAGESHOT_DATA_DIR: dataDir };
    const first = await startPageShot(env);
    const second = await startPageShot(env);
    try {
      const { key } = await createKey(first, { name: 'shared', scopes: ['screenshot'], limits: { rate: 1, burst: 6, daily: 1000 } });
      const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => whoAmI(i % 2 ? first : second, key)));
      assert.equal(replies.filter((reply) => reply.status === 200).length, 6);
      assert.equal(replies.filter((reply) => reply.status === 429).length, 24);
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it('answers 503 LIMITS_UNAVAILABLE when Redis is down and the mode is closed, and falls back when local', async () => {
    const down = 'redis://127.0.0.1:1';
    const closed = await startPageShot({ ...AUTH_ENV, PAGESHOT_REDIS_URL: down, PAGESHOT_LIMITS_ON_STORE_FAILURE: 'closed' });
    try {
      const reply = await whoAmI(closed, ROOT_KEY);
      assert.equal(reply.status, 503);
      assert.equal(reply.json?.code, 'LIMITS_UNAVAILABLE');
      assert.equal(reply.headers['retry-after'], '1');
    } finally {
      await closed.stop();
    }
    const local = await startPageShot({ ...AUTH_ENV, PAGESHOT_REDIS_URL: down });
    try {
      const reply = await whoAmI(local, ROOT_KEY);
      assert.equal(reply.status, 200);
      assert.equal(remainingOf(reply, 'burst'), 499, 'per-instance limits still apply');
    } finally {
      await local.stop();
    }
  });
});
