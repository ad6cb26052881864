import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, startPageShot, type TestServer } from './helpers/harness.js';
import { stateRoutes, type StateReport } from './helpers/state-pages.js';

/**
 * A reused browser context must carry nothing from one capture to the next, and a
 * context must never serve two callers. Callers are told apart by client IP here, so
 * tests speak from different loopback addresses (127.0.0.2, 127.0.0.3).
 */
describe('state isolation between captures', () => {
  let site: FixtureSite;
  let frameSite: FixtureSite;
  let pageshot: TestServer;
  const reports: StateReport[] = [];

  before(async () => {
    // Two origins: the top page, and an iframe on another port (another origin).
    frameSite = await startFixtureSite(stateRoutes(reports, () => frameSite.url));
    site = await startFixtureSite(stateRoutes(reports, () => frameSite.url));
    pageshot = await startPageShot();
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
    await frameSite.close();
  });
  beforeEach(() => {
    reports.length = 0;
  });

  const visit = async (mode: 'set' | 'read', from: string) => {
    const reply = await pageshot.shoot({ url: `${site.url}/state?mode=${mode}`, waitForSelector: '#done', timeout: 15_000 }, { from });
    assert.equal(reply.status, 200, `capture (${mode}) failed: ${reply.body.toString()}`);
    const found = reports.filter((report) => report.mode === mode);
    reports.length = 0;
    return found;
  };

  const assertClean = (found: StateReport[]) => {
    assert.equal(found.length, 2, 'both frames reported');
    for (const report of found) {
      const where = report.top ? 'top frame' : 'iframe';
      assert.equal(report.cookie, '', `${where}: cookie`);
      assert.equal(report.local, null, `${where}: localStorage`);
      assert.equal(report.session, null, `${where}: sessionStorage`);
      assert.deepEqual(report.idb, [], `${where}: IndexedDB`);
      assert.deepEqual(report.caches, [], `${where}: Cache Storage`);
      assert.equal(report.serviceWorkers, 0, `${where}: service workers`);
    }
  };

  it('really leaves state behind in both frames when asked to (so the checks below can fail)', async () => {
    const found = await visit('set', '127.0.0.2');
    assert.equal(found.length, 2);
    for (const report of found) {
      assert.match(report.cookie, /k=v/);
      assert.equal(report.local, 'v');
      assert.equal(report.session, 'v');
      assert.deepEqual(report.idb, ['isolation']);
      assert.deepEqual(report.caches, ['isolation']);
    }
    assert.ok(found.some((report) => !report.top && report.origin === frameSite.url), 'the iframe is on the other origin');
  });

  it('finds none of it in the same caller’s next capture on the reused context', async () => {
    await visit('set', '127.0.0.2');
    const opened = pageshot.app.pool.stats().opened;
    assertClean(await visit('read', '127.0.0.2'));
    assert.equal(pageshot.app.pool.stats().opened, opened, 'the read reused the warm context');
  });

  it('finds none of it from another caller', async () => {
    await visit('set', '127.0.0.2');
    assertClean(await visit('read', '127.0.0.3'));
  });

  it('does not serve a cached response to the next capture', async () => {
    const before = site.hits('/cached');
    for (let i = 0; i < 2; i++) {
      const reply = await pageshot.shoot({ url: `${site.url}/uses-cached` }, { from: '127.0.0.2' });
      assert.equal(reply.status, 200);
    }
    assert.equal(site.hits('/cached') - before, 2, 'the stylesheet was fetched by both captures');
  });

  it('does not send HTTP auth credentials one capture gave to the next', async () => {
    const authorised = () => site.seen.filter((request) => request.path === '/auth' && request.headers.authorization).length;
    const withCredentials = site.url.replace('http://', 'http://user:secret@');
    const first = await pageshot.shoot({ url: `${withCredentials}/auth` }, { from: '127.0.0.2' });
    assert.equal(first.status, 200, 'the first capture authenticated');
    const sentBefore = authorised();
    assert.ok(sentBefore > 0, 'the browser did send the credentials the first time');
    const second = await pageshot.shoot({ url: `${site.url}/auth` }, { from: '127.0.0.2' });
    assert.equal(second.status, 502, second.body.toString());
    assert.equal(second.json?.code, 'NAVIGATION_FAILED');
    assert.equal(authorised(), sentBefore, 'no Authorization header reached the site the second time');
  });

  it('does not carry User-Agent, headers or viewport overrides to the next capture', async () => {
    await pageshot.shoot(
      { url: `${site.url}/echo?i=1`, userAgent: 'Override/1', headers: { 'X-Leak': '1' }, width: 500, height: 400 },
      { from: '127.0.0.2' },
    );
    const reply = await pageshot.shoot({ url: `${site.url}/echo?i=2` }, { from: '127.0.0.2' });
    const seen = site.seen.findLast((request) => request.path === '/echo');
    assert.doesNotMatch(String(seen?.headers['user-agent']), /Override/);
    assert.equal(seen?.headers['x-leak'], undefined);
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.width, image.height], [1280, 720]);
  });

  it('closes popups a page opened before the next capture', async () => {
    const popupPage = `${site.url}/echo?popup=1`;
    await pageshot.shoot(
      { html: `<script>window.open(${JSON.stringify(popupPage)})</script><p>opener</p>`, delay: 300 },
      { from: '127.0.0.2' },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const contexts = pageshot.app.pool.stats().contexts;
    const reply = await pageshot.shoot({ url: `${site.url}/` }, { from: '127.0.0.2' });
    assert.equal(reply.status, 200);
    assert.equal(pageshot.app.pool.stats().contexts, contexts, 'no context was added for the popup');
  });

  it('gives a brand-new context when asked for "fresh"', async () => {
    await visit('set', '127.0.0.2');
    const opened = pageshot.app.pool.stats().opened;
    const reply = await pageshot.shoot({ url: `${site.url}/`, fresh: true }, { from: '127.0.0.2' });
    assert.equal(reply.status, 200);
    assert.equal(pageshot.app.pool.stats().opened, opened + 1);
  });
});
