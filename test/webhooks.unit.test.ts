import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { before, describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { Webhook } from 'standardwebhooks';
import fc from 'fast-check';
import { attemptWebhook, backoffDelay, deliverWebhook, type WebhookAttempt } from '../src/jobs/webhook-delivery.js';
import { nextRetryDelay, parseHttpDate, parseRetryAfter } from '../src/jobs/webhook-retry.js';
import { createWebhookSecret, parseWebhookSecret, signWebhook } from '../src/jobs/webhook-signature.js';
import { NetworkPolicy } from '../src/netguard/network-policy.js';

/** A policy that allows loopback, where every receiver of these tests lives. */
const loopback = () =>
  new NetworkPolicy({ allowPrivateNetworks: [ipaddr.parseCIDR('127.0.0.0/8')], denyHosts: [], allowHosts: [], allowedPorts: undefined });

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A receiver on 127.0.0.1 that answers each request with the next status of `statuses` (the last one repeats). */
async function startReceiver(statuses: number[], extraHeaders: Record<string, string> = {}) {
  const received: Received[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body });
      const status = statuses[Math.min(received.length - 1, statuses.length - 1)]!;
      response.writeHead(status, extraHeaders).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}

const FAST = { retryDelaysMs: [1, 1, 1], timeoutMs: 2_000 };

