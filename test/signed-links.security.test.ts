import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { signedLinkPath } from '../src/auth/signed-link.js';
import { CHROMIUM_ARGS } from '../src/capture/browser.js';
import { findChromium } from '../src/capture/chromium-path.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, startPageShot, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY } from './helpers/keys.js';

/** A stored key, its API key and one signing secret of it. */
interface Signer {
  id: string;
  key: string;
  secret: string;
  secretId: string;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The path with its query changed by `edit`; the signature stays what it was. */
function tampered(path: string, edit: (params: URLSearchParams) => void): string {
  const params = new URLSearchParams(path.slice(path.indexOf('?') + 1));
  edit(params);
  return `/screenshot?${params}`;
}

function assertRefused(reply: Reply, status: number, code: string, what = ''): void {
  assert.equal(reply.status, status, `${what}: ${reply.body.toString().slice(0, 200)}`);
  assert.equal(reply.json?.code, code, what);
}

describe('signed embed links', () => {
  let server: TestServer;
  let site: FixtureSite;
  let signer: Signer;
  /** Options of the links most tests sign: the fixture's red block on white, 400 × 300. */
  let options: Record<string, string | number | boolean>;

  const admin = (path: string, method: 'PATCH' | 'DELETE', body?: unknown) => server.request(path, { method, body, headers: bearer(ROOT_KEY) });

  /** A new key with `settings`, and a signing secret made for it through the API. */
  async function newSigner(settings: Record<string, unknown> = {}): Promise<Signer> {
    const created = await createKey(server, { name: 'signer', scopes: ['screenshot', 'usage:read'], ...settings });
    const reply = await server.request('/v1/me/signing-secrets', { method: 'POST', headers: bearer(created.key) });
    assert.equal(reply.status, 201, reply.body.toString());
    const body = reply.json as { id: string; secret: string };
    return { id: created.id, key: created.key, secret: body.secret, secretId: body.id };
  }

  /** A link signed here, as a client library would sign it. */
  const sign = (who: Signer, extra: Record<string, string | number | boolean> = {}, expires = nowSeconds() + 600) =>
    signedLinkPath(who.secret, who.id, expires, { ...options, ...extra });

  before(async () => {
    site = await startFixtureSite();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_AUTH_FAILURES_PER_MINUTE: '1000', PAGESHOT_CACHE_TTL: '600' });
    options = { url: `${site.url}/`, width: 400, height: 300 };
    signer = await newSigner();
  });
  after(async () => {
    await server.stop();
    await site.close();
  });

  it('captures with a link from POST /v1/signed-urls, as its key, with the headers of any capture', async () => {
    const made = await server.request('/v1/signed-urls', { body: { options, expiresIn: 120 }, headers: bearer(signer.key) });
    assert.equal(made.status, 200, made.body.toString());
    const { url, expiresAt, keyId } = made.json as { url: string; expiresAt: string; keyId: string };
    assert.equal(keyId, signer.id);
    assert.match(url, /^\/screenshot\?.*&signature=[0-9a-f]{64}$/);
    assert.ok(Math.abs(Date.parse(expiresAt) - (Date.now() + 120_000)) < 5_000, expiresAt);
    assert.equal(new URLSearchParams(url.split('?')[1]).get('width'), '400');
    assert.equal(new URLSearchParams(url.split('?')[1]).has('height') && !new URLSearchParams(url.split('?')[1]).has('format'), true, 'no defaults in the link');

    const reply = await server.request(url);
    assert.equal(reply.status, 200, reply.body.toString());
    assert.equal(reply.headers['content-type'], 'image/png');
    assert.match(String(reply.headers['cache-control']), /^private, max-age=\d+$/);
    assert.ok(reply.headers.etag);
    assert.equal(reply.headers['cross-origin-resource-policy'], undefined, 'an <img> on another origin must be able to load it');
    assert.equal(reply.headers['x-ratelimit-limit'] !== undefined, true, "the key's limits apply");
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.width, image.height], [400, 300]);

