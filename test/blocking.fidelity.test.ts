import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { assertErrorShape } from './helpers/assertions.js';
import { HOSTS, SITE_HOSTS, startBlockingSite, type BlockingSite } from './helpers/blocking-site.js';
import { decodeImage, near, startPageShot, type DecodedImage, type TestServer } from './helpers/harness.js';

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const YELLOW = [255, 255, 0];
const ORANGE = [255, 136, 0];
const WHITE = [255, 255, 255];
const CYAN = [0, 255, 255];

/** Where Debian's webext-ublock-origin-chromium puts EasyList and EasyPrivacy (PageShot's default). */
const DEFAULT_FILTER_LISTS_DIR = loadConfig({}).filterListsDir;

/** A PageShot whose resolver sends the site's host names (ad networks included) to loopback. */
function startWithSite(listsDir: string): Promise<TestServer> {
  return startPageShot(
    { PAGESHOT_FILTER_LISTS_DIR: listsDir },
    { resolve: async (host) => (SITE_HOSTS.includes(host) ? ['127.0.0.1'] : Promise.reject(new Error(`no such host: ${host}`))) },
  );
}

async function picture(pageshot: TestServer, body: Record<string, unknown>): Promise<DecodedImage> {
  const reply = await pageshot.shoot(body);
  assert.equal(reply.status, 200, JSON.stringify(reply.json));
  return decodeImage(reply.body);
}

function assertColour(image: DecodedImage, [x, y]: [number, number], colour: number[], what: string): void {
  assert.ok(near(image.pixel(x, y), colour), `${what}: expected ${colour} at (${x},${y}), got ${image.pixel(x, y)}`);
}

/** Where each part of the ad page shows (see blocking-site.ts), and its colour when it is there. */
const AD_PARTS: Array<[string, [number, number], number[]]> = [
  ['the ad iframe (doubleclick)', [850, 125], RED],
  ['the scripted ad (adnxs)', [850, 350], RED],
  ['the ad image (pubmatic)', [1150, 100], RED],
  ['the first-party .ad-slot', [300, 500], YELLOW],
  ['the slot inside a cross-origin widget frame', [850, 525], ORANGE],
];
const AD_HOSTS = [HOSTS.doubleclick, HOSTS.adnxs, HOSTS.pubmatic];

