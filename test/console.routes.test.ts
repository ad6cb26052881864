import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { CONSOLE_CSP, CONSOLE_FILES } from '../src/console/routes.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV } from './helpers/keys.js';

/** GET with the path sent exactly as written: no URL normalisation of "..", "%2e" or "//". */
function rawGet(base: string, path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const request = http.request({ hostname, port, path, method: 'GET', agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end();
  });
}

const EXPECTED_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};

describe('console static files', () => {
  let server: TestServer;

  before(async () => {
    server = await startPageShot(AUTH_ENV);
  });
  after(async () => {
    await server.stop();
  });

  it('serves the page at /console and /console/ without a key, even with authentication on', async () => {
    for (const path of ['/console', '/console/']) {
      const reply = await server.request(path);
      assert.equal(reply.status, 200, path);
      assert.equal(reply.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(reply.body.toString(), /<title>PageShot console<\/title>/);
    }
  });

  it('serves every console file with its content type and the security headers', async () => {
    for (const file of CONSOLE_FILES) {
      const path = file === 'index.html' ? '/console/' : `/console/${file}`;
      const reply = await server.request(path);
      assert.equal(reply.status, 200, path);
      assert.equal(reply.headers['content-type'], EXPECTED_TYPES[file.split('.').pop()!], path);
      assert.equal(reply.headers['content-security-policy'], CONSOLE_CSP, path);
      assert.equal(reply.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(reply.headers['referrer-policy'], 'no-referrer', path);
      assert.equal(reply.headers['x-frame-options'], 'DENY', path);
      assert.equal(reply.headers['cache-control'], 'no-cache', path);
      assert.deepEqual(reply.body, readFileSync(new URL(`../src/console/static/${file}`, import.meta.url)), path);
    }
  });

  it('sends a CSP that allows no inline script or style and nothing from elsewhere', () => {
    const directives = new Map(CONSOLE_CSP.split('; ').map((directive) => [directive.split(' ')[0], directive]));
    assert.equal(directives.get('default-src'), "default-src 'none'");
    assert.equal(directives.get('script-src'), "script-src 'self'");
    assert.equal(directives.get('style-src'), "style-src 'self'");
    assert.equal(directives.get('img-src'), "img-src 'self' blob: data:");
    assert.equal(directives.get('object-src'), "object-src 'none'");
    assert.equal(directives.get('base-uri'), "base-uri 'none'");
    assert.equal(directives.get('frame-ancestors'), "frame-ancestors 'none'");
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-|https?:|\*/);
  });

  it('has no inline script, inline style or event-handler attribute, and links only files it serves', async () => {
    const html = (await server.request('/console/')).body.toString();
    for (const tag of html.match(/<script\b[^>]*>/gi) ?? []) assert.match(tag, /\ssrc="\/console\/[^"]+"/, `inline script: ${tag}`);
    assert.doesNotMatch(html, /<style\b/i, 'no <style> element');
    assert.doesNotMatch(html, /\sstyle\s*=/i, 'no style attribute');
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no on* attribute');
    assert.doesNotMatch(html, /javascript:/i);
    for (const [, file] of html.matchAll(/(?:src|href)="\/console\/([^"]+)"/g)) assert.ok(CONSOLE_FILES.includes(file!), `${file} is served`);
    // Modules import each other by relative path: every import must be a served file too.
    for (const file of CONSOLE_FILES.filter((name) => name.endsWith('.js'))) {
      const source = (await server.request(`/console/${file}`)).body.toString();
      for (const [, imported] of source.matchAll(/from '\.\/([^']+)'/g)) assert.ok(CONSOLE_FILES.includes(`js/${imported}`), `${file} imports ${imported}`);
      assert.doesNotMatch(source, /localStorage\s*\.|document\.cookie|\.innerHTML\s*=|\beval\(|new Function\(/, `${file} stays within the rules`);
    }
  });

  it('answers 304 to a browser that already holds the current version', async () => {
    const first = await server.request('/console/console.css');
    const etag = first.headers.etag as string;
    assert.match(etag, /^"[\w-]+"$/);
    const again = await server.request('/console/console.css', { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    assert.equal(again.headers['content-security-policy'], CONSOLE_CSP);
  });

  it('answers 404 NOT_FOUND for any file not on its list', async () => {
    for (const path of ['/console/nope.js', '/console/js/nope.js', '/console/index.htm', '/console/static/index.html', '/console/js/', '/console/js', '/console/routes.ts']) {
      const reply = await server.request(path);
      assert.equal(reply.status, 404, path);
      assert.equal(reply.json?.code, 'NOT_FOUND', path);
    }
  });

  it('refuses path traversal in every spelling', async () => {
    const attempts = [
      '/console/../package.json',
      '/console/js/../../package.json',
      '/console/js/../../../package.json',
      '/console/%2e%2e/package.json',
      '/console/..%2f..%2fpackage.json',
      '/console/js%2f..%2f..%2f..%2fpackage.json',
      '/console/..\\..\\package.json',
      '/console//etc/passwd',
      '/console/%2e%2e%2f%2e%2e%2fsrc%2fserver.ts',
    ];
    for (const path of attempts) {
      const reply = await rawGet(server.url, path);
      assert.ok(reply.status === 404 || reply.status === 400, `${path}: ${reply.status}`);
      assert.doesNotMatch(reply.body, /"name": "pageshot"|root:x:0|buildServer/, path);
    }
  });
});
