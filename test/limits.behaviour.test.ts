/**
 * What every LimitBackend must do, as one suite: run here against MemoryLimitBackend,
 * and imported by limits.redis.test.ts to run against RedisLimitBackend on a real Redis.
 * Time is an injected clock (ms), stepped by the tests, so figures are exact.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rateLimitHeaders, retryAfterHeader } from '../src/limits/headers.js';
import { MemoryLimitBackend } from '../src/limits/memory-backend.js';
import type { LimitBackend, LimitDecision, LimitPolicy } from '../src/limits/policy.js';

/** 2024-05-01T12:00:00.000Z: the start of most tests. */
export const NOON = Date.UTC(2024, 4, 1, 12);
/** 2024-05-02T00:00:00.000Z. */
export const MIDNIGHT = Date.UTC(2024, 4, 2);

/** ms since 1970 as the µs the decisions report instants in. */
const us = (ms: number): number => ms * 1000;

/** Opens a backend that reads time from `clock`; the suite closes it. */
export type OpenBackend = (clock: () => number) => LimitBackend | Promise<LimitBackend>;

/** Fires `count` requests one after the other; returns the decisions. */
async function fire(backend: LimitBackend, caller: string, policy: LimitPolicy, count: number): Promise<LimitDecision[]> {
  const decisions: LimitDecision[] = [];
  for (let i = 0; i < count; i++) decisions.push(await backend.consume(caller, policy));
  return decisions;
}

const admitted = (decisions: LimitDecision[]): number => decisions.filter((d) => d.allowed).length;

