/**
 * The result cache's parts on their own: the key, the in-memory LRU, the Redis entry
 * format against hostile bytes, single flight, and If-None-Match.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { cacheKey } from '../src/cache/cache-key.js';
import { MemoryResultStore } from '../src/cache/memory-store.js';
import { decodeEntry, encodeEntry } from '../src/cache/redis-store.js';
import { entityTag, matchesIfNoneMatch, ResultCache } from '../src/cache/result-cache.js';
import type { CachedResult, ResultStore } from '../src/cache/result-store.js';
import { SingleFlight } from '../src/cache/single-flight.js';
import { toCaptureOptions } from '../src/capture/options.js';
import { loadConfig } from '../src/config.js';
import { captureRequest } from './helpers/capture-request.js';

const { limits, cache: cacheConfig } = loadConfig({});
const options = (fields: Parameters<typeof captureRequest>[1]) => toCaptureOptions(captureRequest(limits, fields), limits);

function entry(bytes: number, storedAt = 0, ttlMs = 60_000): CachedResult {
  const body = Buffer.alloc(bytes, 7);
  return { body, contentType: 'image/png', headers: { 'x-pageshot-target-status': '200' }, etag: entityTag(body), storedAt, expiresAt: storedAt + ttlMs };
}

describe('cacheKey', () => {
  it('is one entry per picture: defaults, option order, timeout and fresh do not change it', () => {
    const base = cacheKey('key:a', options({ url: 'http://example.com/' }));
    assert.equal(cacheKey('key:a', options({ width: 1280, url: 'HTTP://Example.COM:80/' })), base);
    assert.equal(cacheKey('key:a', options({ url: 'http://example.com/', timeout: 5_000, fresh: true, cacheTtl: 9 })), base);
    const headersAB = options({ url: 'http://example.com/', headers: { a: '1', b: '2' } });
    const headersBA = options({ url: 'http://example.com/', headers: { b: '2', a: '1' } });
    assert.equal(cacheKey('key:a', headersAB), cacheKey('key:a', headersBA));
  });

  it('differs by scope, target and every option that changes the picture', () => {
    const base = cacheKey('key:a', options({ url: 'http://example.com/' }));
    const others = [
      cacheKey('key:b', options({ url: 'http://example.com/' })),
      cacheKey('key:a', options({ url: 'http://example.com/?x' })),
      cacheKey('key:a', options({ url: 'http://example.com/#top' })),
      cacheKey('key:a', options({ html: '<p>http://example.com/</p>' })),
      cacheKey('key:a', options({ url: 'http://example.com/', width: 1281 })),
      cacheKey('key:a', options({ url: 'http://example.com/', darkMode: true })),
      cacheKey('key:a', options({ url: 'http://example.com/', cookies: [{ name: 'a', value: 'b' }] })),
      cacheKey('key:a', options({ url: 'http://example.com/', headers: { a: '1' } })),
    ];
    assert.equal(new Set([base, ...others]).size, others.length + 1);
    assert.match(base, /^[0-9a-f]{64}$/, 'a digest: no option text in the store');
  });
});

describe('MemoryResultStore', () => {
  it('keeps at most its byte budget, dropping the least recently used first', async () => {
    const store = new MemoryResultStore(4 * 1536, () => 0);
    await store.set('a', entry(1024));
    await store.set('b', entry(1024));
    await store.set('c', entry(1024));
    assert.ok(await store.get('a'), 'reading a makes b the oldest');
    await store.set('d', entry(1024));
    await store.set('e', entry(1024));
    assert.equal(await store.get('b'), undefined);
    assert.ok(await store.get('a'));
    assert.ok(await store.get('e'));
    assert.ok(store.stats().bytes <= 4 * 1536);
  });

  it('forgets expired entries and never stores one result above a quarter of its budget', async () => {
    let now = 0;
    const store = new MemoryResultStore(10_000, () => now);
    await store.set('short', entry(10, 0, 1_000));
    now = 1_000;
    assert.equal(await store.get('short'), undefined);
    assert.equal(store.stats().entries, 0);
    await store.set('huge', entry(3_000));
    assert.equal(await store.get('huge'), undefined);
    assert.equal(store.stats().bytes, 0);
  });
});

describe('the Redis entry format', () => {
  it('reads back what it wrote', () => {
    const written = entry(100, 5, 10);
    assert.deepEqual(decodeEntry(encodeEntry(written)), written);
  });

  it('reads anything that is not exactly its own as nothing', () => {
    const good = encodeEntry(entry(100));
    const withHeader = (header: Record<string, unknown>) => {
      const json = Buffer.from(JSON.stringify(header));
      const length = Buffer.alloc(4);
      length.writeUInt32BE(json.length);
      return Buffer.concat([Buffer.from('PSC1'), length, json, Buffer.from('body')]);
    };
    const valid = { contentType: 'image/png', headers: {}, etag: '"abc"', storedAt: 1, expiresAt: 2 };
    const hostile = [
      Buffer.alloc(0),
      Buffer.from('PSC1'),
      Buffer.concat([Buffer.from('XXXX'), good.subarray(4)]),
      good.subarray(0, 20),
      Buffer.concat([Buffer.from('PSC1'), Buffer.from([0xff, 0xff, 0xff, 0xff])]),
      withHeader({ ...valid, contentType: 'text/html' }),
      withHeader({ ...valid, etag: 'abc' }),
      withHeader({ ...valid, etag: '"a\r\nset-cookie: x"' }),
      withHeader({ ...valid, storedAt: 'now' }),
      withHeader({ ...valid, headers: { 'set-cookie': 'session=1' } }),
      withHeader({ ...valid, headers: { 'x-pageshot-final-url': 'http://a/\r\nx: y' } }),
      withHeader({ ...valid, headers: { 'x-pageshot-final-url': 5 } }),
      withHeader({ ...valid, headers: ['x'] }),
      Buffer.concat([Buffer.from('PSC1'), Buffer.from([0, 0, 0, 4]), Buffer.from('{{{{')]),
      Buffer.concat([Buffer.from('PSC1'), Buffer.from([0, 0, 0, 4]), Buffer.from('null')]),
    ];
    for (const raw of hostile) assert.equal(decodeEntry(raw), undefined, raw.toString('latin1').slice(0, 80));
    assert.ok(decodeEntry(withHeader(valid)), 'the valid form around them does decode');
  });
});

describe('SingleFlight', () => {
  it('runs the work once for every caller that joins while it runs', async () => {
    const flights = new SingleFlight<number>();
    let runs = 0;
    let finish!: (value: number) => void;
    const work = () => {
      runs++;
      return new Promise<number>((resolve) => (finish = resolve));
    };
    const joined = Array.from({ length: 5 }, () => flights.join('k', new AbortController().signal, work));
    assert.deepEqual(joined.map((flight) => flight.leader), [true, false, false, false, false]);
    await Promise.resolve();
    finish(42);
    assert.deepEqual(await Promise.all(joined.map((flight) => flight.promise)), [42, 42, 42, 42, 42]);
    assert.equal(runs, 1);
    assert.equal(flights.size, 0);
    const again = flights.join('k', new AbortController().signal, async () => 7);
    assert.equal(again.leader, true, 'a finished flight is not joined');
    assert.equal(await again.promise, 7);
  });

  it('aborts the work only when every caller has gone, and then starts anew for the next', async () => {
    const flights = new SingleFlight<string>();
    let workSignal: AbortSignal | undefined;
    const work = (signal: AbortSignal) => {
      workSignal = signal;
      return new Promise<string>((resolve) => signal.addEventListener('abort', () => resolve('aborted')));
    };
    const callers = [new AbortController(), new AbortController()];
    const flight = callers.map((caller) => flights.join('k', caller.signal, work))[0]!;
    await Promise.resolve();
    callers[0]!.abort();
    assert.equal(workSignal?.aborted, false, 'one caller is still waiting');
    callers[1]!.abort();
    assert.equal(workSignal?.aborted, true);
    assert.equal(await flight.promise, 'aborted');
    assert.equal(flights.join('k', new AbortController().signal, async () => 'new').leader, true);
  });
});

describe('If-None-Match', () => {
  it('matches the tag, its weak form, a list holding it, and *', () => {
    const tag = '"abc"';
    for (const header of ['"abc"', 'W/"abc"', '"x", "abc"', ' "x" ,W/"abc" ', '*']) assert.equal(matchesIfNoneMatch(header, tag), true, header);
    for (const header of [undefined, '', '"abcd"', 'abc', '"ab"c"', 'W/"x"']) assert.equal(matchesIfNoneMatch(header, tag), false, String(header));
  });
});

describe('ResultCache', () => {
  const failing: ResultStore = {
    kind: 'broken',
    get: () => Promise.reject(new Error('down')),
    set: () => Promise.reject(new Error('down')),
    stats: () => ({}),
    close: async () => {},
  };

  it('turns a failing store into misses, counted, and logs the outage once', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const failures: string[] = [];
    const cache = new ResultCache(failing, { ...cacheConfig, defaultTtlSeconds: 60 }, logger, {
      answered() {},
      storeFailed: (operation) => void failures.push(operation),
    });
    const plan = cache.plan({ caller: 'key:a', allowedHosts: [] }, options({ url: 'http://example.com/' }))!;
    assert.equal(await cache.lookup(plan), undefined);
    const stored = await cache.remember(plan, { body: Buffer.from('png'), contentType: 'image/png', headers: {} });
    assert.equal(stored.etag, entityTag(Buffer.from('png')), 'the answer is still served with its tag');
    assert.equal(await cache.lookup(plan), undefined);
    assert.deepEqual(failures, ['get', 'set', 'get']);
    assert.equal(lines.filter((line) => line.includes('cannot be reached')).length, 1);
  });

  it('keeps one key\'s results apart per host list: a picture made before the key was narrowed is not planned for after', () => {
    const cache = new ResultCache(failing, { ...cacheConfig, defaultTtlSeconds: 60 }, pino({ level: 'silent' }));
    const url = options({ url: 'http://a.test/' });
    const wide = cache.plan({ caller: 'key:a', allowedHosts: ['a.test', 'b.test'] }, url)!;
    const narrow = cache.plan({ caller: 'key:a', allowedHosts: ['a.test'] }, url)!;
    assert.notEqual(wide.key, narrow.key);
    assert.equal(cache.plan({ caller: 'key:a', allowedHosts: ['a.test'] }, url)!.key, narrow.key, 'the same host list finds the same entry');
  });

  it('plans no cache for a TTL of 0 and lowers a TTL to the maximum', () => {
    const cache = new ResultCache(failing, { ...cacheConfig, defaultTtlSeconds: 0, maxTtlSeconds: 10 }, pino({ level: 'silent' }));
    const caller = { caller: 'key:a', allowedHosts: [] };
    assert.equal(cache.plan(caller, options({ url: 'http://example.com/' })), undefined);
    assert.equal(cache.plan(caller, options({ url: 'http://example.com/', cacheTtl: 0 })), undefined);
    assert.equal(cache.plan(caller, options({ url: 'http://example.com/', cacheTtl: 3600 }))?.ttlSeconds, 10);
    assert.equal(cache.plan(caller, options({ url: 'http://example.com/', cacheTtl: 5, fresh: true }))?.read, false);
  });
});
