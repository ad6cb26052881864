import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { extractText, getDocumentProxy, getResolvedPDFJS } from 'unpdf';
import { toCaptureOptions } from '../src/capture/options.js';
import { firstPages, pdfOutput } from '../src/capture/outputs/pdf.js';
import { countPdfPages } from '../src/capture/outputs/pdf-page-count.js';
import { loadConfig } from '../src/config.js';
import { captureRequest } from './helpers/capture-request.js';
import { decodeImage, near, startPageShot, TEST_ENV, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, ROOT_KEY } from './helpers/keys.js';

/** Points per inch: PDF page sizes are in points. */
const PT = 72;
/** Chromium rounds paper sizes to its own units: a side may be off by up to this many points. */
const SIZE_TOLERANCE_PT = 1.5;

/** A document of `n` pages, each a heading "Page i" and a sentence, on a white page without body margin. */
function pagesDocument(n: number, head = ''): string {
  const sections = Array.from({ length: n }, (_, i) => `<section style="${i < n - 1 ? 'break-after:page' : ''}"><h1>Page ${i + 1}</h1><p>Selectable words ${i + 1}</p></section>`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Fixture document</title><style>body{margin:0;font:16px sans-serif}</style>${head}</head><body>${sections.join('')}</body></html>`;
}

/** What the PDF itself says: its pages, their sizes in points and their text. */
interface ReadPdf {
  pages: number;
  sizes: Array<[number, number]>;
  text: string[];
  /** [text, x, y] of every text run of page 1, in points from the bottom left. */
  runs: Array<[string, number, number]>;
  /** Fill colours page 1 paints with ("#00ff00"). */
  fills: string[];
}

async function readPdf(bytes: Buffer): Promise<ReadPdf> {
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-', 'the body is a PDF');
  // verbosity 0: pdf.js would warn about a Node 20 gap (transferToFixedLength) it works around.
  const document = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  const sizes: Array<[number, number]> = [];
  for (let number = 1; number <= document.numPages; number++) {
    const { width, height } = (await document.getPage(number)).getViewport({ scale: 1 });
    sizes.push([width, height]);
  }
  const first = await document.getPage(1);
  const content = await first.getTextContent();
  const runs = content.items.flatMap((item) => ('str' in item && item.str.trim() ? [[item.str, item.transform[4], item.transform[5]] as [string, number, number]] : []));
  const { OPS } = await getResolvedPDFJS();
  const operators = await first.getOperatorList();
  const fills = operators.fnArray.flatMap((fn, index) => (fn === OPS.setFillRGBColor ? [String(operators.argsArray[index]?.[0])] : []));
  const { text } = await extractText(document, { mergePages: false });
  return { pages: document.numPages, sizes, text, runs, fills };
}

function assertSize(actual: [number, number] | undefined, expected: [number, number], label: string): void {
  assert.ok(actual, `${label}: no page`);
  const close = actual.every((value, index) => Math.abs(value - expected[index]!) <= SIZE_TOLERANCE_PT);
  assert.ok(close, `${label}: page is ${actual.map((v) => v.toFixed(1)).join('×')} pt, expected ${expected.map((v) => v.toFixed(1)).join('×')}`);
}

function assertPdf(reply: Reply): void {
  assert.equal(reply.status, 200, `status ${reply.status}: ${reply.body.toString().slice(0, 300)}`);
  assert.equal(reply.headers['content-type'], 'application/pdf');
}

function assertError(reply: Reply, status: number, code: string, field?: string): void {
  assert.equal(reply.status, status, reply.body.toString().slice(0, 300));
  assert.equal(reply.json?.code, code);
  if (field !== undefined) assert.equal(reply.json?.field, field);
}

describe('PDF output: pages, paper and text from the file itself', () => {
  let pageshot: TestServer;
  const pdf = (body: Record<string, unknown>) => pageshot.shoot({ format: 'pdf', ...body });

  before(async () => {
    pageshot = await startPageShot();
  });
  after(async () => {
    await pageshot.stop();
  });

  it('prints a 3-page document at A4 as 3 A4 pages and says how many in X-PageShot-Pages', async () => {
    const reply = await pdf({ html: pagesDocument(3), pdf: { paperFormat: 'A4' } });
    assertPdf(reply);
    assert.equal(reply.headers['x-pageshot-pages'], '3');
    const read = await readPdf(reply.body);
    assert.equal(read.pages, 3);
    read.sizes.forEach((size, index) => assertSize(size, [595.28, 841.89], `A4 page ${index + 1}`));
    assert.match(read.text[2]!, /Page 3/);
  });

  it('prints only the pages of pageRanges, in document order', async () => {
    const second = await pdf({ html: pagesDocument(3), pdf: { pageRanges: '2' } });
    assertPdf(second);
    assert.equal(second.headers['x-pageshot-pages'], '1');
    const read = await readPdf(second.body);
    assert.equal(read.pages, 1);
    assert.match(read.text[0]!, /Page 2/);
    const outer = await readPdf((await pdf({ html: pagesDocument(3), pdf: { pageRanges: '3, 1' } })).body);
    assert.deepEqual([outer.pages, /Page 1/.test(outer.text[0]!), /Page 3/.test(outer.text[1]!)], [2, true, true]);
  });

  it('prints Letter by default, swaps the sides for landscape, takes a custom width and height', async () => {
    const letter = await readPdf((await pdf({ html: pagesDocument(1) })).body);
    assertSize(letter.sizes[0], [612, 792], 'Letter');
    const landscape = await readPdf((await pdf({ html: pagesDocument(1), pdf: { paperFormat: 'A4', landscape: true } })).body);
    assertSize(landscape.sizes[0], [841.89, 595.28], 'A4 landscape');
    const custom = await readPdf((await pdf({ html: pagesDocument(1), pdf: { width: '100mm', height: '2in' } })).body);
    assertSize(custom.sizes[0], [(100 / 25.4) * PT, 2 * PT], '100mm × 2in');
  });

  it('puts the content inside the margins (none by default)', async () => {
    const html = '<body style="margin:0"><p style="margin:0;font:12px sans-serif">Margin probe</p></body>';
    const plain = await readPdf((await pdf({ html })).body);
    const [, x0, y0] = plain.runs[0]!;
    assert.ok(x0 < 2 && y0 > 792 - 20, `without margins the text starts at the top left corner, got (${x0}, ${y0})`);
    const margined = await readPdf((await pdf({ html, pdf: { margin: { left: '1in', top: '2in' } } })).body);
    const [, x1, y1] = margined.runs[0]!;
    assert.ok(Math.abs(x1 - PT) < 2, `1in left margin: text at x=${x1}`);
    assert.ok(y1 < 792 - 2 * PT && y1 > 792 - 2 * PT - 20, `2in top margin: text baseline at y=${y1}`);
  });

  it('prints background colours unless printBackground is false', async () => {
    const html = '<body style="margin:0;background:#00ff00"><p>green</p></body>';
    const painted = await readPdf((await pdf({ html })).body);
    assert.ok(painted.fills.includes('#00ff00'), `the green background is painted by default: fills ${painted.fills}`);
    const bare = await readPdf((await pdf({ html, pdf: { printBackground: false } })).body);
    assert.ok(!bare.fills.includes('#00ff00'), `printBackground false leaves it out: fills ${bare.fills}`);
  });

  it('keeps the text selectable, header and footer templates included, and no default header', async () => {
    const reply = await pdf({
      html: pagesDocument(2),
      pdf: {
        margin: { top: '1in', bottom: '1in' },
        headerTemplate: '<div style="font-size:10px">Header-mark <span class="pageNumber"></span>/<span class="totalPages"></span></div>',
      },
    });
    assertPdf(reply);
    const read = await readPdf(reply.body);
    assert.match(read.text[0]!, /Selectable words 1/);
    assert.match(read.text[1]!, /Selectable words 2/);
    assert.match(read.text[0]!, /Header-mark 1\/2/);
    assert.match(read.text[1]!, /Header-mark 2\/2/);
    // Only a header was given: Chromium's default footer (the URL and "1/2") must not appear.
    const footerOnly = await readPdf(
      (await pdf({ html: pagesDocument(1), pdf: { margin: { top: '1in', bottom: '1in' }, footerTemplate: '<div style="font-size:10px">Footer-mark</div>' } })).body,
    );
    assert.match(footerOnly.text[0]!, /Footer-mark/);
    assert.doesNotMatch(footerOnly.text[0]!, /Fixture document/, 'the default header (the title) is not drawn');
  });

  it('prints with print media by default', async () => {
    const head = '<style>@media print { body::before { content: "PRINT-MEDIA" } } @media screen { body::before { content: "SCREEN-MEDIA" } }</style>';
    const read = await readPdf((await pdf({ html: pagesDocument(1, head) })).body);
    assert.match(read.text[0]!, /PRINT-MEDIA/);
  });

  it('prints with screen media when mediaType is "screen"', async () => {
    const head = '<style>@media print { body::before { content: "PRINT-MEDIA" } } @media screen { body::before { content: "SCREEN-MEDIA" } }</style>';
    const read = await readPdf((await pdf({ html: pagesDocument(1, head), mediaType: 'screen' })).body);
    assert.match(read.text[0]!, /SCREEN-MEDIA/);
  });

  it('counts pages from the page tree, not from text the page put in the file', async () => {
    // The title and lang land in the file as written; a scan for "/Count" would read 999.
    const html = pagesDocument(2).replace('<title>Fixture document</title>', '<title>) /Type /Pages /Count 999 >> (</title>').replace('lang="en"', 'lang="x /Count 998"');
    const reply = await pdf({ html });
    assertPdf(reply);
    assert.ok(reply.body.includes('/Count 999'), 'the decoy is in the file');
    assert.equal(reply.headers['x-pageshot-pages'], '2');
  });

  it('refuses pdf options with an image format, and page ranges that are not ranges', async () => {
    assertError(await pageshot.shoot({ html: '<p>x</p>', format: 'png', pdf: { landscape: true } }), 400, 'VALIDATION_ERROR', 'pdf');
    assertError(await pdf({ html: '<p>x</p>', pdf: { pageRanges: 'a-b' } }), 400, 'VALIDATION_ERROR', 'pdf/pageRanges');
    assertError(await pdf({ html: '<p>x</p>', pdf: { pageRanges: '3-2' } }), 400, 'VALIDATION_ERROR', 'pdf/pageRanges');
    assertError(await pdf({ html: '<p>x</p>', pdf: { pageRanges: '0' } }), 400, 'VALIDATION_ERROR', 'pdf/pageRanges');
    // Only known once the page is laid out: Chromium's "Page range exceeds page count".
    assertError(await pdf({ html: pagesDocument(3), pdf: { pageRanges: '9' } }), 400, 'VALIDATION_ERROR', 'pdf/pageRanges');
  });

  it('refuses bad pdf options before loading the page', async () => {
    // An unreachable target: refused before navigation the answer is 400, after it 502.
    const reply = await pdf({ url: 'http://127.0.0.1:9/', pdf: { pageRanges: '3-2' } });
    assertError(reply, 400, 'VALIDATION_ERROR', 'pdf/pageRanges');
  });

  it('refuses paper and margins that cannot print', async () => {
    assertError(await pdf({ html: '<p>x</p>', pdf: { width: '100mm' } }), 400, 'VALIDATION_ERROR', 'pdf/height');
    assertError(await pdf({ html: '<p>x</p>', pdf: { paperFormat: 'A4', width: '1in', height: '1in' } }), 400, 'VALIDATION_ERROR', 'pdf/paperFormat');
    assertError(await pdf({ html: '<p>x</p>', pdf: { width: '300in', height: '10in' } }), 400, 'VALIDATION_ERROR', 'pdf/width');
    assertError(await pdf({ html: '<p>x</p>', pdf: { margin: { top: '6in', bottom: '6in' } } }), 400, 'VALIDATION_ERROR', 'pdf/margin');
    // Landscape Letter is 8.5 in tall: 4.5 + 4.5 in fit a portrait page but not this one.
    assertError(await pdf({ html: '<p>x</p>', pdf: { landscape: true, margin: { top: '4.5in', bottom: '4.5in' } } }), 400, 'VALIDATION_ERROR', 'pdf/margin');
    assertPdf(await pdf({ html: '<p>x</p>', pdf: { margin: { top: '4.5in', bottom: '4.5in' } } }));
  });

  it('leaves a warm context that takes a normal picture next', async () => {
    const green = '<body style="margin:0;background:#00ff00"><div style="position:absolute;left:0;top:0;width:100px;height:50px;background:#ff0000"></div></body>';
    const warmUp = await pageshot.shoot({ html: green, width: 300, height: 200 });
    assert.equal(warmUp.status, 200);
    const opened = pageshot.app.pool.stats().opened;
    assertPdf(await pdf({ html: pagesDocument(3), pdf: { paperFormat: 'A4', landscape: true, scale: 0.5 } }));
    const reply = await pageshot.shoot({ html: green, width: 300, height: 200 });
    assert.equal(reply.status, 200);
    assert.equal(pageshot.app.pool.stats().opened, opened, 'the PDF and the picture came from the same warm context');
    const image = await decodeImage(reply.body);
    assert.deepEqual([image.format, image.width, image.height], ['png', 300, 200]);
    assert.ok(near(image.pixel(50, 25), [255, 0, 0]), `red block at the top left, got ${image.pixel(50, 25)}`);
    assert.ok(near(image.pixel(200, 150), [0, 255, 0]), `green page, got ${image.pixel(200, 150)}`);
    assert.ok(near(image.pixel(299, 199), [0, 255, 0]), `the viewport is the picture's, not the paper's: ${image.pixel(299, 199)}`);
  });
});

describe('PDF output: the page cap and the byte cap', () => {
  let capped: TestServer;

  before(async () => {
    capped = await startPageShot({ PAGESHOT_MAX_PDF_PAGES: '2' });
  });
  after(async () => {
    await capped.stop();
  });

  it('fails with TOO_MANY_PAGES when the document has more pages than allowed', async () => {
    const reply = await capped.shoot({ format: 'pdf', html: pagesDocument(5) });
    assertError(reply, 422, 'TOO_MANY_PAGES');
    assert.equal(reply.json?.limit, 2);
  });

  it('allows exactly the cap, and a selection of pages within it', async () => {
    const two = await capped.shoot({ format: 'pdf', html: pagesDocument(2) });
    assertPdf(two);
    assert.equal(two.headers['x-pageshot-pages'], '2');
    const selected = await capped.shoot({ format: 'pdf', html: pagesDocument(5), pdf: { pageRanges: '4-5' } });
    assertPdf(selected);
    const read = await readPdf(selected.body);
    assert.deepEqual([read.pages, /Page 4/.test(read.text[0]!)], [2, true]);
    assertError(await capped.shoot({ format: 'pdf', html: pagesDocument(5), pdf: { pageRanges: '1, 3-4' } }), 422, 'TOO_MANY_PAGES');
  });

  it('stops a page that lays out thousands of pages at the cap', async () => {
    const html = '<body><script>for (let i = 0; i < 3000; i++) { const d = document.createElement("div"); d.style.breakAfter = "page"; d.textContent = "p" + i; document.body.append(d) }</script></body>';
    assertError(await capped.shoot({ format: 'pdf', html }), 422, 'TOO_MANY_PAGES');
    // The context stays usable: the caller's next capture works.
    assertPdf(await capped.shoot({ format: 'pdf', html: pagesDocument(1) }));
  });

  it('refuses a PDF larger than the byte cap while reading it', async () => {
    const limits = loadConfig(TEST_ENV).limits;
    // A canvas of noise is printed as a picture that does not compress: about 1.9 MB.
    const noise =
      '<canvas id="c" width="800" height="800"></canvas><script>const c = document.getElementById("c").getContext("2d"); const img = c.createImageData(800, 800);' +
      ' for (let i = 0; i < img.data.length; i++) img.data[i] = Math.random() * 256; c.putImageData(img, 0, 0)</script>';
    const options = toCaptureOptions(captureRequest(limits, { html: noise, format: 'pdf' }), limits);
    const pooled = await capped.app.pool.acquire('test:byte-cap', true);
    try {
      await pooled.page.setContent(noise);
      const deadline = Date.now() + 30_000;
      const roomy = { ...limits, maxPdfBytes: 10_000_000 };
      const tight = { ...limits, maxPdfBytes: 500_000 };
      const big = await pdfOutput.produce(pooled, options, roomy, deadline);
      assert.ok(big.body.length > 1_000_000, `the noise makes a big file: ${big.body.length} bytes`);
      await assert.rejects(pdfOutput.produce(pooled, options, tight, deadline), (error: Error & { code?: string; extras?: Record<string, unknown> }) => {
        assert.equal(error.code, 'PDF_TOO_LARGE');
        assert.equal(error.extras?.limitBytes, 500_000);
        return true;
      });
    } finally {
      capped.app.pool.release(pooled, false);
    }
  });
});

describe('POST /pdf', () => {
  let pageshot: TestServer;

  before(async () => {
    pageshot = await startPageShot(AUTH_ENV);
  });
  after(async () => {
    await pageshot.stop();
  });

  it('makes a PDF from the same options as /screenshot, format left out', async () => {
    const reply = await pageshot.request('/pdf', { body: { html: pagesDocument(2), pdf: { paperFormat: 'A4' } }, headers: bearer(ROOT_KEY) });
    assertPdf(reply);
    assert.equal(reply.headers['x-pageshot-pages'], '2');
    assertSize((await readPdf(reply.body)).sizes[0], [595.28, 841.89], 'A4');
    assertPdf(await pageshot.request('/pdf', { body: { html: '<p>x</p>', format: 'pdf' }, headers: bearer(ROOT_KEY) }));
  });

  it('refuses another format', async () => {
    assertError(await pageshot.request('/pdf', { body: { html: '<p>x</p>', format: 'png' }, headers: bearer(ROOT_KEY) }), 400, 'VALIDATION_ERROR', 'format');
  });

  it('needs an API key', async () => {
    assertError(await pageshot.request('/pdf', { body: { html: '<p>x</p>' } }), 401, 'MISSING_API_KEY');
  });
});

describe('PDF helpers', () => {
  it('cuts the caller\'s page selection to its first pages, sorted and merged', () => {
    assert.equal(firstPages(undefined, 101), '1-101');
    assert.equal(firstPages('5-10, 200-300', 101), '5-10,200-294');
    assert.equal(firstPages('3, 1-2', 5), '1-3');
    assert.equal(firstPages('1-3, 2-4, 9', 10), '1-4,9');
    assert.equal(firstPages('7', 3), '7');
    assert.equal(firstPages('1-2, 4-5', 3), '1-2,4');
  });

  it('refuses to count a file that is not laid out as Chromium writes it', () => {
    assert.throws(() => countPdfPages(Buffer.from('%PDF-1.4\n1 0 obj <</Type /Pages /Count 3>> endobj\n%%EOF')), /not a PDF/);
    assert.throws(() => countPdfPages(Buffer.from('%PDF-1.4\nxref\n0 1\n0000000000 65535 f \ntrailer\n<</Root 1 0 R>>\nstartxref\n9\n%%EOF')), /not a PDF/);
  });
});
