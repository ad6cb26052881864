import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideRequest, type CallerState } from '../src/limits/decision.js';
import { FailoverLimitBackend, LimitStoreUnavailableError } from '../src/limits/failover-backend.js';
import { emissionIntervalUs, gcra, msToUs, usUntilNextUtcDay, utcDay, US_PER_DAY } from '../src/limits/gcra.js';
import { rateLimitHeaders, retryAfterHeader } from '../src/limits/headers.js';
import { MemoryLimitBackend } from '../src/limits/memory-backend.js';
import { policyOf } from '../src/limits/limits-hook.js';
import { validatePolicy, type LimitBackend, type LimitDecision, type LimitPolicy } from '../src/limits/policy.js';

const NOON = Date.UTC(2024, 4, 1, 12);
const MIDNIGHT = Date.UTC(2024, 4, 2);

describe('GCRA', () => {
  it('turns a rate into a whole-µs emission interval, rounded up so the rate is never exceeded', () => {
    assert.equal(emissionIntervalUs(200), 5_000);
    assert.equal(emissionIntervalUs(3), 333_334);
    assert.equal(emissionIntervalUs(0.5), 2_000_000);
    assert.equal(emissionIntervalUs(5_000_000), 1);
  });

  it('admits exactly `burst` at one instant after idle, also for a rate with no exact interval', () => {
    for (const [rate, burst] of [[200, 500], [3, 7], [0.3, 1], [1_000, 1_000]] as const) {
      const now = msToUs(NOON);
      let tat = 0;
      let admitted = 0;
      for (let i = 0; i < burst + 5; i++) {
        const result = gcra(tat, now, emissionIntervalUs(rate), burst);
        if (result.allowed) admitted += 1;
        tat = result.tatUs;
        assert.equal(result.remaining, Math.max(0, burst - admitted), `rate ${rate}, request ${i + 1}`);
      }
      assert.equal(admitted, burst, `rate ${rate}`);
    }
  });

  it('leaves tat unchanged when it refuses', () => {
    const now = msToUs(NOON);
    const full = gcra(0, now, 5_000, 1);
    const refused = gcra(full.tatUs, now, 5_000, 1);
    assert.equal(refused.allowed, false);
    assert.equal(refused.tatUs, full.tatUs);
  });

  it('reports a retry time that is exact: 1 µs earlier is refused, at it admitted', () => {
    for (const rate of [200, 3, 0.7]) {
      const interval = emissionIntervalUs(rate);
      const now = msToUs(NOON);
      let tat = 0;
      for (let i = 0; i < 4; i++) tat = gcra(tat, now, interval, 4).tatUs;
      const refused = gcra(tat, now, interval, 4);
      assert.equal(refused.allowed, false);
      assert.equal(refused.retryUs, interval);
      assert.equal(refused.resetUs, interval); // remaining grows when the retry can succeed
      assert.equal(gcra(tat, now + refused.retryUs - 1, interval, 4).allowed, false);
      assert.equal(gcra(tat, now + refused.retryUs, interval, 4).allowed, true);
    }
  });

  it('reports a retry time exact to the ms on a millisecond clock (rate 200: 5 ms)', () => {
    const state: CallerState = { tatUs: 0, day: 0, used: 0 };
    const policy = { rate: 200, burst: 10, daily: 0 };
    for (let i = 0; i < 10; i++) decideRequest(state, policy, msToUs(NOON));
    const refused = gcra(state.tatUs, msToUs(NOON), emissionIntervalUs(200), 10);
    assert.equal(refused.retryUs / 1000, 5);
    assert.equal(decideRequest(state, policy, msToUs(NOON + 4)).allowed, false);
    assert.equal(decideRequest(state, policy, msToUs(NOON + 5)).allowed, true);
  });

  it('admits burst + 5 × rate over five simulated seconds (2 requests every ms)', () => {
    const state: CallerState = { tatUs: 0, day: 0, used: 0 };
    const policy = { rate: 200, burst: 500, daily: 0 };
    let admitted = 0;
    for (let ms = 0; ms < 5_000; ms++) {
      for (let i = 0; i < 2; i++) if (decideRequest(state, policy, msToUs(NOON + ms)).allowed) admitted += 1;
    }
    assert.ok(Math.abs(admitted - 1_500) <= 1, `admitted ${admitted}`);
  });

  it('counts down remaining and reset as the bucket empties and refills', () => {
    const interval = emissionIntervalUs(10); // 100 ms
    const now = msToUs(NOON);
    let tat = 0;
    const seen: Array<[boolean, number, number]> = [];
    for (const at of [0, 0, 0, 0, 50, 100, 350]) {
      const result = gcra(tat, now + at * 1000, interval, 3);
      tat = result.tatUs;
      seen.push([result.allowed, result.remaining, result.resetUs / 1000]);
    }
    assert.deepEqual(seen, [
      [true, 2, 100],
      [true, 1, 100],
      [true, 0, 100],
      [false, 0, 100],
      [false, 0, 50],
      [true, 0, 100],
      [true, 1, 50], // tat was 400 ms: at 350 ms, 250 ms of room → 2 slots, minus this request
    ]);
  });
});