    const usage = await server.request('/v1/usage', { headers: bearer(signer.key) });
    assert.equal((usage.json as { totals: { succeeded: number } }).totals.succeeded, 1, 'usage is recorded on the key');
  });

  it('keeps keyId, expires and signature out of the result cache key', async () => {
    const extra = { width: 420 };
    const first = await server.request(sign(signer, extra, nowSeconds() + 300));
    const second = await server.request(sign(signer, extra, nowSeconds() + 900));
    assert.equal(first.headers['x-cache'], 'MISS');
    assert.equal(second.headers['x-cache'], 'HIT', 'another expires is the same capture');
    const byHeader = await server.request(`/screenshot?url=${encodeURIComponent(options.url as string)}&width=420&height=300`, { headers: bearer(signer.key) });
    assert.equal(byHeader.headers['x-cache'], 'HIT', 'the same capture as the key asking with its header');
  });

  it('serves HEAD for a signed link as for GET', async () => {
    const reply = await server.request(sign(signer), { method: 'HEAD' as 'GET' });
    assert.equal(reply.status, 200);
  });

  it('refuses every change to what was signed with 403 SIGNATURE_INVALID', async () => {
    const other = await newSigner();
    const link = sign(signer);
    assert.equal((await server.request(link)).status, 200, 'the untouched link works');
    const changes: Array<[string, (params: URLSearchParams) => void]> = [
      ['a changed option', (params) => params.set('width', '401')],
      ['an added option', (params) => params.append('darkMode', 'true')],
      ['a removed option', (params) => params.delete('height')],
      ['a changed expires', (params) => params.set('expires', String(Number(params.get('expires')) + 1))],
      ['a changed keyId (another key with secrets of its own)', (params) => params.set('keyId', other.id)],
      ['an unknown keyId', (params) => params.set('keyId', 'key_00000000000000000000')],
      ['a signature in upper case', (params) => params.set('signature', params.get('signature')!.toUpperCase())],
      ['a non-integer expires', (params) => params.set('expires', `${params.get('expires')}.0`)],
    ];
    for (const [what, edit] of changes) assertRefused(await server.request(tampered(link, edit)), 403, 'SIGNATURE_INVALID', what);
  });

  it('refuses an expired link with 403 SIGNATURE_EXPIRED', async () => {
    assertRefused(await server.request(sign(signer, {}, nowSeconds() - 1)), 403, 'SIGNATURE_EXPIRED');
    assertRefused(await server.request(sign(signer, {}, nowSeconds())), 403, 'SIGNATURE_EXPIRED', 'expires = now');
  });

  it('refuses links of a revoked secret, while another secret of the key still signs', async () => {
    const who = await newSigner();
    const second = await server.request('/v1/me/signing-secrets', { method: 'POST', headers: bearer(who.key) });
    const survivor = { ...who, secret: (second.json as { secret: string }).secret };
    const doomed = sign(who);
    assert.equal((await server.request(doomed)).status, 200);
    const revoked = await server.request(`/v1/me/signing-secrets/${who.secretId}`, { method: 'DELETE', headers: bearer(who.key) });
    assert.equal(revoked.status, 204);
    assertRefused(await server.request(doomed), 403, 'SIGNATURE_INVALID', 'revoked secret');
    assert.equal((await server.request(sign(survivor))).status, 200, 'the other secret');
  });

  it("answers a disabled key's own code and works again once the key is enabled; a revoked key's links are dead, its secrets revoked with it", async () => {
    const who = await newSigner();
    const link = sign(who);
    assert.equal((await admin(`/v1/keys/${who.id}`, 'PATCH', { disabled: true })).status, 200);
    assertRefused(await server.request(link), 403, 'KEY_DISABLED');
    await admin(`/v1/keys/${who.id}`, 'PATCH', { disabled: false });
    assert.equal((await server.request(link)).status, 200);
    assert.equal((await admin(`/v1/keys/${who.id}`, 'DELETE')).status, 200);
    // Its secrets are gone, so the link can no longer be authenticated at all: nothing is told about the key.
    assertRefused(await server.request(link), 403, 'SIGNATURE_INVALID');
  });

  it('needs the screenshot scope on the key at the time the link is used', async () => {
    const who = await newSigner();
    await admin(`/v1/keys/${who.id}`, 'PATCH', { scopes: ['usage:read'] });
    assertRefused(await server.request(sign(who)), 403, 'INSUFFICIENT_SCOPE');
  });

  it("applies the key's own rate limit", async () => {
    const who = await newSigner({ limits: { rate: 1, burst: 1, concurrent: 5 } });
    const link = sign(who);
    // Creating the secret took the one request of the burst: let it come back.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const replies = await Promise.all([server.request(link), server.request(link)]);
    assert.deepEqual(replies.map((reply) => reply.status).sort(), [200, 429]);
    assert.equal(replies.find((reply) => reply.status === 429)?.json?.code, 'RATE_LIMITED');
  });

  it("applies the key's host allow-list, and POST /v1/signed-urls refuses such a link up front", async () => {
    const who = await newSigner({ allowedHosts: ['example.com'] });
    assertRefused(await server.request(sign(who)), 403, 'TARGET_FORBIDDEN', 'on use');
    const made = await server.request('/v1/signed-urls', { body: { options }, headers: bearer(who.key) });
    assertRefused(made, 403, 'TARGET_FORBIDDEN', 'on signing');
  });

  it("applies the key's IP allow-list", async () => {
    const who = await newSigner({ allowedIps: ['127.0.0.1/32', '127.0.0.5/32'] });
    const link = sign(who);
    assertRefused(await server.request(link, { from: '127.0.0.6' }), 403, 'IP_NOT_ALLOWED');
    assert.equal((await server.request(link, { from: '127.0.0.5' })).status, 200);
  });

  it('takes one way to authenticate per request: a signature with an API key header is a 400', async () => {
    const link = sign(signer);
    assertRefused(await server.request(link, { headers: bearer(signer.key) }), 400, 'VALIDATION_ERROR', 'Authorization');
    assertRefused(await server.request(link, { headers: { 'x-api-key': signer.key } }), 400, 'VALIDATION_ERROR', 'x-api-key');
  });

  it('needs keyId, expires and signature together', async () => {
    for (const name of ['keyId', 'expires', 'signature']) {
      assertRefused(await server.request(tampered(sign(signer), (params) => params.delete(name))), 400, 'VALIDATION_ERROR', name);
    }
  });

  it('refuses a link that would live longer than a year, as if it were forged', async () => {
    const forever = sign(signer, {}, nowSeconds() + 400 * 86_400);
    assertRefused(await server.request(forever), 403, 'SIGNATURE_INVALID', 'expires in 400 days');
    assert.equal((await server.request(sign(signer, {}, nowSeconds() + 360 * 86_400))).status, 200);
  });

  it('answers 400, not 500, to options no URL can carry (a lone surrogate, a link too long to request)', async () => {
    const reply = await server.request('/v1/signed-urls', { body: { options: { ...options, html: undefined, url: `${site.url}/?q=\ud800` } }, headers: bearer(signer.key) });
    assertRefused(reply, 400, 'VALIDATION_ERROR', 'lone surrogate');
    assert.equal(reply.json!.field, 'options/url');
    const long = await server.request('/v1/signed-urls', { body: { options: { html: `<p>${'x'.repeat(10_000)}</p>` } }, headers: bearer(signer.key) });
    assertRefused(long, 400, 'VALIDATION_ERROR', 'a link too long to be requested');
    assert.equal(long.json!.field, 'options');
  });

  it('is refused on every route but GET /screenshot', async () => {
    const query = sign(signer).split('?')[1];
    for (const path of ['/v1/me', '/v1/usage', '/v1/me/signing-secrets', '/status']) {
      assertRefused(await server.request(`${path}?${query}`), 403, 'SIGNATURE_INVALID', path);
    }
    // An unknown route stays unknown; part of a link elsewhere is the route's to judge.
    assertRefused(await server.request(`/no-such-route?${query}`), 404, 'NOT_FOUND', '/no-such-route');
    assertRefused(await server.request('/v1/usage?keyId=abc', { headers: bearer(signer.key) }), 400, 'VALIDATION_ERROR', '/v1/usage?keyId');
    assert.equal((await server.request('/v1/me?expires=1', { headers: bearer(signer.key) })).status, 200);
    const posted = await server.request(`/screenshot?${query}`, { body: options });
    assertRefused(posted, 403, 'SIGNATURE_INVALID', 'POST /screenshot');
    const signedUrls = await server.request(`/v1/signed-urls?${query}`, { body: { options } });
    assertRefused(signedUrls, 403, 'SIGNATURE_INVALID', 'POST /v1/signed-urls');
  });

  it('records in the audit log who made and revoked a signing secret, never the secret', async () => {
    const who = await newSigner();
    assert.equal((await server.request(`/v1/me/signing-secrets/${who.secretId}`, { method: 'DELETE', headers: bearer(who.key) })).status, 204);
    const audit = await server.request('/v1/audit?type=signing_secret.&limit=100', { headers: bearer(ROOT_KEY) });
    assert.equal(audit.status, 200, audit.body.toString());
    const mine = (audit.json!.data as Array<{ type: string; keyId: string; actorKeyId: string; details: { secretId: string } }>).filter(
      (event) => event.details.secretId === who.secretId,
    );
    assert.deepEqual(mine.map((event) => event.type).sort(), ['signing_secret.created', 'signing_secret.revoked']);
    assert.ok(mine.every((event) => event.keyId === who.id && event.actorKeyId === who.id));
    assert.ok(!audit.body.toString().includes(who.secret));
  });

  it('lists secrets by hint with their last use, never the secret, and allows at most five', async () => {
    const who = await newSigner();
    assert.equal((await server.request(sign(who))).status, 200);
    const listed = async () => {
      const reply = await server.request('/v1/me/signing-secrets', { headers: bearer(who.key) });
      assert.equal(reply.status, 200);
      return reply;
    };
    // The last use is written in the background: wait for it.
    let reply = await listed();
    for (let tries = 0; tries < 40 && (reply.json as { signingSecrets: Array<{ lastUsedAt: unknown }> }).signingSecrets[0]?.lastUsedAt === null; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      reply = await listed();
    }
    const [entry] = (reply.json as { signingSecrets: Array<Record<string, unknown>> }).signingSecrets;
    assert.deepEqual(Object.keys(entry!).sort(), ['createdAt', 'hint', 'id', 'lastUsedAt']);
    assert.equal(entry!.id, who.secretId);
    assert.equal(entry!.hint, `pss_…${who.secret.slice(-4)}`);
    assert.ok(typeof entry!.lastUsedAt === 'string', 'the use is recorded');
    assert.ok(!reply.body.toString().includes(who.secret));

    for (let i = 2; i <= 5; i++) assert.equal((await server.request('/v1/me/signing-secrets', { method: 'POST', headers: bearer(who.key) })).status, 201, `secret ${i}`);
    assertRefused(await server.request('/v1/me/signing-secrets', { method: 'POST', headers: bearer(who.key) }), 400, 'VALIDATION_ERROR', 'the 6th');
  });

  it("answers 404 for another key's secret id, and leaves that secret working", async () => {
    const [owner, stranger] = [await newSigner(), await newSigner()];
    const reply = await server.request(`/v1/me/signing-secrets/${owner.secretId}`, { method: 'DELETE', headers: bearer(stranger.key) });
    assertRefused(reply, 404, 'SIGNING_SECRET_NOT_FOUND');
    assertRefused(await server.request('/v1/me/signing-secrets/sks_nope', { method: 'DELETE', headers: bearer(owner.key) }), 404, 'SIGNING_SECRET_NOT_FOUND', 'unknown');
    assert.equal((await server.request(sign(owner))).status, 200);
  });

  it('needs a stored key: the root key has no signing secrets', async () => {
    for (const [path, method] of [['/v1/me/signing-secrets', 'POST'], ['/v1/me/signing-secrets', 'GET'], ['/v1/signed-urls', 'POST']] as const) {
      const body = path === '/v1/signed-urls' ? { options } : undefined;
      assertRefused(await server.request(path, { method, body, headers: bearer(ROOT_KEY) }), 403, 'INSUFFICIENT_SCOPE', `${method} ${path}`);
    }
  });

  it('answers SIGNING_SECRET_MISSING to POST /v1/signed-urls without a secret, and checks the options', async () => {
    const bare = await createKey(server, { name: 'no secret', scopes: ['screenshot'] });
    assertRefused(await server.request('/v1/signed-urls', { body: { options }, headers: bearer(bare.key) }), 400, 'SIGNING_SECRET_MISSING');
    const cases: Array<[string, unknown]> = [
      ['neither url nor html', { options: { width: 400 } }],
      ['an unknown option', { options: { ...options, cookies: [] } }],
      ['a signed-link parameter as an option', { options: { ...options, keyId: signer.id } }],
      ['expiresIn above a year', { options, expiresIn: 31_536_001 }],
      ['expiresIn 0', { options, expiresIn: 0 }],
    ];
    for (const [what, body] of cases) {
      assertRefused(await server.request('/v1/signed-urls', { body, headers: bearer(signer.key) }), 400, 'VALIDATION_ERROR', what);
    }
  });
});

