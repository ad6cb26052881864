/**
 * The API contract: `/openapi.json` is a valid OpenAPI 3.1 document (checked by
 * @seriousme/openapi-schema-validator, a validator nobody here wrote), it lists every
 * route the server serves, and real answers of a running server — successes and errors of
 * every route — match it (status documented, content type documented, JSON body valid
 * against its schema, checked by Ajv).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type Reply, type RequestOptions, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY } from './helpers/keys.js';
import { ContractChecker } from './helpers/openapi-contract.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { ERRORS } from '../src/errors.js';

/** Routes the document leaves out on purpose: pages and files for browsers, and the document itself. */
const UNDOCUMENTED = [/^\/console/, /^\/docs/, /^\/openapi\.json$/];

/** Every "METHOD /path" Fastify serves (HEAD excepted: Fastify adds it to every GET), read off its route tree. */
function servedRoutes(server: TestServer): string[] {
  const routes: string[] = [];
  const parents: string[] = [];
  for (const line of server.app.server.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^(.*?)── (\S+) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    const parent = parents[depth - 1] ?? '';
    const path = parent.endsWith('/') || match[2]!.startsWith('/') ? parent + match[2]! : `${parent}/${match[2]!}`;
    parents[depth] = path;
    const documentPath = path.replace(/:([A-Za-z]+)/g, '{$1}');
    for (const method of match[3]!.split(', ')) if (method !== 'HEAD') routes.push(`${method} ${documentPath}`);
  }
  return routes.filter((route) => !UNDOCUMENTED.some((pattern) => pattern.test(route.split(' ')[1]!)));
}