describe('UTC days', () => {
  it('numbers days from 1970 and turns over at 00:00 UTC exactly', () => {
    assert.equal(utcDay(0), 0);
    assert.equal(utcDay(msToUs(MIDNIGHT)) - utcDay(msToUs(MIDNIGHT - 1)), 1);
    assert.equal(utcDay(msToUs(MIDNIGHT - 1)), utcDay(msToUs(NOON)));
  });

  it('counts the µs to the next midnight, a whole day at midnight itself', () => {
    assert.equal(usUntilNextUtcDay(msToUs(MIDNIGHT - 1)), 1_000);
    assert.equal(usUntilNextUtcDay(msToUs(MIDNIGHT)), US_PER_DAY);
    assert.equal(usUntilNextUtcDay(msToUs(NOON)), US_PER_DAY / 2);
  });
});

describe('rate-limit headers', () => {
  const policy = { rate: 200, burst: 500, daily: 2_000 };
  // RFC 8941 List of Items: a String item (the policy name) with integer parameters.
  const item = '"(?:burst|daily)"(?:;[a-z]+=\\d+)+';
  const sfList = new RegExp(`^${item}(?:, ${item})*$`);

  it('describes each step with X-RateLimit-* for the closest policy and both IETF fields', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    const at = MIDNIGHT - 10_000 + 400; // 9.6 s to midnight
    const seen: Array<Record<string, string>> = [];
    for (let i = 0; i < 2_001; i++) {
      const decision = backend.decide('k', policy, at);
      if ([0, 499, 500].includes(i)) seen.push(rateLimitHeaders(decision));
    }
    const epoch = Math.floor(at / 1000);
    assert.deepEqual(seen[0], {
      'X-RateLimit-Limit': '500',
      'X-RateLimit-Remaining': '499',
      'X-RateLimit-Reset': String(epoch + 1), // one more in 5 ms: x.405 s, rounded up to the next second
      'RateLimit-Policy': '"burst";q=500;w=3, "daily";q=2000;w=86400',
      RateLimit: '"burst";r=499;t=1, "daily";r=1999;t=10',
    });
    assert.equal(seen[1]!.RateLimit, '"burst";r=0;t=1, "daily";r=1500;t=10');
    assert.equal(seen[1]!['X-RateLimit-Remaining'], '0');
    assert.equal(seen[2]!.RateLimit, '"burst";r=0;t=1, "daily";r=1500;t=10'); // refused: unchanged
    for (const headers of seen) {
      assert.match(headers['RateLimit-Policy']!, sfList);
      assert.match(headers.RateLimit!, sfList);
    }
  });

  it('points X-RateLimit-* at the daily quota once it is closer to refusing', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    const small = { rate: 200, burst: 500, daily: 3 };
    let decision: LimitDecision = { allowed: true };
    for (let i = 0; i < 4; i++) decision = backend.decide('k', small, NOON);
    assert.equal(decision.refusedBy, 'daily');
    const headers = rateLimitHeaders(decision);
    assert.equal(headers['X-RateLimit-Limit'], '3');
    assert.equal(headers['X-RateLimit-Remaining'], '0');
    assert.equal(headers['X-RateLimit-Reset'], String(MIDNIGHT / 1000));
    assert.equal(headers.RateLimit, '"burst";r=497;t=1, "daily";r=0;t=43200');
    assert.equal(retryAfterHeader(decision), '43200');
  });

  it('breaks a tie of remaining by the policy that refused', () => {
    const state = { limit: 5, remaining: 0, resetSeconds: 1, resetAtUs: (NOON + 1_000) * 1000, windowSeconds: 1 };
    const daily = { limit: 5, remaining: 0, resetSeconds: 900, resetAtUs: (NOON + 900_000) * 1000, windowSeconds: 86_400 };
    const byRate: LimitDecision = { allowed: false, refusedBy: 'rate', retryAfterSeconds: 1, burst: state, daily };
    assert.equal(rateLimitHeaders(byRate)['X-RateLimit-Reset'], String(NOON / 1000 + 1));
    assert.equal(rateLimitHeaders({ ...byRate, refusedBy: 'daily' })['X-RateLimit-Reset'], String(NOON / 1000 + 900));
  });

  it('sends only the policies the caller has, and none for a decision without state', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    const burstOnly = rateLimitHeaders(backend.decide('a', { rate: 2, burst: 10, daily: 0 }, NOON));
    assert.equal(burstOnly['RateLimit-Policy'], '"burst";q=10;w=5');
    assert.equal(burstOnly.RateLimit, '"burst";r=9;t=1');
    const dailyOnly = rateLimitHeaders(backend.decide('b', { rate: 0, burst: 0, daily: 7 }, NOON));
    assert.equal(dailyOnly['RateLimit-Policy'], '"daily";q=7;w=86400');
    assert.equal(dailyOnly['X-RateLimit-Remaining'], '6');
    assert.deepEqual(rateLimitHeaders({ allowed: true }), {});
    for (const form of ['draft-10', 'draft-7', 'draft-6', 'none'] as const) assert.deepEqual(rateLimitHeaders({ allowed: true }, form), {});
  });

  it('gives Retry-After as whole seconds, never less than 1, only when refused', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    const policy1 = { rate: 1_000, burst: 1, daily: 0 };
    assert.equal(retryAfterHeader(backend.decide('r', policy1, NOON)), undefined);
    const refused = backend.decide('r', policy1, NOON); // retry in 1 ms
    assert.equal(retryAfterHeader(refused), '1');
  });

  it('puts X-RateLimit-Reset at the first whole second after the next token, not a second later', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    // A 200/s key refills one request every 5 ms: at t its reset is ceil(t + 5 ms), at
    // most 1.005 s ahead; at x.000 s it is x + 1 (x.005 rounded up).
    for (let offset = 0; offset < 2_000; offset += 37) {
      const at = NOON + offset;
      const decision = backend.decide(`fast-${offset}`, { rate: 200, burst: 10, daily: 0 }, at);
      assert.equal(rateLimitHeaders(decision)['X-RateLimit-Reset'], String(Math.ceil((at + 5) / 1000)), `at +${offset} ms`);
    }
    // A slow key (one request per 2 s) says when its next request is back, to the second.
    const slow = backend.decide('slow', { rate: 0.5, burst: 1, daily: 0 }, NOON + 250);
    assert.equal(rateLimitHeaders(slow)['X-RateLimit-Reset'], String(NOON / 1000 + 3), 'x.250 + 2 s, rounded up');
  });

  it('puts the daily quota\'s X-RateLimit-Reset exactly at 00:00 UTC from any millisecond', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    for (const at of [NOON + 1, NOON + 499, MIDNIGHT - 1_500, MIDNIGHT - 1]) {
      const decision = backend.decide(`day-${at}`, { rate: 0, burst: 0, daily: 5 }, at);
      assert.equal(rateLimitHeaders(decision)['X-RateLimit-Reset'], String(MIDNIGHT / 1000), new Date(at).toISOString());
    }
  });

  it('sends draft-7\'s combined RateLimit for the closest policy, and both quotas in RateLimit-Policy', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    const at = MIDNIGHT - 10_000 + 400; // 9.6 s to midnight
    const first = backend.decide('d7', policy, at);
    assert.deepEqual(rateLimitHeaders(first, 'draft-7'), {
      'X-RateLimit-Limit': '500',
      'X-RateLimit-Remaining': '499',
      'X-RateLimit-Reset': String(Math.ceil((at + 5) / 1000)),
      'RateLimit-Policy': '500;w=3, 2000;w=86400',
      RateLimit: 'limit=500, remaining=499, reset=1',
    });
    const small = backend.decide('d7-daily', { rate: 200, burst: 500, daily: 3 }, at);
    assert.equal(rateLimitHeaders(small, 'draft-7').RateLimit, 'limit=3, remaining=2, reset=10', 'the daily quota is closer');
    // RFC 8941 Dictionary of Integers; RateLimit-Policy a List of Integer Items with `w`.
    assert.match(rateLimitHeaders(small, 'draft-7').RateLimit!, /^limit=\d+, remaining=\d+, reset=\d+$/);
    assert.match(rateLimitHeaders(small, 'draft-7')['RateLimit-Policy']!, /^\d+;w=\d+(?:, \d+;w=\d+)*$/);
  });

  it('sends draft-6\'s separate RateLimit-Limit, -Remaining and -Reset for the closest policy', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    const decision = backend.decide('d6', { rate: 200, burst: 500, daily: 3 }, NOON);
    assert.deepEqual(rateLimitHeaders(decision, 'draft-6'), {
      'X-RateLimit-Limit': '3',
      'X-RateLimit-Remaining': '2',
      'X-RateLimit-Reset': String(MIDNIGHT / 1000),
      'RateLimit-Policy': '500;w=3, 3;w=86400',
      'RateLimit-Limit': '3',
      'RateLimit-Remaining': '2',
      'RateLimit-Reset': '43200',
    });
    const burstOnly = backend.decide('d6-burst', { rate: 2, burst: 10, daily: 0 }, NOON);
    assert.equal(rateLimitHeaders(burstOnly, 'draft-6')['RateLimit-Policy'], '10;w=5');
  });

  it('sends only the X-RateLimit-* trio when no IETF form is wanted', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    const headers = rateLimitHeaders(backend.decide('none', policy, NOON), 'none');
    assert.deepEqual(Object.keys(headers).sort(), ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset']);
  });
});

