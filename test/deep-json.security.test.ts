/**
 * Deeply nested JSON: a body nested thousands of levels deep is refused with 400
 * VALIDATION_ERROR naming the top-level property, on every route that takes a free-form
 * object, before anything recursive (Ajv, JSON.stringify, the store) touches it; the
 * server keeps answering. Bodies are written as text: the test itself must not recurse.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_JSON_DEPTH } from '../src/json-depth.js';
import { startPageShot, tempDataDir, type Reply, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY } from './helpers/keys.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

/** JSON text of an object nested `levels` deep: `{"a":{"a":…1…}}` (levels ≥ 1). */
function nested(levels: number): string {
  return '{"a":'.repeat(levels - 1) + '{"a":1}' + '}'.repeat(levels - 1);
}

/** JSON text of an array nested `levels` deep: `[[[…]]]`. */
function nestedArray(levels: number): string {
  return '['.repeat(levels) + ']'.repeat(levels);
}

function send(server: TestServer, path: string, text: string, method: 'POST' | 'PATCH' = 'POST'): Promise<Reply> {
  return server.request(path, { method, rawBody: { data: text, contentType: 'application/json' }, headers: bearer(ROOT_KEY) });
}

function assertTooDeep(reply: Reply, field: string): void {
  assert.equal(reply.status, 400, reply.body.toString().slice(0, 300));
  assert.equal(reply.json?.code, 'VALIDATION_ERROR');
  assert.equal(reply.json?.field, field);
  assert.equal(typeof reply.json?.requestId, 'string');
}

describe('deeply nested JSON bodies', () => {
  let server: TestServer;
  let keyId: string;

  before(async () => {
    server = await startPageShot(AUTH_ENV);
    keyId = (await createKey(server, { name: 'target', scopes: ['screenshot'] })).id;
  });
  after(() => server.stop());

  it('refuses metadata nested 5,000 levels on POST /v1/keys with 400 VALIDATION_ERROR naming "metadata"', async () => {
    assertTooDeep(await send(server, '/v1/keys', `{"name":"deep","scopes":["screenshot"],"metadata":${nested(5_000)}}`), 'metadata');
  });

  it('refuses metadata nested 5,000 levels on PATCH /v1/keys/:id, and the key keeps its metadata', async () => {
    assertTooDeep(await send(server, `/v1/keys/${keyId}`, `{"metadata":${nested(5_000)}}`, 'PATCH'), 'metadata');
    const key = await server.request(`/v1/keys/${keyId}`, { headers: bearer(ROOT_KEY) });
    assert.equal(key.status, 200);
    assert.deepEqual(key.json?.metadata, {});
  });

  it('names the property as sent, escapes decoded, and the root for an array', async () => {
    assertTooDeep(await send(server, '/v1/keys', `{"name":"x","\\u006detadata":${nested(200)}}`), 'metadata');
    assertTooDeep(await send(server, '/v1/keys', `{"name":"x","scopes":["screenshot"],"metadata":{"ok":1},"other":${nestedArray(200)}}`), 'other');
    assertTooDeep(await send(server, '/screenshot', nestedArray(5_000)), '(root)');
    assertTooDeep(await send(server, '/screenshot', `{"url":"http://example.test/","headers":${nested(100)}}`), 'headers');
  });

  it(`accepts metadata at the limit (${MAX_JSON_DEPTH} levels, the body counted) and refuses one level more`, async () => {
    const atLimit = await send(server, '/v1/keys', `{"name":"limit","scopes":["screenshot"],"metadata":${nested(MAX_JSON_DEPTH - 1)}}`);
    assert.equal(atLimit.status, 201, atLimit.body.toString());
    assertTooDeep(await send(server, '/v1/keys', `{"name":"limit","scopes":["screenshot"],"metadata":${nested(MAX_JSON_DEPTH)}}`), 'metadata');
    // The same bound on a property no service checks: at the limit, the schema speaks (a
    // header value must be a string); one level more, the parser does.
    const schema = await send(server, '/screenshot', `{"url":"http://example.test/","headers":${nested(MAX_JSON_DEPTH - 1)}}`);
    assert.equal(schema.json?.field, 'headers/a', schema.body.toString());
    assertTooDeep(await send(server, '/screenshot', `{"url":"http://example.test/","headers":${nested(MAX_JSON_DEPTH)}}`), 'headers');
  });

  it('does not count brackets inside strings, escaped quotes included', async () => {
    const text = JSON.stringify({ name: 'strings', scopes: ['screenshot'], metadata: { note: `"\\${'[{'.repeat(1_000)}` } });
    const reply = await send(server, '/v1/keys', text);
    assert.equal(reply.status, 201, reply.body.toString());
  });

  it('answers a body nested 700,000 levels (4 MB, under the body limit) with 400 at once, and keeps serving', async () => {
    const started = Date.now();
    assertTooDeep(await send(server, '/v1/keys', `{"metadata":${nested(700_000)}}`), 'metadata');
    assert.ok(Date.now() - started < 10_000, `answered after ${Date.now() - started} ms`);
    assert.equal((await server.request('/v1/me', { headers: bearer(ROOT_KEY) })).status, 200);
  });

  it('still answers broken JSON and an empty body with INVALID_JSON, and refuses __proto__', async () => {
    for (const text of ['{"name":', '']) {
      const reply = await send(server, '/v1/keys', text);
      assert.equal(reply.status, 400, JSON.stringify(text));
      assert.equal(reply.json?.code, 'INVALID_JSON', JSON.stringify(text));
    }
    const proto = await send(server, '/v1/keys', '{"name":"p","scopes":["screenshot"],"__proto__":{"x":1}}');
    assert.equal(proto.status, 400, 'prototype poisoning is still refused');
  });

  it('holds the key service to the same limit when it is called directly (no RangeError)', async () => {
    // Built with a loop, not recursion; only the service could overflow on it.
    let metadata: Record<string, unknown> = { leaf: true };
    for (let level = 0; level < 10_000; level++) metadata = { a: metadata };
    await assert.rejects(server.app.keyService.create({ name: 'direct', scopes: ['screenshot'], metadata }, null), (error: unknown) => {
      const apiError = error as { code?: string; extras?: Record<string, unknown> };
      assert.equal(apiError.code, 'VALIDATION_ERROR');
      assert.equal(apiError.extras?.field, 'metadata');
      return true;
    });
  });
});

describe('deeply nested job metadata', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let server: TestServer;

  before(async () => {
    redis = await startPrivateRedis();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_REDIS_URL: redis.url, PAGESHOT_FILTER_LISTS_DIR: tempDataDir() });
  });
  after(async () => {
    await server.stop();
    await redis.kill();
  });

  it('refuses metadata nested 5,000 levels on POST /v1/jobs with 400 VALIDATION_ERROR naming "metadata"', async () => {
    assertTooDeep(await send(server, '/v1/jobs', `{"url":"http://127.0.0.1:9/","metadata":${nested(5_000)}}`), 'metadata');
  });
});
