import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { toCaptureOptions, type CaptureRequest } from '../src/capture/options.js';
import { ApiError, type ErrorCode } from '../src/errors.js';
import { captureRequest } from './helpers/capture-request.js';

const limits = loadConfig({}).limits;

/** A request as it looks after schema validation filled in the defaults. */
const request = (fields: Partial<CaptureRequest>): CaptureRequest => captureRequest(limits, fields);

/** Asserts that `fn` throws an ApiError with `code` and, if given, `extras.field`. */
function assertApiError(fn: () => unknown, code: ErrorCode, field?: string): ApiError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ApiError, `expected an ApiError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code);
  if (field !== undefined) assert.equal(caught.extras.field, field);
  return caught;
}

describe('toCaptureOptions', () => {
  it('turns a url request into a url target holding the parsed URL', () => {
    const options = toCaptureOptions(request({ url: 'https://example.com/path?q=1' }), limits);
    assert.equal(options.target.kind, 'url');
    assert.ok(options.target.kind === 'url' && options.target.url instanceof URL);
    assert.equal(options.target.kind === 'url' ? options.target.url.href : '', 'https://example.com/path?q=1');
  });

  it('turns an html request into an html target with the markup unchanged', () => {
    const html = '<h1>Hello</h1>';
    const options = toCaptureOptions(request({ html }), limits);
    assert.deepEqual(options.target, { kind: 'html', html });
  });

  it('keeps the validated options and drops url, html from the result', () => {
    const options = toCaptureOptions(request({ url: 'http://example.com/', width: 800, fullPage: true, darkMode: true }), limits);
    assert.equal(options.width, 800);
    assert.equal(options.fullPage, true);
    assert.equal(options.darkMode, true);
    assert.equal('url' in options, false);
    assert.equal('html' in options, false);
  });

  it('refuses a request with neither url nor html (VALIDATION_ERROR, field url)', () => {
    const error = assertApiError(() => toCaptureOptions(request({}), limits), 'VALIDATION_ERROR', 'url');
    assert.equal(error.statusCode, 400);
  });

  it('refuses a request with both url and html (VALIDATION_ERROR, field url)', () => {
    assertApiError(
      () => toCaptureOptions(request({ url: 'http://example.com/', html: '<p>x</p>' }), limits),
      'VALIDATION_ERROR',
      'url',
    );
  });

  for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'ftp://example.com/file', 'data:text/html,<h1>x</h1>']) {
    it(`refuses the non-http(s) URL ${url} (VALIDATION_ERROR, field url)`, () => {
      assertApiError(() => toCaptureOptions(request({ url }), limits), 'VALIDATION_ERROR', 'url');
    });
  }

  it('refuses a url that is not an absolute URL (VALIDATION_ERROR, field url)', () => {
    assertApiError(() => toCaptureOptions(request({ url: 'example.com/page' }), limits), 'VALIDATION_ERROR', 'url');
  });

  it('accepts both http and https URLs', () => {
    for (const url of ['http://example.com/', 'https://example.com/']) {
      const options = toCaptureOptions(request({ url }), limits);
      assert.equal(options.target.kind, 'url');
    }
  });

  it('refuses quality with png (VALIDATION_ERROR, field quality)', () => {
    assertApiError(
      () => toCaptureOptions(request({ url: 'http://example.com/', format: 'png', quality: 50 }), limits),
      'VALIDATION_ERROR',
      'quality',
    );
  });

  it('refuses selector combined with fullPage (VALIDATION_ERROR, field selector)', () => {
    assertApiError(
      () => toCaptureOptions(request({ url: 'http://example.com/', selector: '#main', fullPage: true }), limits),
      'VALIDATION_ERROR',
      'selector',
    );
  });

  it('accepts a selector when fullPage is false', () => {
    const options = toCaptureOptions(request({ url: 'http://example.com/', selector: '#main' }), limits);
    assert.equal(options.selector, '#main');
  });

  for (const format of ['jpeg', 'webp'] as const) {
    it(`defaults quality to 80 for ${format}`, () => {
      const options = toCaptureOptions(request({ url: 'http://example.com/', format }), limits);
      assert.equal(options.quality, 80);
    });

    it(`keeps an explicit quality for ${format}, including 0`, () => {
      assert.equal(toCaptureOptions(request({ url: 'http://example.com/', format, quality: 55 }), limits).quality, 55);
      assert.equal(toCaptureOptions(request({ url: 'http://example.com/', format, quality: 0 }), limits).quality, 0);
    });
  }

  it('leaves quality undefined for png', () => {
    const options = toCaptureOptions(request({ url: 'http://example.com/', format: 'png' }), limits);
    assert.equal(options.quality, undefined);
  });

  it('refuses html over maxHtmlBytes counted in UTF-8 bytes, not characters (PAYLOAD_TOO_LARGE)', () => {
    // 'é' is two bytes in UTF-8: half as many characters as the limit, one byte too many.
    const html = 'é'.repeat(limits.maxHtmlBytes / 2) + 'x';
    assert.ok(html.length < limits.maxHtmlBytes);
    const error = assertApiError(() => toCaptureOptions(request({ html }), limits), 'PAYLOAD_TOO_LARGE', 'html');
    assert.equal(error.statusCode, 413);
    assert.equal(error.extras.limit, limits.maxHtmlBytes);
  });

  it('accepts html of exactly maxHtmlBytes bytes', () => {
    const html = 'é'.repeat(limits.maxHtmlBytes / 2);
    assert.equal(Buffer.byteLength(html), limits.maxHtmlBytes);
    const options = toCaptureOptions(request({ html }), limits);
    assert.equal(options.target.kind, 'html');
  });

  it('honours a configured maxHtmlBytes limit', () => {
    const small = loadConfig({ PAGESHOT_MAX_HTML_BYTES: '1000' }).limits;
    assertApiError(() => toCaptureOptions(request({ html: '€'.repeat(334) }), small), 'PAYLOAD_TOO_LARGE', 'html');
    assert.equal(toCaptureOptions(request({ html: '€'.repeat(333) }), small).target.kind, 'html');
  });
});
