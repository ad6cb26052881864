import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PooledContext } from '../src/capture/pooled-context.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { waitFor } from './helpers/processes.js';

/**
 * Records which context served which caller: every context the pool hands out, with
 * every caller it was handed to.
 */
function watchAcquisitions(pageshot: TestServer): Map<PooledContext, string[]> {
  const served = new Map<PooledContext, string[]>();
  const pool = pageshot.app.pool;
  const acquire = pool.acquire.bind(pool);
  pool.acquire = async (caller, fresh, allowedHosts) => {
    const pooled = await acquire(caller, fresh, allowedHosts);
    served.set(pooled, [...(served.get(pooled) ?? []), caller]);
    return pooled;
  };
  return served;
}

/** The contexts `served` saw for a source address, oldest first. */
function contextsOf(served: Map<PooledContext, string[]>, from: string): PooledContext[] {
  return [...served.entries()].filter(([, callers]) => callers[0] === `ip:${from}`).map(([pooled]) => pooled);
}

describe('the warm pool when it is full', () => {
  let site: FixtureSite;
  let pageshot: TestServer;
  let served: Map<PooledContext, string[]>;

  before(async () => {
    site = await startFixtureSite();
    pageshot = await startPageShot({ PAGESHOT_POOL_MAX_CONTEXTS: '3' });
    served = watchAcquisitions(pageshot);
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  const shoot = async (from: string, path = '/') => {
    const reply = await pageshot.shoot({ url: `${site.url}${path}${path.includes('?') ? '&' : '?'}from=${from}` }, { from });
    assert.equal(reply.status, 200);
  };
  const idle = () => waitFor(() => pageshot.app.pool.stats().busy === 0, 5_000, 'captures to end');

  it('closes a caller’s surplus context before the least recently used caller’s last one', async () => {
    await shoot('127.0.0.2'); // B: one context, the least recently used from now on
    // A: two captures at once, so two contexts; both idle afterwards.
    await Promise.all([shoot('127.0.0.3', '/slow?ms=300'), shoot('127.0.0.3', '/slow?ms=300')]);
    await idle();
    const [a1, a2] = contextsOf(served, '127.0.0.3');
    const [b1] = contextsOf(served, '127.0.0.2');
    assert.ok(a1 && a2 && b1, 'A opened two contexts and B one');
    assert.equal(pageshot.app.pool.stats().contexts, 3);

    await shoot('127.0.0.4'); // C needs room: one of A's two goes, not B's only one.
    await idle();
    assert.equal(b1.closed, false, 'B kept its only context, although it was the least recently used');
    assert.equal([a1, a2].filter((pooled) => pooled.closed).length, 1, 'A lost exactly one of its two');
    assert.equal(pageshot.app.pool.stats().contexts, 3);
    assert.equal(pageshot.app.pool.stats().evicted, 1);
  });

  it('then closes the least recently used caller’s context, and that caller gets a new one', async () => {
    const [b1] = contextsOf(served, '127.0.0.2');
    const aKept = contextsOf(served, '127.0.0.3').find((pooled) => !pooled.closed)!;
    const [c1] = contextsOf(served, '127.0.0.4');
    await shoot('127.0.0.5'); // D: nobody has a surplus now; B is the least recently used.
    await idle();
    assert.equal(b1!.closed, true, 'B’s context, the least recently used, was closed');
    assert.equal(aKept.closed, false);
    assert.equal(c1!.closed, false);

    const opened = pageshot.app.pool.stats().opened;
    await shoot('127.0.0.3'); // A is still warm: no new context
    assert.equal(pageshot.app.pool.stats().opened, opened);
    await shoot('127.0.0.2'); // B was evicted: a new one
    assert.equal(pageshot.app.pool.stats().opened, opened + 1);
  });

  it('never hands one context to two callers', () => {
    assert.ok(served.size >= 6);
    for (const [pooled, callers] of served) {
      assert.equal(new Set(callers).size, 1, `a context served ${callers.join(', ')}`);
      assert.equal(pooled.caller, callers[0]);
    }
  });
});

describe('GET /status', () => {
  it('shows the pool’s callers, evictions and Chromium’s memory', async () => {
    const site = await startFixtureSite();
    const pageshot = await startPageShot();
    try {
      assert.equal((await pageshot.shoot({ url: `${site.url}/?status` })).status, 200);
      const pool = (await pageshot.request('/status')).json?.pool as Record<string, unknown>;
      assert.equal(pool.callers, 1);
      assert.equal(pool.evicted, 0);
      if (process.platform === 'linux') {
        const { memoryPssMb, memoryRssMb } = pool as { memoryPssMb: number; memoryRssMb: number };
        assert.ok(memoryPssMb > 50 && memoryPssMb <= memoryRssMb, `PSS ${memoryPssMb} MB, RSS ${memoryRssMb} MB`);
      }
    } finally {
      await pageshot.stop();
      await site.close();
    }
  });
});
