import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { assertErrorShape } from './helpers/assertions.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, near, startPageShot, type TestServer } from './helpers/harness.js';

const RED = [255, 0, 0];
const GREEN = [0, 128, 0];
const WHITE = [255, 255, 255];

const page = (body: string, head = '') =>
  `<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;background:#fff}</style>${head}</head><body>${body}</body></html>`;

/** Band `i` of the tall page: a colour no other band has, readable back from a pixel. */
const bandColour = (i: number) => [(i * 37) % 256, (i * 91 + 40) % 256, 255 - ((i * 53) % 256)];

/** Pages that behave like the real web: lazy images, fade-ins, "load more" buttons. */
function fidelityRoutes(redPng: Buffer) {
  const send = (res: import('node:http').ServerResponse, body: string) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(body);
  };
  return {
    '/red.png': (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(redPng);
    },
    // A lazy image 3,000 px down and a block an IntersectionObserver paints when it is seen.
    '/lazy': (_req: unknown, res: import('node:http').ServerResponse) =>
      send(
        res,
        page(
          '<div style="height:4200px;position:relative">' +
            '<img loading="lazy" src="/red.png" width="400" height="300" style="position:absolute;top:3000px;left:0;background:#ccc">' +
            '<div id="io" style="position:absolute;top:3800px;left:0;width:400px;height:200px;background:#ccc"></div></div>' +
            '<script>new IntersectionObserver((entries)=>{for(const e of entries)if(e.isIntersecting)' +
            'fetch("/seen").then(()=>{e.target.style.background="#008000"})}).observe(document.getElementById("io"))</script>',
        ),
      ),
    '/seen': (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(204);
      res.end();
    },
    // A 2 s fade-in that also slides into place, an endless spinner, a focused input with a caret.
    '/moving': (_req: unknown, res: import('node:http').ServerResponse) =>
      send(
        res,
        page(
          '<div id="hero" style="position:absolute;left:0;top:0;width:300px;height:200px;background:#ff0000;animation:in 2s forwards"></div>' +
            '<div style="position:absolute;left:400px;top:0;width:100px;height:100px;background:#00f;animation:spin 1s linear infinite"></div>' +
            '<input autofocus style="position:absolute;left:0;top:300px;width:300px;font-size:40px" value="text">',
          '<style>@keyframes in{from{opacity:0;transform:translateX(300px)}to{opacity:1;transform:none}}' +
            '@keyframes spin{to{transform:rotate(360deg)}}</style>',
        ),
      ),
    // Numbered colour bands, 1,000 px each: every band must land at its place, none twice.
    '/bands': (_req: unknown, res: import('node:http').ServerResponse, url: URL) => {
      const count = Number(url.searchParams.get('n') ?? 40);
      const bands = Array.from({ length: count }, (_, i) => `<div style="height:1000px;background:rgb(${bandColour(i).join(',')})"></div>`);
      send(res, page(bands.join('')));
    },
    '/load-more': (_req: unknown, res: import('node:http').ServerResponse) =>
      send(
        res,
        page(
          '<div style="height:1500px"></div><button id="more" style="width:200px;height:50px">Load more</button>' +
            '<script>document.getElementById("more").onclick=()=>fetch("/seen").then(()=>{const d=document.createElement("div");' +
            'd.id="loaded";d.style.cssText="position:absolute;left:0;top:0;width:300px;height:200px;background:#008000";document.body.appendChild(d)})</script>',
        ),
      ),
    '/caret': (_req: unknown, res: import('node:http').ServerResponse) =>
      send(res, page('<input autofocus style="position:absolute;left:0;top:0;width:300px;height:60px;font-size:40px;border:0;outline:0;padding:0 0 0 10px">')),
    // Grows by 2,000 px whenever the reader nears the end (an endless feed); one page's rAF never calls back.
    '/endless': (_req: unknown, res: import('node:http').ServerResponse) =>
      send(
        res,
        page(
          '<div id="feed" style="height:2000px;background:#0a0"></div><script>addEventListener("scroll",()=>{' +
            'const f=document.getElementById("feed");if(scrollY+innerHeight*2>f.offsetHeight)f.style.height=(f.offsetHeight+2000)+"px"})</script>',
        ),
      ),
    '/no-frames': (_req: unknown, res: import('node:http').ServerResponse) =>
      send(res, page('<div style="height:3000px;background:#0a0"></div><script>window.requestAnimationFrame=()=>0</script>')),
    '/blank': (_req: unknown, res: import('node:http').ServerResponse) => send(res, page('')),
    '/hop': (_req: unknown, res: import('node:http').ServerResponse) => {
      res.writeHead(302, { location: '/' });
      res.end();
    },
  };
}