describe('webhook signatures (Standard Webhooks)', () => {
  it('creates whsec_ secrets of 32 random bytes', () => {
    const a = createWebhookSecret();
    assert.match(a, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(parseWebhookSecret(a).length, 32);
    assert.notEqual(a, createWebhookSecret());
  });

  it('signs exactly as the standardwebhooks package does, and its verifier accepts the headers', () => {
    const secret = createWebhookSecret();
    const body = JSON.stringify({ type: 'job.succeeded', data: { id: 'job_1', ünïcode: '✓' } });
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = signWebhook(secret, 'msg_1', timestamp, body);
    const library = new Webhook(secret);
    assert.equal(headers['webhook-signature'], library.sign('msg_1', new Date(timestamp * 1000), body));
    assert.deepEqual(library.verify(body, { ...headers }), JSON.parse(body));
  });

  it('a tampered body, id, timestamp or another secret does not verify', () => {
    const secret = createWebhookSecret();
    const body = '{"a":1}';
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = signWebhook(secret, 'msg_1', timestamp, body);
    const library = new Webhook(secret);
    assert.throws(() => library.verify('{"a":2}', { ...headers }));
    assert.throws(() => library.verify(body, { ...headers, 'webhook-id': 'msg_2' }));
    assert.throws(() => library.verify(body, { ...headers, 'webhook-timestamp': String(timestamp - 1) }));
    assert.throws(() => new Webhook(createWebhookSecret()).verify(body, { ...headers }));
  });

  it('an old timestamp is refused by the verifier (replay window)', () => {
    const secret = createWebhookSecret();
    const headers = signWebhook(secret, 'msg_1', Math.floor(Date.now() / 1000) - 10 * 60, '{}');
    assert.throws(() => new Webhook(secret).verify('{}', { ...headers }), /timestamp/i);
  });

  it('refuses malformed secrets without repeating them', () => {
    for (const bad of ['nope', 'whsec_', 'whsec_!!!!', `whsec_${Buffer.alloc(8).toString('base64')}`, `whsec_${Buffer.alloc(65).toString('base64')}`]) {
      assert.throws(() => signWebhook(bad, 'msg_1', 1, '{}'), (error: Error) => !error.message.includes(bad));
    }
    assert.throws(() => signWebhook(createWebhookSecret(), 'msg.1', 1, '{}'), /webhook id/);
  });
});

describe('webhook delivery', () => {
  let secret: string;
  before(() => (secret = createWebhookSecret()));

  it('delivers a signed JSON body that the standardwebhooks verifier accepts', async () => {
    const receiver = await startReceiver([204]);
    try {
      const payload = { type: 'job.succeeded', data: { id: 'job_1' } };
      const record = await deliverWebhook({ url: `${receiver.url}/hook?token=abc`, payload, secret, policy: loopback(), ...FAST });
      assert.equal(record.status, 'delivered');
      assert.equal(record.attempts, 1);
      assert.equal(record.lastStatusCode, 204);
      assert.ok(record.deliveredAt && Date.parse(record.deliveredAt) > 0);
      const [got] = receiver.received;
      assert.equal(got!.path, '/hook?token=abc');
      assert.equal(got!.headers['content-type'], 'application/json');
      assert.equal(got!.headers['webhook-id'], record.messageId);
      assert.deepEqual(new Webhook(secret).verify(got!.body, got!.headers as Record<string, string>), payload);
      assert.throws(() => new Webhook(secret).verify(got!.body.replace('job_1', 'job_2'), got!.headers as Record<string, string>));
    } finally {
      await receiver.close();
    }
  });

  it('retries on 500 and 429, then succeeds; every attempt has the same id and its own valid signature', async () => {
    const receiver = await startReceiver([500, 429, 200]);
    const attempts: WebhookAttempt[] = [];
    try {
      const record = await deliverWebhook({ url: receiver.url, payload: { n: 1 }, secret, policy: loopback(), ...FAST, onAttempt: (a) => attempts.push(a) });
      assert.equal(record.status, 'delivered');
      assert.equal(record.attempts, 3);
      assert.equal(receiver.received.length, 3);
      assert.deepEqual(attempts.map((a) => a.statusCode), [500, 429, 200]);
      assert.equal(new Set(receiver.received.map((r) => r.headers['webhook-id'])).size, 1);
      for (const got of receiver.received) new Webhook(secret).verify(got.body, got.headers as Record<string, string>);
    } finally {
      await receiver.close();
    }
  });

  it('gives up after the last attempt of the schedule on 503', async () => {
    const receiver = await startReceiver([503]);
    try {
      const record = await deliverWebhook({ url: receiver.url, payload: {}, secret, policy: loopback(), ...FAST });
      assert.deepEqual({ ...record, messageId: undefined }, { status: 'failed', messageId: undefined, attempts: 4, lastStatusCode: 503, lastError: 'HTTP 503' });
      assert.equal(receiver.received.length, 4);
    } finally {
      await receiver.close();
    }
  });

  it('does not retry on 400 (nor any other 4xx but 429)', async () => {
    for (const status of [400, 401, 404, 410]) {
      const receiver = await startReceiver([status, 200]);
      try {
        const record = await deliverWebhook({ url: receiver.url, payload: {}, secret, policy: loopback(), ...FAST });
        assert.equal(record.status, 'failed');
        assert.equal(record.attempts, 1);
        assert.equal(record.lastStatusCode, status);
        assert.equal(receiver.received.length, 1);
      } finally {
        await receiver.close();
      }
    }
  });

  it('retries on a refused connection, and the error is short and holds neither the URL nor the secret', async () => {
    const receiver = await startReceiver([200]);
    await receiver.close(); // the port is now closed
    const record = await deliverWebhook({ url: `${receiver.url}/hook?token=s3cr3t`, payload: {}, secret, policy: loopback(), ...FAST });
    assert.equal(record.status, 'failed');
    assert.equal(record.attempts, 4);
    assert.equal(record.lastError, 'connection refused');
  });

  it('stops when aborted during a wait between attempts', async () => {
    const receiver = await startReceiver([500]);
    const controller = new AbortController();
    try {
      const started = Date.now();
      const pending = deliverWebhook({ url: receiver.url, payload: {}, secret, policy: loopback(), retryDelaysMs: [60_000], signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      const record = await pending;
      assert.ok(Date.now() - started < 5_000);
      assert.equal(record.status, 'failed');
      assert.equal(record.attempts, 1);
      assert.equal(record.lastError, 'aborted');
    } finally {
      await receiver.close();
    }
  });

  it('answers a record, without throwing, for bad input from the caller', async () => {
    const policy = loopback();
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const [options, error] of [
      [{ url: 'not a url', payload: {}, secret }, 'the webhook URL is not valid'],
      [{ url: 'ftp://127.0.0.1/', payload: {}, secret }, 'the webhook URL must be http or https'],
      [{ url: 'http://u:p@127.0.0.1/', payload: {}, secret }, 'the webhook URL must not hold credentials'],
      [{ url: 'http://127.0.0.1/', payload: circular, secret }, 'the payload cannot be serialized as JSON'],
      [{ url: 'http://127.0.0.1/', payload: {}, secret: 'whsec_short' }, 'the webhook secret must hold 24 to 64 bytes'],
    ] as const) {
      const record = await deliverWebhook({ ...options, policy, ...FAST });
      assert.equal(record.status, 'failed');
      assert.equal(record.attempts, 0);
      assert.equal(record.lastError, error);
    }
  });

  it('spreads waits with jitter within [1 - j, 1 + j] of the schedule', () => {
    assert.equal(backoffDelay(1000, 0.2, () => 0), 800);
    assert.equal(backoffDelay(1000, 0.2, () => 0.5), 1000);
    assert.equal(backoffDelay(1000, 0.2, () => 0.999999), 1200);
    assert.equal(backoffDelay(1000, 0, () => 0.9), 1000);
  });
});

describe('Retry-After', () => {
  const now = Date.parse('2026-03-01T12:00:00.000Z');

  it('reads delay-seconds, digits only', () => {
    assert.equal(parseRetryAfter(['120'], now), 120_000);
    assert.equal(parseRetryAfter([' 0 '], now), 0);
    assert.equal(parseRetryAfter(['99999999999999999999'], now), 99999999999999999999 * 1000, 'huge stays huge: the schedule caps it');
    for (const bad of ['-5', '1.5', '+3', '0x10', '1e3', '12abc', 'abc', '', '   ', '５', `${'9'.repeat(65)}`]) {
      assert.equal(parseRetryAfter([bad], now), undefined, JSON.stringify(bad));
    }
  });

  it('reads the three HTTP-date forms; a past date means now, a date that does not exist means nothing', () => {
    assert.equal(parseRetryAfter(['Sun, 01 Mar 2026 12:01:30 GMT'], now), 90_000);
    assert.equal(parseRetryAfter(['Sunday, 01-Mar-26 12:01:30 GMT'], now), 90_000);
    assert.equal(parseRetryAfter(['Sun Mar  1 12:01:30 2026'], now), 90_000);
    assert.equal(parseRetryAfter(['Thu, 01 Jan 1970 00:00:00 GMT'], now), 0);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', now), Date.UTC(1994, 10, 6, 8, 49, 37), 'a two-digit year 50+ years ahead is last century');
    for (const bad of ['Mon, 31 Feb 2026 12:00:00 GMT', 'Sun, 01 Mar 2026 25:00:00 GMT', 'Sun, 01 Mar 2026 12:01:30 PST', '2026-03-01T12:01:30Z', 'Sun, 1 Mar 2026 12:01:30 GMT', 'tomorrow']) {
      assert.equal(parseRetryAfter([bad], now), undefined, bad);
    }
  });

  it('ignores several Retry-After headers that disagree, and takes several that agree', () => {
    assert.equal(parseRetryAfter(['5', '600'], now), undefined);
    assert.equal(parseRetryAfter(['5', 'Sun, 01 Mar 2026 12:00:05 GMT'], now), undefined);
    assert.equal(parseRetryAfter(Array.from({ length: 500 }, () => '5'), now), 5_000);
    assert.equal(parseRetryAfter([], now), undefined);
  });

  it("never makes a retry sooner than the schedule's wait, nor later than its longest wait because of Retry-After", () => {
    const half = () => 0.5; // no jitter: the factor is exactly 1
    const delays = [5_000, 30_000, 120_000, 600_000];
    assert.equal(nextRetryDelay({ made: 1, delaysMs: delays, random: half }), 5_000);
    assert.equal(nextRetryDelay({ made: 1, delaysMs: delays, retryAfterMs: 1_000, random: half }), 5_000, 'not sooner');
    assert.equal(nextRetryDelay({ made: 1, delaysMs: delays, retryAfterMs: 0, random: half }), 5_000);
    assert.equal(nextRetryDelay({ made: 1, delaysMs: delays, retryAfterMs: 60_000, random: half }), 60_000, 'later when asked');
    assert.equal(nextRetryDelay({ made: 2, delaysMs: delays, retryAfterMs: 1e23, random: half }), 600_000, 'never past 10 min');
    assert.equal(nextRetryDelay({ made: 4, delaysMs: delays, retryAfterMs: 1e23, random: () => 0.999999 }), 720_000, 'the jittered last wait stands');
    assert.equal(nextRetryDelay({ made: 3, delaysMs: delays, retryAfterMs: Number.NaN, random: half }), 120_000);
  });

  it('never throws on any header values, and keeps every wait within [scheduled, max(scheduled, longest)]', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 80 }), { maxLength: 5 }), fc.integer({ min: 1, max: 4 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (values, made, r) => {
        const parsed = parseRetryAfter(values, now);
        assert.ok(parsed === undefined || (Number.isFinite(parsed) && parsed >= 0));
        const delays = [5_000, 30_000, 120_000, 600_000];
        const scheduled = nextRetryDelay({ made, delaysMs: delays, random: () => r });
        const wait = nextRetryDelay({ made, delaysMs: delays, retryAfterMs: parsed, random: () => r });
        assert.ok(wait >= scheduled && wait <= Math.max(scheduled, 600_000));
      }),
      { numRuns: 2_000 },
    );
  });

  it('is read from a 429 or a 503 only', async () => {
    const secret = createWebhookSecret();
    for (const [status, expected] of [[429, 7_000], [503, 7_000], [500, undefined], [200, undefined]] as const) {
      const receiver = await startReceiver([status], { 'retry-after': '7' });
      try {
        const outcome = await attemptWebhook({ url: receiver.url, payload: {}, secret, policy: loopback(), messageId: 'msg_1' });
        assert.equal(outcome.retryAfterMs, expected, String(status));
      } finally {
        await receiver.close();
      }
    }
  });

  it('lengthens the in-process wait between attempts too', async () => {
    const receiver = await startReceiver([429, 200], { 'retry-after': '1' });
    try {
      const started = Date.now();
      const record = await deliverWebhook({ url: receiver.url, payload: {}, secret: createWebhookSecret(), policy: loopback(), retryDelaysMs: [1, 5_000] });
      assert.ok(Date.now() - started >= 950, 'waited the second Retry-After asked for, not the 1 ms scheduled');
      assert.equal(record.status, 'delivered');
      assert.equal(receiver.received.length, 2);
    } finally {
      await receiver.close();
    }
  });
});
