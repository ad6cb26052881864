import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, near, startPageShot, type TestServer } from './helpers/harness.js';

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const WHITE = [255, 255, 255];
const BLUE = [0, 0, 255];

describe('POST /screenshot, the happy paths', () => {
  let site: FixtureSite;
  let pageshot: TestServer;

  before(async () => {
    site = await startFixtureSite();
    pageshot = await startPageShot();
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  it('returns a 1280×720 PNG by default that shows the page', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/` });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'image/png');
    const image = await decodeImage(reply.body);
    assert.equal(image.format, 'png');
    assert.equal(image.width, 1280);
    assert.equal(image.height, 720);
    assert.ok(near(image.pixel(100, 50), RED), `expected red at (100,50), got ${image.pixel(100, 50)}`);
    assert.ok(near(image.pixel(360, 240), GREEN), `expected green at (360,240), got ${image.pixel(360, 240)}`);
    assert.ok(near(image.pixel(800, 600), WHITE));
  });

  for (const format of ['jpeg', 'webp'] as const) {
    it(`encodes ${format} at the requested size with the right content type`, async () => {
      const reply = await pageshot.shoot({ url: `${site.url}/`, format, quality: 90, width: 640, height: 480 });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], `image/${format}`);
      const image = await decodeImage(reply.body);
      assert.equal(image.format, format);
      assert.equal(image.width, 640);
      assert.equal(image.height, 480);
      assert.ok(near(image.pixel(100, 50), RED, 30), `got ${image.pixel(100, 50)}`);
    });
  }

  it('serves GET /screenshot with the options as query parameters', async () => {
    const reply = await pageshot.request(`/screenshot?url=${encodeURIComponent(`${site.url}/`)}&width=800&height=600&format=jpeg`);
    assert.equal(reply.status, 200);
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.format, image.width, image.height], ['jpeg', 800, 600]);
  });

  it('multiplies the image size by deviceScaleFactor', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/`, width: 400, height: 300, deviceScaleFactor: 2 });
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.width, image.height], [800, 600]);
    assert.ok(near(image.pixel(390, 190), RED), 'the 200×100 CSS px block covers 400×200 image px');
  });

  it('captures the whole page height with fullPage', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/tall?h=2500`, fullPage: true, width: 600, height: 400 });
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.width, image.height], [600, 2500]);
    assert.ok(near(image.pixel(300, 2450), BLUE), 'the blue band at the bottom is in the image');
  });

  it('cuts a full page at the configured height cap', async () => {
    const capped = await startPageShot({ PAGESHOT_MAX_FULLPAGE_HEIGHT: '1000' });
    try {
      const reply = await capped.shoot({ url: `${site.url}/tall?h=5000`, fullPage: true, width: 600 });
      const image = await decodeImage(reply.body);
      assert.equal(image.height, 1000);
    } finally {
      await capped.stop();
    }
  });

  it('cuts a full page where the pixel cap is reached', async () => {
    const capped = await startPageShot({ PAGESHOT_MAX_PIXELS: '600000' });
    try {
      const reply = await capped.shoot({ url: `${site.url}/tall?h=5000`, fullPage: true, width: 600, height: 400 });
      const image = await decodeImage(reply.body);
      assert.deepEqual([image.width, image.height], [600, 1000]);
    } finally {
      await capped.stop();
    }
  });

  it('captures only the element matched by selector', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/`, selector: '#green' });
    assert.equal(reply.status, 200);
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.width, image.height], [120, 80]);
    assert.ok(near(image.pixel(60, 40), GREEN));
  });

  it('waits for waitForSelector before capturing', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/late-element`, waitForSelector: '#late', selector: '#late' });
    assert.equal(reply.status, 200);
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.width, image.height], [50, 60]);
  });

  it('renders dark mode when asked, light otherwise', async () => {
    const dark = await decodeImage((await pageshot.shoot({ url: `${site.url}/dark`, darkMode: true })).body);
    const light = await decodeImage((await pageshot.shoot({ url: `${site.url}/dark` })).body);
    assert.ok(near(dark.pixel(600, 600), [0, 0, 0]), `dark: ${dark.pixel(600, 600)}`);
    assert.ok(near(light.pixel(600, 600), WHITE), `light: ${light.pixel(600, 600)}`);
  });

  it('applies css and js before capturing', async () => {
    const reply = await pageshot.shoot({
      url: `${site.url}/`,
      css: '#block { background: #0000ff !important }',
      js: "document.getElementById('green').style.background = '#ff0000'",
    });
    const image = await decodeImage(reply.body);
    assert.ok(near(image.pixel(100, 50), BLUE), `css: ${image.pixel(100, 50)}`);
    assert.ok(near(image.pixel(360, 240), RED), `js: ${image.pixel(360, 240)}`);
  });

  it('renders raw html', async () => {
    const reply = await pageshot.shoot({
      html: '<body style="margin:0;background:#00ff00"><p>inline</p></body>',
      width: 300,
      height: 200,
    });
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.width, image.height], [300, 200]);
    assert.ok(near(image.pixel(150, 150), GREEN));
  });

  it('keeps the background transparent with omitBackground', async () => {
    const reply = await pageshot.shoot({ html: '<html style="background:transparent"><body></body></html>', omitBackground: true });
    const image = await decodeImage(reply.body);
    assert.equal(image.pixel(10, 10)[3], 0, 'alpha is 0');
    const opaque = await decodeImage((await pageshot.shoot({ html: '<p>x</p>' })).body);
    assert.equal(opaque.pixel(10, 10)[3], 255, 'without the option the background is opaque white');
  });

  it('sends the userAgent, headers and cookies the caller asked for', async () => {
    const reply = await pageshot.shoot({
      url: `${site.url}/echo?n=1`,
      userAgent: 'PageShotTest/1.0',
      headers: { 'X-Custom': 'yes' },
      cookies: [{ name: 'session', value: 'abc123' }],
    });
    assert.equal(reply.status, 200);
    const seen = site.seen.findLast((request) => request.path === '/echo');
    assert.equal(seen?.headers['user-agent'], 'PageShotTest/1.0');
    assert.equal(seen?.headers['x-custom'], 'yes');
    assert.equal(seen?.headers.cookie, 'session=abc123');
  });

  it('sends a normal (not "HeadlessChrome") User-Agent by default', async () => {
    await pageshot.shoot({ url: `${site.url}/echo?n=2` });
    const seen = site.seen.findLast((request) => request.path === '/echo');
    assert.match(String(seen?.headers['user-agent']), /Chrome\//);
    assert.doesNotMatch(String(seen?.headers['user-agent']), /Headless/);
  });

  it('tags every response with X-Request-Id, keeping a plain one the client sent', async () => {
    const mine = await pageshot.request('/status', { headers: { 'x-request-id': 'trace-42' } });
    assert.equal(mine.headers['x-request-id'], 'trace-42');
    const generated = await pageshot.request('/status', { headers: { 'x-request-id': 'bad id with spaces' } });
    assert.match(String(generated.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });
});