describe('pictures that show what a person sees', () => {
  let site: FixtureSite;
  let pageshot: TestServer;

  before(async () => {
    const redPng = await sharp({ create: { width: 400, height: 300, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
    site = await startFixtureSite(fidelityRoutes(redPng));
    pageshot = await startPageShot();
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  it('brings lazy images and IntersectionObserver content into a default full-page capture', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/lazy`, fullPage: true, width: 800, height: 600 });
    assert.equal(reply.status, 200);
    const image = await decodeImage(reply.body);
    assert.equal(image.height, 4200);
    assert.ok(near(image.pixel(200, 3150), RED), `the lazy image is loaded: ${image.pixel(200, 3150)}`);
    assert.ok(near(image.pixel(200, 3900), GREEN), `the observed block was seen: ${image.pixel(200, 3900)}`);
    assert.match(String(reply.headers['server-timing']), /scroll;dur=\d+/);
  });

  it('leaves lazy content alone with scrollPage: false', async () => {
    const before = site.hits('/red.png');
    const reply = await pageshot.shoot({ url: `${site.url}/lazy`, fullPage: true, width: 800, height: 600, scrollPage: false });
    const image = await decodeImage(reply.body);
    assert.ok(!near(image.pixel(200, 3150), RED), 'the lazy image was never asked for');
    assert.ok(!near(image.pixel(200, 3900), GREEN));
    assert.equal(site.hits('/red.png'), before);
    assert.doesNotMatch(String(reply.headers['server-timing']), /scroll;/);
  });

  it('stops scrolling an endless feed at the height cap, within the deadline', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/endless`, fullPage: true, width: 300, height: 800, timeout: 15_000 });
    assert.equal(reply.status, 200);
    const image = await decodeImage(reply.body);
    assert.equal(image.height, 16_384);
    assert.equal(reply.headers['x-pageshot-truncated'], 'true');
  });

  it('captures a page whose animation frames never come, without waiting for its deadline', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/no-frames`, fullPage: true, width: 300, height: 800, timeout: 30_000 });
    assert.equal(reply.status, 200);
    assert.equal((await decodeImage(reply.body)).height, 3000);
  });

  it('scrolls a viewport capture when asked, and shows the top of the page afterwards', async () => {
    const seenBefore = site.hits('/seen');
    const reply = await pageshot.shoot({ url: `${site.url}/lazy`, width: 800, height: 600, scrollPage: true });
    const image = await decodeImage(reply.body);
    assert.equal(image.height, 600);
    assert.equal(site.hits('/seen'), seenBefore + 1, 'the observer fired during the scroll');
    assert.ok(near(image.pixel(10, 10), WHITE), 'back at the top');
  });

  it('captures a fade-in at its end state, and two captures of a moving page are the same image', async () => {
    const first = await decodeImage((await pageshot.shoot({ url: `${site.url}/moving`, width: 600, height: 400 })).body);
    assert.ok(near(first.pixel(150, 100), RED), `the fade-in is finished and in place: ${first.pixel(150, 100)}`);
    const second = await decodeImage((await pageshot.shoot({ url: `${site.url}/moving`, width: 600, height: 400 })).body);
    let differing = 0;
    for (let y = 0; y < 400; y += 2) for (let x = 0; x < 600; x += 2) if (!near(first.pixel(x, y), second.pixel(x, y), 0)) differing++;
    assert.equal(differing, 0, 'spinner, fade-in and caret are still');
  });

  it('hides the text caret of a focused field', async () => {
    const caretColumn = async (disableAnimations: boolean) => {
      const image = await decodeImage((await pageshot.shoot({ url: `${site.url}/caret`, width: 400, height: 200, disableAnimations })).body);
      let dark = 0;
      for (let y = 5; y < 55; y++) for (let x = 5; x < 16; x++) if (image.pixel(x, y)[0]! < 128) dark++;
      return dark;
    };
    assert.equal(await caretColumn(true), 0, 'no caret');
    assert.ok((await caretColumn(false)) > 10, 'the caret is there when the page is left alone (so the check can fail)');
  });

  it('leaves animations running with disableAnimations: false', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/moving`, width: 600, height: 400, disableAnimations: false });
    const image = await decodeImage(reply.body);
    assert.ok(!near(image.pixel(150, 100), RED), `caught mid-fade: ${image.pixel(150, 100)}`);
  });

  it('clicks clickSelector and waits for what the click loads', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/load-more`, width: 600, height: 400, clickSelector: '#more' });
    assert.equal(reply.status, 200);
    const image = await decodeImage(reply.body);
    assert.ok(near(image.pixel(150, 100), GREEN), `the loaded block shows: ${image.pixel(150, 100)}`);
  });

  it('answers 422 SELECTOR_NOT_FOUND when clickSelector matches nothing', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/`, clickSelector: '#absent' });
    assertErrorShape(reply, 422, 'SELECTOR_NOT_FOUND');
  });

  it('fails a single-colour page with BLANK_PAGE only when failOnBlank is on', async () => {
    assertErrorShape(await pageshot.shoot({ url: `${site.url}/blank`, failOnBlank: true }), 422, 'BLANK_PAGE');
    assert.equal((await pageshot.shoot({ url: `${site.url}/blank` })).status, 200);
    assert.equal((await pageshot.shoot({ url: `${site.url}/`, failOnBlank: true })).status, 200);
    assert.equal((await pageshot.shoot({ url: `${site.url}/moving`, failOnBlank: true, fullPage: true })).status, 200);
  });

  it('captures an error page with failOnHttpError: false and says its status', async () => {
    assertErrorShape(await pageshot.shoot({ url: `${site.url}/status?code=404` }), 502, 'NAVIGATION_FAILED');
    const reply = await pageshot.shoot({ url: `${site.url}/status?code=404`, failOnHttpError: false });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-pageshot-target-status'], '404');
  });

  it('tells the final URL after redirects, the target status and the time of each phase', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/hop` });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-pageshot-final-url'], `${site.url}/`);
    assert.equal(reply.headers['x-pageshot-target-status'], '200');
    const timing = String(reply.headers['server-timing']);
    for (const phase of ['queue', 'navigation', 'waits', 'capture', 'render']) assert.match(timing, new RegExp(`(^|, )${phase};dur=\\d+`));
    const html = await pageshot.shoot({ html: '<p>x</p>' });
    assert.equal(html.headers['x-pageshot-final-url'], undefined);
    assert.equal(html.headers['x-pageshot-target-status'], undefined);
  });

  it('says when the height cap cut a full page', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/bands?n=25`, fullPage: true, width: 200, scrollPage: false });
    const image = await decodeImage(reply.body);
    assert.equal(image.height, 16_384);
    assert.equal(reply.headers['x-pageshot-truncated'], 'true');
    const whole = await pageshot.shoot({ url: `${site.url}/bands?n=3`, fullPage: true, width: 200 });
    assert.equal(whole.headers['x-pageshot-truncated'], undefined);
  });
});

