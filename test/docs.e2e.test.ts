/**
 * The API reference page (`/docs`) and `GET /` in a real browser: every file comes
 * from this server (no CDN), the strict CSP holds with no violation, and the page
 * renders the operations of `/openapi.json`.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../src/capture/browser.js';
import { findChromium } from '../src/capture/chromium-path.js';
import { DOCS_CSP } from '../src/http/api-docs.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV } from './helpers/keys.js';

describe('the API reference page in a real browser', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const origins = new Set<string>();

  before(async () => {
    server = await startPageShot(AUTH_ENV, { cpuUsage: () => 0 });
    browser = await chromium.launch({ executablePath: findChromium(process.env.PAGESHOT_CHROMIUM_PATH), args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`));
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('request', (request) => origins.add(new URL(request.url()).origin));
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('serves the page under the strict CSP, with the usual security headers', async () => {
    const reply = await server.request('/docs');
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-security-policy'], DOCS_CSP);
    assert.match(DOCS_CSP, /script-src 'self'(;|$)/);
    assert.match(DOCS_CSP, /style-src 'self'(;|$)/);
    assert.doesNotMatch(DOCS_CSP, /unsafe|https:|\*/);
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
    assert.equal(reply.headers['x-frame-options'], 'DENY');
    const script = await server.request('/docs/static/swagger-initializer.js');
    assert.equal(script.headers['content-security-policy'], DOCS_CSP);
    assert.doesNotMatch(script.body.toString(), /validator\.swagger\.io/);
  });

  it('renders every tag and operation of the document, from this origin only, without a CSP violation', async () => {
    await page.goto(`${server.url}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 15_000 });
    const operations = await page.locator('.opblock').count();
    const document = (await server.request('/openapi.json')).json!;
    const documented = Object.values(document.paths as Record<string, object>).reduce((sum, item) => sum + Object.keys(item).length, 0);
    assert.equal(operations, documented);
    assert.ok(await page.getByText('PageShot', { exact: false }).first().isVisible());
    // Kept (in the ignored test-artifacts/, as the console's) to be looked at: the page is for people.
    mkdirSync('test-artifacts', { recursive: true });
    await page.screenshot({ path: 'test-artifacts/docs-page.png' });
    assert.deepEqual(problems, []);
    assert.deepEqual([...origins], [server.url]);
  });

  it('shows an operation with its error codes when opened', async () => {
    await page.locator('.opblock-summary-path', { hasText: /^\/v1\/me$/ }).first().click();
    await page.getByText('INVALID_API_KEY', { exact: false }).first().waitFor({ timeout: 5_000 });
    await page.screenshot({ path: 'test-artifacts/docs-operation.png' });
    assert.deepEqual(problems, []);
  });

  it('answers GET / with links for a browser, and JSON for everyone else', async () => {
    await page.goto(server.url);
    const links = await page.locator('a').evaluateAll((anchors) => anchors.map((anchor) => anchor.getAttribute('href')));
    assert.deepEqual(links, ['/docs', '/openapi.json', '/console', '/status', '/healthz', '/readyz', '/metrics']);
    const json = await server.request('/');
    assert.equal(json.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal((json.json!.links as Record<string, string>).docs, '/docs');
    assert.deepEqual(problems, []);
  });
});
