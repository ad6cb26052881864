import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { openDatabase } from '../src/store/database.js';
import { UsageStore } from '../src/store/usage-store.js';
import { boxesOf, FAR_ZONE, launchConsoleBrowser, signIn, utcDayFromToday, watchForErrors, type Box } from './helpers/console-browser.js';
import { startPageShot, tempDataDir, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, createKey } from './helpers/keys.js';

const ARTIFACTS = 'test-artifacts';

/** Usage seeded straight into the store: days the test could not otherwise produce. */
const SEEDED: Array<{ back: number; requests: number; succeeded: number; rejected: number; rejectedBy: Record<string, number> }> = [
  { back: -40, requests: 10, succeeded: 10, rejected: 0, rejectedBy: {} },
  { back: -3, requests: 12, succeeded: 4, rejected: 8, rejectedBy: { RATE_LIMITED: 5, QUOTA_EXCEEDED: 2, TARGET_FORBIDDEN: 1 } },
];

/** Fails when two boxes overlap (left to right) or one leaves `bounds`. */
function assertApartAndInside(boxes: Box[], bounds: Box, where: string): void {
  const sorted = [...boxes].sort((a, b) => a.left - b.left);
  for (const box of sorted) assert.ok(box.left >= bounds.left - 0.5 && box.right <= bounds.right + 0.5, `${where}: a label leaves the chart (${JSON.stringify(box)})`);
  for (let index = 1; index < sorted.length; index++) {
    assert.ok(sorted[index - 1]!.right + 2 <= sorted[index]!.left, `${where}: labels ${index - 1} and ${index} overlap`);
  }
}

