import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { KeyCache, type CachedKey } from '../src/auth/key-cache.js';
import { digestsEqual, generateKey, hashKey } from '../src/auth/key-format.js';
import { whenSettled } from '../src/http/settled.js';
import { createMetrics } from '../src/metrics.js';

/** A cache entry's payload; the cache only stores and returns it. */
function cachedKey(id: string): CachedKey {
  return { record: { id } as CachedKey['record'], principal: { keyId: id } as CachedKey['principal'], revokedAtMs: null, expiresAtMs: null };
}

describe('the per-request shortcuts keep their answers', () => {
  it('hashKey gives the same hex SHA-256 as createHash, for keys and for any other text', () => {
    for (const text of [generateKey('ps_live'), 'not a key', 'ünïcödé ✓', '']) {
      assert.equal(hashKey(text), createHash('sha256').update(text, 'utf8').digest('hex'));
    }
  });

  it('digestsEqual is true only for the same digest', () => {
    const digest = hashKey('a');
    assert.equal(digestsEqual(digest, hashKey('a')), true);
    assert.equal(digestsEqual(digest, hashKey('b')), false);
    // Differs only in its last character, and only in length.
    assert.equal(digestsEqual(digest, `${digest.slice(0, -1)}${digest.endsWith('0') ? '1' : '0'}`), false);
    assert.equal(digestsEqual(digest, digest.slice(0, -1)), false);
  });

  it('the key cache still forgets the least recently used key, when the same key is read again and again', () => {
    const cache = new KeyCache(60_000, 5_000, 2);
    cache.set('a', cachedKey('a'), cache.epoch, 0);
    cache.set('b', cachedKey('b'), cache.epoch, 0);
    // b is the newest already: reading it twice changes nothing; then a is read, so b is the oldest.
    cache.get('b', 1);
    cache.get('b', 1);
    cache.get('a', 1);
    cache.set('c', cachedKey('c'), cache.epoch, 1);
    assert.equal(cache.get('b', 2), 'miss');
    assert.equal((cache.get('a', 2) as CachedKey).record.id, 'a');
    assert.equal((cache.get('c', 2) as CachedKey).record.id, 'c');
  });

  it('a key invalidated while it was the newest is looked up again', () => {
    const cache = new KeyCache(60_000, 5_000, 10);
    cache.set('a', cachedKey('a'), cache.epoch, 0);
    cache.get('a', 1);
    cache.invalidate('a');
    assert.equal(cache.get('a', 2), 'miss');
  });

  it('countHttpRequest shows in the counter at every read, exactly', async () => {
    const metrics = createMetrics({ queue: () => ({ activeRequests: 0, queuedRequests: 0 }), browserRestarts: () => 0, poolContexts: () => 0 });
    const valueOf = async (status: string) =>
      (await metrics.httpRequests.get()).values.find((v) => v.labels.route === '/v1/me' && v.labels.status === status)?.value;
    metrics.countHttpRequest('/v1/me', 'GET', '200');
    metrics.countHttpRequest('/v1/me', 'GET', '200');
    metrics.countHttpRequest('/v1/me', 'GET', '429');
    assert.equal(await valueOf('200'), 2);
    assert.equal(await valueOf('429'), 1);
    metrics.countHttpRequest('/v1/me', 'GET', '200');
    assert.equal(await valueOf('200'), 3, 'a second read adds only what was counted since the first');
    assert.match(await metrics.registry.metrics(), /pageshot_http_requests_total\{route="\/v1\/me",method="GET",status="200"\} 3/);
  });
});

describe('whenSettled', () => {
  it('runs every callback of a request once, in order, after the answer, and a throw does not stop the others', async () => {
    const calls: string[] = [];
    const errors: string[] = [];
    const app = Fastify({ logger: false });
    app.addHook('onRequest', (request, reply, done) => {
      request.log.error = ((_: unknown, message: string) => errors.push(message)) as unknown as typeof request.log.error;
      whenSettled(request, reply, (aborted) => calls.push(`first aborted=${aborted}`));
      whenSettled(request, reply, () => {
        calls.push('second');
        throw new Error('boom');
      });
      whenSettled(request, reply, () => calls.push(`third sent=${reply.sent}`));
      done();
    });
    app.get('/', (_request, reply) => reply.send('ok'));
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as { port: number };
      const answer = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(await answer.text(), 'ok');
      // 'close' follows the answer on the server's side: wait for it.
      for (let i = 0; i < 50 && calls.length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(calls, ['first aborted=false', 'second', 'third sent=true']);
      assert.deepEqual(errors, ['settling a request failed']);
    } finally {
      await app.close();
    }
  });
});
