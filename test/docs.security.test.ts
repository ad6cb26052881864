/**
 * The public routes this change added (`GET /`, `/openapi.json`, `/docs` and its files)
 * fed hostile input: every answer is a clean 2xx/3xx/4xx in the shared shape where it is
 * an error, nothing outside the docs package is served, and the server keeps answering.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV } from './helpers/keys.js';
import { rawExchange } from './helpers/raw-http.js';

describe('the public docs routes under hostile input', () => {
  let server: TestServer;

  before(async () => (server = await startPageShot(AUTH_ENV, { cpuUsage: () => 0 })));
  after(() => server.stop());

  it('answers GET / whatever the Accept header holds', async () => {
    for (const accept of ['', '*/*', 'text/html', 'TEXT/HTML;q=0.1', ',,,;;;', 'x'.repeat(8000), 'text/html\u00ff', 'application/json, text/html']) {
      const reply = await server.request('/', { headers: { accept } });
      assert.equal(reply.status, 200, JSON.stringify(accept.slice(0, 20)));
      assert.match(String(reply.headers['content-type']), /^(application\/json|text\/html)/);
    }
  });

  it('serves nothing outside the docs package, however the path is spelled', async () => {
    const paths = [
      '/docs/static/../../../package.json',
      '/docs/static/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/docs/static/..%2f..%2f..%2fpackage.json',
      '/docs/static/%00',
      '/docs/static/%ff',
      '/docs/static/' + 'a/'.repeat(500),
      '/docs/json?x=%ff',
    ];
    for (const path of paths) {
      const reply = await server.request(path);
      assert.ok(reply.status < 500, `${path}: ${reply.status}`);
      assert.doesNotMatch(reply.body.toString(), /"allowScripts"|"devDependencies"/, path);
      if (reply.status >= 400) assert.equal(typeof reply.json?.code, 'string', path);
    }
  });

  it('answers /openapi.json to any If-None-Match and to raw malformed requests, and stays up', async () => {
    for (const tag of ['', '*', 'W/"x"', '"' + 'x'.repeat(4000) + '"', '\t"a", "b"']) {
      const reply = await server.request('/openapi.json', { headers: { 'if-none-match': tag } });
      assert.equal(reply.status, 200, tag.slice(0, 20));
    }
    const url = new URL(server.url);
    const broken = await rawExchange(server.url, `GET /openapi.json?%%% HTTP/1.1\r\nHost: ${url.host}\r\nAccept: \u0000\r\n\r\n`);
    assert.ok(broken.status >= 400 && broken.status < 500, String(broken.status));
    assert.equal((await server.request('/healthz')).status, 200);
  });
});
