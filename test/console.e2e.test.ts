import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { FAR_ZONE, launchConsoleBrowser, utcMinute, watchForErrors } from './helpers/console-browser.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY, whoAmI } from './helpers/keys.js';

const KEY_SHAPE = /^ps_live_[0-9A-Za-z]{27}_[0-9A-Za-z]{6}$/;
const ARTIFACTS = 'test-artifacts';
const today = () => new Date().toISOString().slice(0, 10);

/** Seconds between a shown "HH:MM:SS" and the UTC clock now (across midnight too). */
function secondsFromUtcNow(clock: string): number {
  const [hours, minutes, seconds] = clock.split(':').map(Number) as [number, number, number];
  const now = new Date();
  const shown = hours * 3600 + minutes * 60 + seconds;
  const actual = now.getUTCHours() * 3600 + now.getUTCMinutes() * 60 + now.getUTCSeconds();
  const difference = Math.abs(shown - actual);
  return Math.min(difference, 86400 - difference);
}

/**
 * Checks that the status page's `field` stays inside its card: it neither paints past
 * the card's padding nor overflows its own box unless it is cut with an ellipsis, and
 * its title holds the whole value.
 */
async function assertFieldFits(target: Page, field: string, where: string): Promise<void> {
  const fit = await target.locator(`[data-field="${field}"]`).evaluate((element) => {
    const card = element.closest('.card')!;
    const padding = parseFloat(getComputedStyle(card).paddingRight);
    const style = getComputedStyle(element);
    return {
      right: element.getBoundingClientRect().right,
      cardContentRight: card.getBoundingClientRect().right - padding,
      overflows: element.scrollWidth > element.clientWidth,
      ellipsis: style.textOverflow === 'ellipsis' && style.overflowX === 'hidden',
      text: element.textContent,
      title: element.getAttribute('title'),
    };
  });
  assert.ok(fit.text, `${where}: ${field} has a value`);
  assert.ok(fit.right <= fit.cardContentRight + 0.5, `${where}: ${field} ends at ${fit.right}, the card's content at ${fit.cardContentRight}`);
  assert.ok(!fit.overflows || fit.ellipsis, `${where}: ${field} runs out of its box without an ellipsis`);
  assert.equal(fit.title, fit.text, `${where}: the title holds the whole ${field}`);
}

