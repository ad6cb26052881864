import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, near, startPageShot, type Reply, type TestServer } from './helpers/harness.js';
import { HOSTILE_ANSWERS, startHostileServer, type HostileCase, type HostileServer } from './helpers/hostile-server.js';

/**
 * Broken and malicious targets, as the page itself and as every kind of subresource.
 * One PageShot serves the whole file: after every case it must still answer /status and
 * capture a normal page. It runs in this test process, so a throw that escapes a listener
 * (the class of bug this suite hunts) cannot hide: node:test runs each file in a child
 * process and reports an uncaught exception as a failure of the test running at the time
 * (or of the whole file when the process dies). Nothing here installs a handler of its own.
 */

type Expected =
  | { status: 502; networkError: string | RegExp }
  | { status: 504 }
  | { status: 200; colour: [number, number, number] };

interface PageRow {
  name: HostileCase;
  expected: Expected;
}

const invalid = (name: HostileCase, networkError: string | RegExp = 'ERR_INVALID_HTTP_RESPONSE'): PageRow => ({
  name,
  expected: { status: 502, networkError },
});

const PAGE_ROWS: PageRow[] = [
  invalid('status-0'),
  invalid('status-99'),
  invalid('status-1000'),
  invalid('status-600'),
  invalid('status-101'),
  invalid('header-name-space'),
  invalid('header-name-control'),
  invalid('header-value-nul'),
  invalid('header-value-del'),
  invalid('duplicate-content-length', 'ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_LENGTH'),
  // The parse error comes with the headers, before any body byte: nothing reached Chromium.
  invalid('broken-chunked', /^ERR_(INVALID_CHUNKED_ENCODING|INCOMPLETE_CHUNKED_ENCODING|EMPTY_RESPONSE)$/),
  invalid('short-body', 'ERR_CONTENT_LENGTH_MISMATCH'),
  invalid('reset-mid-body', /^ERR_(CONTENT_LENGTH_MISMATCH|CONNECTION_RESET)$/),
  invalid('not-http'),
  invalid('no-status-line'),
  invalid('empty-answer', 'ERR_EMPTY_RESPONSE'),
  invalid('huge-header', 'ERR_RESPONSE_HEADERS_TOO_BIG'),
  { name: 'many-headers', expected: { status: 200, colour: [0, 255, 0] } },
  invalid('location-space', 'ERR_INVALID_URL'),
  invalid('location-percent', 'ERR_INVALID_URL'),
  invalid('location-garbage', 'ERR_INVALID_REDIRECT'),
  { name: 'hang', expected: { status: 504 } },
];

/** How long a capture may take here: short, so hanging cases end quickly. */
const TIMEOUT_MS = 4000;
const HANG_TIMEOUT_MS = 3000;

const RED: [number, number, number] = [255, 0, 0];

/** URLs Chromium may accept and WHATWG's parser (Node's) refuses, or the other way round. */
const ODD_URLS = [
  'http://a b.test/x.png',
  'http://a%20b.test/x.png',
  'http://xn--/x.png',
  'http://xn--a.xn--b.test/x.png',
  'http://xn--ls8h.test/x.png',
  'http://ex\u00adample.test/x.png',
  'http://\uff45\uff58\u3002test/x.png',
  'http://%E2%80%8B.test/x.png',
  'http://[::1/x.png',
  'http://a\u0000b.test/x.png',
  'http://1.2.3.4.5/x.png',
  'http://999999999999/x.png',
];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `condition` holds. */
async function eventually(condition: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!condition() && Date.now() < until) await sleep(25);
  return condition();
}

/** The shared error shape: JSON with a sentence, a code and the request id. */
function assertErrorBody(reply: Reply, status: number, code: string): void {
  assert.equal(reply.status, status, reply.body.toString().slice(0, 300));
  assert.equal(reply.json?.code, code);
  assert.equal(typeof reply.json?.error, 'string');
  assert.equal(typeof reply.json?.requestId, 'string');
}

async function assertColourAt(reply: Reply, x: number, y: number, colour: number[]): Promise<void> {
  assert.equal(reply.status, 200, reply.body.toString().slice(0, 300));
  const pixel = (await decodeImage(reply.body)).pixel(x, y);
  assert.ok(near(pixel, colour), `pixel at ${x},${y} is ${pixel.join(',')}, expected ${colour.join(',')}`);
}

