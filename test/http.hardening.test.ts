import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLogger } from '../src/logger.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, ROOT_KEY } from './helpers/keys.js';
import { rawExchange, type RawAnswer } from './helpers/raw-http.js';

/** Asserts the shared error shape, with the body's requestId also in X-Request-Id. */
function assertSharedError(answer: RawAnswer | { status: number; headers: Record<string, unknown>; json?: Record<string, unknown> }, status: number, code: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.json));
  assert.equal(answer.json?.code, code);
  assert.equal(typeof answer.json?.error, 'string');
  assert.ok(typeof answer.json?.requestId === 'string' && answer.json.requestId.length > 0, 'requestId in the body');
  assert.equal(answer.headers['x-request-id'], answer.json?.requestId);
}

describe('requests Node or the router refuse get the shared error shape', () => {
  let server: TestServer;

  before(async () => {
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_HEADERS_TIMEOUT_MS: '1000' });
  });
  after(() => server.stop());

  it('answers a 20 KB header with 431 HEADERS_TOO_LARGE and closes the connection', async () => {
    const answer = await rawExchange(server.url, `GET /status HTTP/1.1\r\nHost: a\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assertSharedError(answer, 431, 'HEADERS_TOO_LARGE');
    assert.equal(answer.headers.connection, 'close');
  });

  it('answers a NUL byte in a header with 400 MALFORMED_REQUEST', async () => {
    const answer = await rawExchange(server.url, 'GET /status HTTP/1.1\r\nHost: a\r\nX-Odd: a\0b\r\n\r\n');
    assertSharedError(answer, 400, 'MALFORMED_REQUEST');
    assert.equal(answer.headers.connection, 'close');
  });

  it('answers a request line that is not HTTP with 400 MALFORMED_REQUEST', async () => {
    assertSharedError(await rawExchange(server.url, 'HELLO THERE\r\n\r\n'), 400, 'MALFORMED_REQUEST');
  });

  it('answers a path that is not valid percent-encoding with 400 MALFORMED_REQUEST', async () => {
    const answer = await rawExchange(server.url, `GET /v1/me/%ff HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${ROOT_KEY}\r\nConnection: close\r\n\r\n`);
    assertSharedError(answer, 400, 'MALFORMED_REQUEST');
  });

  it('answers headers that never finish with 408 REQUEST_TIMEOUT after the headers deadline', async () => {
    const answer = await rawExchange(server.url, 'GET /status HTTP/1.1\r\nHost: a\r\n', 5_000);
    assertSharedError(answer, 408, 'REQUEST_TIMEOUT');
    assert.ok(answer.closedAfterMs < 3_000, `closed after ${answer.closedAfterMs} ms`);
  });
});

describe('JSON bodies are checked as sent, query strings are coerced', () => {
  let server: TestServer;
  let site: FixtureSite;

  before(async () => {
    site = await startFixtureSite();
    server = await startPageShot();
  });
  after(async () => {
    await server.stop();
    await site.close();
  });

  const wrongTypes: Array<[string, Record<string, unknown>, string]> = [
    ['an array for a number', { width: [1280] }, 'width'],
    ['a number for a boolean', { fullPage: 1 }, 'fullPage'],
    ['a string for a boolean', { fresh: 'true' }, 'fresh'],
    ['a number for a header value', { headers: { a: 1 } }, 'headers/a'],
  ];
  for (const [what, options, field] of wrongTypes) {
    it(`refuses ${what} in a POST body with 400 VALIDATION_ERROR naming "${field}"`, async () => {
      const reply = await server.shoot({ url: `${site.url}/`, ...options });
      assert.equal(reply.status, 400);
      assert.equal(reply.json?.code, 'VALIDATION_ERROR');
      assert.equal(reply.json?.field, field);
    });
  }

  it('still reads numbers and booleans from a GET query string', async () => {
    const reply = await server.request(`/screenshot?url=${encodeURIComponent(`${site.url}/`)}&width=800&height=600&fullPage=true`);
    assert.equal(reply.status, 200, reply.body.toString());
    assert.equal(reply.headers['content-type'], 'image/png');
  });
});

describe('a key in the URL is refused on every route', () => {
  let server: TestServer;

  before(async () => {
    server = await startPageShot(AUTH_ENV);
  });
  after(() => server.stop());

  const spellings = ['api_key', 'API_KEY', 'apiKey', 'api-key', 'Key', 'token', 'access_token', 'auth', 'Authorization', 'x-api-key', 'bearer', 'secret', 'api%5Fkey', 'api_key[]'];
  const routes = ['/metrics', '/status', '/console', '/screenshot', '/v1/me', '/no-such-route'];
  for (const route of routes) {
    it(`refuses every credential spelling on ${route} with 400 API_KEY_IN_QUERY`, async () => {
      for (const name of spellings) {
        const reply = await server.request(`${route}?a=1&${name}=${ROOT_KEY}`, { headers: bearer(ROOT_KEY) });
        assert.equal(reply.status, 400, `${route}?${name}=`);
        assert.equal(reply.json?.code, 'API_KEY_IN_QUERY', `${route}?${name}=`);
      }
    });
  }

  it('lets through parameters that only contain such a word', async () => {
    assert.equal((await server.request('/status?monkey=1&keyboard=2&tokens=3')).status, 200);
    assert.equal((await server.request('/v1/me?x=1', { headers: bearer(ROOT_KEY) })).status, 200);
  });
});

describe('PAGESHOT_TRUST_PROXY at start-up', () => {
  /** Starts and stops a server, returning the warn lines it logged about trusting proxies. */
  async function proxyWarnings(trustProxy: string): Promise<Array<Record<string, unknown>>> {
    const lines: Array<Record<string, unknown>> = [];
    const destination = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) };
    const server = await startPageShot({ PAGESHOT_TRUST_PROXY: trustProxy }, { logger: createLogger('warn', destination) });
    await server.stop();
    return lines.filter((line) => line.level === 40 && line.variable === 'PAGESHOT_TRUST_PROXY');
  }

  it('warns that `true` trusts every client', async () => {
    assert.equal((await proxyWarnings('true')).length, 1);
  });

  it('does not warn for a list of proxy addresses or a hop count', async () => {
    assert.equal((await proxyWarnings('10.0.0.0/8,127.0.0.1')).length, 0);
    assert.equal((await proxyWarnings('1')).length, 0);
  });
});
