/**
 * The result cache over HTTP with the in-memory store: what X-Cache, Age, ETag and
 * Cache-Control say, what a hit costs against limits, whose results a key may see, and
 * that identical captures running at once share one render. Renders are counted in the
 * fixture site's request log: a hit never reaches it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, startPageShot, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY, whoAmI } from './helpers/keys.js';

let counter = 0;
/** A fixture URL no earlier request used: each test starts with an empty cache for it. */
function uniquePath(site: FixtureSite, path = '/'): { url: string; path: string } {
  counter++;
  return { url: `${site.url}${path}${path.includes('?') ? '&' : '?'}n=${counter}`, path };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The `r` (remaining) of the daily policy in the IETF `RateLimit` header. */
function dailyRemaining(reply: Reply): number {
  const match = /"daily";r=(\d+)/.exec(String(reply.headers.ratelimit));
  assert.ok(match, `no daily policy in RateLimit: ${reply.headers.ratelimit}`);
  return Number(match[1]);
}

describe('result cache (in memory)', () => {
  let site: FixtureSite;
  let server: TestServer;

  before(async () => {
    site = await startFixtureSite();
    server = await startPageShot({ PAGESHOT_CACHE_MAX_TTL: '3600' });
  });
  after(async () => {
    await server.stop();
    await site.close();
  });

  it('bypasses the cache by default: every request renders, and says so', async () => {
    const { url } = uniquePath(site);
    const first = await server.shoot({ url });
    const second = await server.shoot({ url });
    for (const reply of [first, second]) {
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['x-cache'], 'BYPASS');
      assert.equal(reply.headers['cache-control'], 'no-store');
      assert.equal(reply.headers.age, undefined);
      assert.match(String(reply.headers.etag), /^"[A-Za-z0-9_-]{27}"$/);
    }
    assert.equal(countRenders(site, url), 2, 'both requests reached the target');
  });

  it('answers a repeat from the cache: MISS then HIT, the same bytes and tag, no second render', async () => {
    const { url } = uniquePath(site);
    const miss = await server.shoot({ url, cacheTtl: 60 });
    assert.equal(miss.status, 200);
    assert.equal(miss.headers['x-cache'], 'MISS');
    assert.equal(miss.headers.age, '0');
    assert.equal(miss.headers['cache-control'], 'private, max-age=60');
    await sleep(1100);
    const hit = await server.shoot({ url, cacheTtl: 60 });
    assert.equal(hit.status, 200);
    assert.equal(hit.headers['x-cache'], 'HIT');
    assert.equal(hit.headers['content-type'], 'image/png');
    assert.ok(Number(hit.headers.age) >= 1, `Age counts from the render: ${hit.headers.age}`);
    assert.match(String(hit.headers['cache-control']), /^private, max-age=(58|59)$/);
    assert.equal(hit.headers.etag, miss.headers.etag);
    assert.ok(hit.body.equals(miss.body));
    assert.equal(hit.headers['x-pageshot-target-status'], '200', 'the headers describing the bytes come back with them');
    assert.equal(hit.headers['x-pageshot-final-url'], url);
    assert.match(String(hit.headers['server-timing']), /^cache;desc="hit";dur=[\d.]+$/);
    assert.equal(countRenders(site, url), 1);
  });

  it('keys entries by what decides the picture: option order and timeout do not matter, a size does', async () => {
    const { url } = uniquePath(site);
    assert.equal((await server.shoot({ url, cacheTtl: 60, width: 800, height: 600 })).headers['x-cache'], 'MISS');
    const reordered = await server.request('/screenshot', {
      rawBody: { data: `{"height":600,"timeout":20000,"cacheTtl":60,"width":800,"url":${JSON.stringify(url)}}`, contentType: 'application/json' },
    });
    assert.equal(reordered.headers['x-cache'], 'HIT');
    const other = await server.shoot({ url, cacheTtl: 60, width: 640, height: 600 });
    assert.equal(other.headers['x-cache'], 'MISS');
    assert.equal((await decodeImage(other.body)).width, 640);
    const query = await server.request(`/screenshot?url=${encodeURIComponent(url)}&width=800&height=600&cacheTtl=60`);
    assert.equal(query.headers['x-cache'], 'HIT', 'GET and POST with the same options share an entry');
    assert.equal(countRenders(site, url), 2);
  });

  it('serves an entry only while it is younger than the request asks: an older one renders again', async () => {
    const { url } = uniquePath(site);
    assert.equal((await server.shoot({ url, cacheTtl: 1 })).headers['x-cache'], 'MISS');
    assert.equal((await server.shoot({ url, cacheTtl: 1 })).headers['x-cache'], 'HIT');
    await sleep(1100);
    assert.equal((await server.shoot({ url, cacheTtl: 1 })).headers['x-cache'], 'MISS', 'expired after its TTL');
    assert.equal((await server.shoot({ url, cacheTtl: 3600 })).headers['x-cache'], 'HIT', 'a fresh entry');
    await sleep(1100);
    const tooOld = await server.shoot({ url, cacheTtl: 1 });
    assert.equal(tooOld.headers['x-cache'], 'MISS', 'kept for longer, but older than this request accepts');
    assert.equal(countRenders(site, url), 3);
  });

  it('renders anew with fresh: true and stores that result for the next request', async () => {
    const { url } = uniquePath(site);
    const first = await server.shoot({ url, cacheTtl: 60 });
    await sleep(1100);
    const forced = await server.shoot({ url, cacheTtl: 60, fresh: true });
    assert.equal(forced.headers['x-cache'], 'MISS');
    assert.equal(forced.headers.age, '0');
    const next = await server.shoot({ url, cacheTtl: 60 });
    assert.equal(next.headers['x-cache'], 'HIT');
    assert.equal(next.headers.age, '0', 'the refreshed entry, not the first one');
    assert.equal(first.headers.etag, next.headers.etag, 'the same page gives the same bytes');
    assert.equal(countRenders(site, url), 2);
  });

  it('answers If-None-Match with 304 and no body when the client holds the bytes', async () => {
    const { url } = uniquePath(site);
    const miss = await server.shoot({ url, cacheTtl: 60 });
    const etag = String(miss.headers.etag);
    for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const notModified = await server.shoot({ url, cacheTtl: 60 }, { headers: { 'if-none-match': header } });
      assert.equal(notModified.status, 304, header);
      assert.equal(notModified.body.length, 0);
      assert.equal(notModified.headers.etag, etag);
      assert.equal(notModified.headers['x-cache'], 'HIT');
    }
    const changed = await server.shoot({ url, cacheTtl: 60 }, { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(changed.status, 200);
    assert.ok(changed.body.equals(miss.body));
    const bypass = await server.shoot({ url }, { headers: { 'if-none-match': etag } });
    assert.equal(bypass.status, 304, 'a render whose bytes the client holds is not sent either');
    assert.equal(bypass.headers['x-cache'], 'BYPASS');
  });

  it('never stores a failed capture', async () => {
    const { url } = uniquePath(site, '/status?code=500');
    assert.equal((await server.shoot({ url, cacheTtl: 60 })).status, 502);
    assert.equal((await server.shoot({ url, cacheTtl: 60 })).status, 502);
    assert.equal(countRenders(site, url), 2);
  });

  it('shares one render between 50 identical requests arriving at once', async () => {
    const { url } = uniquePath(site, '/slow?ms=700');
    const replies = await Promise.all(Array.from({ length: 50 }, () => server.shoot({ url, cacheTtl: 60 })));
    assert.deepEqual([...new Set(replies.map((reply) => reply.status))], [200]);
    assert.equal(countRenders(site, url), 1, 'one render reached the target');
    const statuses = replies.map((reply) => reply.headers['x-cache']);
    assert.equal(statuses.filter((status) => status === 'MISS').length, 1);
    assert.equal(statuses.filter((status) => status === 'HIT').length, 49);
    assert.ok(replies.every((reply) => reply.body.equals(replies[0]!.body)));
  });

  it('holds one who joined a longer render to its own timeout, without failing the render', async () => {
    const { url } = uniquePath(site, '/slow?ms=2500');
    const leader = server.shoot({ url, cacheTtl: 60, timeout: 10_000 });
    await sleep(200);
    const started = Date.now();
    const impatient = await server.shoot({ url, cacheTtl: 60, timeout: 1_000 });
    assert.equal(impatient.status, 504);
    assert.equal(impatient.json?.code, 'RENDER_TIMEOUT');
    assert.ok(Date.now() - started < 2_000, `answered after ${Date.now() - started} ms`);
    assert.equal((await leader).headers['x-cache'], 'MISS');
    assert.equal((await server.shoot({ url, cacheTtl: 60 })).headers['x-cache'], 'HIT');
    assert.equal(countRenders(site, url), 1);
  });

  it('refuses bad cacheTtl values with VALIDATION_ERROR naming the field', async () => {
    const { url } = uniquePath(site);
    for (const cacheTtl of [-1, 1.5, '60', true, 31_536_001, null]) {
      const reply = await server.shoot({ url, cacheTtl });
      assert.equal(reply.status, 400, JSON.stringify(cacheTtl));
      assert.equal(reply.json?.code, 'VALIDATION_ERROR');
      assert.match(String(reply.json?.field ?? reply.json?.error), /cacheTtl/);
    }
    const query = await server.request(`/screenshot?url=${encodeURIComponent(url)}&cacheTtl=soon`);
    assert.equal(query.status, 400);
    assert.equal(countRenders(site, url), 0);
  });
});

describe('result cache settings', () => {
  let site: FixtureSite;
  let server: TestServer;

  before(async () => {
    site = await startFixtureSite();
    server = await startPageShot({ PAGESHOT_CACHE_TTL: '30', PAGESHOT_CACHE_MAX_TTL: '5' });
  });
  after(async () => {
    await server.stop();
    await site.close();
  });

  it('applies PAGESHOT_CACHE_TTL by default, lowered to PAGESHOT_CACHE_MAX_TTL; cacheTtl 0 bypasses', async () => {
    const { url } = uniquePath(site);
    const miss = await server.shoot({ url });
    assert.equal(miss.headers['x-cache'], 'MISS');
    assert.equal(miss.headers['cache-control'], 'private, max-age=5', 'the default 30 s is capped at 5 s');
    const capped = await server.shoot({ url, cacheTtl: 3600 });
    assert.equal(capped.headers['x-cache'], 'HIT');
    assert.match(String(capped.headers['cache-control']), /^private, max-age=[45]$/);
    const bypass = await server.shoot({ url, cacheTtl: 0 });
    assert.equal(bypass.headers['x-cache'], 'BYPASS');
    assert.equal(countRenders(site, url), 2);
  });
});

describe('result cache with API keys', () => {
  let site: FixtureSite;
  let server: TestServer;
  let shared: TestServer;

  before(async () => {
    site = await startFixtureSite();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_CACHE_TTL: '60' });
    shared = await startPageShot({ ...AUTH_ENV, PAGESHOT_CACHE_TTL: '60', PAGESHOT_CACHE_SHARED: 'true' });
  });
  after(async () => {
    await server.stop();
    await shared.stop();
    await site.close();
  });

  it("never serves one key's result to another (unless the operator shares them)", async () => {
    const a = await createKey(server, { name: 'a', scopes: ['screenshot'] });
    const b = await createKey(server, { name: 'b', scopes: ['screenshot'] });
    const { url } = uniquePath(site);
    assert.equal((await server.shoot({ url }, { headers: bearer(a.key) })).headers['x-cache'], 'MISS');
    assert.equal((await server.shoot({ url }, { headers: bearer(b.key) })).headers['x-cache'], 'MISS', "b renders its own");
    assert.equal((await server.shoot({ url }, { headers: bearer(a.key) })).headers['x-cache'], 'HIT');
    assert.equal(countRenders(site, url), 2);

    const sharedA = await createKey(shared, { name: 'a', scopes: ['screenshot'] });
    const sharedB = await createKey(shared, { name: 'b', scopes: ['screenshot'] });
    const other = uniquePath(site);
    assert.equal((await shared.shoot({ url: other.url }, { headers: bearer(sharedA.key) })).headers['x-cache'], 'MISS');
    assert.equal((await shared.shoot({ url: other.url }, { headers: bearer(sharedB.key) })).headers['x-cache'], 'HIT', 'PAGESHOT_CACHE_SHARED=true');
    assert.equal(countRenders(site, other.url), 1);
  });

  it('counts a hit against the rate limit but gives its daily unit back', async () => {
    const { key } = await createKey(server, { name: 'quota', scopes: ['screenshot', 'usage:read'], limits: { rate: 100, burst: 100, daily: 3 } });
    const { url } = uniquePath(site);
    const miss = await server.shoot({ url }, { headers: bearer(key) });
    assert.equal(dailyRemaining(miss), 2);
    for (let i = 0; i < 4; i++) {
      const hit = await server.shoot({ url }, { headers: bearer(key) });
      assert.equal(hit.headers['x-cache'], 'HIT');
      assert.equal(dailyRemaining(hit), 1, 'charged while it runs, given back when it is answered');
      await sleep(50); // the refund is settled once the answer is sent
    }
    const me = await whoAmI(server, key);
    assert.equal(dailyRemaining(me), 1, 'no hit was charged; this call was');
    await server.app.usageRecorder.flush();
    const usage = await server.request('/v1/usage', { headers: bearer(key) });
    const totals = usage.json?.totals as Record<string, number>;
    assert.equal(totals.succeeded, 5);
    assert.equal(totals.cacheHits, 4, 'hits are counted as such in the usage');
    assert.ok((totals.renderMs ?? 0) > 0, "the one render is counted");

    // Four hits at once against a bucket of three: whatever the render before them cost
    // (on a loaded machine the bucket refills meanwhile), at least one is refused.
    const burst = await createKey(server, { name: 'burst', scopes: ['screenshot'], limits: { rate: 1, burst: 3, daily: 100 } });
    const other = uniquePath(site);
    assert.equal((await server.shoot({ url: other.url }, { headers: bearer(burst.key) })).status, 200);
    const hits = await Promise.all(Array.from({ length: 4 }, () => server.shoot({ url: other.url }, { headers: bearer(burst.key) })));
    const limited = hits.filter((hit) => hit.status === 429);
    assert.ok(limited.length >= 1, 'hits count against the rate limit');
    assert.ok(limited.every((hit) => hit.json?.code === 'RATE_LIMITED'));
    assert.ok(hits.filter((hit) => hit.status !== 429).every((hit) => hit.status === 200 && hit.headers['x-cache'] === 'HIT'));
  });

  it('refuses a hit for a host the key may no longer capture', async () => {
    const { key, id } = await createKey(server, { name: 'hosts', scopes: ['screenshot'], allowedHosts: ['127.0.0.1'] });
    const { url } = uniquePath(site);
    assert.equal((await server.shoot({ url }, { headers: bearer(key) })).headers['x-cache'], 'MISS');
    const narrowed = await server.request(`/v1/keys/${id}`, { method: 'PATCH', body: { allowedHosts: ['example.com'] }, headers: bearer(ROOT_KEY) });
    assert.equal(narrowed.status, 200);
    const refused = await server.shoot({ url }, { headers: bearer(key) });
    assert.equal(refused.status, 403);
    assert.equal(refused.json?.code, 'TARGET_FORBIDDEN');
    assert.equal(countRenders(site, url), 1);
  });
});

