import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { GuardProxy, UPSTREAM_ERROR_HEADER, type GuardProxyOptions } from '../src/netguard/guard-proxy.js';
import { NetworkPolicy, NetworkRefusal, type LookupLimits, type Resolver } from '../src/netguard/network-policy.js';
import { HOSTILE_ANSWERS, startHostileServer, type HostileCase, type HostileServer } from './helpers/hostile-server.js';

/** A policy that allows loopback (where every target of these tests lives). */
function loopbackPolicy(resolve?: Resolver, lookupLimits?: Partial<LookupLimits>): NetworkPolicy {
  return new NetworkPolicy({
    allowPrivateNetworks: [ipaddr.parseCIDR('127.0.0.0/8')],
    denyHosts: [],
    allowHosts: [],
    allowedPorts: undefined,
    ...(resolve ? { resolve } : {}),
    ...(lookupLimits ? { lookupLimits } : {}),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 20 ms until it holds or `ms` pass; answers whether it held. */
async function eventually(condition: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (condition()) return true;
    await sleep(20);
  }
  return condition();
}

/** A raw target on 127.0.0.1 that counts connections and notes when they close. */
interface RawTarget {
  port: number;
  opened: number;
  open: Set<net.Socket>;
  /** Resolves when the first request bytes arrive. */
  firstData: Promise<void>;
  close(): Promise<void>;
}

async function startRawTarget(onData: (socket: net.Socket) => void = () => undefined): Promise<RawTarget> {
  let dataArrived!: () => void;
  const target: RawTarget = {
    port: 0,
    opened: 0,
    open: new Set(),
    firstData: new Promise((resolve) => (dataArrived = resolve)),
    close: () => new Promise((resolve) => (target.open.forEach((s) => s.destroy()), server.close(() => resolve()))),
  };
  const server = net.createServer((socket) => {
    target.opened++;
    target.open.add(socket);
    socket.on('close', () => target.open.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('data', () => (dataArrived(), onData(socket)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  target.port = (server.address() as net.AddressInfo).port;
  return target;
}

/** Connects a raw client to the proxy and sends `text`. */
function rawClient(proxy: GuardProxy, text: string): net.Socket {
  const socket = net.connect(Number(new URL(proxy.url).port), '127.0.0.1');
  socket.on('error', () => undefined);
  socket.write(text);
  return socket;
}

/** GET `url` through the proxy; the status and the guard's upstream-error header. */
function getThrough(proxy: GuardProxy, url: string): Promise<{ status: number; networkError: string | undefined }> {
  const { port } = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: url, agent: false, timeout: 5000 }, (response) => {
      response.resume();
      response.on('error', () => undefined);
      resolve({ status: response.statusCode ?? 0, networkError: response.headers[UPSTREAM_ERROR_HEADER] as string | undefined });
    });
    request.on('timeout', () => request.destroy(new Error('no answer from the proxy')));
    request.on('error', reject);
  });
}

describe('guard proxy: answers it cannot relay', () => {
  let proxy: GuardProxy;
  let hostile: HostileServer;
  before(async () => {
    proxy = await GuardProxy.start(loopbackPolicy());
    hostile = await startHostileServer();
  });
  after(async () => {
    await proxy.close();
    await hostile.close();
  });

  const rows: Array<[HostileCase, string]> = [
    ['status-99', 'ERR_INVALID_HTTP_RESPONSE'],
    ['status-0', 'ERR_INVALID_HTTP_RESPONSE'],
    ['status-1000', 'ERR_INVALID_HTTP_RESPONSE'],
    ['status-600', 'ERR_INVALID_HTTP_RESPONSE'],
    ['status-101', 'ERR_INVALID_HTTP_RESPONSE'],
    ['header-name-space', 'ERR_INVALID_HTTP_RESPONSE'],
    ['header-value-nul', 'ERR_INVALID_HTTP_RESPONSE'],
    ['duplicate-content-length', 'ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_LENGTH'],
    ['not-http', 'ERR_INVALID_HTTP_RESPONSE'],
    ['no-status-line', 'ERR_INVALID_HTTP_RESPONSE'],
    ['empty-answer', 'ERR_EMPTY_RESPONSE'],
    ['huge-header', 'ERR_RESPONSE_HEADERS_TOO_BIG'],
  ];
  for (const [name, networkError] of rows) {
    it(`answers 502 ${networkError} for a target's ${name} answer, and the handler failed nowhere`, async () => {
      assert.ok(name in HOSTILE_ANSWERS);
      const reply = await getThrough(proxy, hostile.caseUrl(name));
      assert.deepEqual(reply, { status: 502, networkError });
      assert.equal(proxy.unexpectedErrors, 0);
    });
  }

  it('relays an answer with 10,000 headers (valid HTTP, under Chromium’s 256 KiB)', async () => {
    assert.deepEqual(await getThrough(proxy, hostile.caseUrl('many-headers')), { status: 200, networkError: undefined });
  });
});

describe('guard proxy: requests it cannot serve', () => {
  let proxy: GuardProxy;
  before(async () => {
    proxy = await GuardProxy.start(loopbackPolicy());
  });
  after(() => proxy.close());

  /** Sends raw bytes to the proxy and reads what comes back until it closes (or 2 s pass). */
  async function exchange(text: string): Promise<string> {
    const client = rawClient(proxy, text);
    let answer = '';
    client.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    await eventually(() => client.destroyed || client.readableEnded, 2000);
    client.destroy();
    return answer;
  }

  const rows: Array<[string, string, RegExp]> = [
    ['a request line that is not HTTP', 'HELLO\x00\xff\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['a request not in absolute form', 'GET /path HTTP/1.1\r\nhost: x\r\n\r\n', /^HTTP\/1\.1 400 [^]*x-pageshot-refused: not a proxy request/i],
    ['an absolute URL WHATWG refuses', 'GET http://a%20b.test/ HTTP/1.1\r\nhost: x\r\n\r\n', /^HTTP\/1\.1 502 [^]*x-pageshot-upstream-error: ERR_INVALID_URL/i],
    ['a WebSocket upgrade in absolute form', 'GET http://127.0.0.1:9/ HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n', /^HTTP\/1\.1 405 /],
    ['a CONNECT without a port', 'CONNECT a b.test HTTP/1.1\r\nhost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
  ];
  for (const [what, text, expected] of rows) {
    it(`answers ${what} and keeps serving`, async () => {
      assert.match(await exchange(text), expected);
      assert.equal(proxy.unexpectedErrors, 0);
    });
  }
});

describe('guard proxy: connections either side abandons', () => {
  const started: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const thing of started) await thing.close();
  });
  async function setUp(options: GuardProxyOptions = {}, resolve?: Resolver, onData?: (socket: net.Socket) => void) {
    const target = await startRawTarget(onData);
    const proxy = await GuardProxy.start(loopbackPolicy(resolve), options);
    started.push(target, proxy);
    return { target, proxy };
  }

  it('closes the upstream request when Chromium aborts before the answer', async () => {
    const { target, proxy } = await setUp();
    const client = rawClient(proxy, `GET http://127.0.0.1:${target.port}/slow HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\n\r\n`);
    await target.firstData;
    client.destroy();
    assert.ok(await eventually(() => target.open.size === 0, 1000), 'the target still holds the abandoned connection');
  });

  it('closes the upstream request when Chromium aborts in the middle of the body', async () => {
    const { target, proxy } = await setUp({}, undefined, (socket) =>
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100000\r\n\r\npart of it'),
    );
    const client = rawClient(proxy, `GET http://127.0.0.1:${target.port}/ HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\n\r\n`);
    await new Promise((resolve) => client.once('data', resolve));
    client.destroy();
    assert.ok(await eventually(() => target.open.size === 0, 1000), 'the target still holds the abandoned connection');
  });

  it('never opens the upstream of a CONNECT tunnel abandoned while its name was being checked', async () => {
    const slowResolver: Resolver = async () => (await sleep(300), ['127.0.0.1']);
    const { target, proxy } = await setUp({}, slowResolver);
    const client = rawClient(proxy, `CONNECT slow.test:${target.port} HTTP/1.1\r\nhost: slow.test:${target.port}\r\n\r\n`);
    await sleep(50);
    // A reset, as when Chromium's socket is torn down: no end-of-stream for a pipe to pass on.
    client.resetAndDestroy();
    await sleep(600); // the check has ended by now
    assert.equal(target.open.size, 0, 'an upstream connection outlived its tunnel');
  });

  it('closes the upstream of a tunnel when Chromium closes its side', async () => {
    const { target, proxy } = await setUp();
    const client = rawClient(proxy, `CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\n\r\n`);
    await new Promise((resolve) => client.once('data', resolve));
    client.write('hello');
    await target.firstData;
    client.destroy();
    assert.ok(await eventually(() => target.open.size === 0, 1000), 'the target still holds the tunnel');
  });

  it('closes a tunnel idle for longer than the idle timeout', async () => {
    const { target, proxy } = await setUp({ tunnelIdleTimeoutMs: 300 });
    const client = rawClient(proxy, `CONNECT 127.0.0.1:${target.port} HTTP/1.1\r\nhost: 127.0.0.1:${target.port}\r\n\r\n`);
    const established = await new Promise<string>((resolve) => client.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    assert.match(established, /^HTTP\/1\.1 200 /);
    assert.ok(await eventually(() => target.opened === 1 && target.open.size === 0, 1500), 'the idle tunnel is still open');
    client.destroy();
  });
});

describe('bounded name lookups', () => {
  /** A resolver that never answers for names starting with `hang`, counting its calls. */
  function countingResolver() {
    const state = { calls: 0, active: 0, maxActive: 0, release: [] as Array<() => void> };
    const resolve: Resolver = (hostname) => {
      state.calls++;
      if (!hostname.startsWith('hang')) return Promise.resolve(['127.0.0.1']);
      state.active++;
      state.maxActive = Math.max(state.maxActive, state.active);
      return new Promise((settle) =>
        state.release.push(() => {
          state.active--;
          settle(['127.0.0.1']);
        }),
      );
    };
    return { state, resolve };
  }

  /** Resolves `host` through `policy`: the address, or the refusal's kind, and how long it took. */
  async function timed(policy: NetworkPolicy, host: string): Promise<{ outcome: string; ms: number }> {
    const started = Date.now();
    try {
      const outcome = await policy.resolveDestination(host, 80);
      return { outcome, ms: Date.now() - started };
    } catch (error) {
      assert.ok(error instanceof NetworkRefusal);
      return { outcome: error.kind, ms: Date.now() - started };
    }
  }

  it('fails a lookup that never answers as unresolvable within its timeout', async () => {
    const { resolve } = countingResolver();
    const result = await timed(loopbackPolicy(resolve, { timeoutMs: 200 }), 'hang.test');
    assert.equal(result.outcome, 'unresolvable');
    assert.ok(result.ms >= 150 && result.ms < 600, `${result.ms} ms`);
  });

  it('shares one resolver call among callers asking for the same name', async () => {
    const { state, resolve } = countingResolver();
    const policy = loopbackPolicy(resolve, { timeoutMs: 200 });
    const results = await Promise.all(Array.from({ length: 20 }, () => timed(policy, 'hang.test')));
    assert.equal(state.calls, 1);
    assert.ok(results.every((result) => result.outcome === 'unresolvable' && result.ms < 600));
  });

  it('runs at most maxInFlight resolver calls at once; beyond the queue, lookups fail at once', async () => {
    const { state, resolve } = countingResolver();
    const policy = loopbackPolicy(resolve, { timeoutMs: 300, maxInFlight: 2, maxWaiting: 3 });
    const results = await Promise.all(Array.from({ length: 10 }, (_, index) => timed(policy, `hang-${index}.test`)));
    assert.equal(state.maxActive, 2);
    assert.ok(results.every((result) => result.outcome === 'unresolvable' && result.ms < 800));
    assert.equal(results.filter((result) => result.ms < 100).length, 5, 'the 5 beyond 2 running + 3 waiting fail fast');
  });

  it('resolves a normal name at once while a slow name is being looked up by many callers', async () => {
    const { resolve } = countingResolver();
    const policy = loopbackPolicy(resolve, { timeoutMs: 1000, maxInFlight: 2 });
    const slow = Array.from({ length: 20 }, () => timed(policy, 'hang.test'));
    const normal = await timed(policy, 'ok.test');
    assert.equal(normal.outcome, '127.0.0.1');
    assert.ok(normal.ms < 100, `${normal.ms} ms`);
    await Promise.all(slow);
  });

  it('keeps the place of a timed-out call until the resolver answers, then gives it back', async () => {
    const { state, resolve } = countingResolver();
    const policy = loopbackPolicy(resolve, { timeoutMs: 150, maxInFlight: 1 });
    assert.equal((await timed(policy, 'hang.test')).outcome, 'unresolvable');
    // The stuck call still holds the only place: getaddrinfo would still hold its thread.
    assert.equal((await timed(policy, 'ok.test')).outcome, 'unresolvable');
    state.release.forEach((release) => release());
    assert.equal((await timed(policy, 'ok.test')).outcome, '127.0.0.1');
  });
});