describe('MemoryLimitBackend memory', () => {
  const policy = { rate: 10, burst: 5, daily: 100 };

  it('forgets callers whose bucket is full again and who used nothing today', () => {
    let now = NOON;
    const backend = new MemoryLimitBackend({ now: () => now, sweepIntervalMs: 0 });
    for (let i = 0; i < 1_000; i++) backend.decide(`caller-${i}`, policy);
    backend.decide('busy', { rate: 0.00001, burst: 1, daily: 0 }); // full again after 100 000 s
    assert.equal(backend.size, 1_001);
    assert.equal(backend.sweep(NOON + 60_000), 0, 'today\'s counts are kept');
    now = MIDNIGHT + 1;
    assert.equal(backend.sweep(), 1_000);
    assert.equal(backend.size, 1, 'a bucket still refilling is kept');
    assert.equal(backend.sweep(NOON + 100_000_000 - 1), 0);
    assert.equal(backend.sweep(NOON + 100_000_000), 1);
    assert.equal(backend.size, 0);
  });

  it('forgets an unlimited-daily caller once its bucket is full, the same day', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    backend.decide('a', { rate: 10, burst: 5, daily: 0 }, NOON);
    assert.equal(backend.sweep(NOON + 99), 0);
    assert.equal(backend.sweep(NOON + 100), 1);
  });

  it('remembers nothing for a caller without limits', () => {
    const backend = new MemoryLimitBackend({ sweepIntervalMs: 0 });
    backend.decide('free', { rate: 0, burst: 0, daily: 0 }, NOON);
    assert.equal(backend.size, 0);
  });

  it('sweeps on an unref\'d timer', async () => {
    let now = NOON;
    const backend = new MemoryLimitBackend({ now: () => now, sweepIntervalMs: 10 });
    for (let i = 0; i < 100; i++) backend.decide(`c${i}`, policy);
    now = MIDNIGHT + 1;
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(backend.size, 0);
    const timer = (backend as unknown as { timer: NodeJS.Timeout }).timer;
    assert.equal(timer.hasRef(), false);
    await backend.close();
  });
});

