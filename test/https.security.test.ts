/**
 * HTTPS: PageShot serving TLS itself (PAGESHOT_TLS_CERT / PAGESHOT_TLS_KEY), HSTS on
 * HTTPS answers, and PAGESHOT_REQUIRE_HTTPS refusing plain HTTP before a key is read,
 * directly or behind a trusted proxy (X-Forwarded-Proto). The certificate is a
 * self-signed one made with the openssl CLI for this run; clients trust exactly it
 * (`ca`), certificate checks stay on.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createApp } from '../src/app.js';
import { generateKey } from '../src/auth/key-format.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { httpRequest, readReply, startPageShot, tempDataDir, TEST_ENV, type Reply, type TestServer } from './helpers/harness.js';
import { stillPresent, waitFor } from './helpers/processes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT_KEY = 'https-suite-root-key-0123456789';
const BEARER = { authorization: `Bearer ${ROOT_KEY}` };

let certDir: string;
let certFile: string;
let keyFile: string;
let ca: Buffer;

before(() => {
  certDir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-tls-'));
  certFile = path.join(certDir, 'cert.pem');
  keyFile = path.join(certDir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  ca = readFileSync(certFile);
});
after(() => rmSync(certDir, { recursive: true, force: true }));

/** Sends one request over HTTPS, trusting only the test certificate. */
function httpsRequest(base: string, route: string, headers: Record<string, string> = {}): Promise<Reply & { authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(route, base), { method: 'GET', headers, ca, agent: false }, (res) => {
      const authorized = (res.socket as TLSSocket).authorized;
      readReply(res).then((reply) => resolve({ ...reply, authorized }), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The port the server really listens on (independent of what listen() said). */
function portOf(server: TestServer): number {
  return (server.app.server.server.address() as AddressInfo).port;
}

describe('PageShot serving HTTPS itself', () => {
  let server: TestServer;
  let httpsBase: string;

  before(async () => {
    server = await startPageShot({ PAGESHOT_TLS_CERT: certFile, PAGESHOT_TLS_KEY: keyFile });
    httpsBase = `https://127.0.0.1:${portOf(server)}`;
  });
  after(() => server.stop());

  it('answers GET /status over HTTPS with a verified certificate and HSTS', async () => {
    const reply = await httpsRequest(httpsBase, '/status');
    assert.equal(reply.status, 200);
    assert.equal(reply.authorized, true, 'the certificate verified against the test CA');
    assert.equal(reply.json?.status, 'running');
    assert.match(String(reply.headers['strict-transport-security']), /^max-age=\d+; includeSubDomains$/);
  });

  it('sends HSTS on error answers over HTTPS too', async () => {
    const reply = await httpsRequest(httpsBase, '/no-such-route');
    assert.equal(reply.status, 404);
    assert.ok(reply.headers['strict-transport-security']);
  });

  it('does not speak plain HTTP on its port', async () => {
    const outcome = await httpRequest(`http://127.0.0.1:${portOf(server)}`, '/status').then(
      (reply) => `answered ${reply.status}`,
      (error: NodeJS.ErrnoException) => error,
    );
    assert.ok(outcome instanceof Error, `plain HTTP must fail, but it ${String(outcome)}`);
  });

  it(
    'listen() reports an https:// address',
    () => {
      assert.match(server.url, /^https:\/\//);
    },
  );
});

describe('PAGESHOT_REQUIRE_HTTPS without TLS, no proxy trusted', () => {
  let server: TestServer;

  before(async () => {
    server = await startPageShot({ PAGESHOT_AUTH: 'on', API_KEY: ROOT_KEY, PAGESHOT_REQUIRE_HTTPS: 'true' });
  });
  after(() => server.stop());

  it('refuses a plain-HTTP request with a valid key: 403 HTTPS_REQUIRED, no HSTS', async () => {
    const reply = await server.request('/v1/me', { headers: BEARER });
    assert.equal(reply.status, 403);
    assert.equal(reply.json?.code, 'HTTPS_REQUIRED');
    assert.equal(typeof reply.json?.requestId, 'string');
    assert.equal(reply.headers['strict-transport-security'], undefined);
  });

  it('refuses public routes too (GET /status)', async () => {
    const reply = await server.request('/status');
    assert.equal(reply.status, 403);
    assert.equal(reply.json?.code, 'HTTPS_REQUIRED');
  });

  it('ignores X-Forwarded-Proto: https from a proxy it does not trust', async () => {
    const reply = await server.request('/v1/me', { headers: { ...BEARER, 'x-forwarded-proto': 'https' } });
    assert.equal(reply.status, 403);
    assert.equal(reply.json?.code, 'HTTPS_REQUIRED');
  });
});

describe('PAGESHOT_REQUIRE_HTTPS with a proxy trusted at 127.0.0.1', () => {
  let server: TestServer;
  const viaProxy = { 'x-forwarded-proto': 'https' };

  before(async () => {
    server = await startPageShot({
      PAGESHOT_AUTH: 'on',
      API_KEY: ROOT_KEY,
      PAGESHOT_REQUIRE_HTTPS: 'true',
      PAGESHOT_TRUST_PROXY: '127.0.0.1',
      // Low, so that if refused requests counted as failures the valid key would be throttled.
      PAGESHOT_AUTH_FAILURES_PER_MINUTE: '3',
    });
  });
  after(() => server.stop());

  async function authFailures(): Promise<Array<Record<string, unknown>>> {
    const reply = await server.request('/v1/audit?limit=100', { headers: { ...BEARER, ...viaProxy } });
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    return (reply.json!.data as Array<Record<string, unknown>>).filter((event) => event.type === 'auth.failed');
  }

  it('accepts a request the trusted proxy marks as HTTPS, and sends HSTS', async () => {
    const reply = await server.request('/v1/me', { headers: { ...BEARER, ...viaProxy } });
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    assert.equal(reply.json?.kind, 'root');
    assert.ok(reply.headers['strict-transport-security']);
  });

  it('still refuses plain HTTP when the proxy says http, or says nothing', async () => {
    for (const headers of [BEARER, { ...BEARER, 'x-forwarded-proto': 'http' }]) {
      const reply = await server.request('/v1/me', { headers });
      assert.equal(reply.json?.code, 'HTTPS_REQUIRED');
    }
  });

  it('refuses plain HTTP before the key is even read: bad keys give HTTPS_REQUIRED, are not looked up, audited or throttled', async () => {
    const lookupsBefore = server.app.authenticator.databaseLookups;
    const unknownButWellFormed = generateKey('ps_live'); // would need a database lookup
    const presented: Array<Record<string, string>> = [
      { authorization: `Bearer ${unknownButWellFormed}` },
      { 'x-api-key': unknownButWellFormed },
      { authorization: 'Bearer garbage' },
      { 'x-api-key': 'ps_live_not_a_real_key' },
      { authorization: 'Basic Zm9vOmJhcg==' },
    ];
    for (const headers of presented) {
      const reply = await server.request('/v1/me', { headers });
      assert.equal(reply.status, 403);
      assert.equal(reply.json?.code, 'HTTPS_REQUIRED', `for ${JSON.stringify(headers)}`);
    }
    // Five refused requests, over a limit of 3 failures a minute: none counted.
    assert.equal(server.app.authenticator.databaseLookups, lookupsBefore, 'no key was looked up');
    const me = await server.request('/v1/me', { headers: { ...BEARER, ...viaProxy } });
    assert.equal(me.status, 200, `the same client is not throttled: ${JSON.stringify(me.json)}`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // audit writes are not awaited
    assert.deepEqual(await authFailures(), [], 'no auth.failed event was written');

    // Control: the same unknown key over (proxied) HTTPS is read, looked up and audited.
    const control = await server.request('/v1/me', { headers: { authorization: `Bearer ${unknownButWellFormed}`, ...viaProxy } });
    assert.equal(control.json?.code, 'INVALID_API_KEY');
    assert.equal(server.app.authenticator.databaseLookups, lookupsBefore + 1);
    let failures: Array<Record<string, unknown>> = [];
    const deadline = Date.now() + 5_000;
    while (failures.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      failures = await authFailures();
    }
    assert.equal(failures.length, 1, 'the control failure was audited');
    assert.equal(failures[0]!.reason, 'INVALID_API_KEY');
  });
});

describe('PAGESHOT_REQUIRE_HTTPS with TLS', () => {
  let server: TestServer;
  let port: number;

  before(async () => {
    server = await startPageShot({
      PAGESHOT_AUTH: 'on',
      API_KEY: ROOT_KEY,
      PAGESHOT_REQUIRE_HTTPS: 'true',
      PAGESHOT_TLS_CERT: certFile,
      PAGESHOT_TLS_KEY: keyFile,
    });
    port = portOf(server);
  });
  after(() => server.stop());

  it('serves an authenticated HTTPS request', async () => {
    const reply = await httpsRequest(`https://127.0.0.1:${port}`, '/v1/me', BEARER);
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    assert.equal(reply.json?.kind, 'root');
    assert.ok(reply.headers['strict-transport-security']);
  });

  it('serves a stored key over HTTPS too', async () => {
    const { key } = await server.app.keyService.create({ name: 'tls', scopes: ['screenshot'] }, null);
    const reply = await httpsRequest(`https://127.0.0.1:${port}`, '/v1/me', { 'x-api-key': key });
    assert.equal(reply.status, 200, JSON.stringify(reply.json));
    assert.equal(reply.json?.name, 'tls');
  });
});

describe('TLS configuration errors', () => {
  it('loadConfig refuses a certificate without a key, and a key without a certificate, naming what is missing', () => {
    assert.throws(
      () => loadConfig({ ...TEST_ENV, PAGESHOT_TLS_CERT: certFile }),
      (error: unknown) => error instanceof ConfigError && /PAGESHOT_TLS_KEY/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ ...TEST_ENV, PAGESHOT_TLS_KEY: keyFile }),
      (error: unknown) => error instanceof ConfigError && /PAGESHOT_TLS_CERT/.test(error.message),
    );
    // Blank counts as unset.
    assert.throws(() => loadConfig({ ...TEST_ENV, PAGESHOT_TLS_CERT: certFile, PAGESHOT_TLS_KEY: '  ' }), /PAGESHOT_TLS_KEY/);
  });

  it('createApp rejects a certificate or key file that does not exist, naming its variable', async () => {
    const dataDir = tempDataDir();
    try {
      const missing = path.join(certDir, 'missing.pem');
      await assert.rejects(
        createApp(loadConfig({ ...TEST_ENV, PAGESHOT_DATA_DIR: dataDir, PAGESHOT_TLS_CERT: missing, PAGESHOT_TLS_KEY: keyFile })),
        /PAGESHOT_TLS_CERT/,
      );
      await assert.rejects(
        createApp(loadConfig({ ...TEST_ENV, PAGESHOT_DATA_DIR: dataDir, PAGESHOT_TLS_CERT: certFile, PAGESHOT_TLS_KEY: missing })),
        /PAGESHOT_TLS_KEY/,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it(
    'createApp rejects a certificate file that is not PEM, naming PAGESHOT_TLS_CERT, and leaves no Chromium running',
    async () => {
      const notPem = path.join(certDir, 'not-pem.pem');
      writeFileSync(notPem, 'this is not a certificate\n');
      const dataDir = tempDataDir();
      // In a child process: a Chromium left behind would be relaunched by its BrowserManager
      // if killed, and would keep this file from finishing.
      const script = [
        `import { createApp } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/app.ts')).href)};`,
        `import { loadConfig } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/config.ts')).href)};`,
        `import { descendants } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'test/helpers/processes.ts')).href)};`,
        'let message = "(no rejection)";',
        'try { await createApp(loadConfig(JSON.parse(process.env.CONFIG))); } catch (error) { message = error.message; }',
        'const chromium = descendants(process.pid).filter((info) => /chrom/i.test(info.command)).map((info) => info.pid);',
        'process.stdout.write(JSON.stringify({ message, chromium }));',
        'process.exit(0);',
      ].join('\n');
      const env = { ...TEST_ENV, PAGESHOT_DATA_DIR: dataDir, PAGESHOT_TLS_CERT: notPem, PAGESHOT_TLS_KEY: keyFile };
      let outcome: { message: string; chromium: number[] };
      try {
        const stdout = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
          cwd: ROOT,
          env: { ...process.env, CONFIG: JSON.stringify(env) },
          encoding: 'utf8',
          timeout: 60_000,
        });
        outcome = JSON.parse(stdout) as typeof outcome;
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
      // The child is gone; its orphaned browser, if any, was started by this test: end it by pid.
      for (const info of stillPresent(outcome.chromium)) {
        try {
          process.kill(info.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await waitFor(() => stillPresent(outcome.chromium).length === 0, 10_000, 'the orphaned Chromium to exit');
      assert.deepEqual(
        { namesVariable: /PAGESHOT_TLS_CERT/.test(outcome.message), chromiumLeftRunning: outcome.chromium.length },
        { namesVariable: true, chromiumLeftRunning: 0 },
        `createApp rejected with "${outcome.message}"`,
      );
    },
  );
});
