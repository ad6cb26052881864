import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { generateKey } from '../src/auth/key-format.js';
import { createLogger } from '../src/logger.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, tempDataDir, TEST_ENV, type TestServer } from './helpers/harness.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY, whoAmI } from './helpers/keys.js';

describe('authentication', () => {
  let server: TestServer;
  let site: FixtureSite;

  before(async () => {
    site = await startFixtureSite();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_AUTH_FAILURES_PER_MINUTE: '5' });
  });
  after(async () => {
    await server.stop();
    await site.close();
  });

  it('answers 401 MISSING_API_KEY with WWW-Authenticate when no key is sent', async () => {
    const reply = await server.shoot({ url: `${site.url}/` });
    assert.equal(reply.status, 401);
    assert.equal(reply.json?.code, 'MISSING_API_KEY');
    assert.equal(reply.headers['www-authenticate'], 'Bearer');
  });

  it('accepts the key as a Bearer token or in x-api-key', async () => {
    const created = await createKey(server, { name: 'both', scopes: ['screenshot'] });
    assert.equal((await server.shoot({ url: `${site.url}/` }, { headers: bearer(created.key) })).status, 200);
    assert.equal((await server.shoot({ url: `${site.url}/` }, { headers: { 'x-api-key': created.key } })).status, 200);
    assert.equal((await server.shoot({ url: `${site.url}/` }, { headers: { 'x-api-key': ROOT_KEY } })).status, 200);
  });

  it('refuses a key in the query string, before looking at it', async () => {
    const reply = await server.request(`/screenshot?url=${encodeURIComponent(`${site.url}/`)}&api_key=${ROOT_KEY}`);
    assert.equal(reply.status, 400);
    assert.equal(reply.json?.code, 'API_KEY_IN_QUERY');
  });

  it('refuses a one-character typo by its checksum, without a database lookup', async () => {
    const created = await createKey(server, { name: 'typo', scopes: ['screenshot'] });
    const last = created.key.at(-1) === 'a' ? 'b' : 'a';
    const typo = `${created.key.slice(0, -1)}${last}`;
    const lookups = server.app.authenticator.databaseLookups;
    const reply = await whoAmI(server, typo, '127.0.0.20');
    assert.equal(reply.status, 403);
    assert.equal(reply.json?.code, 'INVALID_API_KEY');
    assert.equal(server.app.authenticator.databaseLookups, lookups, 'no query for a key with a bad checksum');

    const unknown = await whoAmI(server, generateKey('ps_live'), '127.0.0.20');
    assert.equal(unknown.json?.code, 'INVALID_API_KEY');
    assert.equal(server.app.authenticator.databaseLookups, lookups + 1, 'a well-formed unknown key is looked up');
  });

  it('enforces scopes on every route', async () => {
    const usageOnly = await createKey(server, { name: 'usage', scopes: ['usage:read'] });
    const shooter = await createKey(server, { name: 'shooter', scopes: ['screenshot'] });
    const checks: Array<[string, string, 'GET' | 'POST', unknown]> = [
      [usageOnly.key, '/screenshot', 'POST', { url: `${site.url}/` }],
      [shooter.key, '/v1/keys', 'GET', undefined],
      [shooter.key, '/v1/keys', 'POST', { name: 'escalate', scopes: ['keys:manage'] }],
      [shooter.key, `/v1/keys/${shooter.id}`, 'GET', undefined],
      [shooter.key, '/v1/audit', 'GET', undefined],
    ];
    for (const [key, route, method, body] of checks) {
      const reply = await server.request(route, { method, body, headers: bearer(key), from: '127.0.0.21' });
      assert.equal(reply.status, 403, `${method} ${route}`);
      assert.equal(reply.json?.code, 'INSUFFICIENT_SCOPE', `${method} ${route}`);
    }
    assert.equal((await whoAmI(server, usageOnly.key)).status, 200, 'any valid key may read /v1/me');
    assert.equal((await server.request('/status')).status, 200, '/status needs no key');
  });

  it('refuses a key used from outside its allowed IPs', async () => {
    const created = await createKey(server, { name: 'pinned', scopes: ['screenshot'], allowedIps: ['127.0.0.2/32'] });
    assert.equal((await whoAmI(server, created.key, '127.0.0.2')).status, 200);
    const refused = await whoAmI(server, created.key, '127.0.0.3');
    assert.equal(refused.status, 403);
    assert.equal(refused.json?.code, 'IP_NOT_ALLOWED');
  });

  it('refuses a target outside the key’s allowed hosts, and raw html for such a key', async () => {
    const created = await createKey(server, { name: 'hosts', scopes: ['screenshot'], allowedHosts: ['localhost'] });
    const allowed = await server.shoot({ url: `http://localhost:${site.port}/` }, { headers: bearer(created.key) });
    assert.equal(allowed.status, 200);
    const before = site.seen.length;
    const other = await server.shoot({ url: `${site.url}/` }, { headers: bearer(created.key) });
    assert.equal(other.status, 403);
    assert.equal(other.json?.code, 'TARGET_FORBIDDEN');
    assert.equal(site.seen.length, before, 'the refused target was never contacted');
    const html = await server.shoot({ html: '<p>hi</p>' }, { headers: bearer(created.key) });
    assert.equal(html.json?.code, 'TARGET_FORBIDDEN');
  });

  it('throttles an IP after repeated failures, without affecting other clients', async () => {
    const good = await createKey(server, { name: 'victim', scopes: ['screenshot'] });
    for (let i = 0; i < 5; i++) {
      const reply = await whoAmI(server, generateKey('ps_live'), '127.0.0.30');
      assert.equal(reply.status, 403);
    }
    const throttled = await whoAmI(server, generateKey('ps_live'), '127.0.0.30');
    assert.equal(throttled.status, 429);
    assert.equal(throttled.json?.code, 'TOO_MANY_AUTH_FAILURES');
    assert.match(String(throttled.headers['retry-after']), /^\d+$/);
    assert.equal((await whoAmI(server, good.key, '127.0.0.30')).status, 429, 'the attacker’s address is held off entirely');
    assert.equal((await whoAmI(server, good.key, '127.0.0.31')).status, 200, 'another client is not affected');
  });

  it('gives each key its own browser contexts, even from one IP', async () => {
    const first = await createKey(server, { name: 'ctx-a', scopes: ['screenshot'] });
    const second = await createKey(server, { name: 'ctx-b', scopes: ['screenshot'] });
    const opened = server.app.pool.stats().opened;
    await server.shoot({ url: `${site.url}/?ctx=1` }, { headers: bearer(first.key) });
    await server.shoot({ url: `${site.url}/?ctx=2` }, { headers: bearer(second.key) });
    await server.shoot({ url: `${site.url}/?ctx=3` }, { headers: bearer(first.key) });
    assert.equal(server.app.pool.stats().opened, opened + 2, 'two keys, two contexts; the third capture reused the first');
  });
});

