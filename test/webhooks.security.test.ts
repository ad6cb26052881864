import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import tls from 'node:tls';
import ipaddr from 'ipaddr.js';
import { Webhook } from 'standardwebhooks';
import { attemptWebhook, deliverWebhook, pinnedLookup } from '../src/jobs/webhook-delivery.js';
import { createWebhookSecret } from '../src/jobs/webhook-signature.js';
import { NetworkPolicy, type Resolver } from '../src/netguard/network-policy.js';
import { HOSTILE_ANSWERS, startHostileServer, type HostileCase } from './helpers/hostile-server.js';

const secret = createWebhookSecret();

function policy(allowLoopback: boolean, resolve?: Resolver): NetworkPolicy {
  return new NetworkPolicy({
    allowPrivateNetworks: allowLoopback ? [ipaddr.parseCIDR('127.0.0.0/8')] : [],
    denyHosts: [],
    allowHosts: [],
    allowedPorts: undefined,
    ...(resolve ? { resolve } : {}),
  });
}

/** A raw TCP receiver on `host` that counts connections and runs `answer` on the first request bytes. */
async function rawReceiver(answer: (socket: net.Socket) => void, host = '127.0.0.1', port = 0) {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, closed: 0, requests: [] as string[] };
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => (sockets.delete(socket), state.closed++));
    socket.once('data', (chunk) => (state.requests.push(chunk.toString('latin1')), answer(socket)));
  });
  await new Promise<void>((resolve, reject) => (server.once('error', reject), server.listen(port, host, () => resolve())));
  return {
    state,
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise<void>((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
}

const OK = 'HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok';

describe('webhook delivery: network guard', () => {
  it('refuses a private address under the default policy, without any connection', async () => {
    const receiver = await rawReceiver((socket) => socket.end(OK));
    try {
      for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]']) {
        const record = await deliverWebhook({ url: `http://${host}:${receiver.port}/`, payload: {}, secret, policy: policy(false), retryDelaysMs: [1, 1] });
        assert.equal(record.status, 'failed', host);
        assert.match(record.lastError ?? '', /^refused: .*private or reserved/, host);
        assert.equal(record.attempts, 1, `${host}: a refusal is not retried`);
      }
      assert.equal(receiver.state.connections, 0);
    } finally {
      await receiver.close();
    }
  });

  it('refuses a name whose resolver answers a private address (169.254.169.254, 10.0.0.1)', async () => {
    for (const address of ['169.254.169.254', '10.0.0.1']) {
      const record = await deliverWebhook({ url: 'http://hook.example/', payload: {}, secret, policy: policy(true, async () => [address]), retryDelaysMs: [] });
      assert.equal(record.status, 'failed');
      assert.match(record.lastError ?? '', /private or reserved/);
    }
  });

  it('DNS rebinding: connects to exactly the address the check approved, not to what DNS says later', async (t) => {
    // The elsewhere: what the system resolver says "localhost" is (127.0.0.1).
    const elsewhere = await rawReceiver((socket) => socket.end(OK), '127.0.0.1');
    // The checked address: 127.0.0.2 on the same port, which only the injected resolver names.
    let checked;
    try {
      checked = await rawReceiver((socket) => socket.end(OK), '127.0.0.2', elsewhere.port);
    } catch {
      await elsewhere.close();
      t.skip('127.0.0.2 is not on loopback here');
      return;
    }
    try {
      let lookups = 0;
      // Answers the checked address once; any later lookup (a rebinding attempt) names the other one.
      const resolver: Resolver = async () => (lookups++ === 0 ? ['127.0.0.2'] : ['127.0.0.1']);
      const record = await deliverWebhook({ url: `http://localhost:${elsewhere.port}/hook`, payload: { a: 1 }, secret, policy: policy(true, resolver), retryDelaysMs: [] });
      assert.equal(record.status, 'delivered');
      assert.equal(lookups, 1, 'one lookup: the one the guard checked');
      assert.equal(checked.state.connections, 1);
      assert.equal(elsewhere.state.connections, 0);
      // The Host header stays the URL's host.
      assert.match(checked.state.requests[0]!, new RegExp(`\r\nhost: localhost:${elsewhere.port}\r\n`, 'i'));
    } finally {
      await checked.close();
      await elsewhere.close();
    }
  });

  it('pinnedLookup answers the pinned address whatever name and form is asked', async () => {
    const lookup = pinnedLookup('203.0.113.7');
    const one = await new Promise((resolve) => lookup('evil.example', {}, (_e, address, family) => resolve([address, family])));
    assert.deepEqual(one, ['203.0.113.7', 4]);
    const all = await new Promise((resolve) => lookup('evil.example', { all: true }, (_e, addresses) => resolve(addresses)));
    assert.deepEqual(all, [{ address: '203.0.113.7', family: 4 }]);
    const six = await new Promise((resolve) => pinnedLookup('2001:db8::1')('x', {}, (_e, address, family) => resolve([address, family])));
    assert.deepEqual(six, ['2001:db8::1', 6]);
  });
});