/** A store that answers from memory while `up`, and throws like a dead Redis otherwise. */
class FlakyStore implements LimitBackend {
  up = true;
  calls = 0;
  private readonly memory: MemoryLimitBackend;
  constructor(now: () => number) {
    this.memory = new MemoryLimitBackend({ now, sweepIntervalMs: 0 });
  }
  async consume(caller: string, policy: LimitPolicy): Promise<LimitDecision> {
    this.calls += 1;
    if (!this.up) throw new Error('Connection is closed.');
    return this.memory.consume(caller, policy);
  }
  async refundDaily(caller: string): Promise<void> {
    this.calls += 1;
    if (!this.up) throw new Error('Connection is closed.');
    await this.memory.refundDaily(caller);
  }
  async close(): Promise<void> {}
}

describe('FailoverLimitBackend', () => {
  const policy = { rate: 1, burst: 2, daily: 10 };
  const setup = (mode?: 'local' | 'open' | 'closed') => {
    const clock = { now: NOON };
    const store = new FlakyStore(() => clock.now);
    const lines: string[] = [];
    const failures: unknown[] = [];
    const logger = {
      warn: (_: object, m: string) => void lines.push(`warn: ${m}`),
      info: (_: object, m: string) => void lines.push(`info: ${m}`),
      error: (_: object, m: string) => void lines.push(`error: ${m}`),
    };
    const backend = new FailoverLimitBackend({
      primary: store,
      mode,
      logger,
      onStoreFailure: (e) => void failures.push(e),
      now: () => clock.now,
    });
    return { clock, store, lines, failures, backend };
  };

  it('uses the store while it answers', async () => {
    const { store, backend, lines } = setup();
    assert.equal((await backend.consume('a', policy)).burst!.remaining, 1);
    assert.equal(store.calls, 1);
    assert.equal(backend.degraded, false);
    assert.deepEqual(lines, []);
  });

  it('logs an outage once, leaves the store alone for a second, then probes it once', async () => {
    const { clock, store, backend, lines, failures } = setup();
    store.up = false;
    for (let i = 0; i < 10; i++) await backend.consume('a', policy);
    assert.equal(store.calls, 1);
    assert.equal(backend.storeFailures, 1);
    assert.equal(failures.length, 1);
    clock.now += 999;
    await backend.consume('a', policy);
    assert.equal(store.calls, 1, 'not before 1 s');
    clock.now += 1;
    await Promise.all([backend.consume('a', policy), backend.consume('a', policy)]);
    assert.equal(store.calls, 2, 'one probe, however many requests arrive');
    assert.equal(backend.storeFailures, 2);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^warn: .*per instance/);
  });

  it('returns to the store by itself and logs the recovery once', async () => {
    const { clock, store, backend, lines } = setup();
    store.up = false;
    await backend.consume('a', policy);
    store.up = true;
    clock.now += 1_000;
    const decision = await backend.consume('b', policy);
    assert.equal(decision.burst!.remaining, 1);
    assert.equal(backend.degraded, false);
    await backend.consume('b', policy);
    assert.equal(store.calls, 3);
    assert.deepEqual(
      lines.map((l) => l.split(':')[0]),
      ['warn', 'info'],
    );
  });

  it("enforces limits per instance in 'local' mode", async () => {
    const { store, backend } = setup('local');
    store.up = false;
    const decisions = await Promise.all([1, 2, 3].map(() => backend.consume('a', policy)));
    assert.deepEqual(
      decisions.map((d) => d.allowed),
      [true, true, false],
    );
  });

  it("admits with no state in 'open' mode", async () => {
    const { store, backend, lines } = setup('open');
    store.up = false;
    for (let i = 0; i < 5; i++) assert.deepEqual(await backend.consume('a', policy), { allowed: true });
    assert.match(lines[0]!, /^warn: .*without limits/);
  });

  it("throws LimitStoreUnavailableError carrying the cause in 'closed' mode, logged as an error", async () => {
    const { store, backend, lines } = setup('closed');
    store.up = false;
    await assert.rejects(backend.consume('a', policy), (error: unknown) => {
      assert.ok(error instanceof LimitStoreUnavailableError);
      assert.equal((error.cause as Error).message, 'Connection is closed.');
      return true;
    });
    await assert.rejects(backend.consume('a', policy), LimitStoreUnavailableError);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^error: /);
  });

  it('refunds locally during an outage in local mode', async () => {
    const { store, backend } = setup('local');
    store.up = false;
    const daily1 = { rate: 0, burst: 0, daily: 1 };
    await backend.consume('a', daily1);
    assert.equal((await backend.consume('a', daily1)).allowed, false);
    await backend.refundDaily('a');
    assert.equal((await backend.consume('a', daily1)).allowed, true);
  });

  it('treats a bad policy as a bug, not an outage', async () => {
    const { store, backend } = setup();
    await assert.rejects(backend.consume('a', { rate: 1, burst: 0, daily: 0 }), RangeError);
    assert.equal(store.calls, 0);
    assert.equal(backend.storeFailures, 0);
  });
});

describe('policyOf', () => {
  const defaults = { rate: 200, burst: 500, daily: 2000, concurrent: 0 };
  const principal = (limits: Record<string, number>) =>
    ({ kind: 'key', keyId: 'k', name: 'k', hint: null, scopes: [], limits, allowedHosts: [], expiresAt: null, caller: 'key:k' }) as const;

  it('takes a stored burst of 0 with a rate as 1, so such a key gets answers, not 500s', () => {
    const policy = policyOf(principal({ burst: 0 }), defaults);
    assert.equal(policy.burst, 1);
    assert.doesNotThrow(() => validatePolicy(policy));
  });

  it('leaves burst 0 alone when there is no rate limit', () => {
    assert.equal(policyOf(principal({ rate: 0, burst: 0 }), defaults).burst, 0);
  });
});