describe('content blocking: ads, trackers, consent banners and the caller’s own edits', () => {
  let site: BlockingSite;
  let pageshot: TestServer;
  const shootAds = (options: Record<string, unknown> = {}) => picture(pageshot, { url: `${site.origin(HOSTS.news)}/ads`, ...options });

  before(async () => {
    site = await startBlockingSite();
    pageshot = await startWithSite(DEFAULT_FILTER_LISTS_DIR);
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  it('without blockAds, every ad loads and shows beside the article (what the next test must remove)', async () => {
    site.log.length = 0;
    const image = await shootAds();
    for (const [what, point, colour] of AD_PARTS) assertColour(image, point, colour, what);
    assertColour(image, [100, 100], BLUE, 'the article');
    for (const host of [...AD_HOSTS, HOSTS.hotjar]) assert.ok(site.hitsTo(host).length > 0, `${host} was asked`);
  });

  it('blockAds keeps every ad request from the network, collapses the ad frames and hides the ad slots; the article is intact', async () => {
    site.log.length = 0;
    const image = await shootAds({ blockAds: true });
    assert.deepEqual(site.hitsTo(...AD_HOSTS), []);
    for (const [what, point] of AD_PARTS) assertColour(image, point, WHITE, `${what} is gone`);
    assertColour(image, [100, 100], BLUE, 'the article');
    assert.ok(site.hitsTo(HOSTS.news).includes(`${HOSTS.news}/ads`));
    assert.ok(site.hitsTo(HOSTS.widgets).length > 0, 'a frame no list names still loads');
    assert.ok(site.hitsTo(HOSTS.hotjar).length > 0, 'EasyList alone leaves trackers to blockTrackers');
  });

  it('blockTrackers keeps tracker requests from the network and leaves ads alone', async () => {
    site.log.length = 0;
    await shootAds({ blockTrackers: true });
    assert.deepEqual(site.hitsTo(HOSTS.hotjar), []);
    for (const host of AD_HOSTS) assert.ok(site.hitsTo(host).length > 0, `${host} was asked`);
  });

  it('the next capture in the same warm context, without the options, blocks and hides nothing', async () => {
    await shootAds({ blockAds: true, blockTrackers: true, blockCookieBanners: true, blockResources: ['image'] });
    const opened = pageshot.app.pool.stats().opened;
    site.log.length = 0;
    const image = await shootAds();
    assert.equal(pageshot.app.pool.stats().opened, opened, 'the same context served both captures');
    for (const [what, point, colour] of AD_PARTS) assertColour(image, point, colour, what);
    for (const host of [...AD_HOSTS, HOSTS.hotjar]) assert.ok(site.hitsTo(host).length > 0, `${host} was asked`);
    assert.ok(site.log.some((entry) => entry.endsWith('.png')), 'images load again');
    site.log.length = 0;
    const banner = await picture(pageshot, { url: `${site.origin(HOSTS.news)}/consent` });
    assertColour(banner, [640, 650], GREEN, 'the consent banner, not refused');
    assert.ok(!site.log.some((entry) => entry.includes('consent-choice')), 'no consent script ran');
    assert.equal(pageshot.app.pool.stats().opened, opened, 'still the same context');
  });

  it('leaves no request interception behind: the HTTP cache works again in the next capture', async () => {
    // Playwright turns Chromium's HTTP cache off while a route exists: two requests for
    // a cacheable resource reach the site with blocking on, one once it is off again.
    const probe = async (options: Record<string, unknown>) => {
      site.log.length = 0;
      await picture(pageshot, { url: `${site.origin(HOSTS.news)}/cache-probe`, waitForSelector: '#done', ...options });
      return site.log.filter((entry) => entry === `${HOSTS.news}/probe.json`).length;
    };
    assert.equal(await probe({ blockResources: ['font'] }), 2);
    assert.equal(await probe({}), 1);
  });

  it('never blocks the target itself, even when it lives on an ad host', async () => {
    const image = await picture(pageshot, { url: `${site.origin(HOSTS.doubleclick)}/landing`, blockAds: true });
    assertColour(image, [100, 100], BLUE, 'the target');
  });

  it('without blockCookieBanners, the consent banner and its dimming overlay are in the picture', async () => {
    const image = await picture(pageshot, { url: `${site.origin(HOSTS.news)}/consent` });
    assertColour(image, [640, 650], GREEN, 'the banner');
    const article = image.pixel(300, 200);
    assert.ok(article[2] < 150 && !near(article, BLUE), `the overlay dims the article: ${article}`);
  });

  it('blockCookieBanners refuses a OneTrust banner (autoconsent clicks "Reject All"); banner and overlay are gone, the article is whole', async () => {
    site.log.length = 0;
    const image = await picture(pageshot, { url: `${site.origin(HOSTS.news)}/consent`, blockCookieBanners: true });
    assert.ok(site.log.includes(`${HOSTS.news}/consent-choice?choice=reject`), `the site was told "reject": ${site.log}`);
    assert.ok(!site.log.some((entry) => entry.includes('choice=accept')));
    assertColour(image, [640, 650], WHITE, 'where the banner was');
    assertColour(image, [300, 200], BLUE, 'the article, not dimmed');
  });

  it('hides a consent dialog no rule knows with the CSS fallback, and lifts the scroll lock it left', async () => {
    // The caller's js runs after the blocking: it paints a marker saying whether <body> is still locked.
    const js =
      'const m = document.createElement("div"); m.style.cssText = "position:fixed;left:1200px;top:0;width:80px;height:80px;background:" +' +
      ' (getComputedStyle(document.body).overflowY === "hidden" ? "#ff00ff" : "#00ffff"); document.body.appendChild(m);';
    const url = `${site.origin(HOSTS.news)}/ruleless-banner`;
    const shown = await picture(pageshot, { url, js });
    assertColour(shown, [640, 360], GREEN, 'the dialog, without the option');
    assertColour(shown, [1240, 40], [255, 0, 255], 'the lock, without the option');
    const image = await picture(pageshot, { url, js, blockCookieBanners: true });
    assertColour(image, [640, 360], WHITE, 'where the dialog was');
    assertColour(image, [300, 200], BLUE, 'the article, not dimmed');
    assertColour(image, [1240, 40], CYAN, 'the scroll lock is lifted');
  });

  it('hideSelectors hides exactly the listed elements (descendants included) and moves nothing else', async () => {
    const url = `${site.origin(HOSTS.news)}/hide`;
    const plain = await picture(pageshot, { url });
    assertColour(plain, [150, 50], RED, '#first');
    assertColour(plain, [25, 25], [255, 0, 255], "#first's child");
    assertColour(plain, [100, 150], GREEN, '.second');
    const image = await picture(pageshot, { url, hideSelectors: ['#first', '.second'] });
    assertColour(image, [150, 50], WHITE, '#first');
    assertColour(image, [25, 25], WHITE, "#first's child that sets visibility: visible");
    assertColour(image, [100, 150], WHITE, '.second');
    assertColour(image, [100, 250], BLUE, '#third, in its place');
  });

  it('answers 400 naming the field for an invalid hideSelectors entry', async () => {
    const reply = await pageshot.shoot({ url: `${site.origin(HOSTS.news)}/hide`, hideSelectors: ['#first', 'a{}b'] });
    assert.equal(reply.status, 400);
    assert.equal(reply.json?.code, 'VALIDATION_ERROR');
    assert.equal(reply.json?.field, 'hideSelectors/1');
  });

  it('blockResources ["image"] keeps every image request from the site; the next capture loads them', async () => {
    site.log.length = 0;
    const image = await picture(pageshot, { url: `${site.origin(HOSTS.news)}/images`, blockResources: ['image'] });
    assert.deepEqual(site.log.filter((entry) => entry.endsWith('.png')), []);
    assertColour(image, [100, 100], BLUE, 'the article');
    site.log.length = 0;
    await picture(pageshot, { url: `${site.origin(HOSTS.news)}/images` });
    assert.ok(site.log.includes(`${HOSTS.news}/photo.png`) && site.log.includes(`${HOSTS.news}/texture.png`), `${site.log}`);
  });

  it('blockResources ["websocket"] keeps the page from opening WebSockets; the next capture opens them', async () => {
    const url = `${site.origin(HOSTS.news)}/socket`;
    const sockets = () => site.log.filter((entry) => entry.endsWith('(websocket)'));
    site.log.length = 0;
    await picture(pageshot, { url, waitForSelector: '#done', blockResources: ['websocket'] });
    assert.deepEqual(sockets(), []);
    site.log.length = 0;
    await picture(pageshot, { url, waitForSelector: '#done' });
    assert.deepEqual(sockets(), [`${HOSTS.news}/live (websocket)`]);
  });
});

describe('content blocking on a server without filter lists', () => {
  let site: BlockingSite;
  let pageshot: TestServer;

  before(async () => {
    site = await startBlockingSite();
    pageshot = await startWithSite('/nonexistent/filter-lists');
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  for (const option of ['blockAds', 'blockTrackers']) {
    it(`refuses ${option} with 501 FILTER_LISTS_UNAVAILABLE, naming the option, instead of blocking nothing`, async () => {
      const reply = await pageshot.shoot({ url: `${site.origin(HOSTS.news)}/ads`, [option]: true });
      assertErrorShape(reply, 501, 'FILTER_LISTS_UNAVAILABLE');
      assert.equal(reply.json?.field, option);
    });
  }

  it('still captures, and still refuses consent banners, without them', async () => {
    const image = await picture(pageshot, { url: `${site.origin(HOSTS.news)}/consent`, blockCookieBanners: true });
    assertColour(image, [640, 650], WHITE, 'where the banner was');
  });
});
