import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page, Route } from 'playwright-core';
import { FAR_ZONE, launchConsoleBrowser, signIn, utcMinute, watchForErrors } from './helpers/console-browser.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey } from './helpers/keys.js';

const ARTIFACTS = 'test-artifacts';
/** `pageshot-<host>-<UTC yyyymmddThhmmss>Z.<ext>` */
const FILE_NAME = /^pageshot-127\.0\.0\.1-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z\.(png|pdf)$/;

/** The time a download's file name says, in ms. */
function timeOfName(name: string): number {
  const [, year, month, day, hours, minutes, seconds] = FILE_NAME.exec(name) ?? [];
  return Date.parse(`${year}-${month}-${day}T${hours}:${minutes}:${seconds}Z`);
}

describe('console playground in a real browser', () => {
  let server: TestServer;
  let site: FixtureSite;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let user: { id: string; key: string };

  /** Fills the form with the fixture page and takes a screenshot in `format`. */
  async function shoot(format: 'png' | 'pdf'): Promise<void> {
    await page.getByLabel('Page URL').fill(`${site.url}/`);
    await page.getByLabel('Format').selectOption(format);
    await page.getByRole('button', { name: 'Take screenshot' }).click();
    await page.locator('#shot-status', { hasText: 'Done' }).waitFor();
  }

  /** Clicks the download link; returns the file's name and bytes. */
  async function download(): Promise<{ name: string; bytes: Buffer }> {
    const started = page.waitForEvent('download');
    await page.locator('#shot-download').click();
    const file = await started;
    return { name: file.suggestedFilename(), bytes: readFileSync((await file.path())!) };
  }

  before(async () => {
    [server, site] = await Promise.all([startPageShot(AUTH_ENV), startFixtureSite()]);
    user = await createKey(server, { name: 'player', scopes: ['screenshot', 'usage:read'] });
    browser = await launchConsoleBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: FAR_ZONE });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    page = await context.newPage();
    errors = await watchForErrors(page);
    await signIn(page, server.url, user.key);
    await page.getByRole('link', { name: 'Playground' }).click();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await site?.close();
  });

  it('downloads the screenshot as a file named after the host, the UTC time and the format', async () => {
    await shoot('png');
    assert.equal(await page.locator('#shot-download').textContent(), 'Download PNG');
    const { name, bytes } = await download();
    assert.match(name, FILE_NAME);
    assert.ok(Math.abs(timeOfName(name) - Date.now()) < 120_000, `${name} says the UTC time of the capture`);
    const image = await decodeImage(bytes);
    assert.deepEqual([image.format, image.width, image.height], ['png', 1280, 720]);
    assert.deepEqual(image.pixel(50, 50).slice(0, 3), [255, 0, 0], "the fixture page's red block");
  });

  it('shows X-RateLimit-Reset as a UTC time and a countdown, keeping the raw value in its title', async () => {
    const reset = page.locator('#shot-headers [data-header="x-ratelimit-reset"] dd');
    const raw = (await reset.getAttribute('data-raw')) ?? '';
    assert.match(raw, /^\d{10}$/);
    assert.match((await reset.getAttribute('title')) ?? '', new RegExp(`^${raw}\\b`));
    const clock = new Date(Number(raw) * 1000).toISOString().slice(11, 19);
    assert.match((await reset.textContent()) ?? '', new RegExp(`^${clock} UTC \\((in \\d+ (s|min|h)|now|\\d+ s ago)\\)$`));
  });

  it('captures a PDF and offers it as a .pdf download instead of a preview', async () => {
    await page.getByLabel('Format').selectOption('pdf');
    assert.equal(await page.getByLabel('Full page').isDisabled(), true, 'a PDF is paged: no "full page"');
    await shoot('pdf');
    assert.equal(await page.locator('#shot-image').isVisible(), false);
    assert.match((await page.locator('#shot-caption').textContent()) ?? '', /^application\/pdf, .*download it/);
    const { name, bytes } = await download();
    assert.match(name, FILE_NAME);
    assert.ok(name.endsWith('.pdf'));
    assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
    await page.getByLabel('Format').selectOption('png');
    assert.equal(await page.getByLabel('Full page').isDisabled(), false);
  });

  it('copies an embed link, offering first to create a signing secret (the contract, with the server mocked)', async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const path = `/screenshot?url=${encodeURIComponent(`${site.url}/`)}&keyId=${user.id}&expires=1767225600&signature=${'a'.repeat(64)}`;
    const linkBodies: unknown[] = [];
    const secretRequests: Array<{ body: string | null; contentType: string | undefined }> = [];
    let hasSecret = false;
    await page.route('**/v1/signed-urls', (route: Route) => {
      linkBodies.push(route.request().postDataJSON());
      if (!hasSecret) return route.fulfill({ status: 400, json: { error: 'No signing secret.', code: 'SIGNING_SECRET_MISSING', requestId: 'r1' } });
      return route.fulfill({ status: 200, json: { url: path, expiresAt, keyId: user.id } });
    });
    await page.route('**/v1/me/signing-secrets', (route: Route) => {
      secretRequests.push({ body: route.request().postData(), contentType: route.request().headers()['content-type'] });
      hasSecret = true;
      return route.fulfill({ status: 201, json: { id: 'sks_1', keyId: user.id, secret: `pss_${'x'.repeat(43)}`, hint: 'pss_…abcd', createdAt: new Date().toISOString() } });
    });
    try {
      await page.getByLabel('Page URL').fill(`${site.url}/`);
      await page.getByLabel('Valid for').selectOption('86400');
      await page.getByRole('button', { name: 'Copy embed link' }).click();
      const create = page.getByRole('button', { name: 'Create a signing secret and copy the link' });
      await create.waitFor();
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'embed-create-secret', 'focus moves to the offer');
      assert.equal(await page.locator('#embed-result').isVisible(), false);
      await create.click();
      await page.locator('#embed-status', { hasText: 'copied' }).waitFor();

      const link = `${server.url}${path}`;
      assert.equal(await page.locator('#embed-url').textContent(), link);
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
      assert.match((await page.locator('#embed-expiry').textContent()) ?? '', new RegExp(`until ${utcMinute(expiresAt)} \\(in (24 h|1 d)\\)`));
      assert.match((await page.locator('#embed-status').textContent()) ?? '', /pss_…abcd/);
      assert.deepEqual(secretRequests, [{ body: null, contentType: undefined }], 'one secret, asked for without a body');
      const asked = { options: { url: `${site.url}/`, width: 1280, height: 720, format: 'png' }, expiresIn: 86400 };
      assert.deepEqual(linkBodies, [asked, asked], 'the same link asked for again once the secret exists');
      assert.equal(await page.locator('#embed-secret-offer').isVisible(), false);
      await page.screenshot({ path: `${ARTIFACTS}/console-playground-embed.png`, fullPage: true });
    } finally {
      await page.unroute('**/v1/signed-urls');
      await page.unroute('**/v1/me/signing-secrets');
    }
  });

  it('makes an embed link that loads the capture without a key (the real server)', async () => {
    const fresh = await createKey(server, { name: 'embedder', scopes: ['screenshot'] });
    const probe = await server.request('/v1/signed-urls', { body: { options: { url: `${site.url}/` }, expiresIn: 60 }, headers: bearer(fresh.key) });
    assert.equal(probe.json?.code, 'SIGNING_SECRET_MISSING', 'a new key has no signing secret');
    const other = await context.newPage();
    const otherErrors = await watchForErrors(other);
    await signIn(other, server.url, fresh.key);
    await other.goto(`${server.url}/console/#/playground`);
    await other.getByLabel('Page URL').fill(`${site.url}/`);
    await other.getByLabel('Width (px)').fill('400');
    await other.getByLabel('Height (px)').fill('300');
    await other.getByRole('button', { name: 'Copy embed link' }).click();
    await other.getByRole('button', { name: 'Create a signing secret and copy the link' }).click();
    await other.locator('#embed-status', { hasText: 'copied' }).waitFor();
    const link = new URL((await other.locator('#embed-url').textContent()) ?? '');
    assert.equal(link.origin, server.url);
    assert.equal(link.searchParams.get('keyId'), fresh.id);
    assert.equal(await other.evaluate(() => navigator.clipboard.readText()), link.href);
    const loaded = await server.request(`${link.pathname}${link.search}`);
    assert.equal(loaded.status, 200, loaded.body.toString().slice(0, 200));
    const image = await decodeImage(loaded.body);
    assert.deepEqual([image.width, image.height], [400, 300]);
    await other.close();
    assert.deepEqual(otherErrors, []);
  });

  it('ran without a CSP violation or script error', () => {
    assert.deepEqual(errors, []);
  });
});
