/**
 * PDF header and footer templates that would load something from outside themselves.
 * Chromium's renderer crashes on a template that asks for a stylesheet or a font, so
 * every such template, however it is spelled, is refused with 400 VALIDATION_ERROR
 * naming the field before anything is printed: never 422 PAGE_CRASHED, never 500.
 * Templates that load nothing (data: URLs included) still print.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { extractText, getDocumentProxy } from 'unpdf';
import { templateLoads } from '../src/capture/outputs/pdf-templates.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type TestServer } from './helpers/harness.js';

/** Where a hostile template points: a real stylesheet on the fixture site (set in `before`). */
let EXT = 'http://127.0.0.1:9/cached';

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';

/** Hostile templates by name; each is built when called, once EXT is known. */
const HOSTILE: Array<[string, () => string]> = [
  ['a stylesheet link', () => `<link rel="stylesheet" href="${EXT}"><div>x</div>`],
  ['a stylesheet link in capitals', () => `<LINK REL=STYLESHEET HREF=${EXT}><div>x</div>`],
  ['a data: stylesheet that imports', () => `<link rel="stylesheet" href="data:text/css,@import url(${EXT});"><div>x</div>`],
  ['a font preload', () => `<link rel="preload" as="font" href="${EXT}"><div>x</div>`],
  ['@import url()', () => `<style>@import url("${EXT}");</style><div>x</div>`],
  ['@import with a bare string', () => `<style>@import '${EXT}';</style><div>x</div>`],
  ['@IMPORT in capitals', () => `<style>@IMPORT "${EXT}";</style><div>x</div>`],
  ['@import with a CSS escape', () => `<style>@\\69mport "${EXT}";</style><div>x</div>`],
  ['@import with a comment inside', () => `<style>@im/**/port "${EXT}";</style><div>x</div>`],
  ['@import inside SVG', () => `<svg><style>@import url(${EXT});</style></svg><div>x</div>`],
  ['@font-face with a URL', () => `<style>@font-face{font-family:x;src:url(${EXT})}div{font-family:x}</style><div>x</div>`],
  ['@FONT-FACE with URL() in capitals', () => `<style>@FONT-FACE{font-family:x;src:URL( '${EXT}' )}div{font-family:x}</style><div>x</div>`],
  ['url() in a style attribute', () => `<div style="background:url(${EXT})">x</div>`],
  ['url() in a style element', () => `<style>div{background:url('${EXT}')}</style><div>x</div>`],
  ['\\75 rl( (a CSS hex escape)', () => `<style>@font-face{font-family:x;src:\\75 rl(${EXT})}div{font-family:x}</style><div>x</div>`],
  ['u\\rl( (a CSS escape of a letter)', () => `<div style="background:u\\rl(${EXT})">x</div>`],
  ['&#117;rl( (a character reference)', () => `<div style="background:&#117;rl(${EXT})">x</div>`],
  ['u&#x72;l( with zeros before the number', () => `<div style="background:u&#x00000072;l(${EXT})">x</div>`],
  ['url&lpar; (a named reference)', () => `<div style="background:url&lpar;${EXT})">x</div>`],
  ['image-set() with a string', () => `<style>div{background-image:image-set("${EXT}" 1x)}</style><div>x</div>`],
  ['an img src', () => `<img src="${EXT}">`],
  ['an IMG SRC in capitals, unquoted', () => `<IMG SRC=${EXT}>`],
  ['an img/src without a space', () => `<img/src="${EXT}">`],
  ['an src right after another quoted attribute', () => `<img alt="x"src="${EXT}">`],
  ['an src given as character references', () => `<img src="&#104;ttp://127.0.0.1/x.png">`],
  ['an srcset', () => `<img srcset="${EXT} 1x">`],
  ['an object', () => `<object data="${EXT}"></object>`],
  ['an iframe', () => `<iframe src="${EXT}"></iframe>`],
  ['an iframe srcdoc', () => `<iframe srcdoc="&lt;link rel=stylesheet href=${EXT}&gt;"></iframe>`],
  ['an external script', () => `<script src="${EXT}"></script>`],
  ['an inline script', () => '<script>document.title = "x"</script>'],
  ['an embed', () => `<embed src="${EXT}">`],
  ['an SVG image href', () => `<svg><image href="${EXT}" width="10" height="10"/></svg>`],
  ['an SVG image xlink:href', () => `<svg><image xlink:href="${EXT}" width="10" height="10"/></svg>`],
  ['a table background', () => `<table background="${EXT}"><tr><td>x</td></tr></table>`],
  ['a video poster', () => `<video poster="${EXT}"></video>`],
  ['a base element', () => `<base href="${EXT}"><div>x</div>`],
  ['a meta refresh', () => `<meta http-equiv="refresh" content="0;url=${EXT}"><div>x</div>`],
];

