import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { anyJson, assertKeepsPromise, nastyString, seeded } from './helpers/property.js';

/** Text for header values, cookie values and the User-Agent: plain, or with the characters that break HTTP. */
const fieldText = fc.oneof(fc.constantFrom('plain', 'a\r\nInjected: 1', 'x\u0000y', 'tab\tok', 'é', 'semi;colon', ''), nastyString);

/** Header names a browser sends, may not send, or cannot send. */
const headerName = fc.constantFrom('X-Test', 'Accept-Language', 'Cookie', 'Referer', 'Host', 'Proxy-Authorization', 'TE', 'bad name');

/** PDF options from valid to absurd (huge paper, margins larger than it, ranges past any end, templates that script). */
const pdfOptions = fc.record(
  {
    paperFormat: fc.constantFrom('A4', 'Letter', 'a4'),
    width: fc.constantFrom('210mm', '0', '-1in', '99999in'),
    height: fc.constantFrom('297mm', '1px'),
    margin: fc.record({ top: fc.constantFrom('10mm', '500in'), left: fc.constantFrom('0', '1cm') }),
    landscape: fc.boolean(),
    pageRanges: fc.constantFrom('1', '2-1', '1-99999', '0', '1,,2', '5'),
    scale: fc.double({ min: 0, max: 3, noNaN: true }),
    headerTemplate: fc.constantFrom('<span class="pageNumber"></span>', '<img src="file:///etc/passwd">', '<script>for(;;){}</script>'),
  },
  { requiredKeys: [] },
);

/** A switch that is mostly off. */
const seldom = fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) });

/**
 * Valid values of the fidelity options (the hostile ones come from the replacement in
 * optionsArbitrary); each is rarely on where it costs time (banners wait ~1 s).
 */
function fidelityOptions() {
  return {
    scrollPage: fc.boolean(),
    disableAnimations: fc.boolean(),
    blockCookieBanners: seldom,
    blockAds: seldom,
    blockTrackers: seldom,
    clickSelector: fc.constantFrom('#block', 'body', 'div'),
    failOnBlank: fc.boolean(),
    failOnHttpError: fc.boolean(),
    device: fc.constantFrom('iPhone 15', 'Pixel 7', 'iPad Pro 11 landscape', 'Galaxy S9+'),
    timezone: fc.constantFrom('Asia/Tokyo', 'UTC', 'America/St_Johns'),
    locale: fc.constantFrom('de-DE', 'ja', 'en-US-u-ca-buddhist', 'zh-Hant-TW'),
    reducedMotion: fc.constantFrom('reduce', 'no-preference'),
    mediaType: fc.constantFrom('screen', 'print'),
    hideSelectors: fc.array(fc.constantFrom('#block', '#green', ':has(> div)', '*'), { maxLength: 3 }),
    blockResources: fc.uniqueArray(fc.constantFrom('image', 'script', 'websocket', 'font', 'fetch'), { maxLength: 3 }),
  };
}

/** The fixture pages the fidelity options are tried on: still, tall, late-drawing, an error page. */
function pageUrlsToCapture(site: FixtureSite) {
  return fc.constantFrom(`${site.url}/`, `${site.url}/tall?h=3000`, `${site.url}/late-element`, `${site.url}/status?code=404`);
}

/** Plausible, mostly valid values of every option (headers and cookies as hostile as they come). */
function plausibleOptions(site: FixtureSite) {
  const cookie = fc.record(
    {
      name: fc.oneof(fc.constantFrom('session', '__Host-id', '__Secure-id'), nastyString),
      value: fieldText,
      domain: fc.oneof(nastyString, fc.constant('127.0.0.1')),
      path: fc.oneof(nastyString, fc.constant('/')),
      secure: fc.boolean(),
      sameSite: fc.constantFrom('Strict', 'Lax', 'None', 'none'),
      expires: fc.oneof(fc.integer(), fc.double(), fc.constant(1e20)),
    },
    { requiredKeys: ['name', 'value'] },
  );
  return {
    url: fc.constantFrom(`${site.url}/`, `${site.url}/tall?h=3000`, `${site.url}/late-element`),
    width: fc.integer({ min: 100, max: 1600 }),
    height: fc.integer({ min: 100, max: 1200 }),
    deviceScaleFactor: fc.double({ min: 1, max: 2, noNaN: true }),
    fullPage: fc.boolean(),
    format: fc.constantFrom('png', 'jpeg', 'webp', 'pdf'),
    selector: fc.constantFrom('#block', '#green', 'div', '#missing', 'div['),
    waitUntil: fc.constantFrom('load', 'domcontentloaded', 'networkidle'),
    waitForSelector: fc.constantFrom('#late', 'body', 'div['),
    delay: fc.integer({ min: 0, max: 300 }),
    darkMode: fc.boolean(),
    omitBackground: fc.boolean(),
    userAgent: fieldText,
    headers: fc.dictionary(fc.oneof({ weight: 4, arbitrary: headerName }, nastyString), fieldText, { minKeys: 1, maxKeys: 3 }),
    cookies: fc.array(cookie, { maxLength: 2 }),
    css: fc.constantFrom('html{background:#00f}', '}}}{{{', '@import url(file:///etc/passwd);'),
    js: fc.constantFrom('1', 'throw 1', 'null.x', '"x".repeat(1e6)', 'location = "file:///etc/passwd"', 'for(;;){}'),
    fresh: fc.boolean(),
    // Repeats are likely (few URLs, few values): hits, misses and shared renders all occur.
    cacheTtl: fc.constantFrom(0, 1, 60),
    ...fidelityOptions(),
  };
}

