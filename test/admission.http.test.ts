import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type Reply, type TestServer } from './helpers/harness.js';

/** Resolves once the server reports `n` captures running and `queued` waiting. */
async function until(pageshot: TestServer, check: (queue: { activeRequests: number; queuedRequests: number }) => boolean) {
  for (let i = 0; i < 200; i++) {
    if (check(pageshot.app.admission.stats())) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`queue never reached the expected state: ${JSON.stringify(pageshot.app.admission.stats())}`);
}

function assertBusy(reply: Reply, code: string): Record<string, unknown> {
  assert.equal(reply.status, 503, reply.body.toString());
  const body = reply.json!;
  assert.equal(body.status, 'busy');
  assert.equal(body.code, code);
  assert.equal(typeof body.queueLength, 'number');
  assert.match(String(reply.headers['retry-after']), /^[1-9]\d*$/, 'Retry-After is a positive integer');
  return body;
}

describe('admission under load', () => {
  let site: FixtureSite;

  before(async () => {
    site = await startFixtureSite();
  });
  after(async () => {
    await site.close();
  });

  describe('with one slot and a queue of one', () => {
    let pageshot: TestServer;
    before(async () => {
      pageshot = await startPageShot({ PAGESHOT_MAX_CONCURRENCY: '1', PAGESHOT_MAX_QUEUE: '1', PAGESHOT_QUEUE_TIMEOUT_MS: '20000' });
    });
    after(async () => {
      await pageshot.stop();
    });

    it('answers 503 QUEUE_FULL with the busy body once the queue is full', async () => {
      const running = pageshot.shoot({ url: `${site.url}/slow?ms=1500&full=1` });
      await until(pageshot, (queue) => queue.activeRequests === 1);
      const waiting = pageshot.shoot({ url: `${site.url}/slow?ms=10&full=2` });
      await until(pageshot, (queue) => queue.queuedRequests === 1);
      const refused = await pageshot.shoot({ url: `${site.url}/?full=3` });
      const body = assertBusy(refused, 'QUEUE_FULL');
      assert.equal(body.error, 'Server is currently overloaded');
      assert.equal(body.queueLength, 1);
      assert.equal((await running).status, 200);
      assert.equal((await waiting).status, 200, 'the queued request was served after the running one');
    });
  });

  describe('with one slot and a queue timeout of 300 ms', () => {
    let pageshot: TestServer;
    let cpu = 10;
    before(async () => {
      pageshot = await startPageShot(
        { PAGESHOT_MAX_CONCURRENCY: '1', PAGESHOT_QUEUE_TIMEOUT_MS: '300', PAGESHOT_CPU_BUSY_PERCENT: '95' },
        { cpuUsage: () => cpu },
      );
    });
    after(async () => {
      await pageshot.stop();
    });

    it('answers 503 QUEUE_TIMEOUT when a request waits longer than the queue timeout', async () => {
      const running = pageshot.shoot({ url: `${site.url}/slow?ms=1500&qt=1` });
      await until(pageshot, (queue) => queue.activeRequests === 1);
      const body = assertBusy(await pageshot.shoot({ url: `${site.url}/?qt=2` }), 'QUEUE_TIMEOUT');
      assert.equal(body.error, 'Request queue timeout');
      assert.equal((await running).status, 200);
    });

    // The wait ahead (one capture, ~1 s or more by the running estimate) is longer than the
    // 300 ms queue timeout: on a saturated CPU the request is refused at once, not after 300 ms.
    it('answers 503 SERVER_BUSY with cpuUsage at once when the CPU is saturated and the wait ahead would outlast the queue timeout', async () => {
      const running = pageshot.shoot({ url: `${site.url}/slow?ms=1500&cpu=1` });
      await until(pageshot, (queue) => queue.activeRequests === 1);
      cpu = 99;
      try {
        const status = await pageshot.request('/status');
        assert.equal(status.json?.status, 'busy');
        assert.equal((status.json?.system as Record<string, unknown>).cpuUsage, '99%');
        const body = assertBusy(await pageshot.shoot({ url: `${site.url}/?cpu=2` }), 'SERVER_BUSY');
        assert.equal(body.cpuUsage, '99%');
        assert.equal(body.error, 'Server is currently overloaded');
      } finally {
        cpu = 10;
      }
      assert.equal((await running).status, 200);
    });
  });

  it('serves callers in turn, so one caller flooding the queue cannot starve another', async () => {
    const pageshot = await startPageShot({ PAGESHOT_MAX_CONCURRENCY: '1', PAGESHOT_MAX_QUEUE: '10' });
    try {
      const finished: string[] = [];
      const shot = (name: string, from: string, ms = 100) =>
        pageshot.shoot({ url: `${site.url}/slow?ms=${ms}&${name}` }, { from }).then((reply) => {
          assert.equal(reply.status, 200);
          finished.push(name);
        });
      // a1 holds the only slot long enough for everything else to be queued behind it.
      const flood = [shot('a1', '127.0.0.2', 2500)];
      await until(pageshot, (queue) => queue.activeRequests === 1);
      for (const name of ['a2', 'a3', 'a4', 'a5']) {
        flood.push(shot(name, '127.0.0.2'));
        await until(pageshot, (queue) => queue.queuedRequests === flood.length - 1);
      }
      const other = shot('b1', '127.0.0.3');
      await Promise.all([...flood, other]);
      // Without fairness b1 would finish last; round-robin serves it right after a2.
      assert.deepEqual(finished.slice(0, 3), ['a1', 'a2', 'b1']);
    } finally {
      await pageshot.stop();
    }
  });

  it('reports the queue and the machine on GET /status', async () => {
    const pageshot = await startPageShot({ PAGESHOT_MAX_CONCURRENCY: '2', PAGESHOT_MAX_QUEUE: '7' });
    try {
      const running = pageshot.shoot({ url: `${site.url}/slow?ms=800&st=1` });
      await until(pageshot, (queue) => queue.activeRequests === 1);
      const reply = await pageshot.request('/status');
      assert.equal(reply.status, 200);
      const body = reply.json as {
        status: string;
        system: { cpuUsage: string };
        queue: { activeRequests: number; queuedRequests: number; maxConcurrency: number; maxQueue: number };
        browser: { state: string };
      };
      assert.equal(body.status, 'running');
      assert.match(body.system.cpuUsage, /^\d{1,3}%$/);
      assert.deepEqual(
        [body.queue.activeRequests, body.queue.queuedRequests, body.queue.maxConcurrency, body.queue.maxQueue],
        [1, 0, 2, 7],
      );
      assert.equal(body.browser.state, 'running');
      await running;
    } finally {
      await pageshot.stop();
    }
  });
});