/** Templates that load nothing and must still print, with the text each must show. */
const BENIGN: Array<[string, string, string]> = [
  ['plain text with page numbers', '<div style="font-size:10px">Mark-A <span class="pageNumber"></span></div>', 'Mark-A 1'],
  ['a data: image', `<div style="font-size:10px"><img src="${PNG}" width="4" height="4">Mark-B</div>`, 'Mark-B'],
  ['a data: URL in a style attribute and a style element', `<style>.x{background:url( "${PNG}" )}</style><div class="x" style="font-size:10px;background-image:url(${PNG})">Mark-C</div>`, 'Mark-C'],
  ['inline SVG referring to itself', '<svg width="10" height="10"><defs><rect id="r" width="5" height="5"/></defs><use href="#r"/></svg><span style="font-size:10px">Mark-D</span>', 'Mark-D'],
  ['character references in text', '<div style="font-size:10px">Mark-E &amp; &eacute;t&eacute; &#169;</div>', 'Mark-E & été ©'],
  ['a data: font', '<style>@font-face{font-family:f;src:url(data:font/woff2;base64,d09GMgABAAAAAAA)}</style><div style="font-size:10px">Mark-F</div>', 'Mark-F'],
];

describe('PDF templates that would load something are refused before printing', () => {
  let site: FixtureSite;
  let pageshot: TestServer;

  before(async () => {
    site = await startFixtureSite();
    EXT = `${site.url}/cached`;
    pageshot = await startPageShot({}, { cpuUsage: () => 0 });
  });
  after(async () => {
    await pageshot.stop();
    await site.close();
  });

  for (const [name, template] of HOSTILE) {
    it(`refuses ${name} with 400 VALIDATION_ERROR naming the field, header or footer`, async () => {
      for (const field of ['headerTemplate', 'footerTemplate']) {
        const reply = await pageshot.shoot({ html: '<p>page</p>', format: 'pdf', pdf: { margin: { top: '20mm', bottom: '20mm' }, [field]: template() } });
        assert.equal(reply.status, 400, `${field}: ${reply.status} ${reply.body.toString().slice(0, 200)}`);
        assert.equal(reply.json?.code, 'VALIDATION_ERROR');
        assert.equal(reply.json?.field, `pdf/${field}`);
      }
    });
  }

  for (const [name, template, text] of BENIGN) {
    it(`still prints a template with ${name}`, async () => {
      const reply = await pageshot.shoot({ html: '<p>page</p>', format: 'pdf', pdf: { margin: { top: '20mm' }, headerTemplate: template } });
      assert.equal(reply.status, 200, reply.body.toString().slice(0, 300));
      const document = await getDocumentProxy(new Uint8Array(reply.body), { verbosity: 0 });
      const { text: pages } = await extractText(document, { mergePages: false });
      assert.ok(pages[0]!.includes(text), `header text "${text}" in ${JSON.stringify(pages[0])}`);
    });
  }

  it('fetched nothing from the fixture site for any template', () => {
    assert.equal(site.hits('/cached'), 0);
  });
});

describe('templateLoads', () => {
  it('names what loads, and nothing for a template that loads nothing', () => {
    assert.match(String(templateLoads('<LINK rel=stylesheet href=x>')), /<link>/);
    assert.match(String(templateLoads('<p style="background:\\000075rl(x)">')), /url\(\)/);
    assert.equal(templateLoads('<p class="linked">a <b>link</b>, an import, a url</p>'), undefined);
    assert.equal(templateLoads(`<img src=" DATA:image/png;base64,AAAA">`), undefined);
  });
});
