import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { assertErrorShape } from './helpers/assertions.js';
import { startPageShot, type TestServer } from './helpers/harness.js';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('screenshot errors', () => {
  let site: FixtureSite;
  let pageshot: TestServer;

  before(async () => {
    site = await startFixtureSite();
    pageshot = await startPageShot({
      PAGESHOT_MAX_HTML_BYTES: '2000',
      PAGESHOT_MAX_SCRIPT_BYTES: '1000',
      PAGESHOT_MAX_HEADERS: '3',
      PAGESHOT_MAX_COOKIES: '2',
    });
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  describe('validation: 400 VALIDATION_ERROR naming the field', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['no url and no html', {}, 'url'],
      ['both url and html', { url: 'http://127.0.0.1/', html: '<p>' }, 'url'],
      ['a file: URL', { url: 'file:///etc/passwd' }, 'url'],
      ['a javascript: URL', { url: 'javascript:alert(1)' }, 'url'],
      ['a relative URL', { url: '/etc/passwd' }, 'url'],
      ['width above the cap', { url: 'http://127.0.0.1/', width: 100_000 }, 'width'],
      ['width that is not a number', { url: 'http://127.0.0.1/', width: 'wide' }, 'width'],
      ['height below the minimum', { url: 'http://127.0.0.1/', height: 10 }, 'height'],
      ['deviceScaleFactor above 3', { url: 'http://127.0.0.1/', deviceScaleFactor: 4 }, 'deviceScaleFactor'],
      ['an unknown format', { url: 'http://127.0.0.1/', format: 'gif' }, 'format'],
      ['quality for png', { url: 'http://127.0.0.1/', quality: 50 }, 'quality'],
      ['quality above 100', { url: 'http://127.0.0.1/', format: 'jpeg', quality: 101 }, 'quality'],
      ['an unknown waitUntil', { url: 'http://127.0.0.1/', waitUntil: 'never' }, 'waitUntil'],
      ['delay above the cap', { url: 'http://127.0.0.1/', delay: 60_000 }, 'delay'],
      ['timeout above the cap', { url: 'http://127.0.0.1/', timeout: 3_600_000 }, 'timeout'],
      ['an unknown option', { url: 'http://127.0.0.1/', colour: 'blue' }, 'colour'],
      ['a header name with a space', { url: 'http://127.0.0.1/', headers: { 'bad name': 'x' } }, 'headers/bad name'],
      ['a cookie without a name', { url: 'http://127.0.0.1/', cookies: [{ value: 'x' }] }, 'cookies/0/name'],
      ['selector with fullPage', { url: 'http://127.0.0.1/', selector: '#a', fullPage: true }, 'selector'],
    ];
    for (const [name, body, field] of cases) {
      it(`refuses ${name}`, async () => {
        const reply = await pageshot.shoot(body);
        const error = assertErrorShape(reply, 400, 'VALIDATION_ERROR');
        assert.equal(error.field, field);
      });
    }

    it('refuses structured options in a GET query string', async () => {
      const reply = await pageshot.request(`/screenshot?url=${encodeURIComponent(`${site.url}/`)}&headers=x`);
      assert.equal(assertErrorShape(reply, 400, 'VALIDATION_ERROR').field, 'headers');
    });

    it('refuses an invalid CSS selector', async () => {
      const reply = await pageshot.shoot({ url: `${site.url}/`, selector: 'div[' });
      assert.equal(assertErrorShape(reply, 400, 'VALIDATION_ERROR').field, 'selector');
    });
  });

  it('answers 400 INVALID_JSON to a malformed body', async () => {
    const reply = await pageshot.request('/screenshot', { rawBody: { data: '{"url":', contentType: 'application/json' } });
    assertErrorShape(reply, 400, 'INVALID_JSON');
  });

  it('answers 415 UNSUPPORTED_MEDIA_TYPE to a body that is not JSON', async () => {
    const reply = await pageshot.request('/screenshot', { rawBody: { data: 'url=x', contentType: 'text/plain' } });
    assertErrorShape(reply, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('answers 413 PAYLOAD_TOO_LARGE to html over the size cap', async () => {
    const reply = await pageshot.shoot({ html: `<p>${'é'.repeat(1500)}</p>` });
    assert.equal(assertErrorShape(reply, 413, 'PAYLOAD_TOO_LARGE').field, 'html');
  });

  it('answers 413 PAYLOAD_TOO_LARGE to js over PAGESHOT_MAX_SCRIPT_BYTES, counting bytes', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/`, js: `/* ${'é'.repeat(600)} */` });
    const error = assertErrorShape(reply, 413, 'PAYLOAD_TOO_LARGE');
    assert.deepEqual([error.field, error.limit], ['js', 1000]);
  });

  it('refuses more headers or cookies than the configured caps', async () => {
    const headers = { 'X-A': '1', 'X-B': '2', 'X-C': '3', 'X-D': '4' };
    assert.equal(assertErrorShape(await pageshot.shoot({ url: `${site.url}/`, headers }), 400, 'VALIDATION_ERROR').field, 'headers');
    const cookies = [1, 2, 3].map((n) => ({ name: `c${n}`, value: 'v' }));
    assert.equal(assertErrorShape(await pageshot.shoot({ url: `${site.url}/`, cookies }), 400, 'VALIDATION_ERROR').field, 'cookies');
  });

  it('refuses a viewport whose pixels (width × height × scale²) pass the cap', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/`, width: 3840, height: 2160, deviceScaleFactor: 3 });
    const error = assertErrorShape(reply, 400, 'VALIDATION_ERROR');
    assert.deepEqual([error.field, error.limit], ['deviceScaleFactor', 33_177_600]);
  });

  it('answers 404 NOT_FOUND in the shared shape', async () => {
    assertErrorShape(await pageshot.request('/nope'), 404, 'NOT_FOUND');
  });

  it('answers 502 NAVIGATION_FAILED naming the network error', async () => {
    const reply = await pageshot.shoot({ url: `http://127.0.0.1:${await closedPort()}/` });
    const error = assertErrorShape(reply, 502, 'NAVIGATION_FAILED');
    assert.equal(error.networkError, 'ERR_CONNECTION_REFUSED');
  });

  it('answers 502 NAVIGATION_FAILED naming the status when the target answers an error', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/status?code=404` });
    assert.equal(assertErrorShape(reply, 502, 'NAVIGATION_FAILED').targetStatus, 404);
  });

  it('answers 504 RENDER_TIMEOUT when the page does not load in time', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/slow`, timeout: 1500 });
    assertErrorShape(reply, 504, 'RENDER_TIMEOUT');
  });

  it('stops a page that never yields (a script busy loop) at the deadline and keeps serving', async () => {
    const started = Date.now();
    const reply = await pageshot.shoot({ url: `${site.url}/hang-js`, timeout: 2000 }, { from: '127.0.0.5' });
    assertErrorShape(reply, 504, 'RENDER_TIMEOUT');
    assert.ok(Date.now() - started < 10_000, 'the deadline ended the capture');
    const next = await pageshot.shoot({ url: `${site.url}/` }, { from: '127.0.0.5' });
    assert.equal(next.status, 200);
  });

  it('answers 504 RENDER_TIMEOUT when waitForSelector never matches', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/`, waitForSelector: '#never', timeout: 1500 });
    assertErrorShape(reply, 504, 'RENDER_TIMEOUT');
  });

  it('answers 422 SELECTOR_NOT_FOUND when no element matches selector', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/`, selector: '#missing' });
    assertErrorShape(reply, 422, 'SELECTOR_NOT_FOUND');
  });

  it('answers 422 SCRIPT_FAILED when the injected js throws', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/`, js: "throw new Error('boom')" });
    const error = assertErrorShape(reply, 422, 'SCRIPT_FAILED');
    assert.match(String(error.error), /boom/);
  });
});

describe('target checks before the network guard', () => {
  let site: FixtureSite;
  let pageshot: TestServer;

  before(async () => {
    site = await startFixtureSite();
    // The default policy: loopback and private ranges are not allowed.
    pageshot = await startPageShot({ PAGESHOT_ALLOW_PRIVATE_NETWORKS: '' });
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  for (const spelling of ['127.0.0.1', 'localhost', '2130706433', '0x7f.1', '127.1', '[::ffff:127.0.0.1]', '[::1]']) {
    it(`refuses ${spelling} with 403 TARGET_FORBIDDEN and never contacts it`, async () => {
      const before = site.seen.length;
      const reply = await pageshot.shoot({ url: `http://${spelling}:${site.port}/` });
      assertErrorShape(reply, 403, 'TARGET_FORBIDDEN');
      assert.equal(site.seen.length, before);
    });
  }

  it('says in the refusal which setting lets an operator capture pages on their own network', async () => {
    const reply = await pageshot.shoot({ url: `http://localhost:${site.port}/` });
    assertErrorShape(reply, 403, 'TARGET_FORBIDDEN');
    assert.match(String(reply.json!.error), /PAGESHOT_ALLOW_PRIVATE_NETWORKS/);
  });
});
