/**
 * `GET /readyz`: the readiness probe, against real parts — Chromium, SQLite or a private
 * PostgreSQL database behind a TCP relay the test can stall or cut, a private
 * redis-server the test kills — and during a real shutdown.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { AUTH_ENV } from './helpers/keys.js';
import { startPageShot, type Reply, type TestServer } from './helpers/harness.js';
import { parseAnswer, type RawAnswer } from './helpers/raw-http.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { POSTGRES_URL, postgresSkipReason } from './helpers/postgres.js';

/** The PostgreSQL the store suite runs against (CI starts it); override with PAGESHOT_TEST_DATABASE_URL. */

/** Asserts a 503 unready answer whose `checks` say `expected` (other parts "ok"), in the shared error shape. */
function assertUnready(reply: Reply, expected: Record<string, string | RegExp>): void {
  assert.equal(reply.status, 503, `expected 503, got ${reply.status}: ${reply.body.toString()}`);
  const body = reply.json!;
  assert.equal(body.status, 'unready');
  assert.equal(body.code, 'NOT_READY');
  assert.equal(typeof body.requestId, 'string');
  const checks = body.checks as Record<string, string>;
  for (const [name, want] of Object.entries(expected)) {
    if (typeof want === 'string') assert.equal(checks[name], want, `checks.${name}`);
    else assert.match(checks[name] ?? '', want, `checks.${name}`);
    assert.match(String(body.error), new RegExp(name), 'the message names the failing part');
  }
  for (const [name, value] of Object.entries(checks)) if (!(name in expected)) assert.equal(value, 'ok', `checks.${name}`);
  assert.equal(reply.headers['cache-control'], 'no-store');
}

/** Asks /readyz every 100 ms until it answers `status`, for at most `withinMs`; returns that answer (or the last). */
async function readyzUntil(server: TestServer, status: number, withinMs: number): Promise<{ reply: Reply; afterMs: number }> {
  const started = Date.now();
  for (;;) {
    const reply = await server.request('/readyz');
    const afterMs = Date.now() - started;
    if (reply.status === status || afterMs > withinMs) return { reply, afterMs };
    await sleep(100);
  }
}

describe('GET /readyz on an all node (SQLite, no Redis)', () => {
  let server: TestServer;
  before(async () => {
    server = await startPageShot();
  });
  after(() => server.stop());

  it('answers 200 ready with the browser and the database ok, no redis check, not cached', async () => {
    const reply = await server.request('/readyz');
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.json, { status: 'ready', checks: { browser: 'ok', database: 'ok' } });
    assert.equal(reply.headers['cache-control'], 'no-store');
  });

  it('answers 503 naming the browser once it is closed, and /healthz stays 200', async () => {
    await server.app.browsers.close();
    assertUnready(await server.request('/readyz'), { browser: 'stopped' });
    assert.equal((await server.request('/healthz')).status, 200, 'liveness does not depend on the browser');
  });
});

describe('GET /readyz needs no key', () => {
  let server: TestServer;
  before(async () => {
    server = await startPageShot(AUTH_ENV, { print: () => undefined });
  });
  after(() => server.stop());

  it('answers 200 without a key while authentication is on (which a capture without one proves)', async () => {
    assert.equal((await server.shoot({ url: 'https://example.com' })).status, 401, 'authentication is on');
    const reply = await server.request('/readyz');
    assert.equal(reply.status, 200, reply.body.toString());
    assert.equal(reply.json!.status, 'ready');
  });
});

/** A TCP relay to PostgreSQL that the test can stall (bytes stop flowing) or cut (refuse and reset). */
interface Relay {
  port: number;
  stall(): void;
  cut(): Promise<void>;
}