describe('signed embed links in a real browser', () => {
  let server: TestServer;
  let site: FixtureSite;
  let browser: Browser;
  let embedder: http.Server;
  let page = '';

  before(async () => {
    [server, site] = await Promise.all([startPageShot(AUTH_ENV), startFixtureSite()]);
    browser = await chromium.launch({ executablePath: findChromium(process.env.PAGESHOT_CHROMIUM_PATH), args: CHROMIUM_ARGS });
    // Another loopback address: another origin, and another site, than PageShot's 127.0.0.1.
    embedder = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page));
    await new Promise<void>((resolve) => embedder.listen(0, '127.0.0.2', resolve));
  });
  after(async () => {
    await browser?.close();
    await new Promise((resolve) => embedder?.close(resolve));
    await server?.stop();
    await site?.close();
  });

  it('loads an <img> with a signed link on a page of another origin, and not a tampered one', async () => {
    const created = await createKey(server, { name: 'embed', scopes: ['screenshot'] });
    await server.request('/v1/me/signing-secrets', { method: 'POST', headers: bearer(created.key) });
    const made = await server.request('/v1/signed-urls', { body: { options: { url: `${site.url}/`, width: 400, height: 300 } }, headers: bearer(created.key) });
    const link = `${server.url}${(made.json as { url: string }).url}`;
    const bad = link.replace('width=400', 'width=401');
    page =
      '<!doctype html><html><body style="margin:0;background:#fff">' +
      `<img id="good" src="${link.replaceAll('&', '&amp;')}" style="display:block">` +
      `<img id="bad" src="${bad.replaceAll('&', '&amp;')}">` +
      '</body></html>';
    const context = await browser.newContext({ viewport: { width: 800, height: 700 } });
    try {
      const tab = await context.newPage();
      const origin = `http://127.0.0.2:${(embedder.address() as AddressInfo).port}`;
      await tab.goto(`${origin}/`);
      await tab.waitForFunction(() => [...document.images].every((image) => image.complete), undefined, { timeout: 30_000 });
      const sizes = await tab.evaluate(() => [...document.images].map((image) => ({ id: image.id, width: image.naturalWidth, height: image.naturalHeight })));
      assert.deepEqual(sizes, [
        { id: 'good', width: 400, height: 300 },
        { id: 'bad', width: 0, height: 0 },
      ]);
      const shown = await decodeImage(await tab.locator('#good').screenshot());
      const [r, g, b] = shown.pixel(50, 50);
      assert.ok(r > 240 && g < 20 && b < 20, `the fixture's red block, got ${[r, g, b]}`);
      const [wr, wg, wb] = shown.pixel(250, 150);
      assert.ok(wr > 240 && wg > 240 && wb > 240, `white page, got ${[wr, wg, wb]}`);
    } finally {
      await context.close();
    }
  });
});

