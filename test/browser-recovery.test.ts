import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { chromiumChildren, descendants, stillPresent, waitFor } from './helpers/processes.js';

/** Kills the one Chromium this process runs with SIGKILL; returns the pids of its whole tree. */
function killBrowser(): number[] {
  const [browser, ...others] = chromiumChildren(process.pid);
  assert.ok(browser, 'a Chromium process runs under the test process');
  assert.equal(others.length, 0, 'exactly one browser');
  const tree = [browser.pid, ...descendants(browser.pid).map((info) => info.pid)];
  process.kill(browser.pid, 'SIGKILL');
  return tree;
}

describe('browser crashes and recycling', () => {
  let site: FixtureSite;
  let pageshot: TestServer;

  before(async () => {
    site = await startFixtureSite();
    // The machine's CPU reading is pinned at idle: on a loaded machine, admission would
    // refuse the second capture as busy instead of queueing it, and this test is about crashes.
    pageshot = await startPageShot({ PAGESHOT_MAX_CONCURRENCY: '1' }, { cpuUsage: () => 0 });
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  it('fails the running capture with 503 BROWSER_CRASHED, serves the queued one after a relaunch, and leaves no zombie', async () => {
    const running = pageshot.shoot({ url: `${site.url}/slow?ms=3000&crash=1` });
    await waitFor(() => pageshot.app.admission.stats().activeRequests === 1, 5000, 'the capture to start');
    const queued = pageshot.shoot({ url: `${site.url}/?crash=2` });
    await waitFor(() => pageshot.app.admission.stats().queuedRequests === 1, 5000, 'the second capture to queue');
    await new Promise((resolve) => setTimeout(resolve, 300)); // let the first one reach the page
    const tree = killBrowser();

    const failed = await running;
    assert.equal(failed.status, 503, failed.body.toString());
    assert.equal(failed.json?.code, 'BROWSER_CRASHED');
    assert.match(String(failed.headers['retry-after']), /^\d+$/);
    const served = await queued;
    assert.equal(served.status, 200, served.body.toString());
    assert.equal(pageshot.app.browsers.crashes, 1);

    await waitFor(() => stillPresent(tree).length === 0, 10_000, 'the killed browser’s processes to be reaped');
    assert.equal(chromiumChildren(process.pid).length, 1, 'one new browser runs');
  });

  it('reports the restart on GET /status', async () => {
    const reply = await pageshot.request('/status');
    const browser = reply.json?.browser as { state: string; crashes: number; restarts: number };
    assert.equal(browser.state, 'running');
    assert.ok(browser.crashes >= 1);
    assert.ok(browser.restarts >= 1);
  });
});

describe('browser recycling after a capture budget', () => {
  it('replaces the browser after PAGESHOT_BROWSER_MAX_CAPTURES captures without failing any, and closes the old one', async () => {
    const site = await startFixtureSite();
    const pageshot = await startPageShot({ PAGESHOT_BROWSER_MAX_CAPTURES: '3' });
    try {
      const first = chromiumChildren(process.pid).map((info) => info.pid);
      for (let i = 0; i < 7; i++) {
        const reply = await pageshot.shoot({ url: `${site.url}/?recycle=${i}` });
        assert.equal(reply.status, 200);
      }
      assert.equal(pageshot.app.browsers.recycles, 2);
      await waitFor(() => chromiumChildren(process.pid).length === 1, 10_000, 'the retired browsers to close');
      assert.equal(stillPresent(first).length, 0, 'the first browser is gone');
    } finally {
      await pageshot.stop();
      await site.close();
    }
  });
});