describe('hostile targets', () => {
  let pageshot: TestServer;
  let hostile: HostileServer;
  let site: FixtureSite;

  /**
   * A normal page (red block top left) embedding `name` as an image, a script, an
   * iframe, a fetch(), an image behind a redirect and (unless it hangs: a stylesheet
   * that never loads blocks rendering in every browser) a stylesheet.
   */
  function embeddingPage(name: HostileCase): string {
    const at = (tag: string) => hostile.caseUrl(name, tag);
    const stylesheet = name === 'hang' ? '' : `<link rel="stylesheet" href="${at('css')}">`;
    return (
      '<!doctype html><html><body style="margin:0;background:#fff">' +
      '<div style="position:absolute;left:0;top:0;width:200px;height:100px;background:#f00"></div>' +
      `<img src="${at('img')}"><script async src="${at('script')}"></script>` +
      `<script>fetch(${JSON.stringify(at('fetch'))}).catch(() => {})</script>` +
      `<iframe src="${at('iframe')}"></iframe><img src="/hop?to=${encodeURIComponent(at('redirect'))}">${stylesheet}</body></html>`
    );
  }

  /** A normal page whose markup points at URLs that do not parse, in every kind of reference. */
  function oddUrlPage(): string {
    const refs = ODD_URLS.map((url) => {
      const quoted = url.replace(/"/g, '&quot;');
      return `<img src="${quoted}"><iframe src="${quoted}" width="10" height="10"></iframe><script async src="${quoted}"></script>`;
    }).join('');
    return (
      '<!doctype html><html><body style="margin:0;background:#fff">' +
      '<div style="position:absolute;left:0;top:0;width:200px;height:100px;background:#f00"></div>' +
      `${refs}<img src="/hop?to=${encodeURIComponent('http://a%20b.test/')}">` +
      `<script>for (const url of ${JSON.stringify(ODD_URLS)}) { try { fetch(url).catch(() => {}) } catch {} }</script></body></html>`
    );
  }

  before(async () => {
    hostile = await startHostileServer();
    site = await startFixtureSite({
      '/hop': (_req, res, url) => {
        res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
        res.end();
      },
      '/embed': (_req, res, url) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(embeddingPage(url.searchParams.get('case') as HostileCase));
      },
      '/odd-urls': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(oddUrlPage());
      },
    });
    // No name resolves: the odd host names must never reach a real DNS server.
    pageshot = await startPageShot({}, { resolve: async () => Promise.reject(new Error('no such host here')) });
  });

  after(async () => {
    await pageshot?.stop();
    await site?.close();
    await hostile?.close();
  });

  // After every case: the same process is alive, answers and captures a normal page.
  afterEach(async () => {
    const status = await pageshot.request('/status');
    assert.equal(status.status, 200);
    await assertColourAt(await pageshot.shoot({ url: `${site.url}/`, timeout: TIMEOUT_MS }), 10, 10, RED);
  });

  it('covers every hostile answer the fixture server knows', () => {
    assert.deepEqual(PAGE_ROWS.map((row) => row.name).sort(), Object.keys(HOSTILE_ANSWERS).sort());
  });

  for (const { name, expected } of PAGE_ROWS) {
    const what = expected.status === 502 ? `502 NAVIGATION_FAILED (${expected.networkError})` : expected.status === 504 ? '504 RENDER_TIMEOUT' : 'an image';
    it(`answers ${what} when the page itself answers ${name}`, async () => {
      const timeout = name === 'hang' ? HANG_TIMEOUT_MS : TIMEOUT_MS;
      const reply = await pageshot.shoot({ url: hostile.caseUrl(name), timeout });
      if (expected.status === 200) return assertColourAt(reply, 10, 10, expected.colour);
      if (expected.status === 504) return assertErrorBody(reply, 504, 'RENDER_TIMEOUT');
      assertErrorBody(reply, 502, 'NAVIGATION_FAILED');
      if (typeof expected.networkError === 'string') assert.equal(reply.json?.networkError, expected.networkError);
      else assert.match(String(reply.json?.networkError), expected.networkError);
    });
  }

  for (const name of Object.keys(HOSTILE_ANSWERS) as HostileCase[]) {
    it(`captures a page whose image, script, stylesheet, iframe, fetch() and redirected image answer ${name}`, async () => {
      const before = hostile.hits.length;
      const options = name === 'hang' ? { timeout: HANG_TIMEOUT_MS, waitUntil: 'domcontentloaded' } : { timeout: TIMEOUT_MS };
      const reply = await pageshot.shoot({ url: `${site.url}/embed?case=${name}`, ...options });
      await assertColourAt(reply, 10, 10, RED);
      // Each kind of reference did reach the hostile server (the case was really exercised).
      const tags = name === 'hang' ? ['img', 'script', 'fetch', 'iframe', 'redirect'] : ['img', 'script', 'css', 'fetch', 'iframe', 'redirect'];
      const asked = () => new Set(hostile.hits.slice(before).map((hit) => /[?&]as=(\w+)/.exec(hit)?.[1]));
      await eventually(() => tags.every((tag) => asked().has(tag)), 1000);
      assert.deepEqual(tags.filter((tag) => !asked().has(tag)), []);
    });
  }

  it('captures a page whose markup points at URLs that do not parse (spaces, odd IDN, bad IPv4 and IPv6)', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/odd-urls`, timeout: TIMEOUT_MS });
    await assertColourAt(reply, 10, 10, RED);
  });

  it('answers a JSON error, never 500, when asked to capture a URL that does not parse', async () => {
    for (const url of ODD_URLS) {
      const reply = await pageshot.shoot({ url, timeout: TIMEOUT_MS });
      assert.ok([400, 403, 502].includes(reply.status), `${url}: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
      assert.equal(typeof reply.json?.code, 'string', url);
      assert.equal(typeof reply.json?.requestId, 'string', url);
    }
  });
});
