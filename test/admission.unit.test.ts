import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setImmediate as flush } from 'node:timers/promises';
import { Admission, formatPercent, type AdmissionOptions } from '../src/admission/admission.js';
import { ApiError, type ErrorCode } from '../src/errors.js';

/** Every Admission a test made; closed after each test so no queue timer outlives it. */
const created: Admission[] = [];

/** An Admission with a CPU reading the test controls through `cpu.value`. */
function makeAdmission(overrides: Partial<Omit<AdmissionOptions, 'cpuUsage'>> = {}) {
  const cpu = { value: 10 };
  const admission = new Admission({
    maxConcurrency: 2,
    maxQueue: 10,
    queueTimeoutMs: 10_000,
    cpuBusyPercent: 95,
    ...overrides,
    cpuUsage: () => cpu.value,
  });
  created.push(admission);
  return { admission, cpu };
}

/** Follows a promise so a test can ask whether it has settled yet. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/** Asserts that `promise` rejects with an ApiError of `code`, and returns that error. */
async function refusedWith(promise: Promise<unknown>, code: ErrorCode): Promise<ApiError> {
  let caught: unknown;
  await promise.then(
    () => assert.fail(`expected a ${code} refusal, but the request was admitted`),
    (error: unknown) => {
      caught = error;
    },
  );
  assert.ok(caught instanceof ApiError, `expected an ApiError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  return caught;
}

describe('Admission', () => {
  afterEach(() => {
    for (const admission of created.splice(0)) admission.close();
  });

  it('grants up to maxConcurrency slots at once without waiting', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 3 });
    const first = track(admission.acquire('a'));
    const second = track(admission.acquire('b'));
    const third = track(admission.acquire('c'));
    await flush();
    assert.equal(first.settled && second.settled && third.settled, true);
    assert.equal(typeof first.value, 'function');
    assert.equal(admission.stats().activeRequests, 3);
    assert.equal(admission.stats().queuedRequests, 0);
  });

  it('makes the request beyond maxConcurrency wait in the queue', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 2 });
    await admission.acquire('a');
    await admission.acquire('a');
    const third = track(admission.acquire('a'));
    await flush();
    assert.equal(third.settled, false);
    assert.equal(admission.stats().activeRequests, 2);
    assert.equal(admission.stats().queuedRequests, 1);
  });

  it('gives a waiting request the slot once a running one releases it', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1 });
    const release = await admission.acquire('a');
    const waiting = track(admission.acquire('b'));
    await flush();
    assert.equal(waiting.settled, false);
    release();
    await flush();
    assert.equal(waiting.settled, true);
    assert.equal(typeof waiting.value, 'function');
    assert.equal(admission.stats().activeRequests, 1);
    assert.equal(admission.stats().queuedRequests, 0);
  });

  it('refuses with QUEUE_FULL (503, status busy, queueLength, Retry-After >= 1) when the queue is full', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1, maxQueue: 2 });
    await admission.acquire('a');
    const waiters = [track(admission.acquire('a')), track(admission.acquire('b'))];
    const error = await refusedWith(admission.acquire('c'), 'QUEUE_FULL');
    assert.equal(error.statusCode, 503);
    assert.equal(error.extras.status, 'busy');
    assert.equal(error.extras.queueLength, 2);
    assert.equal(typeof error.retryAfter, 'number');
    assert.ok(Number.isInteger(error.retryAfter), `retryAfter ${error.retryAfter} is not an integer`);
    assert.ok((error.retryAfter ?? 0) >= 1, `retryAfter ${error.retryAfter} is below 1`);
    assert.equal(waiters.some((waiter) => waiter.settled), false, 'the requests already queued keep waiting');
    assert.equal(admission.stats().queuedRequests, 2);
  });

  it('makes room in a full queue by refusing the newest request of the caller with the most waiting', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1, maxQueue: 3 });
    await admission.acquire('flood');
    const flood = [track(admission.acquire('flood')), track(admission.acquire('flood')), track(admission.acquire('flood'))];
    const light = track(admission.acquire('light'));
    await flush();
    assert.equal(light.settled, false, 'the light caller waits instead of being refused');
    assert.deepEqual(
      flood.map((waiter) => waiter.settled),
      [false, false, true],
      "the flood's newest request gave up its place",
    );
    assert.equal((flood[2]!.error as ApiError).code, 'QUEUE_FULL');
    assert.equal(admission.stats().queuedRequests, 3);
  });

  it('refuses the newcomer when no caller has more than one request more than its own waiting', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1, maxQueue: 3 });
    await admission.acquire('a');
    const waiting = [track(admission.acquire('a')), track(admission.acquire('b')), track(admission.acquire('b'))];
    await refusedWith(admission.acquire('b'), 'QUEUE_FULL');
    await flush();
    assert.equal(waiting.some((waiter) => waiter.settled), false, 'nobody lost a place: b already has the most');
    const c = track(admission.acquire('c'));
    await flush();
    assert.equal(c.settled, false, 'c (none waiting) takes the place of b\'s newest (two waiting)');
    assert.equal((waiting[2]!.error as ApiError).code, 'QUEUE_FULL');
  });

  it('refuses every request that would have to wait when maxQueue is 0', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1, maxQueue: 0 });
    await admission.acquire('a');
    await refusedWith(admission.acquire('b'), 'QUEUE_FULL');
  });

  it('refuses a waiting request with QUEUE_TIMEOUT after queueTimeoutMs and takes it out of the queue', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1, queueTimeoutMs: 50 });
    await admission.acquire('a');
    const started = Date.now();
    const error = await refusedWith(admission.acquire('b'), 'QUEUE_TIMEOUT');
    const waited = Date.now() - started;
    assert.ok(waited >= 40, `refused after ${waited} ms, before the 50 ms timeout`);
    assert.equal(error.statusCode, 503);
    assert.equal(error.extras.status, 'busy');
    assert.ok(Number.isInteger(error.retryAfter) && (error.retryAfter ?? 0) >= 1);
    assert.equal(admission.stats().queuedRequests, 0);
  });

  it('does not time out a request that was granted a slot before queueTimeoutMs', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1, queueTimeoutMs: 50 });
    const release = await admission.acquire('a');
    const waiting = track(admission.acquire('b'));
    release();
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.equal(waiting.settled, true);
    assert.equal(waiting.error, undefined);
    assert.equal(typeof waiting.value, 'function');
  });

  it('refuses with SERVER_BUSY and the CPU reading as "99%" when CPU is above the threshold and the wait ahead would outlast the queue timeout', async () => {
    // One capture ahead, held ~1 s by the running estimate: longer than a 500 ms queue timeout.
    const { admission, cpu } = makeAdmission({ maxConcurrency: 1, cpuBusyPercent: 95, queueTimeoutMs: 500 });
    await admission.acquire('a');
    cpu.value = 99.2;
    const error = await refusedWith(admission.acquire('b'), 'SERVER_BUSY');
    assert.equal(error.statusCode, 503);
    assert.equal(error.extras.status, 'busy');
    assert.equal(error.extras.cpuUsage, '99%');
    assert.ok(Number.isInteger(error.retryAfter) && (error.retryAfter ?? 0) >= 1);
    assert.equal(admission.stats().queuedRequests, 0);
  });

  it('queues rather than sheds on a saturated CPU when the wait ahead fits in the queue timeout', async () => {
    const { admission, cpu } = makeAdmission({ maxConcurrency: 1, cpuBusyPercent: 95, queueTimeoutMs: 10_000 });
    const release = await admission.acquire('a');
    cpu.value = 100;
    const waiting = track(admission.acquire('b'));
    await flush();
    assert.equal(waiting.settled, false, 'the request waits for the running capture');
    assert.equal(admission.stats().queuedRequests, 1);
    assert.equal(admission.isBusy(), false);
    release();
    await flush();
    assert.equal(waiting.settled, true);
    assert.equal(typeof waiting.value, 'function');
  });

  it('admits a request that finds a free slot even when the CPU reads 100%', async () => {
    const { admission, cpu } = makeAdmission({ maxConcurrency: 2, cpuBusyPercent: 95 });
    cpu.value = 100;
    const release = await admission.acquire('a');
    assert.equal(typeof release, 'function');
    assert.equal(admission.stats().activeRequests, 1);
  });

  it('queues rather than sheds when the CPU reading equals the threshold exactly', async () => {
    const { admission, cpu } = makeAdmission({ maxConcurrency: 1, cpuBusyPercent: 95 });
    await admission.acquire('a');
    cpu.value = 95;
    const waiting = track(admission.acquire('b'));
    await flush();
    assert.equal(waiting.settled, false);
    assert.equal(admission.stats().queuedRequests, 1);
  });

  it('hands freed slots out round-robin: B\'s one request is served before A\'s second', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1 });
    let release = await admission.acquire('holder');
    const order: string[] = [];
    const requests: Array<Promise<void>> = [];
    const enqueue = (caller: string, label: string) =>
      requests.push(
        admission.acquire(caller).then((next) => {
          order.push(label);
          release = next;
        }),
      );
    enqueue('A', 'A1');
    enqueue('A', 'A2');
    enqueue('A', 'A3');
    enqueue('B', 'B1');
    for (let i = 0; i < 4; i++) {
      release();
      await flush();
    }
    await Promise.all(requests);
    assert.deepEqual(order, ['A1', 'B1', 'A2', 'A3']);
  });

  it('frees only one slot when release is called twice', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1 });
    const release = await admission.acquire('a');
    const first = track(admission.acquire('b'));
    const second = track(admission.acquire('c'));
    release();
    release();
    await flush();
    assert.equal(first.settled, true);
    assert.equal(second.settled, false, 'a second release() must not admit another request');
    assert.equal(admission.stats().activeRequests, 1);
    assert.equal(admission.stats().queuedRequests, 1);
  });

  it('never counts fewer than zero active requests after double releases', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 2 });
    const release = await admission.acquire('a');
    release();
    release();
    assert.equal(admission.stats().activeRequests, 0);
  });

  it('takes a waiting request out of the queue with CLIENT_CLOSED_REQUEST when its signal aborts', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1 });
    const release = await admission.acquire('a');
    const controller = new AbortController();
    const gone = admission.acquire('b', controller.signal);
    const next = track(admission.acquire('c'));
    assert.equal(admission.stats().queuedRequests, 2);
    controller.abort();
    const error = await refusedWith(gone, 'CLIENT_CLOSED_REQUEST');
    assert.equal(error.statusCode, 499);
    assert.equal(admission.stats().queuedRequests, 1);
    release();
    await flush();
    assert.equal(next.settled, true, 'the slot goes to the next request still waiting');
    assert.equal(typeof next.value, 'function');
  });

  it('refuses a request whose signal is already aborted instead of queueing it', async () => {
      const { admission } = makeAdmission({ maxConcurrency: 1, queueTimeoutMs: 200 });
      await admission.acquire('a');
      const controller = new AbortController();
      controller.abort();
      const waiting = track(admission.acquire('b', controller.signal));
      await flush();
      assert.equal(admission.stats().queuedRequests, 0);
      assert.equal(waiting.settled, true);
      assert.ok(waiting.error instanceof ApiError);
      assert.equal(waiting.error.code, 'CLIENT_CLOSED_REQUEST');
    },
  );

  it('ignores an abort after the request was granted its slot', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1 });
    const controller = new AbortController();
    const release = await admission.acquire('a', controller.signal);
    controller.abort();
    assert.equal(admission.stats().activeRequests, 1);
    release();
    assert.equal(admission.stats().activeRequests, 0);
  });

  it('close() refuses every waiting request with SHUTTING_DOWN and empties the queue', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 1 });
    await admission.acquire('a');
    const waiting = [admission.acquire('a'), admission.acquire('b')];
    admission.close();
    for (const request of waiting) {
      const error = await refusedWith(request, 'SHUTTING_DOWN');
      assert.equal(error.statusCode, 503);
    }
    assert.equal(admission.stats().queuedRequests, 0);
  });

  it('close() refuses new requests with SHUTTING_DOWN even when a slot is free', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 4 });
    admission.close();
    await refusedWith(admission.acquire('a'), 'SHUTTING_DOWN');
    assert.equal(admission.stats().activeRequests, 0);
  });

  it('lets captures that were running when close() was called release their slots', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 2 });
    const release = await admission.acquire('a');
    admission.close();
    assert.equal(admission.stats().activeRequests, 1);
    release();
    assert.equal(admission.stats().activeRequests, 0);
  });

  it('stats() reports running and waiting requests and the configured limits', async () => {
    const { admission } = makeAdmission({ maxConcurrency: 2, maxQueue: 7, queueTimeoutMs: 1234 });
    assert.deepEqual(admission.stats(), {
      activeRequests: 0,
      queuedRequests: 0,
      maxConcurrency: 2,
      baseConcurrency: 2,
      maxQueue: 7,
      queueTimeoutMs: 1234,
    });
    const release = await admission.acquire('a');
    await admission.acquire('b');
    void admission.acquire('c').catch(() => {});
    void admission.acquire('d').catch(() => {});
    assert.equal(admission.stats().activeRequests, 2);
    assert.equal(admission.stats().queuedRequests, 2);
    release();
    assert.equal(admission.stats().activeRequests, 2);
    assert.equal(admission.stats().queuedRequests, 1);
    admission.close();
  });

  it('counts refusals by code', async () => {
    const { admission, cpu } = makeAdmission({ maxConcurrency: 1, maxQueue: 1, queueTimeoutMs: 500 });
    await admission.acquire('a');
    void admission.acquire('b').catch(() => {});
    await refusedWith(admission.acquire('c'), 'QUEUE_FULL');
    await refusedWith(admission.acquire('d'), 'QUEUE_FULL');
    cpu.value = 100;
    await refusedWith(admission.acquire('e'), 'SERVER_BUSY');
    assert.equal(admission.refusals.QUEUE_FULL, 2);
    assert.equal(admission.refusals.SERVER_BUSY, 1);
    assert.equal(admission.refusals.QUEUE_TIMEOUT, undefined);
    admission.close();
  });

  it('isBusy() is true when the queue is full or the CPU is above the threshold with a wait longer than the queue timeout', async () => {
    const { admission, cpu } = makeAdmission({ maxConcurrency: 1, maxQueue: 1 });
    assert.equal(admission.isBusy(), false);
    await admission.acquire('a');
    void admission.acquire('b').catch(() => {});
    assert.equal(admission.isBusy(), true);
    admission.close();

    const other = makeAdmission({ queueTimeoutMs: 500 });
    other.cpu.value = 96;
    assert.equal(other.admission.isBusy(), true);
    other.cpu.value = 50;
    assert.equal(other.admission.isBusy(), false);
  });

  it('formatPercent rounds a CPU reading to a whole percent with a % sign', () => {
    assert.equal(formatPercent(99.4), '99%');
    assert.equal(formatPercent(95.5), '96%');
    assert.equal(formatPercent(0), '0%');
  });

  describe('slots beyond baseConcurrency open only while the CPU has room', () => {
    it('runs the base slots on a saturated CPU and queues the next one', async () => {
      const { admission, cpu } = makeAdmission({ maxConcurrency: 3, baseConcurrency: 1 });
      cpu.value = 100;
      await admission.acquire('a');
      const second = track(admission.acquire('b'));
      await flush();
      assert.equal(second.settled, false, 'no extra slot while the CPU is saturated');
      assert.deepEqual([admission.stats().activeRequests, admission.stats().queuedRequests], [1, 1]);
    });

    it('opens the extra slots up to maxConcurrency while the CPU has room', async () => {
      const { admission, cpu } = makeAdmission({ maxConcurrency: 3, baseConcurrency: 1 });
      cpu.value = 40;
      await admission.acquire('a');
      await admission.acquire('b');
      await admission.acquire('c');
      const fourth = track(admission.acquire('d'));
      await flush();
      assert.equal(fourth.settled, false, 'maxConcurrency still bounds');
      assert.equal(admission.stats().activeRequests, 3);
    });

    it('hands a freed slot to a waiter only below the base while the CPU stays saturated, and to every extra slot once it has room', async () => {
      const { admission, cpu } = makeAdmission({ maxConcurrency: 3, baseConcurrency: 1 });
      cpu.value = 40;
      const releaseA = await admission.acquire('a');
      const releaseB = await admission.acquire('b');
      cpu.value = 100;
      const c = track(admission.acquire('c'));
      const d = track(admission.acquire('d'));
      await flush();
      releaseA();
      await flush();
      assert.equal(c.settled, false, 'two running then one: still at the base of one');
      releaseB();
      await flush();
      assert.equal(c.settled, true, 'below the base: the next waiter runs');
      assert.equal(d.settled, false);
      cpu.value = 40;
      (c.value as () => void)();
      await flush();
      assert.equal(d.settled, true);
    });

    it('never takes baseConcurrency above maxConcurrency', () => {
      const { admission } = makeAdmission({ maxConcurrency: 2, baseConcurrency: 8 });
      assert.equal(admission.stats().baseConcurrency, 2);
    });
  });
});