describe('webhook delivery: hostile receivers', () => {
  it('does not follow a 3xx, and does not retry it', async () => {
    const receiver = await rawReceiver((socket) => socket.end('HTTP/1.1 302 Found\r\nlocation: /elsewhere\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'));
    try {
      const record = await deliverWebhook({ url: `http://127.0.0.1:${receiver.port}/hook`, payload: {}, secret, policy: policy(true), retryDelaysMs: [1, 1] });
      assert.equal(record.status, 'failed');
      assert.equal(record.attempts, 1);
      assert.equal(record.lastStatusCode, 302);
      assert.equal(record.lastError, 'redirect not followed (HTTP 302)');
      assert.equal(receiver.state.requests.length, 1);
      assert.match(receiver.state.requests[0]!, /^POST \/hook /);
    } finally {
      await receiver.close();
    }
  });

  it('times out on a receiver that never answers, and retries', async () => {
    const receiver = await rawReceiver(() => undefined);
    try {
      const started = Date.now();
      const record = await deliverWebhook({ url: `http://127.0.0.1:${receiver.port}/`, payload: {}, secret, policy: policy(true), timeoutMs: 200, retryDelaysMs: [1] });
      const elapsed = Date.now() - started;
      assert.equal(record.status, 'failed');
      assert.equal(record.attempts, 2);
      assert.equal(record.lastError, 'timed out after 200 ms');
      assert.ok(elapsed >= 400 && elapsed < 3_000, `took ${elapsed} ms`);
    } finally {
      await receiver.close();
    }
  });

  it('times out on a slow-loris answer (one header byte every 50 ms)', async () => {
    const receiver = await rawReceiver((socket) => {
      const text = `HTTP/1.1 200 OK\r\nx-slow: ${'a'.repeat(10_000)}`;
      let index = 0;
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(text[index++ % text.length]!)), 50);
      socket.on('close', () => clearInterval(timer));
    });
    try {
      const started = Date.now();
      const record = await deliverWebhook({ url: `http://127.0.0.1:${receiver.port}/`, payload: {}, secret, policy: policy(true), timeoutMs: 300, retryDelaysMs: [] });
      assert.equal(record.lastError, 'timed out after 300 ms');
      assert.ok(Date.now() - started < 2_000);
    } finally {
      await receiver.close();
    }
  });

  it('cuts an endless body after the byte cap and destroys the socket', async () => {
    let written = 0;
    const receiver = await rawReceiver((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n');
      const chunk = `4000\r\n${'x'.repeat(0x4000)}\r\n`;
      const pump = () => {
        while (!socket.destroyed && socket.write(chunk)) written += 0x4000;
        if (!socket.destroyed) socket.once('drain', pump);
      };
      pump();
    });
    try {
      const started = Date.now();
      const record = await deliverWebhook({ url: `http://127.0.0.1:${receiver.port}/`, payload: {}, secret, policy: policy(true), timeoutMs: 5_000, maxResponseBytes: 64 * 1024, retryDelaysMs: [] });
      const elapsed = Date.now() - started;
      assert.equal(record.status, 'delivered', 'the 200 came before the body');
      assert.ok(elapsed < 2_000, `the cap, not the 5 s timeout, ended the attempt (took ${elapsed} ms)`);
      // The server sees its socket closed (the receiver here never closes it itself).
      for (let i = 0; i < 50 && receiver.state.closed === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(receiver.state.closed, 1);
      assert.ok(written < 64 * 1024 * 1024, `${written} bytes written`);
    } finally {
      await receiver.close();
    }
  });

  it('a reset before the answer is a retried network error', async () => {
    const receiver = await rawReceiver((socket) => socket.resetAndDestroy());
    try {
      const record = await deliverWebhook({ url: `http://127.0.0.1:${receiver.port}/`, payload: {}, secret, policy: policy(true), retryDelaysMs: [1, 1] });
      assert.equal(record.status, 'failed');
      assert.equal(record.attempts, 3);
      assert.equal(record.lastError, 'connection reset');
    } finally {
      await receiver.close();
    }
  });

  it('never throws, whatever garbage the receiver answers', async () => {
    const server = await startHostileServer();
    try {
      for (const name of Object.keys(HOSTILE_ANSWERS) as HostileCase[]) {
        const started = Date.now();
        const record = await deliverWebhook({ url: server.caseUrl(name), payload: {}, secret, policy: policy(true), timeoutMs: 300, retryDelaysMs: [1] });
        assert.ok(record.status === 'failed' || record.status === 'delivered', name);
        assert.ok(record.attempts >= 1 && record.attempts <= 2, name);
        assert.ok(!record.lastError || record.lastError.length <= 200, name);
        assert.ok(Date.now() - started < 3_000, name);
      }
    } finally {
      await server.close();
    }
  });

  it('does not obey a flood of Retry-After headers that disagree, nor a negative or garbage one', async () => {
    const answers = [
      `HTTP/1.1 429 Too Many Requests\r\n${Array.from({ length: 300 }, (_, i) => `Retry-After: ${i * 7}\r\n`).join('')}content-length: 0\r\nconnection: close\r\n\r\n`,
      'HTTP/1.1 503 Service Unavailable\r\nRetry-After: -3600\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
      `HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${'\u00ff'.repeat(5000)}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
    ];
    for (const [index, answer] of answers.entries()) {
      const receiver = await rawReceiver((socket) => socket.end(Buffer.from(answer, 'latin1')));
      try {
        const outcome = await attemptWebhook({ url: `http://127.0.0.1:${receiver.port}/`, payload: {}, secret, policy: policy(true), messageId: 'msg_1', timeoutMs: 2_000 });
        assert.equal(outcome.retry, true, String(index));
        assert.equal(outcome.retryAfterMs, undefined, String(index));
      } finally {
        await receiver.close();
      }
    }
  });

  it('signs what the hostile receiver received (sanity: the verifier sees the real bytes)', async () => {
    let request = '';
    const receiver = await rawReceiver((socket) => {
      socket.on('data', (more) => (request += more.toString('latin1')));
      setTimeout(() => socket.end(OK), 50);
    });
    try {
      await deliverWebhook({ url: `http://127.0.0.1:${receiver.port}/`, payload: { x: 'y' }, secret, policy: policy(true), retryDelaysMs: [] });
      const full = receiver.state.requests[0]! + request;
      const [head, body] = full.split('\r\n\r\n') as [string, string];
      const headers = Object.fromEntries(head.split('\r\n').slice(1).map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      assert.deepEqual(new Webhook(secret).verify(body, headers), { x: 'y' });
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook delivery: https', () => {
  it('sends the URL host as SNI and keeps certificate checks on (a self-signed certificate is refused)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-webhook-tls-'));
    const [certFile, keyFile] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=hook.test', '-addext', 'subjectAltName=DNS:hook.test'], { stdio: 'ignore' });
    const names: string[] = [];
    const server = tls.createServer({
      cert: readFileSync(certFile),
      key: readFileSync(keyFile),
      SNICallback: (name, callback) => (names.push(name), callback(null)),
    });
    server.on('secureConnection', (socket) => socket.end(OK));
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const record = await deliverWebhook({ url: `https://hook.test:${port}/`, payload: {}, secret, policy: policy(true, async () => ['127.0.0.1']), retryDelaysMs: [] });
      assert.equal(record.status, 'failed');
      assert.equal(record.lastError, 'TLS error (DEPTH_ZERO_SELF_SIGNED_CERT)');
      assert.deepEqual(names, ['hook.test']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