describe('tall pages and the formats\' own limits', () => {
  let site: FixtureSite;
  let pageshot: TestServer;

  before(async () => {
    site = await startFixtureSite(fidelityRoutes(Buffer.alloc(0)));
    pageshot = await startPageShot({ PAGESHOT_MAX_FULLPAGE_HEIGHT: '65536', PAGESHOT_MAX_PIXELS: '20000000' });
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  it('returns a 40,000 px page whole when the operator raises the cap: every band at its place, none twice', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/bands?n=40`, fullPage: true, width: 200, height: 400 });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-pageshot-truncated'], undefined);
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.width, image.height], [200, 40_000]);
    for (let band = 0; band < 40; band++) {
      for (const y of [band * 1000 + 5, band * 1000 + 500, band * 1000 + 994]) {
        assert.ok(near(image.pixel(100, y), bandColour(band), 2), `band ${band} at y=${y}: ${image.pixel(100, y)}`);
      }
    }
  });

  it('cuts a WebP at 16,383 px, its format\'s longest side, and says so', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/bands?n=20`, fullPage: true, width: 200, format: 'webp' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-pageshot-truncated'], 'true');
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.format, image.height], ['webp', 16_383]);
    assert.ok(near(image.pixel(100, 16_300), bandColour(16), 8), 'the picture is whole down to its last row');
  });

  it('cuts a JPEG at 65,500 px, the longest side Chromium\'s JPEG encoder writes, and says so', async () => {
    const reply = await pageshot.shoot({ url: `${site.url}/bands?n=66`, fullPage: true, width: 100, format: 'jpeg' });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['x-pageshot-truncated'], 'true');
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.format, image.height], ['jpeg', 65_500]);
  });
});