/** Registers the behavioural suite for the backend `open` gives. */
export function backendBehaviour(label: string, open: OpenBackend, callerPrefix = `t-${randomUUID()}`): void {
  describe(`${label} behaviour`, () => {
    let now = NOON;
    let backend: LimitBackend;
    let n = 0;
    /** A caller no other test has used, and the clock set to `at`. */
    const fresh = (at = NOON): string => {
      now = at;
      n += 1;
      return `${callerPrefix}:${n}`;
    };

    before(async () => {
      backend = await open(() => now);
    });
    after(async () => {
      await backend.close();
    });

    it('admits exactly `burst` requests at one instant after idle, then refuses the next', async () => {
      const caller = fresh();
      const policy = { rate: 200, burst: 500, daily: 0 };
      const decisions = await fire(backend, caller, policy, 501);
      assert.equal(admitted(decisions.slice(0, 500)), 500);
      assert.equal(decisions[499]!.burst!.remaining, 0);
      assert.deepEqual(decisions[500], {
        allowed: false,
        refusedBy: 'rate',
        retryAfterSeconds: 1,
        burst: { limit: 500, remaining: 0, resetSeconds: 1, resetAtUs: us(NOON) + 5_000, windowSeconds: 3 },
      });
    });

    it('admits burst + 5 × rate over five seconds of requests arriving faster than the rate', async () => {
      const caller = fresh();
      const policy = { rate: 50, burst: 20, daily: 0 };
      let count = 0;
      for (let step = 0; step < 500; step++) {
        now = NOON + step * 10; // two requests every 10 ms: 200/s offered, 50/s allowed
        count += admitted(await fire(backend, caller, policy, 2));
      }
      assert.ok(Math.abs(count - (20 + 5 * 50)) <= 1, `admitted ${count}, expected 270 ± 1`);
    });

    it('reports remaining, reset and retry-after at each step of a slow bucket', async () => {
      const caller = fresh();
      const policy = { rate: 0.5, burst: 2, daily: 0 }; // one request per 2 s, two at once
      const step = async (at: number): Promise<LimitDecision> => {
        now = NOON + at;
        return backend.consume(caller, policy);
      };
      // Where the bucket stands; its window is ceil(2 / 0.5) = 4 s. `grows` is the ms after
      // NOON at which `remaining` next grows: the exact instant, whatever the rounding of `t`.
      const burst = (remaining: number, resetSeconds: number, grows: number) => ({
        limit: 2,
        remaining,
        resetSeconds,
        resetAtUs: us(NOON + grows),
        windowSeconds: 4,
      });
      assert.deepEqual(await step(0), { allowed: true, burst: burst(1, 2, 2_000) });
      assert.deepEqual(await step(0), { allowed: true, burst: burst(0, 2, 2_000) });
      assert.deepEqual(await step(0), {
        allowed: false,
        refusedBy: 'rate',
        retryAfterSeconds: 2,
        burst: burst(0, 2, 2_000),
      });
      assert.deepEqual(await step(1_500), {
        allowed: false,
        refusedBy: 'rate',
        retryAfterSeconds: 1, // 0.5 s, rounded up
        burst: burst(0, 1, 2_000),
      });
      assert.deepEqual(await step(2_000), { allowed: true, burst: burst(0, 2, 4_000) });
      assert.deepEqual(await step(3_000), {
        allowed: false,
        refusedBy: 'rate',
        retryAfterSeconds: 1,
        burst: burst(0, 1, 4_000),
      });
      assert.deepEqual(await step(4_000), { allowed: true, burst: burst(0, 2, 6_000) });
      // tat is now 8 s; after that the bucket is full again.
      assert.deepEqual(await step(10_000), { allowed: true, burst: burst(1, 2, 12_000) });
    });

    it('refuses 1 ms before the retry moment and admits exactly at it', async () => {
      const caller = fresh();
      const policy = { rate: 200, burst: 5, daily: 0 }; // T = 5 ms
      assert.equal(admitted(await fire(backend, caller, policy, 6)), 5);
      now = NOON + 4;
      assert.equal((await backend.consume(caller, policy)).allowed, false);
      now = NOON + 5;
      assert.equal((await backend.consume(caller, policy)).allowed, true);
      now = NOON + 9;
      assert.equal((await backend.consume(caller, policy)).allowed, false);
      now = NOON + 10;
      assert.equal((await backend.consume(caller, policy)).allowed, true);
    });

    it('admits a retry made retryAfterSeconds later', async () => {
      const caller = fresh();
      const policy = { rate: 0.3, burst: 3, daily: 0 };
      await fire(backend, caller, policy, 3);
      const refused = await backend.consume(caller, policy);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retryAfterSeconds, 4); // T = 3.333334 s
      now += refused.retryAfterSeconds! * 1000 - 667; // 0.334 ms before the moment (3 333.334 ms)
      assert.equal((await backend.consume(caller, policy)).allowed, false);
      now = NOON + refused.retryAfterSeconds! * 1000;
      assert.equal((await backend.consume(caller, policy)).allowed, true);
    });

    it('counts the daily quota per UTC day and renews it at 00:00 UTC', async () => {
      const caller = fresh(MIDNIGHT - 1_500);
      const policy = { rate: 0, burst: 0, daily: 3 };
      const decisions = await fire(backend, caller, policy, 4);
      assert.deepEqual(
        decisions.map((d) => d.daily?.remaining),
        [2, 1, 0, 0],
      );
      assert.deepEqual(decisions[3], {
        allowed: false,
        refusedBy: 'daily',
        retryAfterSeconds: 2, // 1.5 s to midnight, rounded up
        daily: { limit: 3, remaining: 0, resetSeconds: 2, resetAtUs: us(MIDNIGHT), windowSeconds: 86_400 },
      });
      now = MIDNIGHT - 1;
      assert.equal((await backend.consume(caller, policy)).allowed, false);
      now = MIDNIGHT;
      assert.deepEqual(await backend.consume(caller, policy), {
        allowed: true,
        daily: { limit: 3, remaining: 2, resetSeconds: 86_400, resetAtUs: us(MIDNIGHT + 86_400_000), windowSeconds: 86_400 },
      });
    });

    it('takes no burst token for a request the daily quota refuses', async () => {
      const caller = fresh();
      await backend.consume(caller, { rate: 1, burst: 2, daily: 1 });
      const refused = await backend.consume(caller, { rate: 1, burst: 2, daily: 1 });
      assert.equal(refused.refusedBy, 'daily');
      assert.equal(refused.burst!.remaining, 1);
      // Same instant, a larger quota: the token the refused request did not take is there.
      const next = await backend.consume(caller, { rate: 1, burst: 2, daily: 5 });
      assert.equal(next.allowed, true);
      assert.equal(next.burst!.remaining, 0);
      assert.equal(next.daily!.remaining, 3);
    });

    it('takes no daily unit for a request the rate refuses', async () => {
      const caller = fresh();
      const policy = { rate: 1, burst: 1, daily: 5 };
      assert.equal((await backend.consume(caller, policy)).daily!.remaining, 4);
      const refused = await backend.consume(caller, policy);
      assert.equal(refused.refusedBy, 'rate');
      assert.equal(refused.daily!.remaining, 4);
      now += 1_000;
      assert.equal((await backend.consume(caller, policy)).daily!.remaining, 3);
    });

    it('names the daily quota and waits for the later policy when both refuse', async () => {
      const caller = fresh(MIDNIGHT - 60_000);
      const policy = { rate: 0.0001, burst: 1, daily: 1 }; // T = 10 000 s
      await backend.consume(caller, policy);
      const refused = await backend.consume(caller, policy);
      assert.equal(refused.refusedBy, 'daily');
      assert.equal(refused.retryAfterSeconds, 10_000);
    });

    it('gives back a refunded daily unit, never going below zero', async () => {
      const caller = fresh();
      const policy = { rate: 0, burst: 0, daily: 2 };
      await fire(backend, caller, policy, 2);
      assert.equal((await backend.consume(caller, policy)).allowed, false);
      await backend.refundDaily(caller);
      assert.equal((await backend.consume(caller, policy)).allowed, true);
      assert.equal((await backend.consume(caller, policy)).allowed, false);

      const other = fresh();
      await backend.refundDaily(other); // nothing used yet
      await backend.consume(other, policy);
      for (let i = 0; i < 3; i++) await backend.refundDaily(other); // one unit back, not three
      assert.equal(admitted(await fire(backend, other, policy, 3)), 2);
    });

    it('treats rate 0 and daily 0 as no limit at all', async () => {
      const caller = fresh();
      const decisions = await fire(backend, caller, { rate: 0, burst: 0, daily: 0 }, 300);
      assert.equal(admitted(decisions), 300);
      assert.deepEqual(decisions[299], { allowed: true });
      const burstOnly = await backend.consume(fresh(), { rate: 10, burst: 5, daily: 0 });
      assert.equal(burstOnly.daily, undefined);
      assert.equal(burstOnly.burst!.remaining, 4);
      const dailyOnly = await backend.consume(fresh(), { rate: 0, burst: 5, daily: 10 });
      assert.equal(dailyOnly.burst, undefined);
      assert.equal(dailyOnly.daily!.remaining, 9);
    });

    it('keeps callers apart', async () => {
      const a = fresh();
      const b = fresh();
      const policy = { rate: 1, burst: 2, daily: 10 };
      await fire(backend, a, policy, 3);
      const first = await backend.consume(b, policy);
      assert.equal(first.allowed, true);
      assert.equal(first.burst!.remaining, 1);
      assert.equal(first.daily!.remaining, 9);
    });

    it('describes the first request of the default policy in headers', async () => {
      const caller = fresh(NOON + 250);
      const decision = await backend.consume(caller, { rate: 200, burst: 500, daily: 2_000 });
      assert.deepEqual(rateLimitHeaders(decision), {
        'X-RateLimit-Limit': '500',
        'X-RateLimit-Remaining': '499',
        'X-RateLimit-Reset': String(NOON / 1000 + 1), // one more in 5 ms: at x.255 s, the next whole second
        'RateLimit-Policy': '"burst";q=500;w=3, "daily";q=2000;w=86400',
        RateLimit: '"burst";r=499;t=1, "daily";r=1999;t=43200',
      });
      assert.equal(retryAfterHeader(decision), undefined);
    });

    it('rejects a policy that makes no sense', async () => {
      await assert.rejects(backend.consume(fresh(), { rate: -1, burst: 1, daily: 0 }), RangeError);
      await assert.rejects(backend.consume(fresh(), { rate: 1, burst: 0, daily: 0 }), RangeError);
      await assert.rejects(backend.consume(fresh(), { rate: 1, burst: 1.5, daily: 0 }), RangeError);
      await assert.rejects(backend.consume(fresh(), { rate: 1, burst: 1, daily: 2.5 }), RangeError);
      await assert.rejects(backend.consume(fresh(), { rate: Number.NaN, burst: 1, daily: 0 }), RangeError);
    });
  });
}

// Run against the in-memory backend only when this file is the one being run, not when
// the Redis suite imports it.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  backendBehaviour('MemoryLimitBackend', (clock) => new MemoryLimitBackend({ now: clock, sweepIntervalMs: 0 }));
}
