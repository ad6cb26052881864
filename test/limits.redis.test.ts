/**
 * RedisLimitBackend on a real Redis (127.0.0.1:6379, started by CI), and
 * FailoverLimitBackend against a Redis that is down or goes down. Every caller of this
 * run starts with one random prefix; its keys are deleted at the end.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import {
  FailoverLimitBackend,
  type FailoverLogger,
  type FailoverMode,
  LimitStoreUnavailableError,
} from '../src/limits/failover-backend.js';
import { RedisLimitBackend } from '../src/limits/redis-backend.js';
import type { LimitDecision, LimitPolicy } from '../src/limits/policy.js';
import { backendBehaviour } from './limits.behaviour.test.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

const REDIS_URL = 'redis://127.0.0.1:6379';
const RUN = `t-${randomUUID()}`;

/** Why the suite cannot run here, or undefined when Redis answers. */
async function redisMissing(): Promise<string | undefined> {
  const probe = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${REDIS_URL} does not answer (${(error as Error).message}); start redis-server to run these tests`;
  } finally {
    probe.disconnect();
  }
}

const skipRedis = await redisMissing();
if (skipRedis) console.log(`# SKIP limits.redis: ${skipRedis}`);

const admittedCount = (decisions: LimitDecision[]): number => decisions.filter((d) => d.allowed).length;

/** A logger that remembers what it was told. */
function recordingLogger(): FailoverLogger & { lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = [];
  return {
    lines,
    warn: (_d, m) => void lines.push(['warn', m]),
    info: (_d, m) => void lines.push(['info', m]),
    error: (_d, m) => void lines.push(['error', m]),
  };
}

describe('RedisLimitBackend on a real Redis', { skip: skipRedis }, () => {
  let admin: Redis;
  before(() => {
    admin = new Redis(REDIS_URL);
  });
  after(async () => {
    // Delete every key this run made, whichever test made it.
    const keys = await admin.keys(`pageshot:rl:{${RUN}*`);
    if (keys.length > 0) await admin.del(...keys);
    await admin.quit();
  });

  backendBehaviour('RedisLimitBackend (injected clock)', async (clock) => {
    const backend = new RedisLimitBackend({ redis: REDIS_URL, clock });
    await backend.ready();
    return backend;
  }, `${RUN}:suite`);

  describe('on Redis time', () => {
    let one: RedisLimitBackend;
    let two: RedisLimitBackend;
    before(async () => {
      one = new RedisLimitBackend({ redis: REDIS_URL });
      two = new RedisLimitBackend({ redis: REDIS_URL });
      await Promise.all([one.ready(), two.ready()]);
    });
    after(async () => {
      await Promise.all([one.close(), two.close()]);
    });

    // rate 0.01: no token comes back during the test, so exactly `burst` may pass.
    const slow: LimitPolicy = { rate: 0.01, burst: 100, daily: 0 };

    it('admits exactly `burst` of 2000 requests fired at once', async () => {
      const caller = `${RUN}:concurrent`;
      const decisions = await Promise.all(Array.from({ length: 2_000 }, () => one.consume(caller, slow)));
      assert.equal(admittedCount(decisions), 100);
    });

    it('admits exactly `burst` in total when two instances on one Redis fire at once', async () => {
      const caller = `${RUN}:two-instances`;
      // Issued alternately, so both connections have requests in flight at once.
      const pending: Array<[Promise<LimitDecision>, Promise<LimitDecision>]> = [];
      for (let i = 0; i < 1_000; i++) pending.push([one.consume(caller, slow), two.consume(caller, slow)]);
      const fromOne = await Promise.all(pending.map(([a]) => a));
      const fromTwo = await Promise.all(pending.map(([, b]) => b));
      assert.equal(admittedCount(fromOne) + admittedCount(fromTwo), 100);
      assert.ok(admittedCount(fromOne) > 0 && admittedCount(fromTwo) > 0, 'both instances got some');
    });

    it('admits exactly the daily quota of requests fired at once from two instances', async () => {
      const caller = `${RUN}:two-instances-daily`;
      const policy = { rate: 0, burst: 0, daily: 150 };
      const pending: Array<Promise<LimitDecision>> = [];
      for (let i = 0; i < 500; i++) pending.push(one.consume(caller, policy), two.consume(caller, policy));
      assert.equal(admittedCount(await Promise.all(pending)), 150);
    });

    it('stores a caller under two hash-tagged keys that expire by themselves', async () => {
      const caller = `${RUN}:ttl`;
      await one.consume(caller, { rate: 10, burst: 20, daily: 100 }); // T = 100 ms
      await one.consume(caller, { rate: 10, burst: 20, daily: 100 });
      const burstKey = `pageshot:rl:{${caller}}:burst`;
      const dailyKey = `pageshot:rl:{${caller}}:daily`;
      assert.equal(one.key(caller, 'burst'), burstKey);
      const [burstTtl, dailyTtl] = await Promise.all([admin.pttl(burstKey), admin.pttl(dailyKey)]);
      // The bucket is full again 2 × 100 ms after the first request.
      assert.ok(burstTtl > 0 && burstTtl <= 200, `burst key PTTL ${burstTtl}`);
      const [seconds] = await admin.time();
      const toMidnightMs = (86_400 - (Number(seconds) % 86_400)) * 1000;
      assert.ok(dailyTtl > 0 && dailyTtl <= toMidnightMs + 60_000 + 1_000, `daily key PTTL ${dailyTtl}`);
      assert.ok(dailyTtl > toMidnightMs - 5_000, `daily key outlives its day: PTTL ${dailyTtl}`);
      assert.deepEqual(await admin.hgetall(dailyKey), { day: String(Math.floor(Number(seconds) / 86_400)), used: '2' });
    });

    it('uses Redis\'s clock, not the local one', async () => {
      const realNow = Date.now;
      Date.now = () => realNow() + 7 * 3_600_000; // this process's clock 7 h ahead
      try {
        const caller = `${RUN}:skew`;
        const decision = await one.consume(caller, { rate: 0, burst: 0, daily: 5 });
        const [seconds] = await admin.time();
        const toMidnight = 86_400 - (Number(seconds) % 86_400);
        const reset = decision.daily!.resetSeconds;
        assert.ok(Math.abs(reset - toMidnight) <= 1, `reset ${reset} s vs ${toMidnight} s to midnight on Redis's clock`);
      } finally {
        Date.now = realNow;
      }
    });

    it('keeps deciding after Redis forgets the script (NOSCRIPT → EVAL)', async () => {
      await admin.script('FLUSH');
      const decision = await one.consume(`${RUN}:noscript`, { rate: 1, burst: 3, daily: 0 });
      assert.equal(decision.allowed, true);
      assert.equal(decision.burst!.remaining, 2);
    });

    it('leaves a shared ioredis client open on close()', async (t) => {
      const client = new Redis(REDIS_URL);
      t.after(() => client.disconnect());
      const shared = new RedisLimitBackend({ redis: client });
      await shared.ready();
      assert.equal((await shared.consume(`${RUN}:shared`, slow)).allowed, true);
      await shared.close();
      assert.equal(await client.ping(), 'PONG');
    });
  });
});

describe('FailoverLimitBackend with Redis down', () => {
  const policy = { rate: 1, burst: 3, daily: 100 };
  const downBackend = (mode: FailoverMode, logger = recordingLogger()) =>
    new FailoverLimitBackend({ primary: new RedisLimitBackend({ redis: 'redis://127.0.0.1:1' }), mode, logger });

  it("enforces limits per instance in 'local' mode, logging the outage once and counting failures", async (t) => {
    const logger = recordingLogger();
    let hooked = 0;
    const backend = new FailoverLimitBackend({
      primary: new RedisLimitBackend({ redis: 'redis://127.0.0.1:1' }),
      logger,
      onStoreFailure: () => void (hooked += 1),
    });
    t.after(() => backend.close()); // also when an assertion fails: a client left open keeps the process alive
    const decisions: LimitDecision[] = [];
    for (let i = 0; i < 5; i++) decisions.push(await backend.consume(`${RUN}:down`, policy));
    assert.deepEqual(
      decisions.map((d) => d.allowed),
      [true, true, true, false, false],
    );
    assert.equal(decisions[0]!.burst!.remaining, 2);
    assert.equal(backend.degraded, true);
    assert.equal(backend.storeFailures, 1); // the others came within the retry interval
    assert.equal(hooked, 1);
    assert.deepEqual(logger.lines.map(([level]) => level), ['warn']);
  });

  it("throws LimitStoreUnavailableError in 'closed' mode", async (t) => {
    const logger = recordingLogger();
    const backend = downBackend('closed', logger);
    t.after(() => backend.close());
    await assert.rejects(backend.consume(`${RUN}:down`, policy), LimitStoreUnavailableError);
    await assert.rejects(backend.consume(`${RUN}:down`, policy), LimitStoreUnavailableError);
    assert.deepEqual(logger.lines.map(([level]) => level), ['error']);
  });

  it("admits without state in 'open' mode", async (t) => {
    const backend = downBackend('open');
    t.after(() => backend.close());
    for (let i = 0; i < 5; i++) assert.deepEqual(await backend.consume(`${RUN}:down`, policy), { allowed: true });
  });
});

if (noRedisServer) console.log(`# SKIP failover recovery: ${noRedisServer}`);

describe('FailoverLimitBackend when its Redis dies and comes back', { skip: noRedisServer }, () => {
  let server: PrivateRedis | undefined;
  after(() => server?.kill());

  it('falls back to local limits, then returns to Redis by itself', async (t) => {
    server = await startPrivateRedis();
    const { port } = server;
    const logger = recordingLogger();
    const redis = new RedisLimitBackend({ redis: `redis://127.0.0.1:${port}` });
    const backend = new FailoverLimitBackend({ primary: redis, logger, retryIntervalMs: 200 });
    t.after(() => backend.close());
    await redis.ready();
    const policy = { rate: 0.01, burst: 5, daily: 0 };
    const caller = `${RUN}:recovery`;

    assert.equal((await backend.consume(caller, policy)).burst!.remaining, 4); // Redis's count
    await server.kill();

    const during = await backend.consume(caller, policy);
    assert.equal(during.allowed, true);
    assert.equal(during.burst!.remaining, 4); // a fresh local count, not Redis's
    assert.equal(backend.degraded, true);
    assert.deepEqual(logger.lines.map(([level]) => level), ['warn']);

    server = await startPrivateRedis(port); // same port, empty: nothing was persisted
    let recovered: LimitDecision | undefined;
    for (let i = 0; i < 100 && backend.degraded; i++) {
      await sleep(100);
      recovered = await backend.consume(caller, { ...policy, burst: 50 });
    }
    assert.equal(backend.degraded, false, 'back on Redis within 10 s');
    assert.equal(recovered!.burst!.remaining, 49); // the new Redis's first request for this caller
    assert.deepEqual(logger.lines.map(([level]) => level), ['warn', 'info']);
    assert.ok(backend.storeFailures >= 1);
  });
});