describe('console usage page in a real browser', () => {
  let server: TestServer;
  let dataDir: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let admin: { id: string; key: string };
  let newer: { id: string; key: string };

  const total = (name: string) => page.locator(`#usage-totals [data-total="${name}"] dd`).textContent();
  const usageRequests: string[] = [];

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = tempDataDir();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_DATA_DIR: dataDir });
    admin = await createKey(server, { name: 'usage-admin', scopes: ['keys:manage', 'usage:read'] });
    // Created after the admin key: the newest key, which the picker must not default to.
    newer = await createKey(server, { name: 'newer-key', scopes: ['screenshot', 'usage:read'] });
    const database = await openDatabase({ dataDir });
    await new UsageStore(database.db).add(
      SEEDED.map(({ back, ...counts }) => ({ subject: admin.id, day: utcDayFromToday(back), failed: 0, renderMs: 0, bytesSent: 0, cacheHits: 0, ...counts })),
    );
    await database.close();
    browser = await launchConsoleBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: FAR_ZONE });
    page = await context.newPage();
    errors = await watchForErrors(page);
    page.on('request', (request) => {
      if (/\/usage(\?|$)/.test(new URL(request.url()).pathname + new URL(request.url()).search)) usageRequests.push(request.url());
    });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("opens on the signed-in key's own usage, not the newest key's, and an admin can pick another key", async () => {
    await signIn(page, server.url, admin.key);
    await page.getByRole('link', { name: 'Usage' }).click();
    await page.locator('#usage-caption', { hasText: 'usage-admin' }).waitFor();
    assert.equal(await page.locator('#usage-key').inputValue(), admin.id);
    assert.match((await page.locator('#usage-key option:checked').textContent()) ?? '', /usage-admin .*\(this key\)/);
    await page.locator('#usage-key').selectOption(newer.id);
    await page.locator('#usage-caption', { hasText: 'newer-key' }).waitFor();
    assert.equal(await total('succeeded'), '0');
    await page.locator('#usage-key').selectOption(admin.id);
    await page.locator('#usage-caption', { hasText: 'usage-admin' }).waitFor();
  });

  it('lists rejection reasons in their own table under the cards, which keep one compact height', async () => {
    assert.equal(await total('rejected'), '8');
    const cards = await boxesOf(page, '#usage-totals > div');
    const heights = cards.map((box) => Math.round(box.bottom - box.top));
    assert.equal(cards.length, 7);
    assert.ok(heights.every((height) => height === heights[0] && height <= 110), `card heights: ${heights}`);
    assert.doesNotMatch((await page.locator('#usage-totals').textContent()) ?? '', /RATE_LIMITED/);
    const rows = await page.locator('#usage-rejections-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((cell) => cell.textContent).join(' ')));
    assert.deepEqual(rows, ['RATE_LIMITED 5', 'QUOTA_EXCEEDED 2', 'TARGET_FORBIDDEN 1']);
    const [table] = await boxesOf(page, '#usage-rejections');
    assert.ok(table!.top >= Math.max(...cards.map((box) => box.bottom)), 'the reasons sit under the cards');
    await page.screenshot({ path: `${ARTIFACTS}/console-usage-rejections.png`, fullPage: true });
  });

  it('shows the last 30 UTC days by default and the range asked for', async () => {
    assert.equal(await page.locator('#usage-from').inputValue(), utcDayFromToday(-29));
    assert.equal(await page.locator('#usage-to').inputValue(), utcDayFromToday(0));
    assert.equal(await page.locator('#usage-chart g[data-day]').count(), 30);
    assert.equal(await total('succeeded'), '4', 'the day 40 days ago is outside the default range');

    const from = utcDayFromToday(-45);
    await page.locator('#usage-from').fill(from);
    const asked = page.waitForRequest((request) => request.url().includes('/usage?'));
    await page.getByRole('button', { name: 'Show' }).click();
    const query = new URL((await asked).url()).searchParams;
    assert.deepEqual([query.get('from'), query.get('to')], [from, utcDayFromToday(0)]);
    await page.locator('#usage-caption', { hasText: from }).waitFor();
    assert.equal(await page.locator('#usage-chart g[data-day]').count(), 46);
    assert.equal(await total('succeeded'), '14');
  });

  it('refuses a backwards, future or over-long range on its field, without asking the server', async () => {
    const cases = [
      { from: utcDayFromToday(-2), to: utcDayFromToday(-5), field: 'from' },
      { from: utcDayFromToday(-5), to: utcDayFromToday(1), field: 'to' },
      { from: utcDayFromToday(-400), to: utcDayFromToday(0), field: 'from' },
    ];
    for (const { from, to, field } of cases) {
      const before = usageRequests.length;
      // A date input refuses a value above its max: lift it, as a person typing in another browser could.
      await page.evaluate(() => document.querySelectorAll('#usage-form input').forEach((input) => input.removeAttribute('max')));
      await page.locator('#usage-from').fill(from);
      await page.locator('#usage-to').fill(to);
      await page.getByRole('button', { name: 'Show' }).click();
      await page.locator('#usage-range-error').filter({ hasText: /./ }).waitFor();
      assert.equal(await page.locator(`#usage-${field}`).getAttribute('aria-invalid'), 'true', `${from}..${to}: ${field} is marked`);
      assert.equal(usageRequests.length, before, `${from}..${to}: no request was sent`);
    }
    await page.locator('#usage-from').fill(utcDayFromToday(-29));
    await page.locator('#usage-to').fill(utcDayFromToday(0));
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('#usage-range-error').waitFor({ state: 'hidden' });
    assert.equal(await page.locator('#usage-from').getAttribute('aria-invalid'), null);
  });

  it('labels the x-axis with UTC dates every few days, never overlapping, at any width', async () => {
    const labels = page.locator('#usage-chart .x-axis text');
    await labels.first().waitFor();
    assert.ok((await labels.count()) >= 6, `${await labels.count()} dates under 30 days at 1280 px`);
    const [chart] = await boxesOf(page, '#usage-chart svg[role="img"]');
    assertApartAndInside(await boxesOf(page, '#usage-chart .x-axis text'), chart!, '1280 px');
    // The last day is labelled, in UTC: in this browser's zone (UTC-11) its midnight is the day before.
    const today = utcDayFromToday(0);
    assert.equal(await labels.last().getAttribute('data-day'), today);
    assert.match((await labels.last().textContent()) ?? '', new RegExp(`\\b${Number(today.slice(8))}\\b`));
    const days = (await labels.evaluateAll((texts) => texts.map((text) => text.getAttribute('data-day')))).map((day) => Date.parse(`${day}T00:00:00Z`));
    const steps = new Set(days.slice(1).map((day, index) => day - days[index]!));
    assert.ok(steps.size <= 2, 'labels every N days (the first may be left out near the edge)');

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, timezoneId: FAR_ZONE });
    const phoneErrors = await watchForErrors(phone);
    await signIn(phone, server.url, admin.key);
    await phone.goto(`${server.url}/console/#/usage`);
    for (const back of [-29, -365]) {
      await phone.locator('#usage-from').fill(utcDayFromToday(back));
      await phone.getByRole('button', { name: 'Show' }).click();
      await phone.locator('#usage-caption', { hasText: utcDayFromToday(back) }).waitFor();
      const [small] = await boxesOf(phone, '#usage-chart svg[role="img"]');
      const boxes = await boxesOf(phone, '#usage-chart .x-axis text');
      assert.ok(boxes.length >= 3, `${boxes.length} dates under ${1 - back} days at 390 px`);
      assertApartAndInside(boxes, small!, `390 px, ${1 - back} days`);
    }
    await phone.screenshot({ path: `${ARTIFACTS}/console-usage-390.png`, fullPage: true });
    // Turned or resized: the axis is laid out again for the new width.
    await phone.setViewportSize({ width: 700, height: 844 });
    await phone.waitForFunction(() => {
      const svgBox = document.querySelector('#usage-chart .x-axis')!.getBoundingClientRect();
      const last = [...document.querySelectorAll('#usage-chart .x-axis text')].at(-1)!.getBoundingClientRect();
      return svgBox.width > 500 && last.right > svgBox.right - 60;
    });
    const [wide] = await boxesOf(phone, '#usage-chart svg[role="img"]');
    assertApartAndInside(await boxesOf(phone, '#usage-chart .x-axis text'), wide!, '700 px after a resize');
    await phone.close();
    assert.deepEqual(phoneErrors, []);
  });

  it('ran without a CSP violation or script error', () => {
    assert.deepEqual(errors, []);
  });
});