describe('the OpenAPI document', { skip: noRedisServer }, () => {
  let server: TestServer;
  let site: FixtureSite;
  let redis: PrivateRedis;
  let document: Record<string, any>;
  let checker: ContractChecker;

  /** Sends a request and holds its answer to the document. */
  async function call(method: string, path: string, options: RequestOptions = {}): Promise<Reply> {
    const reply = await server.request(path, { method: method as RequestOptions['method'], ...options });
    checker.check(method, path, reply);
    return reply;
  }
  const root = (options: RequestOptions = {}): RequestOptions => ({ ...options, headers: { ...bearer(ROOT_KEY), ...options.headers } });

  before(async () => {
    site = await startFixtureSite();
    redis = await startPrivateRedis();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_REDIS_URL: redis.url, PAGESHOT_METRICS_TOKEN: 'metrics-token-for-tests-0123456789' }, { cpuUsage: () => 0 });
    const reply = await server.request('/openapi.json');
    assert.equal(reply.status, 200);
    document = reply.json!;
    checker = new ContractChecker(document);
  });
  after(async () => {
    await server?.stop();
    await site?.close();
    await redis?.kill();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    assert.equal(validator.version, '3.1');
    assert.deepEqual(result.errors, undefined);
    assert.equal(result.valid, true);
  });

  it('is served the same at /openapi.json and to the docs page, with an ETag that gives a 304', async () => {
    const served = await server.request('/openapi.json');
    assert.equal(served.headers['content-type'], 'application/json; charset=utf-8');
    const forDocs = await server.request('/docs/json');
    assert.equal(forDocs.body.toString(), served.body.toString());
    assert.equal(forDocs.headers.etag, served.headers.etag);
    const again = await server.request('/openapi.json', { headers: { 'if-none-match': String(served.headers.etag) } });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  it('lists every route the server serves, and nothing it does not', () => {
    const documented = Object.entries(document.paths as Record<string, object>).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    assert.deepEqual([...documented].sort(), servedRoutes(server).sort());
  });

  it('lists every error code of the table, each under its own status', () => {
    assert.deepEqual(document.components.schemas.Error.properties.code.enum, Object.keys(ERRORS));
    const screenshot = document.paths['/screenshot'].post.responses;
    for (const code of ['RATE_LIMITED', 'QUEUE_FULL', 'TARGET_FORBIDDEN', 'RENDER_TIMEOUT'] as const) {
      const listed = screenshot[String(ERRORS[code].status)].content['application/json'].schema.properties.code.enum;
      assert.ok(listed.includes(code), `${code} under ${ERRORS[code].status}`);
    }
  });

  it('documents the busy answer, the rate-limit headers and Retry-After', () => {
    const busy = document.paths['/screenshot'].post.responses['503'];
    assert.ok(busy.headers['retry-after']);
    assert.ok(busy.headers['x-ratelimit-remaining']);
    assert.deepEqual(document.components.schemas.Error.properties.status.enum, ['busy', 'unready']);
  });

  it('says which routes need a key, and that GET /screenshot also takes a signed link', () => {
    const schemesOf = (path: string, method: string) => (document.paths[path][method].security as object[]).flatMap((entry) => Object.keys(entry));
    assert.deepEqual(schemesOf('/screenshot', 'get'), ['apiKey', 'bearer', 'signedLink']);
    assert.deepEqual(schemesOf('/screenshot', 'post'), ['apiKey', 'bearer']);
    assert.deepEqual(schemesOf('/status', 'get'), []);
    assert.deepEqual(schemesOf('/metrics', 'get'), ['apiKey', 'bearer']);
  });

  it('does not call options with a default required', () => {
    const body = document.paths['/screenshot'].post.requestBody.content['application/json'].schema;
    assert.ok(!(body.required ?? []).includes('width'));
    const width = document.paths['/screenshot'].get.parameters.find((parameter: { name: string }) => parameter.name === 'width');
    assert.equal(width.required, false);
  });

  it('matches the live answers of every route, successes and errors', async () => {
    // Operations and health.
    await call('GET', '/');
    await call('GET', '/status');
    await call('GET', '/healthz');
    await call('GET', '/readyz');
    await call('GET', '/metrics', { headers: bearer('metrics-token-for-tests-0123456789') });
    await call('GET', '/metrics');
    await call('GET', '/no-such-route').catch((error: Error) => assert.match(error.message, /no such operation/));

    // Keys.
    const created = await call('POST', '/v1/keys', root({ body: { name: 'contract', scopes: ['screenshot', 'usage:read'] } }));
    assert.equal(created.status, 201);
    const key = created.json as { id: string; key: string };
    await call('POST', '/v1/keys', root({ body: { name: '' } }));
    await call('POST', '/v1/keys', { body: { name: 'x', scopes: ['screenshot'] } });
    await call('POST', '/v1/keys', { body: { name: 'x', scopes: ['screenshot'] }, headers: bearer(key.key) });
    await call('POST', '/v1/keys', root({ rawBody: { data: '{"name":', contentType: 'application/json' } }));
    await call('POST', '/v1/keys', root({ rawBody: { data: 'name=x', contentType: 'application/x-www-form-urlencoded' } }));
    await call('GET', '/v1/keys', root());
    await call('GET', '/v1/keys?limit=0', root());
    await call('GET', `/v1/keys/${key.id}`, root());
    await call('GET', '/v1/keys/key_nope', root());
    await call('PATCH', `/v1/keys/${key.id}`, root({ body: { name: 'contract, renamed' } }));
    const spare = await createKey(server, { name: 'spare', scopes: ['screenshot'] });
    const rotated = await call('POST', `/v1/keys/${spare.id}/rotate`, root());
    assert.equal(rotated.status, 201);
    await call('POST', `/v1/keys/${spare.id}/rotate`, root({ body: { gracePeriodSeconds: 60 } }));
    await call('DELETE', `/v1/keys/${String(rotated.json!.id)}`, root());
    await call('DELETE', `/v1/keys/${String(rotated.json!.id)}`, root());
    await call('GET', `/v1/keys/${key.id}/usage`, root());
    await call('GET', `/v1/keys/${key.id}/usage?from=2026-13-01`, root());
    await call('GET', '/v1/audit?limit=5', root());

    // The calling key.
    await call('GET', '/v1/me', { headers: bearer(key.key) });
    await call('GET', '/v1/me', { headers: bearer('ps_live_wrong') });
    await call('GET', '/v1/devices', { headers: bearer(key.key) });
    await call('GET', '/v1/usage', { headers: bearer(key.key) });
    await call('GET', '/v1/usage?from=2026-02-01&to=2026-01-01', { headers: bearer(key.key) });

    // Captures: the bytes, 304, the options' errors, the target's, the page's.
    const shot = await call('POST', '/screenshot', { body: { url: `${site.url}/`, width: 320, height: 200 }, headers: bearer(key.key) });
    assert.equal(shot.status, 200);
    await call('POST', '/screenshot', { body: { url: `${site.url}/`, width: 320, height: 200 }, headers: { ...bearer(key.key), 'if-none-match': String(shot.headers.etag) } });
    await call('GET', `/screenshot?url=${encodeURIComponent(`${site.url}/`)}&width=320&height=200&format=jpeg`, { headers: bearer(key.key) });
    await call('GET', '/screenshot?width=banana', { headers: bearer(key.key) });
    await call('POST', '/screenshot', { body: { url: 'http://10.0.0.1/' }, headers: bearer(key.key) });
    await call('POST', '/screenshot', { body: { url: `${site.url}/`, selector: '#nothing-here', timeout: 1000 }, headers: bearer(key.key) });
    await call('POST', '/screenshot', { body: { url: 'http://127.0.0.1:1/' }, headers: bearer(key.key) });
    await call('POST', '/screenshot?api_key=abc', { body: { url: `${site.url}/` }, headers: bearer(key.key) });
    await call('POST', '/pdf', { body: { url: `${site.url}/` }, headers: bearer(key.key) });
    await call('POST', '/pdf', { body: { url: `${site.url}/`, format: 'png' }, headers: bearer(key.key) });

    // Jobs and their webhook secret.
    await call('GET', '/v1/me/webhook-secret', { headers: bearer(key.key) });
    await call('POST', '/v1/me/webhook-secret', { headers: bearer(key.key) });
    await call('GET', '/v1/me/webhook-secret', { headers: bearer(key.key) });
    await call('POST', '/v1/jobs', { body: { url: `${site.url}/`, webhookUrl: 'http://10.0.0.1/hook' }, headers: bearer(key.key) });
    const job = await call('POST', '/v1/jobs', { body: { url: `${site.url}/`, width: 320, height: 200, metadata: { order: 7 } }, headers: bearer(key.key) });
    assert.equal(job.status, 202);
    const jobUrl = String(job.json!.statusUrl);
    await call('GET', `${jobUrl}/result`, { headers: bearer(key.key) }).catch(() => undefined);
    for (let polls = 0; polls < 300; polls += 1) {
      const state = await call('GET', jobUrl, { headers: bearer(key.key) });
      if (state.json!.status === 'succeeded' || state.json!.status === 'failed') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await call('GET', `${jobUrl}/result`, { headers: bearer(key.key) });
    await call('GET', '/v1/jobs/job_0000000000000000000000', { headers: bearer(key.key) }).catch(() => undefined);
    assert.equal((await call('DELETE', jobUrl, { headers: bearer(key.key) })).status, 204);
    await call('DELETE', jobUrl, { headers: bearer(key.key) });
    await call('DELETE', '/v1/jobs/job_0000000000000000000000', { headers: bearer(key.key) });
    await call('DELETE', '/v1/me/webhook-secret', { headers: bearer(key.key) });

    // Signed embed links.
    await call('POST', '/v1/signed-urls', { body: { options: { url: `${site.url}/` } }, headers: bearer(key.key) });
    await call('GET', '/v1/me/signing-secrets', { headers: bearer(key.key) });
    const secret = await call('POST', '/v1/me/signing-secrets', { headers: bearer(key.key) });
    const link = await call('POST', '/v1/signed-urls', { body: { options: { url: `${site.url}/`, width: 320, height: 200 }, expiresIn: 60 }, headers: bearer(key.key) });
    await call('GET', String(link.json!.url));
    await call('GET', String(link.json!.url).replace('width=320', 'width=321'));
    await call('DELETE', `/v1/me/signing-secrets/${String(secret.json!.id)}`, { headers: bearer(key.key) });
    await call('DELETE', `/v1/me/signing-secrets/${String(secret.json!.id)}`, { headers: bearer(key.key) });

    // The limits, last: a key with a burst of one.
    const tight = await createKey(server, { name: 'tight', scopes: ['screenshot'], limits: { rate: 1, burst: 1 } });
    await call('GET', '/v1/devices', { headers: bearer(tight.key) });
    const limited = await call('GET', '/v1/devices', { headers: bearer(tight.key) });
    assert.equal(limited.status, 429);

    const untried = [...checker.coverage()].filter(([, statuses]) => ![...statuses].some((status) => /^(2|304)/.test(status))).map(([operation]) => operation);
    assert.deepEqual(untried, [], 'operations never seen answering with success');
  });

  it('refuses an answer the document does not describe (the checker can fail)', () => {
    const fake = (status: number, json: Record<string, unknown>): Reply => ({
      status,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(json)),
      json,
    });
    assert.throws(() => checker.check('GET', '/healthz', fake(200, { status: 'ok', extra: 1 })), /does not match/);
    assert.throws(() => checker.check('GET', '/healthz', fake(418, { status: 'ok' })), /does not list/);
    assert.throws(() => checker.check('GET', '/v1/me', fake(401, { error: 'x', code: 'RATE_LIMITED', requestId: 'r' })), /does not match/);
  });
});