describe('signed link parameters with authentication off', () => {
  let server: TestServer;
  let site: FixtureSite;

  before(async () => {
    [server, site] = await Promise.all([startPageShot(), startFixtureSite()]);
  });
  after(async () => {
    await server?.stop();
    await site?.close();
  });

  it('drops keyId, expires and signature unchecked, as nothing is authenticated, but still only on GET /screenshot', async () => {
    const unsigned = `url=${encodeURIComponent(`${site.url}/`)}&width=400&height=300`;
    const reply = await server.request(`/screenshot?${unsigned}&keyId=key_x&expires=1&signature=${'0'.repeat(64)}`);
    assert.equal(reply.status, 200, reply.body.toString());
    assertRefused(await server.request(`/v1/me?keyId=key_x&expires=1&signature=${'0'.repeat(64)}`), 403, 'SIGNATURE_INVALID', '/v1/me');
    assertRefused(await server.request(`/screenshot?${unsigned}&keyId=key_x`), 400, 'VALIDATION_ERROR', 'partial');
  });
});

describe('signed links and the failed-authentication throttle', () => {
  let server: TestServer;

  before(async () => (server = await startPageShot({ ...AUTH_ENV, PAGESHOT_AUTH_FAILURES_PER_MINUTE: '3' })));
  after(() => server.stop());

  it('never lock a browser out of key authentication: any page can make it load bad links', async () => {
    const user = await createKey(server, { name: 'visitor', scopes: ['screenshot'] });
    const from = '127.0.0.7';
    for (let i = 0; i < 10; i += 1) {
      const forged = `/screenshot?url=x&keyId=key_${'A'.repeat(20)}&expires=${nowSeconds() + 60}&signature=${'0'.repeat(64)}`;
      assertRefused(await server.request(forged, { from }), 403, 'SIGNATURE_INVALID', `forged link ${i}`);
    }
    assert.equal((await server.request('/v1/me', { headers: bearer(user.key), from })).status, 200);
    // Wrong header keys still count, and do lock the address out.
    for (let i = 0; i < 4; i += 1) await server.request('/v1/me', { headers: bearer(`${user.key.slice(0, -2)}xx`), from });
    assertRefused(await server.request('/v1/me', { headers: bearer(user.key), from }), 429, 'TOO_MANY_AUTH_FAILURES', 'after wrong keys');
  });
});