describe('result cache and where a cached capture was redirected to', () => {
  let site: FixtureSite;
  let server: TestServer;

  before(async () => {
    // `/to-b` on a.test redirects to b.test, whose page is green: the fixture site on
    // loopback answers both names, which resolve to it (loopback is allowed in tests).
    site = await startFixtureSite({
      '/to-b': (req, res) => {
        const port = String(req.headers.host).split(':')[1];
        res.writeHead(302, { location: `http://b.test:${port}/b-page` });
        res.end();
      },
      '/b-page': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><html><body style="margin:0;background:#00ff00"></body></html>');
      },
    });
    const names = new Set(['a.test', 'b.test']);
    server = await startPageShot(
      { ...AUTH_ENV, PAGESHOT_CACHE_TTL: '60' },
      { resolve: async (host) => (names.has(host) ? ['127.0.0.1'] : Promise.reject(new Error('no such host here'))) },
    );
  });
  after(async () => {
    await server.stop();
    await site.close();
  });

  it('does not serve a cached picture of a host the key may no longer capture, reached through a redirect', async () => {
    const { key, id } = await createKey(server, { name: 'redirects', scopes: ['screenshot'], allowedHosts: ['a.test', 'b.test'] });
    const url = `http://a.test:${site.port}/to-b?n=${++counter}`;
    const first = await server.shoot({ url }, { headers: bearer(key) });
    assert.equal(first.status, 200, first.body.toString());
    assert.equal(first.headers['x-cache'], 'MISS');
    assert.equal(first.headers['x-pageshot-final-url'], `http://b.test:${site.port}/b-page`);
    assert.equal((await server.shoot({ url }, { headers: bearer(key) })).headers['x-cache'], 'HIT', 'cached while b.test is allowed');

    const narrowed = await server.request(`/v1/keys/${id}`, { method: 'PATCH', body: { allowedHosts: ['a.test'] }, headers: bearer(ROOT_KEY) });
    assert.equal(narrowed.status, 200);
    const after = await server.shoot({ url }, { headers: bearer(key) });
    assert.notEqual(after.headers['x-cache'], 'HIT', 'the cached picture of b.test is not served');
    assert.ok(!after.body.equals(first.body), 'not the bytes of the picture of b.test');
    // Treated as a miss: rendered again under the key's current hosts, where the redirect is refused.
    assert.equal(after.status, 403, after.body.toString());
    assert.equal(after.json?.code, 'TARGET_FORBIDDEN');
    assert.equal(countRenders(site, url), 2, 'the target was asked again');

    // The entry itself is kept: widened again, the key is served it.
    await server.request(`/v1/keys/${id}`, { method: 'PATCH', body: { allowedHosts: ['a.test', 'b.test'] }, headers: bearer(ROOT_KEY) });
    const widened = await server.shoot({ url }, { headers: bearer(key) });
    assert.equal(widened.headers['x-cache'], 'HIT');
    assert.ok(widened.body.equals(first.body));
  });

  it('still serves a hit whose redirect stayed on an allowed host', async () => {
    const { key } = await createKey(server, { name: 'same-host', scopes: ['screenshot'], allowedHosts: ['a.test'] });
    const url = `http://a.test:${site.port}/?n=${++counter}`;
    assert.equal((await server.shoot({ url }, { headers: bearer(key) })).headers['x-cache'], 'MISS');
    const hit = await server.shoot({ url }, { headers: bearer(key) });
    assert.equal(hit.status, 200);
    assert.equal(hit.headers['x-cache'], 'HIT');
  });
});

/** Requests the fixture received for `url`'s path and query (each render loads the document once). */
function countRenders(site: FixtureSite, url: string): number {
  const wanted = new URL(url);
  return site.seen.filter((seen) => seen.path === wanted.pathname && seen.query === wanted.search).length;
}