/**
 * Option objects that reach deep: a few plausible options, then often one of them (or an
 * unknown one) replaced by anything at all, so each hostile value meets a request that
 * is otherwise valid and gets as far into the capture as it can.
 */
function optionsArbitrary(site: FixtureSite, plausible: Record<string, fc.Arbitrary<unknown>> = plausibleOptions(site)) {
  const base = fc.record(plausible, { requiredKeys: ['url'] });
  const name = fc.constantFrom(...Object.keys(plausible), 'pdf', 'unknownOption');
  return fc
    .tuple(base, name, fc.oneof(anyJson, nastyString, pdfOptions), fc.boolean())
    .map(([options, field, value, replace]) => (replace ? { ...options, [field]: value } : options));
}

/** URLs a page may use for its subresources and navigations: valid, odd and broken. */
function pageUrl(site: FixtureSite) {
  return fc.oneof(
    fc.constantFrom(
      `${site.url}/`,
      `${site.url}/slow?ms=200`,
      `${site.url}/status?code=500`,
      'http://a b.test/x.png',
      'http://a%20b.test/',
      'http://xn--/',
      'http://[::1/',
      'http://127.0.0.2:1/',
      'file:///etc/passwd',
      'chrome://settings',
      'javascript:void 0',
      'data:text/html,<b>x</b>',
      'ftp://127.0.0.1/',
      'mailto:x@y.z',
      '//',
      'http://0x7f.1/',
      'http://%00/',
    ),
    fc.webUrl(),
    fc.string({ maxLength: 30 }),
  );
}

/** A small page made of elements that load, navigate and script with those URLs. */
function markupArbitrary(site: FixtureSite) {
  const url = pageUrl(site).map((value) => value.replaceAll('"', '%22').replaceAll('<', '%3C'));
  const js = (value: string) => JSON.stringify(value).replaceAll('<', '\\u003c');
  const element = fc.oneof(
    url.map((src) => `<img src="${src}">`),
    url.map((src) => `<script src="${src}"></script>`),
    url.map((href) => `<link rel="stylesheet" href="${href}">`),
    url.map((src) => `<iframe src="${src}"></iframe>`),
    url.map((href) => `<meta http-equiv="refresh" content="0;url=${href}">`),
    url.map((action) => `<form method="post" action="${action}"></form><script>document.forms[0]?.submit()</script>`),
    url.map((target) => `<script>fetch(${js(target)}).catch(() => {})</script>`),
    url.map((target) => `<script>setTimeout(() => { location = ${js(target)} }, 50)</script>`),
    fc.constantFrom('<script>throw new Error("x")</script>', '<div style="width:9999px;height:9999px"></div>', '<p>text</p>', '<svg><foreignObject>'),
    fc.string({ maxLength: 40 }),
  );
  return fc.array(element, { minLength: 1, maxLength: 5 }).map((parts) => `<!doctype html><body>${parts.join('')}</body>`);
}

describe('property: whatever a caller or a page sends, PageShot answers with an image or a JSON error, never a 500', () => {
  let site: FixtureSite;
  let pageshot: TestServer;

  before(async () => {
    site = await startFixtureSite();
    pageshot = await startPageShot({ PAGESHOT_ALLOW_PRIVATE_NETWORKS: '127.0.0.1/32' });
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  it('over the option schema', async () => {
    await fc.assert(
      fc.asyncProperty(optionsArbitrary(site), async (options) => {
        // Short deadlines keep the run bounded; a generated one of the wrong type stays.
        const body = { timeout: 3000, ...options };
        assertKeepsPromise(await pageshot.shoot(body), body);
      }),
      { numRuns: 150, interruptAfterTimeLimit: 150_000, ...seeded },
    );
    assert.equal((await pageshot.request('/status')).status, 200);
  });

  it('over the fidelity options, on captures that get as far as the browser', async () => {
    await fc.assert(
      fc.asyncProperty(optionsArbitrary(site, { url: pageUrlsToCapture(site), format: fc.constantFrom('png', 'jpeg', 'pdf'), fullPage: fc.boolean(), ...fidelityOptions() }), async (options) => {
        // Short deadlines keep the run bounded; a generated one of the wrong type stays.
        const body = { timeout: 3000, ...options };
        assertKeepsPromise(await pageshot.shoot(body), body);
      }),
      { numRuns: 60, interruptAfterTimeLimit: 120_000, ...seeded },
    );
    assert.equal((await pageshot.request('/status')).status, 200);
  });

  it('over generated page markup', async () => {
    await fc.assert(
      fc.asyncProperty(markupArbitrary(site), async (html) => {
        const body = { html, timeout: 3000 };
        assertKeepsPromise(await pageshot.shoot(body), body);
      }),
      { numRuns: 50, interruptAfterTimeLimit: 150_000, ...seeded },
    );
    assert.equal((await pageshot.request('/status')).status, 200);
    assert.equal((await pageshot.shoot({ url: `${site.url}/` })).status, 200);
  });
});