describe('first start and the root key', () => {
  it('refuses an API_KEY shorter than 16 characters at start-up, without echoing it', async () => {
    await assert.rejects(startPageShot({ PAGESHOT_AUTH: 'on', API_KEY: 'short-secret' }), (error: Error) => {
      assert.match(error.message, /API_KEY/);
      assert.doesNotMatch(error.message, /short-secret/);
      return true;
    });
  });

  it('prints the first admin key once, as PAGESHOT_API_KEY, with a word when the server listens on every interface', async () => {
    /** The first-start banner of a server configured with `host` (created, never listening). */
    const bannerFor = async (host: string) => {
      let printed = '';
      const dataDir = tempDataDir();
      const app = await createApp(loadConfig({ ...TEST_ENV, PAGESHOT_AUTH: 'on', HOST: host, PAGESHOT_DATA_DIR: dataDir }), {
        print: (text) => (printed += text),
        cpuUsage: () => 0,
      });
      await app.stop();
      rmSync(dataDir, { recursive: true, force: true });
      return printed;
    };
    const everywhere = await bannerFor('0.0.0.0');
    assert.match(everywhere, /export PAGESHOT_API_KEY=ps_/);
    assert.match(everywhere, /every network interface \(HOST=0\.0\.0\.0\)/);
    assert.match(everywhere, /HOST=127\.0\.0\.1 keeps it to this machine/);
    const loopback = await bannerFor('127.0.0.1');
    assert.match(loopback, /export PAGESHOT_API_KEY=ps_/);
    assert.doesNotMatch(loopback, /every network interface/);
  });

  it('logs no key, hash or secret while keys are used, created and refused', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const site = await startFixtureSite();
    const server = await startPageShot({ ...AUTH_ENV, PAGESHOT_LOG_LEVEL: 'debug' }, { logger: createLogger('debug', sink) });
    try {
      const created = await createKey(server, { name: 'logged', scopes: ['screenshot'] });
      await server.shoot({ url: `${site.url}/` }, { headers: bearer(created.key) });
      await server.shoot({ url: `${site.url}/` }, { headers: { 'x-api-key': created.key } });
      await whoAmI(server, `${created.key.slice(0, -1)}x`);
      await server.request(`/v1/keys/${created.id}/rotate`, { method: 'POST', headers: bearer(ROOT_KEY) });
      await server.request(`/screenshot?url=x&api_key=${created.key}`);
      const { createHash } = await import('node:crypto');
      const log = lines.join('');
      assert.ok(log.length > 1000, 'the run was logged');
      for (const secret of [created.key, ROOT_KEY, createHash('sha256').update(created.key).digest('hex'), created.key.split('_')[2]!]) {
        assert.equal(log.includes(secret), false, `a secret appeared in the logs: ${secret.slice(0, 10)}…`);
      }
    } finally {
      await server.stop();
      await site.close();
    }
  });
});