describe('web console in a real browser', () => {
  let server: TestServer;
  let site: FixtureSite;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  /** The key created through the console, read from its dialog. */
  let created: { id: string; key: string };

  const consoleUrl = (hash = '') => `${server.url}/console/${hash}`;
  const artifact = (name: string, target: Page = page) => target.screenshot({ path: `${ARTIFACTS}/console-${name}.png`, fullPage: true });
  const row = (id: string) => page.locator(`#keys-table tr[data-key-id="${id}"]`);

  async function signIn(target: Page, key: string): Promise<void> {
    await target.goto(consoleUrl());
    await target.fill('#signin-key', key);
    await target.press('#signin-key', 'Enter');
    await target.locator('#nav').waitFor({ state: 'visible' });
  }

  /** Reads the key out of the show-once dialog, then closes it as a person would. */
  async function takeRevealedKey(): Promise<string> {
    const dialog = page.locator('#secret-dialog');
    await dialog.waitFor({ state: 'visible' });
    const key = (await page.locator('#secret-value').textContent()) ?? '';
    await dialog.getByRole('button', { name: 'I have stored it' }).click();
    await dialog.waitFor({ state: 'hidden' });
    return key;
  }

  async function keyIdByName(name: string): Promise<string> {
    const list = await server.request('/v1/keys?limit=100', { headers: bearer(ROOT_KEY) });
    const found = (list.json?.data as Array<{ id: string; name: string }>).find((key) => key.name === name);
    assert.ok(found, `no key named ${name}`);
    return found.id;
  }

  const shoot = (key: string, path = '/') => server.request('/screenshot', { headers: bearer(key), body: { url: `${site.url}${path}`, width: 400, height: 300 } });

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    [server, site] = await Promise.all([startPageShot(AUTH_ENV), startFixtureSite()]);
    browser = await launchConsoleBrowser();
    // Far from UTC, so a time shown in the browser's zone instead of UTC would be seen.
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: FAR_ZONE });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    page = await context.newPage();
    errors = await watchForErrors(page);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await site?.close();
  });

  it('signs in with the keyboard alone, keeping the key in this tab only', async () => {
    await page.goto(consoleUrl());
    await artifact('signin');
    // From the top of the page: skip link, brand, then the key field.
    await page.locator('body').focus();
    for (let i = 0; i < 6 && (await page.evaluate(() => document.activeElement?.id)) !== 'signin-key'; i++) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'signin-key', 'Tab reaches the key field');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    await page.keyboard.type(ROOT_KEY);
    await page.keyboard.press('Enter');
    await page.locator('#keys-title').waitFor({ state: 'visible' });
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'keys-title', 'focus moves to the new page');
    assert.equal(new URL(page.url()).hash, '#/keys');
    const storage = await page.evaluate(() => ({ session: sessionStorage.length, local: localStorage.length, cookie: document.cookie }));
    assert.deepEqual(storage, { session: 1, local: 0, cookie: '' });
    assert.deepEqual(await context.cookies(), []);
  });

  it('links to the API reference at /docs from the header, signed in or not', async () => {
    const docs = page.getByRole('banner').getByRole('link', { name: 'API docs' });
    assert.equal(await docs.getAttribute('href'), '/docs');
    assert.ok(await docs.isVisible());
    const signedOut = await browser.newPage();
    await signedOut.goto(consoleUrl());
    const before = signedOut.getByRole('banner').getByRole('link', { name: 'API docs' });
    assert.equal(await before.getAttribute('href'), '/docs');
    assert.ok(await before.isVisible(), 'visible before signing in too');
    await signedOut.close();
  });

  it('creates a key in a dialog that shows it once, with a copy button and a warning', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.locator('#create-dialog');
    await dialog.getByLabel('Name').fill('console-made');
    await dialog.getByLabel('Per day').fill('1000');
    await dialog.getByLabel('Allowed hosts (optional)').fill('127.0.0.1');
    // A setting the API refuses is reported inside the dialog, on the field it is about.
    await dialog.getByLabel('Allowed client IPs (optional)').fill('999.1.1.1');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    await page.locator('#create-error', { hasText: 'VALIDATION_ERROR' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'create-ips');
    await artifact('create-error');
    await dialog.getByLabel('Allowed client IPs (optional)').fill('');
    await dialog.getByRole('button', { name: 'Create key' }).click();

    const secret = page.locator('#secret-dialog');
    await secret.waitFor({ state: 'visible' });
    assert.match((await secret.textContent()) ?? '', /will not be shown again/);
    assert.ok(await secret.getByRole('button', { name: 'Copy key' }).isVisible());
    await artifact('key-created');
    const key = await takeRevealedKey();
    assert.match(key, KEY_SHAPE);
    created = { id: await keyIdByName('console-made'), key };

    const made = row(created.id);
    await made.waitFor();
    assert.match((await made.textContent()) ?? '', /console-made.*ps_live_….*screenshot.*1,000\/day.*hosts: 127\.0\.0\.1.*active/s);
    assert.equal((await page.content()).includes(key), false, 'once closed, the dialog no longer holds the key');
  });

  it('shows each key id in monospace with a button that copies it', async () => {
    const id = row(created.id).locator('td[data-label="Key"] code.id');
    assert.equal(await id.textContent(), created.id);
    assert.match(await id.evaluate((element) => getComputedStyle(element).fontFamily), /monospace/);
    await page.evaluate(() => navigator.clipboard.writeText('something else'));
    await row(created.id).getByRole('button', { name: 'Copy id of key console-made' }).click();
    await page.locator('#keys-status', { hasText: created.id }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), created.id);
  });

  it('shows every time of the keys page in UTC, saying so, whatever the browser\'s zone', async () => {
    const time = row(created.id).locator('td[data-label="Created"] time');
    const iso = (await time.getAttribute('datetime')) ?? '';
    assert.equal(await time.textContent(), utcMinute(iso), `the browser runs in ${FAR_ZONE}`);
    assert.equal(await time.getAttribute('title'), iso);
    assert.match((await page.locator('#view-keys .lede').textContent()) ?? '', /Times are UTC/);
  });

  it('the new key works against /screenshot, sent from outside the browser', async () => {
    for (let i = 0; i < 3; i++) {
      const reply = await shoot(created.key);
      assert.equal(reply.status, 200, reply.body.toString());
      assert.equal(reply.headers['content-type'], 'image/png');
    }
    const failed = await shoot(created.key, '/status?code=500');
    assert.equal(failed.status, 502);
  });

  it('never shows the key again after a reload', async () => {
    await page.reload();
    await row(created.id).waitFor();
    const texts = await page.evaluate(() => ({
      html: document.documentElement.outerHTML,
      text: document.body.innerText,
      values: [...document.querySelectorAll('input, textarea')].map((field) => (field as HTMLInputElement).value).join('\n'),
    }));
    for (const [where, text] of Object.entries(texts)) assert.equal(text.includes(created.key), false, `the key is not in the page's ${where}`);
    await artifact('keys');
  });

  it('shows the requests just made in the usage chart, with totals', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.locator('#usage-key').selectOption(created.id);
    await page.locator('#usage-caption', { hasText: 'console-made' }).waitFor();
    const bar = page.locator(`#usage-chart g[data-day="${today()}"]`);
    assert.equal(await bar.getAttribute('data-requests'), '4', '3 captures and 1 failure today');
    assert.equal(await bar.locator('rect.bar-succeeded').count(), 1);
    assert.equal(await bar.locator('rect.bar-failed').count(), 1);
    assert.equal(await page.locator('#usage-chart g[data-day]').count(), 30, 'one bar slot per day for 30 days');
    const total = (name: string) => page.locator(`#usage-totals [data-total="${name}"] dd`).first().textContent();
    assert.equal(await total('succeeded'), '3');
    assert.equal(await total('failed'), '1');
    assert.equal(await total('rejected'), '0');
    await artifact('usage');
  });

  it('disables and enables a key, and the API follows at once', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await row(created.id).getByRole('button', { name: 'Disable key console-made' }).click();
    await row(created.id).locator('.state-disabled').waitFor();
    assert.equal((await whoAmI(server, created.key)).json?.code, 'KEY_DISABLED');
    await row(created.id).getByRole('button', { name: 'Enable key console-made' }).click();
    await row(created.id).locator('.state-active').waitFor();
    assert.equal((await whoAmI(server, created.key)).status, 200);
  });

  it('rotates with a grace period: the new key is shown once and both keys work meanwhile', async () => {
    await row(created.id).getByRole('button', { name: 'Rotate key console-made' }).click();
    await page.getByLabel('The old key keeps working for').selectOption('300');
    await artifact('rotate');
    await page.locator('#rotate-dialog').getByRole('button', { name: 'Rotate key' }).click();
    const rotated = await takeRevealedKey();
    assert.match(rotated, KEY_SHAPE);
    assert.notEqual(rotated, created.key);

    const newId = (await whoAmI(server, rotated)).json?.id as string;
    await row(newId).waitFor();
    assert.equal((await shoot(rotated)).status, 200, 'the new key works');
    assert.equal((await shoot(created.key)).status, 200, 'the old key works during the grace period');
    const expires = await row(created.id).locator('td[data-label="Expires"] time').getAttribute('datetime');
    const left = Date.parse(expires ?? '') - Date.now();
    assert.ok(left > 200_000 && left <= 300_000, `the old key expires in about 5 minutes (${left} ms)`);
    assert.match((await page.locator('#keys-status').textContent()) ?? '', /keeps working until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 5 min\)/);
    assert.equal((await page.content()).includes(rotated), false);
    created = { id: newId, key: rotated };
  });

  it('revokes a key only after confirmation, and the API refuses it with KEY_REVOKED', async () => {
    const revokeButton = row(created.id).getByRole('button', { name: 'Revoke key console-made' });
    await revokeButton.click();
    await page.keyboard.press('Enter'); // focus starts on Cancel: Enter alone does not revoke
    await page.locator('#revoke-dialog').waitFor({ state: 'hidden' });
    assert.equal((await whoAmI(server, created.key)).status, 200, 'cancelled: still active');

    await revokeButton.click();
    await artifact('revoke');
    await page.locator('#revoke-dialog').getByRole('button', { name: 'Revoke key' }).click();
    await row(created.id).locator('.state-revoked').waitFor();
    const refused = await shoot(created.key);
    assert.equal(refused.status, 403);
    assert.equal(refused.json?.code, 'KEY_REVOKED');
  });

  it('shows CPU, queue and browser state, refreshing every few seconds', async () => {
    await page.getByRole('link', { name: 'Status' }).click();
    const state = page.locator('[data-field="browser.state"]');
    await page.waitForFunction(() => document.querySelector('[data-field="browser.state"]')?.textContent !== '');
    assert.match((await state.textContent()) ?? '', /^[a-z-]+$/);
    assert.match((await page.locator('[data-field="system.cpuUsage"]').textContent()) ?? '', /^\d+%$/);
    assert.match((await page.locator('[data-field="queue.running"]').textContent()) ?? '', /^\d+ of \d+$/);
    assert.match((await page.locator('[data-field="queue.waiting"]').textContent()) ?? '', /^\d+ of \d+$/);
    const updated = (await page.locator('#status-updated').textContent()) ?? '';
    const clock = /^Last update: (\d\d:\d\d:\d\d) UTC\.$/.exec(updated);
    assert.ok(clock, `the update time says UTC: ${updated}`);
    assert.ok(secondsFromUtcNow(clock[1]!) < 60, `${clock[1]} is the UTC time now`);
    await assertFieldFits(page, 'browser.version', '1280 px');
    await artifact('status');
    const next = await page.waitForRequest((request) => request.url().endsWith('/status'), { timeout: 5000 });
    assert.equal(next.headers().authorization, undefined, 'the public /status gets no key');

    // A build with a longer name than this Chromium's, in one unbreakable word: cut with
    // an ellipsis inside the card, never spilled over its edge.
    await page.route('**/status', async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      body.browser.version = `HeadlessChrome/${body.browser.version}-linux-x86_64-official-build`;
      await route.fulfill({ response, json: body });
    });
    try {
      await page.locator('[data-field="browser.version"]', { hasText: 'official-build' }).waitFor({ timeout: 5000 });
      for (const width of [1280, 1000, 700]) {
        await page.setViewportSize({ width, height: 800 });
        await assertFieldFits(page, 'browser.version', `${width} px, a long version`);
      }
    } finally {
      await page.unroute('**/status');
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('takes a screenshot of the fixture page in the playground, with headers and a curl command', async () => {
    await page.getByRole('link', { name: 'Playground' }).click();
    await page.getByLabel('Page URL').fill(`${site.url}/`);
    await page.getByLabel('Width (px)').fill('640');
    await page.getByLabel('Height (px)').fill('400');
    await page.getByRole('button', { name: 'Take screenshot' }).click();
    const image = page.locator('#shot-image');
    await page.waitForFunction(() => (document.querySelector('#shot-image') as HTMLImageElement | null)?.naturalWidth === 640);
    assert.match((await image.getAttribute('src')) ?? '', /^blob:/);
    // The fixture page has a red block at its top-left corner.
    const pixel = await page.evaluate(() => {
      const img = document.querySelector('#shot-image') as HTMLImageElement;
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const context2d = canvas.getContext('2d')!;
      context2d.drawImage(img, 0, 0);
      return [...context2d.getImageData(50, 50, 1, 1).data];
    });
    assert.deepEqual(pixel.slice(0, 3), [255, 0, 0]);
    const remaining = page.locator('#shot-headers [data-header="x-ratelimit-remaining"]');
    assert.equal(await remaining.getAttribute('class'), 'ratelimit');
    assert.equal(await page.locator('#shot-headers [data-header="content-type"]').getAttribute('class'), '');
    const curl = (await page.locator('#shot-curl').textContent()) ?? '';
    assert.match(curl, /Authorization: Bearer \$PAGESHOT_API_KEY/);
    assert.match(curl, /"width":640/);
    assert.equal(curl.includes(ROOT_KEY), false);
    await artifact('playground');
  });

  it('gives a key without keys:manage only its own usage and the playground', async () => {
    const user = await createKey(server, { name: 'reader', scopes: ['screenshot', 'usage:read'] });
    const other = await browser.newPage();
    await signIn(other, user.key);
    assert.equal(new URL(other.url()).hash, '#/usage');
    const links = await other.locator('#nav a:visible').allTextContents();
    assert.deepEqual(links, ['Usage', 'Playground']);
    for (const hidden of ['#/keys', '#/status']) {
      await other.goto(consoleUrl(hidden));
      // The router replaces an address this key may not use with its usage page.
      await other.waitForURL((url) => url.hash === '#/usage', { timeout: 5000 });
      assert.ok(await other.locator('#usage-title').isVisible(), `${hidden} is not offered`);
      assert.equal(await other.locator('#view-keys, #view-status').filter({ visible: true }).count(), 0);
    }
    assert.equal(await other.locator('#usage-key option').count(), 1);
    await artifact('usage-reader', other);
    await other.getByRole('button', { name: 'Sign out' }).click();
    await other.locator('#signin-title').waitFor({ state: 'visible' });
    assert.equal(await other.evaluate(() => sessionStorage.length), 0, 'signing out forgets the key');
    await other.reload();
    await other.locator('#signin-title').waitFor({ state: 'visible' });
    await other.close();
  });

  it('fits a 375 px wide screen on every page without horizontal scrolling', async () => {
    const phone = await browser.newPage({ viewport: { width: 375, height: 812 } });
    const phoneErrors = await watchForErrors(phone);
    await signIn(phone, ROOT_KEY);
    for (const view of ['keys', 'usage', 'status', 'playground']) {
      await phone.goto(consoleUrl(`#/${view}`));
      await phone.locator(`#view-${view}`).waitFor({ state: 'visible' });
      await phone.waitForLoadState('networkidle');
      const widths = await phone.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
      assert.ok(widths.scroll <= widths.client, `${view}: ${widths.scroll} px wide in a ${widths.client} px screen`);
      if (view === 'status') {
        await phone.waitForFunction(() => document.querySelector('[data-field="browser.version"]')?.textContent !== '');
        await assertFieldFits(phone, 'browser.version', '375 px');
      }
      await phone.screenshot({ path: `${ARTIFACTS}/console-${view}-375.png`, fullPage: true });
    }
    await phone.goto(consoleUrl('#/keys'));
    await phone.getByRole('button', { name: 'Create key' }).click();
    const box = await phone.locator('#create-dialog').boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 375, `the dialog fits: ${JSON.stringify(box)}`);
    await phone.screenshot({ path: `${ARTIFACTS}/console-create-375.png` });
    await phone.close();
    assert.deepEqual(phoneErrors, []);
  });

  it('follows the system dark mode', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(consoleUrl('#/keys'));
    await page.locator('#keys-table tbody tr').first().waitFor();
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(background, 'rgb(15, 18, 22)');
    await artifact('keys-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('ran without a CSP violation or script error', () => {
    assert.deepEqual(errors, []);
  });
});
