import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type Reply, type TestServer } from './helpers/harness.js';
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

/** The answers a capture may get while its browser is killed: a picture, or a 503 that says to retry. */
const RETRYABLE_BUSY = new Set(['BROWSER_CRASHED', 'SERVER_BUSY', 'QUEUE_FULL', 'QUEUE_TIMEOUT']);

/** The live browser process this test process runs (not a killed one not yet reaped). */
function liveBrowser(): number | undefined {
  return chromiumChildren(process.pid).find((info) => !info.state.startsWith('Z'))?.pid;
}

describe('a browser killed under load', () => {
  let site: FixtureSite;
  let pageshot: TestServer;

  before(async () => {
    site = await startFixtureSite();
    pageshot = await startPageShot({ PAGESHOT_MAX_CONCURRENCY: '4', PAGESHOT_MAX_QUEUE: '50' }, { cpuUsage: () => 0 });
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  /** Captures in every phase a browser can die in: a new context, navigation, a big screenshot, a PDF. */
  function mixedCaptures(round: number): Array<Promise<Reply>> {
    const timeout = 25_000;
    const bodies = [
      { url: `${site.url}/slow?ms=1500&round=${round}&i=0`, timeout },
      { url: `${site.url}/slow?ms=800&round=${round}&i=1`, timeout },
      { url: `${site.url}/?round=${round}&i=2`, fresh: true, timeout },
      { url: `${site.url}/?round=${round}&i=3`, fresh: true, timeout },
      { url: `${site.url}/tall?h=8000&round=${round}&i=4`, fullPage: true, timeout },
      { url: `${site.url}/tall?h=8000&round=${round}&i=5`, fullPage: true, format: 'jpeg', timeout },
      { url: `${site.url}/tall?h=8000&round=${round}&i=6`, format: 'pdf', timeout },
      { url: `${site.url}/tall?h=4000&round=${round}&i=7`, format: 'pdf', timeout },
    ];
    return bodies.map((body) => pageshot.shoot(body));
  }

  // The moment of the kill varies from round to round: before any page is reached, while
  // contexts open and pages load, during screenshots and PDFs, and while queued ones start.
  const killAfterMs = [0, 100, 300, 600, 1_000, 1_500];
  for (const [round, delay] of killAfterMs.entries()) {
    it(`answers every capture 200 or 503 when Chromium is SIGKILLed ${delay} ms into a burst (round ${round + 1}), never 500`, async () => {
      await waitFor(() => pageshot.app.browsers.state === 'running' && liveBrowser() !== undefined, 20_000, 'a running browser');
      const crashesBefore = pageshot.app.browsers.crashes;
      const seenBefore = site.seen.length;
      const replies = mixedCaptures(round);
      // Counted from the first request of this round reaching the site (or at once, for 0 ms).
      if (delay > 0) await waitFor(() => site.seen.length > seenBefore, 20_000, 'the first page to be requested');
      await new Promise((resolve) => setTimeout(resolve, delay));
      const browser = liveBrowser();
      assert.ok(browser, 'a browser to kill');
      process.kill(browser, 'SIGKILL');

      const answers = await Promise.all(replies);
      const outcomes = answers.map((reply) => `${reply.status} ${reply.json?.code ?? reply.headers['content-type']}`);
      for (const reply of answers) {
        if (reply.status === 200) continue;
        assert.equal(reply.status, 503, `every answer is 200 or 503: ${outcomes.join(', ')}`);
        assert.ok(RETRYABLE_BUSY.has(String(reply.json?.code)), `a 503 that says to retry: ${outcomes.join(', ')}`);
        assert.match(String(reply.headers['retry-after']), /^\d+$/);
      }
      await waitFor(() => pageshot.app.browsers.crashes > crashesBefore, 10_000, 'the crash to be counted');
    });
  }

  it('captures normally after the rounds of kills', async () => {
    await waitFor(() => pageshot.app.browsers.state === 'running', 20_000, 'a running browser');
    const reply = await pageshot.shoot({ url: `${site.url}/?after=1` });
    assert.equal(reply.status, 200, reply.body.toString());
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