async function startRelay(target: URL): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  let stalled = false;
  const relay = net.createServer((client) => {
    sockets.add(client);
    client.on('error', () => undefined);
    client.on('close', () => sockets.delete(client));
    if (stalled) return; // accepted, never answered: a host that went silent
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => sockets.delete(upstream));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  return {
    port: (relay.address() as net.AddressInfo).port,
    stall() {
      stalled = true;
      // The connections stay open, but nothing crosses them any more.
      for (const socket of sockets) socket.unpipe();
    },
    async cut() {
      const closed = new Promise((resolve) => relay.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Runs `statement` on the test PostgreSQL's server (admin statements: create and drop database). */
async function onPostgres(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A PostgreSQL database of this suite's own, reached through a relay the test controls. */
interface RelayedDatabase {
  url: string;
  relay: Relay;
  /** Cuts the relay and drops the database (after the app that used it has stopped). */
  drop(): Promise<void>;
}

/** A database of its own, so the store suite's drops and this suite's migrations never meet. */
async function relayedDatabase(): Promise<RelayedDatabase> {
  const database = `pageshot_probes_${randomUUID().replaceAll('-', '')}`;
  await onPostgres(`create database ${database}`);
  const relay = await startRelay(new URL(POSTGRES_URL));
  const url = new URL(POSTGRES_URL);
  url.host = `127.0.0.1:${relay.port}`;
  url.pathname = `/${database}`;
  return {
    url: url.toString(),
    relay,
    drop: () => onPostgres(`drop database if exists ${database} with (force)`),
  };
}

const noPostgres = await postgresSkipReason();

describe('GET /readyz with PostgreSQL', { skip: noPostgres }, () => {
  let database: RelayedDatabase;
  let relay: Relay;
  let server: TestServer;
  before(async () => {
    database = await relayedDatabase();
    relay = database.relay;
    server = await startPageShot({ PAGESHOT_DATABASE_URL: database.url });
  });
  after(async () => {
    // Cut first: a query stuck on the stalled relay would otherwise hold the pool's close.
    await relay.cut();
    await server.stop();
    await database.drop();
  });

  it('answers 200 while PostgreSQL answers', async () => {
    const reply = await server.request('/readyz');
    assert.equal(reply.status, 200, reply.body.toString());
    assert.deepEqual(reply.json!.checks, { browser: 'ok', database: 'ok' });
  });

  it('answers 503 naming the database within about a second when PostgreSQL goes silent (the query hangs)', async () => {
    relay.stall();
    const started = Date.now();
    // Bounded, so a probe without its own timeout fails here instead of hanging the suite.
    const reply = await server.request('/readyz', { signal: AbortSignal.timeout(5_000) });
    const tookMs = Date.now() - started;
    assertUnready(reply, { database: /no answer within 1000 ms/ });
    assert.ok(tookMs >= 900 && tookMs < 2_500, `answered after ${tookMs} ms`);
  });

  it('answers 503 naming the database when PostgreSQL refuses connections', async () => {
    await relay.cut();
    const { reply, afterMs } = await readyzUntil(server, 503, 2_000);
    assertUnready(reply, { database: 'query failed' });
    assert.ok(afterMs < 2_000, `still ready ${afterMs} ms after the cut`);
  });
});

describe('GET /readyz with Redis', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  before(async () => {
    redis = await startPrivateRedis();
  });
  after(() => redis.kill());

  it('on an api node: checks the database and Redis, and no browser', async () => {
    const server = await startPageShot({ PAGESHOT_ROLE: 'api', PAGESHOT_REDIS_URL: redis.url });
    try {
      const reply = await server.request('/readyz');
      assert.equal(reply.status, 200, reply.body.toString());
      assert.deepEqual(reply.json, { status: 'ready', checks: { database: 'ok', redis: 'ok' } });
    } finally {
      await server.stop();
    }
  });

  it('on a worker node: checks the browser, the database and Redis', async () => {
    const server = await startPageShot({ PAGESHOT_ROLE: 'worker', PAGESHOT_REDIS_URL: redis.url });
    try {
      const reply = await server.request('/readyz');
      assert.equal(reply.status, 200, reply.body.toString());
      assert.deepEqual(reply.json, { status: 'ready', checks: { browser: 'ok', database: 'ok', redis: 'ok' } });
    } finally {
      await server.stop();
    }
  });

  it('on an all node: redis ok, then 503 naming redis within 2 s of Redis being killed', async () => {
    const server = await startPageShot({ PAGESHOT_REDIS_URL: redis.url });
    try {
      const ready = await server.request('/readyz');
      assert.equal(ready.status, 200, ready.body.toString());
      assert.deepEqual(ready.json!.checks, { browser: 'ok', database: 'ok', redis: 'ok' });
      await redis.kill();
      const { reply, afterMs } = await readyzUntil(server, 503, 2_000);
      assertUnready(reply, { redis: /ping failed|no answer/ });
      assert.ok(afterMs < 2_000, `still ready ${afterMs} ms after Redis was killed`);
      // Back on the same port: without Redis, stopping the node's job worker takes seconds.
      redis = await startPrivateRedis(redis.port);
    } finally {
      await server.stop();
    }
  });
});

describe('GET /readyz runs its checks at once', { skip: noPostgres ?? noRedisServer }, () => {
  it('answers within about one timeout, not two, when PostgreSQL and Redis both go silent', async () => {
    const database = await relayedDatabase();
    const redis = await startPrivateRedis();
    const server = await startPageShot({ PAGESHOT_DATABASE_URL: database.url, PAGESHOT_REDIS_URL: redis.url });
    try {
      assert.equal((await server.request('/readyz')).status, 200);
      database.relay.stall();
      redis.process.kill('SIGSTOP'); // its connections stay open, and nothing answers on them
      const started = Date.now();
      const reply = await server.request('/readyz', { signal: AbortSignal.timeout(5_000) });
      const tookMs = Date.now() - started;
      assertUnready(reply, { database: /no answer within 1000 ms/, redis: /no answer within 1000 ms/ });
      assert.ok(tookMs < 1_800, `answered after ${tookMs} ms: the checks ran one after the other`);
    } finally {
      // Redis answers again before the node stops (its job worker would wait for it); the stuck query ends with the relay.
      redis.process.kill('SIGCONT');
      await database.relay.cut();
      await server.stop();
      await redis.kill();
      await database.drop();
    }
  });
});

describe('GET /readyz during shutdown', () => {
  it('answers 503 to a probe that arrives while the server drains', async () => {
    const server = await startPageShot();
    let answer: RawAnswer | undefined;
    try {
      const { hostname, port } = new URL(server.url);
      const socket = net.connect({ host: hostname, port: Number(port) });
      await once(socket, 'connect');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      const closed = once(socket, 'close');
      // Half a request: the connection is busy, so closing the server waits for it
      // (a load balancer's probe on a kept-alive connection, caught mid-request).
      socket.write(`GET /readyz HTTP/1.1\r\nHost: ${hostname}\r\n`);
      await sleep(100);
      const stopping = server.app.stop();
      socket.write('\r\n');
      await closed;
      answer = parseAnswer(Buffer.concat(chunks).toString('latin1'), 0);
      await stopping;
    } finally {
      await server.stop();
    }
    assert.equal(answer.status, 503, JSON.stringify(answer));
    assert.equal(answer.json?.code, 'SHUTTING_DOWN');
  });
});
