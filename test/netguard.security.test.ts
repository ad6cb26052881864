import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { decodeImage, startPageShot, type Reply, type TestServer } from './helpers/harness.js';

/**
 * The attacker's table. A canary HTTP server listens on 127.0.0.1, which these tests
 * do NOT allow: it stands for every private address. The attacker's pages live on
 * 127.0.0.2, which they do allow: it stands for the public internet. Every row must
 * leave the canary with zero requests, and be refused or render without its content.
 * Nothing here sends a packet outside loopback: rows such as 169.254.169.254 are
 * refused by the policy before any connection is tried.
 */

interface Site {
  server: http.Server;
  port: number;
  hits: string[];
}

function listen(host: string, port: number, handler: http.RequestListener): Promise<Site> {
  const hits: string[] = [];
  const server = http.createServer((request, response) => {
    hits.push(request.url ?? '');
    handler(request, response);
  });
  server.on('upgrade', (request, socket) => {
    hits.push(`upgrade ${request.url}`);
    socket.destroy();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve({ server, port: (server.address() as AddressInfo).port, hits }));
  });
}

const html = (response: http.ServerResponse, body: string) => {
  response.writeHead(200, { 'content-type': 'text/html' });
  response.end(`<!doctype html><html><body style="margin:0;background:#fff">${body}</body></html>`);
};

describe('network guard: the attacker’s table', () => {
  let attacker: Site;
  let canary: Site;
  let pageshot: TestServer;
  let rebindLookups = 0;

  before(async () => {
    // The canary shares the attacker's port on another address, so that a name that
    // rebinds from 127.0.0.2 to 127.0.0.1 points at it.
    for (let attempt = 0; ; attempt++) {
      attacker = await listen('127.0.0.2', 0, (request, response) => serveAttacker(request, response));
      try {
        canary = await listen('127.0.0.1', attacker.port, (_request, response) => html(response, '<h1 style="color:red">CANARY</h1>'));
        break;
      } catch (error) {
        attacker.server.close();
        if (attempt > 10) throw error;
      }
    }
    pageshot = await startPageShot(
      { PAGESHOT_ALLOW_PRIVATE_NETWORKS: '127.0.0.2/32' },
      {
        resolve: async (hostname) => {
          if (hostname === 'attacker.test') return ['127.0.0.2'];
          if (hostname === 'rebind.test') return rebindLookups++ === 0 ? ['127.0.0.2'] : ['127.0.0.1'];
          if (hostname === 'localhost') return ['127.0.0.1', '::1'];
          throw new Error('unknown host');
        },
      },
    );
  });
  after(async () => {
    await pageshot.stop();
    attacker.server.close();
    canary.server.close();
  });

  const canaryUrl = () => `http://127.0.0.1:${canary.port}/`;

  function serveAttacker(request: http.IncomingMessage, response: http.ServerResponse): void {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const target = canaryUrl();
    const redirect = /^\/redirect-(\d{3})$/.exec(path);
    if (redirect) {
      response.writeHead(Number(redirect[1]), { location: target });
      response.end();
      return;
    }
    const pages: Record<string, string> = {
      '/redirect-localhost': '',
      '/meta-refresh': `<meta http-equiv="refresh" content="0;url=${target}"><p>wait</p>`,
      '/js-location': `<script>location.href = ${JSON.stringify(target)}</script><p>wait</p>`,
      '/iframe': `<iframe src="${target}" width="400" height="300"></iframe>`,
      '/img': `<img src="${target}x.png" width="100" height="100">`,
      '/script': `<script src="${target}x.js"></script><p>script</p>`,
      '/fetch': `<script>fetch(${JSON.stringify(target)}).catch(() => {}); fetch(${JSON.stringify(`http://localhost:${canary.port}/`)}).catch(() => {})</script><p>fetch</p>`,
      '/websocket': `<script>try { new WebSocket(${JSON.stringify(`ws://127.0.0.1:${canary.port}/`)}) } catch {}</script><p>ws</p>`,
      '/service-worker': `<script>navigator.serviceWorker && navigator.serviceWorker.register('/sw.js').catch(() => {})</script><p>sw</p>`,
      '/sw.js': '',
    };
    if (path === '/redirect-localhost') {
      response.writeHead(302, { location: `http://localhost:${canary.port}/` });
      response.end();
    } else if (path === '/sw.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      response.end(`self.addEventListener('install', () => fetch(${JSON.stringify(target)}));`);
    } else if (path in pages) html(response, pages[path]!);
    else html(response, '<p>attacker home</p>');
  }

  /** The row's outcome is safe: refused, or an image rendered without the canary. */
  async function assertSafe(reply: Reply, before: number, expectRefusal?: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 300)); // late requests would show up by now
    assert.deepEqual(canary.hits.slice(before), [], 'the canary was reached');
    if (expectRefusal) assert.equal(reply.status, expectRefusal, reply.body.toString());
    if (reply.status === 200) {
      const image = await decodeImage(reply.body);
      assert.ok(image.width > 0);
    } else {
      assert.ok(reply.status >= 400, `status ${reply.status}`);
    }
  }

  const directRows: Array<[string, () => string]> = [
    ['loopback by address', () => canaryUrl()],
    ['loopback by name', () => `http://localhost:${canary.port}/`],
    ['decimal IPv4', () => `http://2130706433:${canary.port}/`],
    ['octal IPv4', () => `http://017700000001:${canary.port}/`],
    ['hex IPv4', () => `http://0x7f000001:${canary.port}/`],
    ['dotted hex IPv4', () => `http://0x7f.0x0.0x0.0x1:${canary.port}/`],
    ['short IPv4', () => `http://127.1:${canary.port}/`],
    ['unspecified 0.0.0.0', () => `http://0.0.0.0:${canary.port}/`],
    ['IPv6 loopback', () => `http://[::1]:${canary.port}/`],
    ['IPv4-mapped IPv6', () => `http://[::ffff:127.0.0.1]:${canary.port}/`],
    ['IPv4-mapped IPv6, hex', () => `http://[::ffff:7f00:1]:${canary.port}/`],
    ['NAT64', () => `http://[64:ff9b::7f00:1]:${canary.port}/`],
    ['cloud metadata (refused by the policy, never contacted)', () => 'http://169.254.169.254/latest/meta-data/'],
    ['file:', () => 'file:///etc/passwd'],
    ['FILE: in capitals', () => 'FILE:///etc/passwd'],
    ['view-source:', () => `view-source:${canaryUrl()}`],
    ['chrome:', () => 'chrome://settings'],
    ['a name that rebinds to loopback after the first check', () => `http://rebind.test:${canary.port}/`],
  ];
  for (const [name, url] of directRows) {
    it(`refuses ${name}`, async () => {
      const before = canary.hits.length;
      const reply = await pageshot.shoot({ url: url() });
      assert.ok([400, 403].includes(reply.status), `${reply.status} ${reply.body.toString()}`);
      await assertSafe(reply, before);
    });
  }

  const pageRows: Array<[string, string, number | undefined]> = [
    ['a 301 redirect', '/redirect-301', 403],
    ['a 302 redirect', '/redirect-302', 403],
    ['a 307 redirect', '/redirect-307', 403],
    ['a redirect to localhost', '/redirect-localhost', 403],
    ['a meta refresh', '/meta-refresh', undefined],
    ['a script setting location', '/js-location', undefined],
    ['an iframe', '/iframe', 200],
    ['an img', '/img', 200],
    ['a script src', '/script', 200],
    ['fetch()', '/fetch', 200],
    ['a WebSocket', '/websocket', 200],
    ['a service worker', '/service-worker', 200],
  ];
  for (const [name, path, expected] of pageRows) {
    it(`keeps a public page from reaching the canary through ${name}`, async () => {
      const before = canary.hits.length;
      const reply = await pageshot.shoot({ url: `http://attacker.test:${attacker.port}${path}`, delay: 300 });
      await assertSafe(reply, before, expected);
      if (expected === 403) assert.equal(reply.json?.code, 'TARGET_FORBIDDEN');
    });
  }

  it('still captures the allowed page itself (the table’s checks can pass for the right reason)', async () => {
    const reply = await pageshot.shoot({ url: `http://attacker.test:${attacker.port}/` });
    assert.equal(reply.status, 200);
    assert.ok(attacker.hits.length > 0);
  });
});

describe('network guard tunnels', () => {
  it('tunnels https to an allowed host through CONNECT (the TLS server is reached; Chromium then refuses its self-signed certificate)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=attacker.test'], { stdio: 'ignore' });
    let handshakes = 0;
    const server = tls.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) }, (socket) => socket.end());
    server.on('secureConnection', () => handshakes++);
    server.on('tlsClientError', () => handshakes++); // Chromium aborts the handshake over the untrusted certificate
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
    const port = (server.address() as AddressInfo).port;
    const pageshot = await startPageShot({ PAGESHOT_ALLOW_PRIVATE_NETWORKS: '127.0.0.2/32' }, { resolve: async () => ['127.0.0.2'] });
    try {
      const reply = await pageshot.shoot({ url: `https://attacker.test:${port}/` });
      assert.equal(reply.status, 502, reply.body.toString());
      assert.match(String(reply.json?.networkError), /^ERR_CERT_/);
      assert.ok(handshakes > 0, 'the tunnel reached the TLS server');
    } finally {
      await pageshot.stop();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('network guard settings', () => {
  it('applies PAGESHOT_DENY_HOSTS, PAGESHOT_ALLOW_HOSTS and PAGESHOT_ALLOWED_PORTS to the caller’s URL', async () => {
    const site = await listen('127.0.0.1', 0, (_request, response) => html(response, '<p>ok</p>'));
    const pageshot = await startPageShot({ PAGESHOT_DENY_HOSTS: 'denied.test', PAGESHOT_ALLOWED_PORTS: String(site.port) }, {
      resolve: async () => ['127.0.0.1'],
    });
    try {
      assert.equal((await pageshot.shoot({ url: `http://ok.test:${site.port}/` })).status, 200);
      const denied = await pageshot.shoot({ url: `http://denied.test:${site.port}/` });
      assert.equal(denied.json?.code, 'TARGET_FORBIDDEN');
      assert.match(String(denied.json?.error), /denied/);
      const port = await pageshot.shoot({ url: `http://ok.test:${site.port + 1}/` });
      assert.equal(port.json?.code, 'TARGET_FORBIDDEN');
      assert.match(String(port.json?.error), /port/);
    } finally {
      await pageshot.stop();
      site.server.close();
    }
  });
});
