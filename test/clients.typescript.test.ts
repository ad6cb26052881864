import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import util from 'node:util';
import * as sdk from '../clients/typescript/src/index.js';
import {
  AbortError,
  ApiError,
  AuthenticationError,
  CaptureError,
  ConflictError,
  ConnectionError,
  NotFoundError,
  PageShot,
  PageShotError,
  PermissionDeniedError,
  RateLimitError,
  ServerBusyError,
  TimeoutError,
  ValidationError,
  verifyWebhook,
  WebhookVerificationError,
  type PageShotOptions,
  type RetryEvent,
} from '../clients/typescript/src/index.js';
import type { CaptureRequest } from '../src/capture/options.js';
import type { PdfOptions as ServerPdfOptions } from '../src/capture/outputs/pdf-options.js';
import type { DeviceListing } from '../src/routes/devices.js';
import type { RemoteSdk } from '../src/cli-remote.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, createKey, ROOT_KEY } from './helpers/keys.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';

// The CLI loads the SDK at run time; this line makes the compiler hold the SDK to the shape the CLI expects.
const _sdkFitsTheCli: RemoteSdk = sdk;

// The server's schemas are the source of truth: these lines stop compiling when the SDK's
// option types miss an option, name one the server lacks, or type a value differently.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameOptionNames: Same<keyof CaptureRequest, keyof sdk.ScreenshotOptions> = true;
const _samePdfOptionNames: Same<keyof ServerPdfOptions, keyof sdk.PdfOptions> = true;
const _sameDeviceFields: Same<DeviceListing, sdk.Device> = true;
const _serverValuesFit = (request: CaptureRequest): sdk.ScreenshotOptions => request;
const _sdkValuesFit = (options: Required<Omit<sdk.ScreenshotOptions, 'pdf'>>): Partial<CaptureRequest> => options;
const _pdfValuesFit = [(pdf: ServerPdfOptions): sdk.PdfOptions => pdf, (pdf: Required<sdk.PdfOptions>): Partial<ServerPdfOptions> => pdf];

/** Every secret a test used, and every error a test saw: none may show the other. */
const secrets = new Set<string>([ROOT_KEY]);
const seenErrors: unknown[] = [];

/** Awaits a call that must fail with `type`; records the error for the key-hygiene test. */
async function failure<T extends Error>(call: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  const error = await call.then(
    () => assert.fail(`expected ${type.name}`),
    (caught: unknown) => caught,
  );
  seenErrors.push(error);
  assert.ok(error instanceof type, `expected ${type.name}, got ${util.inspect(error)}`);
  return error;
}

const elapsedSince = (start: number) => Date.now() - start;

describe('TypeScript client against a real PageShot', () => {
  let site: FixtureSite;
  let server: TestServer;
  /** Responses of /gate waiting for the test to let them go. */
  const gates: http.ServerResponse[] = [];

  before(async () => {
    site = await startFixtureSite({
      // Holds its answer until openGates(): a capture that takes exactly as long as a test needs.
      '/gate': (_req, res) => gates.push(res),
      // A redirect, so the final URL differs from the one asked for.
      '/moved': (_req, res) => {
        res.writeHead(302, { location: '/' });
        res.end();
      },
    });
    // One capture slot and no queue: a second capture while one runs is refused with 503
    // QUEUE_FULL (with a calm CPU reading, so a busy test machine does not make it SERVER_BUSY).
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_MAX_CONCURRENCY: '1', PAGESHOT_MAX_QUEUE: '0' }, { cpuUsage: () => 10 });
  });
  after(async () => {
    openGates();
    await server.stop();
    await site.close();
  });

  function openGates(): void {
    for (const res of gates.splice(0)) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><p>gate</p>');
    }
  }

  function client(options: PageShotOptions = {}): PageShot {
    // Short backoff steps keep the suite fast; server-given waits (Retry-After) still apply in full.
    return new PageShot({ apiKey: ROOT_KEY, baseUrl: server.url, retryBaseDelayMs: 50, ...options });
  }

  async function until(condition: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 250 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(condition(), `timed out waiting for ${what}`);
  }

  /** Takes the only capture slot with a capture of /gate, held until openGates(). */
  async function occupySlot(): Promise<{ capture: Promise<unknown> }> {
    const capture = server.shoot({ url: `${site.url}/gate` }, { headers: bearer(ROOT_KEY) });
    await until(() => gates.length > 0, 'the capture to reach /gate');
    assert.equal(server.app.admission.stats().activeRequests, 1, 'the slot is taken');
    return { capture };
  }

  /**
   * Waits until a capture that a test gave up on has freed its slot. The server stops a
   * capture whose client left (it may not even have reached /gate); any gate it did reach
   * is opened.
   */
  async function releaseAbandoned(): Promise<void> {
    await until(() => {
      openGates();
      return server.app.admission.stats().activeRequests === 0;
    }, 'the slot to be free');
  }

  /** Answers the server gave on a route with a status, counted by the server itself. */
  async function served(route: string, method: string, status: number): Promise<number> {
    const metric = await server.app.metrics.httpRequests.get();
    const match = metric.values.find(({ labels }) => labels.route === route && labels.method === method && labels.status === String(status));
    return match?.value ?? 0;
  }

  it('captures a URL, with the image type, request id and rate-limit state of the answer', async () => {
    const pageshot = client();
    const shot = await pageshot.screenshot(`${site.url}/`);
    const image = await decodeImage(Buffer.from(shot.image));
    assert.deepEqual([image.format, image.width, image.height], ['png', 1280, 720]);
    assert.equal(shot.contentType, 'image/png');
    assert.match(shot.requestId ?? '', /.+/);
    assert.equal(typeof shot.timing.renderMs, 'number');
    // The root key follows the defaults: bursts of 500 (closest to refusing) and 2000 a day.
    assert.equal(shot.rateLimit?.limit, 500);
    assert.equal(shot.rateLimit?.remaining, 499);
    assert.ok(shot.rateLimit.reset.getTime() > Date.now() - 5000);
    assert.deepEqual([shot.rateLimit.policies.burst?.quota, shot.rateLimit.policies.daily?.quota], [500, 2000]);
    assert.deepEqual(pageshot.rateLimit, shot.rateLimit, 'the client keeps the last state seen');

    const jpeg = await pageshot.screenshot({ html: '<h1>hi</h1>', width: 400, height: 300, format: 'jpeg', quality: 70 });
    assert.equal(jpeg.contentType, 'image/jpeg');
    const decoded = await decodeImage(Buffer.from(jpeg.image));
    assert.deepEqual([decoded.width, decoded.height], [400, 300]);
  });

  it('reads the status, the calling key and its usage, and manages keys', async () => {
    const pageshot = client();
    assert.equal((await pageshot.status()).queue.maxConcurrency, 1);
    const me = await pageshot.me();
    assert.deepEqual([me.id, me.kind], ['root', 'root']);

    const created = await pageshot.keys.create({ name: 'sdk', scopes: ['screenshot', 'usage:read'], limits: { daily: 50 } });
    secrets.add(created.key);
    assert.equal(created.state, 'active');
    assert.equal((await pageshot.keys.get(created.id)).name, 'sdk');
    assert.ok((await pageshot.keys.list({ limit: 100 })).data.some((key) => key.id === created.id));
    const all: string[] = [];
    for await (const key of pageshot.keys.all()) all.push(key.id);
    assert.ok(all.includes(created.id));
    assert.equal((await pageshot.keys.update(created.id, { disabled: true })).state, 'disabled');
    assert.equal((await pageshot.keys.update(created.id, { disabled: false, name: 'sdk2' })).name, 'sdk2');

    const own = client({ apiKey: created.key });
    assert.equal((await own.me()).id, created.id);
    const usage = await own.usage({ from: new Date(), to: new Date() });
    assert.equal(usage.keyId, created.id);
    assert.equal(usage.totals.requests, 1, 'me(); this call itself is counted once answered');
    assert.equal((await pageshot.keys.usage(created.id)).keyId, created.id);

    const rotated = await pageshot.keys.rotate(created.id, { gracePeriodSeconds: 60 });
    secrets.add(rotated.key);
    assert.equal(rotated.rotatedFrom, created.id);
    assert.equal((await pageshot.keys.revoke(rotated.id)).state, 'revoked');
    assert.equal((await pageshot.keys.revoke(rotated.id)).state, 'revoked', 'revoking twice is harmless');
    const revokedKeyCall = await failure(client({ apiKey: rotated.key }).me(), PermissionDeniedError);
    assert.equal(revokedKeyCall.code, 'KEY_REVOKED');
  });

  it('surfaces 401 and 403 as AuthenticationError and PermissionDeniedError after a single request', async () => {
    // Built at run time so secret scanners do not flag a made-up key in the source.
    const unknown = `ps_live_${'0'.repeat(27)}_${'0'.repeat(6)}`;
    secrets.add(unknown);
    const before403 = await served('/v1/me', 'GET', 403);
    const refused = await failure(client({ apiKey: unknown, maxRetries: 5 }).me(), PermissionDeniedError);
    assert.equal(refused.code, 'INVALID_API_KEY');
    assert.equal(refused.status, 403);
    assert.equal(refused.attempts, 1);
    assert.match(refused.requestId ?? '', /.+/);
    assert.equal((await served('/v1/me', 'GET', 403)) - before403, 1, 'the server saw exactly one request');

    // A key broken across two lines by a copy-paste: the header no longer parses as a key.
    const mangled = `${ROOT_KEY.slice(0, 20)} ${ROOT_KEY.slice(20)}`;
    secrets.add(mangled);
    const before401 = await served('/v1/me', 'GET', 401);
    const missing = await failure(client({ apiKey: mangled, maxRetries: 5 }).me(), AuthenticationError);
    assert.deepEqual([missing.status, missing.code, missing.attempts], [401, 'MISSING_API_KEY', 1]);
    assert.equal((await served('/v1/me', 'GET', 401)) - before401, 1);

    const { key } = await createKey(server, { name: 'reader', scopes: ['usage:read'] });
    secrets.add(key);
    const beforeScope = await served('/screenshot', 'POST', 403);
    const scope = await failure(client({ apiKey: key }).screenshot(`${site.url}/`), PermissionDeniedError);
    assert.deepEqual([scope.code, scope.body?.requiredScope, scope.attempts], ['INSUFFICIENT_SCOPE', 'screenshot', 1]);
    assert.equal((await served('/screenshot', 'POST', 403)) - beforeScope, 1);
  });

  it('does not retry a refused request: 400 ValidationError naming the field, 404 NotFoundError', async () => {
    const invalid = await failure(client().screenshot({ url: `${site.url}/`, width: 5 }), ValidationError);
    assert.deepEqual([invalid.code, invalid.field, invalid.attempts], ['VALIDATION_ERROR', 'width', 1]);
    const missing = await failure(client().keys.get('key_does_not_exist'), NotFoundError);
    assert.deepEqual([missing.code, missing.attempts], ['KEY_NOT_FOUND', 1]);
  });

  it('retries a busy answer (503 QUEUE_FULL) after its Retry-After and then succeeds', async () => {
    const { capture: occupied } = await occupySlot();
    const retries: RetryEvent[] = [];
    const start = Date.now();
    const shot = await client({
      onRetry: (event) => {
        retries.push(event);
        openGates(); // the slot frees up while the client waits
      },
    }).screenshot(`${site.url}/?busy`);
    await occupied;
    assert.equal(shot.contentType, 'image/png');
    const first = retries[0]!;
    assert.ok(first.error instanceof ServerBusyError);
    assert.equal(first.error.code, 'QUEUE_FULL');
    assert.equal(first.error.body?.status, 'busy');
    const retryAfterMs = first.error.retryAfter! * 1000;
    assert.ok(retryAfterMs >= 1000);
    assert.ok(first.delayMs >= retryAfterMs, 'never earlier than Retry-After');
    assert.ok(elapsedSince(start) >= retryAfterMs, `waited ${elapsedSince(start)} ms`);
  });

  it('waits out a 429 for its Retry-After and then succeeds', async () => {
    const { key } = await createKey(server, { name: 'slow', scopes: ['screenshot'], limits: { rate: 1, burst: 1, daily: 1000 } });
    secrets.add(key);
    const retries: RetryEvent[] = [];
    const pageshot = client({ apiKey: key, onRetry: (event) => retries.push(event) });
    await pageshot.me();
    assert.deepEqual([pageshot.rateLimit?.limit, pageshot.rateLimit?.remaining], [1, 0], 'the caller can see it is out of burst');
    const start = Date.now();
    const shot = await pageshot.screenshot(`${site.url}/?limited`);
    const waited = elapsedSince(start);
    assert.equal(shot.contentType, 'image/png');
    assert.equal(retries.length, 1);
    const refusal = retries[0]!.error;
    assert.ok(refusal instanceof RateLimitError);
    assert.deepEqual([refusal.code, refusal.retryAfter, refusal.limit, refusal.policy], ['RATE_LIMITED', 1, 1, 'burst']);
    assert.ok(waited >= 1000, `waited ${waited} ms, Retry-After was 1 s`);
  });

  it('does not wait hours for a used-up daily quota unless asked', async (t) => {
    const toMidnightMs = 86_400_000 - (Date.now() % 86_400_000);
    if (toMidnightMs < 10_000) return t.skip('the quota renews within the retry budget right now');
    const { key } = await createKey(server, { name: 'quota', scopes: ['screenshot'], limits: { daily: 1 } });
    secrets.add(key);
    const pageshot = client({ apiKey: key, maxRetryTimeMs: 5000 });
    await pageshot.me();
    const start = Date.now();
    const refusal = await failure(pageshot.me(), RateLimitError);
    assert.equal(refusal.code, 'QUOTA_EXCEEDED');
    assert.equal(refusal.attempts, 1);
    assert.ok(refusal.retryAfter! * 1000 >= toMidnightMs - 2000, 'Retry-After runs to 00:00 UTC');
    assert.ok(elapsedSince(start) < 1000, 'given up at once');

    // Asked to, it waits for the renewal past maxRetryTimeMs (cut short here by an abort).
    const waits: RetryEvent[] = [];
    const controller = new AbortController();
    const patient = client({ apiKey: key, maxRetryTimeMs: 5000, retryQuotaExceeded: true, onRetry: (event) => (waits.push(event), controller.abort()) });
    await failure(patient.me({ signal: controller.signal }), AbortError);
    assert.ok(waits[0]!.delayMs > 5000, `would wait ${waits[0]!.delayMs} ms`);
  });

  it('stops at maxRetries and throws the last error; never sleeps past maxRetryTimeMs', async () => {
    const { capture: occupied } = await occupySlot();
    try {
      const refusalsBefore = server.app.admission.refusals.QUEUE_FULL ?? 0;
      const capped = await failure(client({ maxRetries: 1 }).screenshot(`${site.url}/?cap`), ServerBusyError);
      assert.deepEqual([capped.code, capped.attempts], ['QUEUE_FULL', 2]);
      assert.equal((server.app.admission.refusals.QUEUE_FULL ?? 0) - refusalsBefore, 2, 'one request and one retry');

      const start = Date.now();
      const impatient = await failure(client({ maxRetryTimeMs: 200 }).screenshot(`${site.url}/?impatient`), ServerBusyError);
      assert.equal(impatient.attempts, 1, 'a Retry-After beyond the budget is not slept');
      assert.ok(elapsedSince(start) < 800);
    } finally {
      openGates();
      await occupied;
    }
  });

  it('aborts while waiting to retry, while a request is in flight, and before it starts', async () => {
    const { capture: occupied } = await occupySlot();
    const controller = new AbortController();
    let abortedAt = 0;
    const refusalsBefore = server.app.admission.refusals.QUEUE_FULL ?? 0;
    const waiting = client({
      onRetry: () =>
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort();
        }, 100),
    }).screenshot(`${site.url}/?abort`, { signal: controller.signal });
    await failure(waiting, AbortError);
    assert.ok(elapsedSince(abortedAt) < 300, 'the backoff sleep ends at once');
    assert.equal((server.app.admission.refusals.QUEUE_FULL ?? 0) - refusalsBefore, 1, 'no request after the abort');
    openGates();
    await occupied;

    const inFlight = new AbortController();
    const call = client().screenshot(`${site.url}/gate`, { signal: inFlight.signal });
    await until(() => gates.length > 0, 'the capture to reach /gate');
    inFlight.abort();
    await failure(call, AbortError);
    await releaseAbandoned();

    await failure(client().me({ signal: AbortSignal.abort() }), AbortError);
  });

  it('times out a stuck attempt without repeating a screenshot', async () => {
    const stuck = client().screenshot(`${site.url}/gate`, { timeoutMs: 300 });
    const timedOut = await failure(stuck, TimeoutError);
    assert.equal(timedOut.attempts, 1);
    await releaseAbandoned();
  });

  it('retries a lost connection for reads only, and reports it as ConnectionError', async () => {
    const nowhere = client({ baseUrl: 'http://127.0.0.1:1', maxRetries: 2, retryBaseDelayMs: 10 });
    const read = await failure(nowhere.me(), ConnectionError);
    assert.equal(read.attempts, 3);
    assert.match(read.message, /Could not reach PageShot/);
    const write = await failure(nowhere.keys.create({ name: 'x', scopes: ['screenshot'] }), ConnectionError);
    assert.equal(write.attempts, 1, 'creating a key twice is not harmless');
  });

  it('takes the key from PAGESHOT_API_KEY, and refuses to start without one', async () => {
    const saved = process.env.PAGESHOT_API_KEY;
    try {
      delete process.env.PAGESHOT_API_KEY;
      assert.throws(() => new PageShot({ baseUrl: server.url }), (error: unknown) => {
        seenErrors.push(error);
        return error instanceof PageShotError && /PAGESHOT_API_KEY/.test(error.message);
      });
      process.env.PAGESHOT_API_KEY = `${ROOT_KEY}\n`;
      assert.equal((await new PageShot({ baseUrl: server.url }).me()).id, 'root');
      assert.throws(() => new PageShot({ apiKey: `${ROOT_KEY}\u0000x`, baseUrl: server.url }), (error: unknown) => {
        seenErrors.push(error);
        return error instanceof PageShotError;
      });
    } finally {
      if (saved === undefined) delete process.env.PAGESHOT_API_KEY;
      else process.env.PAGESHOT_API_KEY = saved;
    }
  });

  it('sends the new capture options and reads back the final URL, the target status and the phases', async () => {
    const pageshot = client();
    const iphone = (await pageshot.devices()).find((device) => device.name === 'iPhone 15');
    assert.ok(iphone, 'devices() lists iPhone 15');
    assert.deepEqual([iphone.mobile, iphone.touch, typeof iphone.userAgent], [true, true, 'string']);

    const shot = await pageshot.screenshot({
      url: `${site.url}/moved`,
      device: 'iPhone 15',
      timezone: 'Europe/Berlin',
      locale: 'de-DE',
      reducedMotion: 'reduce',
      mediaType: 'screen',
      scrollPage: true,
      disableAnimations: true,
      blockCookieBanners: true,
      clickSelector: '#block',
      hideSelectors: ['#green'],
      blockResources: ['font', 'media'],
      failOnBlank: true,
    });
    assert.equal(shot.finalUrl, `${site.url}/`, 'the redirect was followed');
    assert.equal(shot.targetStatus, 200);
    assert.equal(shot.truncated, false);
    assert.equal(shot.pages, undefined);
    for (const phase of ['navigation', 'waits', 'scroll', 'capture']) assert.equal(typeof shot.timing.phases[phase], 'number', phase);
    assert.equal(typeof shot.timing.queueMs, 'number');
    assert.equal(typeof shot.timing.renderMs, 'number');
    const image = await decodeImage(Buffer.from(shot.image));
    assert.deepEqual([image.width, image.height], [iphone.width * iphone.deviceScaleFactor, iphone.height * iphone.deviceScaleFactor]);

    const notFound = `${site.url}/status?code=404`;
    const tolerated = await pageshot.screenshot({ url: notFound, failOnHttpError: false });
    assert.equal(tolerated.targetStatus, 404);
    const refused = await failure(pageshot.screenshot(notFound), CaptureError);
    assert.deepEqual([refused.code, refused.targetStatus, refused.attempts], ['NAVIGATION_FAILED', 404, 1]);
  });

  it('prints a PDF with pdf() (POST /pdf) and with format "pdf", with its page count', async () => {
    const pageshot = client();
    const html = '<h1>one</h1><h1 style="break-before: page">two</h1><h1 style="break-before: page">three</h1>';
    const document = await pageshot.pdf({ html, pdf: { paperFormat: 'A4', margin: { top: '1cm', bottom: '1cm' }, footerTemplate: '<span class="pageNumber"></span>' } });
    assert.equal(Buffer.from(document.image.subarray(0, 5)).toString('latin1'), '%PDF-');
    assert.equal(document.contentType, 'application/pdf');
    assert.equal(document.pages, 3);
    assert.equal(document.targetStatus, undefined, 'html has no target status');
    assert.equal(document.finalUrl, undefined);

    const firstTwo = await pageshot.screenshot({ html, format: 'pdf', pdf: { pageRanges: '1-2', landscape: true } });
    assert.equal(Buffer.from(firstTwo.image.subarray(0, 5)).toString('latin1'), '%PDF-');
    assert.equal(firstTwo.pages, 2);
  });

  it('fails a blank page with failOnBlank: CaptureError BLANK_PAGE, not retried', async () => {
    const blank = await failure(client().screenshot({ html: '<!doctype html><body style="background:#fff"></body>', failOnBlank: true }), CaptureError);
    assert.deepEqual([blank.code, blank.status, blank.attempts], ['BLANK_PAGE', 422, 1]);
  });

  /** Requests the fixture site received for `url`'s path and query: one per render (a cache hit makes none). */
  function renders(url: string): number {
    const wanted = new URL(url);
    return site.seen.filter((seen) => seen.path === wanted.pathname && seen.query === wanted.search).length;
  }

  it('sends cacheTtl and reads what the cache did: MISS, then HIT without a render, with ETag and Age', async () => {
    const pageshot = client();
    const url = `${site.url}/?sdk-cache`;
    const miss = await pageshot.screenshot({ url, cacheTtl: 60 });
    assert.equal(miss.cache, 'MISS');
    assert.equal(miss.age, 0);
    assert.match(miss.etag ?? '', /^"[A-Za-z0-9_-]{27}"$/, 'the tag as sent, quotes included');
    assert.equal(miss.notModified, false);
    assert.equal(typeof miss.timing.renderMs, 'number');
    assert.equal(miss.timing.cacheMs, undefined);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    const hit = await pageshot.screenshot({ url, cacheTtl: 60 });
    assert.equal(hit.cache, 'HIT');
    assert.ok(hit.age !== undefined && hit.age >= 1, `Age counts from the render: ${hit.age}`);
    assert.equal(hit.etag, miss.etag);
    assert.ok(Buffer.from(hit.image).equals(Buffer.from(miss.image)), 'the same bytes');
    assert.deepEqual([hit.contentType, hit.finalUrl, hit.targetStatus, hit.notModified], ['image/png', url, 200, false]);
    // A hit rendered nothing: its Server-Timing is the cache lookup, not a phase of a render.
    assert.equal(typeof hit.timing.cacheMs, 'number');
    assert.deepEqual([hit.timing.queueMs, hit.timing.renderMs, hit.timing.phases], [undefined, undefined, {}]);
    assert.equal(renders(url), 1, 'the second call never reached the site');

    // Without cacheTtl this server's default (0) applies: rendered, not stored, no Age.
    const bypass = await pageshot.screenshot(url);
    assert.deepEqual([bypass.cache, bypass.age], ['BYPASS', undefined]);
    assert.equal(bypass.etag, miss.etag, 'the tag is of the bytes, however they were made');
    assert.equal(renders(url), 2);
  });

  it('answers ifNoneMatch with notModified and no bytes, in one request and without an error', async () => {
    const pageshot = client();
    const url = `${site.url}/?sdk-conditional`;
    const first = await pageshot.screenshot({ url, cacheTtl: 60 });
    assert.ok(first.etag);
    const before304 = await served('/screenshot', 'POST', 304);
    const retries: RetryEvent[] = [];
    const same = await client({ onRetry: (event) => retries.push(event) }).screenshot({ url, cacheTtl: 60 }, { ifNoneMatch: first.etag });
    assert.equal(same.notModified, true);
    assert.deepEqual([same.image.length, same.contentType], [0, '']);
    assert.deepEqual([same.cache, same.etag], ['HIT', first.etag]);
    assert.equal(typeof same.age, 'number');
    assert.equal(retries.length, 0);
    assert.equal((await served('/screenshot', 'POST', 304)) - before304, 1, 'the server saw exactly one request');

    const changed = await pageshot.screenshot({ url, cacheTtl: 60 }, { ifNoneMatch: '"another-tag"' });
    assert.equal(changed.notModified, false);
    assert.ok(Buffer.from(changed.image).equals(Buffer.from(first.image)), 'another tag gets the bytes');
    assert.equal(renders(url), 1);

    // pdf() takes both too.
    const html = '<h1>cached pdf</h1>';
    const document = await pageshot.pdf({ html, cacheTtl: 60 });
    assert.equal(document.cache, 'MISS');
    const again = await pageshot.pdf({ html, cacheTtl: 60 }, { ifNoneMatch: document.etag });
    assert.deepEqual([again.notModified, again.cache, again.image.length], [true, 'HIT', 0]);

    // A value no header can carry is refused before sending, not mistaken for a lost connection and retried.
    const refused = await failure(pageshot.screenshot(url, { ifNoneMatch: '"a"\r\nx-injected: 1' }), PageShotError);
    assert.equal(refused instanceof ConnectionError, false);
    assert.match(refused.message, /ifNoneMatch/);
  });

  it('never shows a key in any error or in the client, however it is printed', () => {
    assert.ok(seenErrors.length >= 15, `${seenErrors.length} errors seen`);
    const pageshot = client();
    for (const item of [...seenErrors, pageshot]) {
      const texts = [
        String(item),
        (item as Error).stack ?? '',
        JSON.stringify(item),
        util.inspect(item, { depth: Infinity, showHidden: true, getters: true }),
      ];
      for (const text of texts) for (const secret of secrets) assert.equal(text.includes(secret), false, `a key shows in: ${text.slice(0, 200)}`);
    }
    assert.ok(seenErrors.some((error) => error instanceof ApiError && error.requestId), 'the errors checked include server answers');
  });
});

describe('TypeScript client: async jobs and webhooks against a real PageShot', { skip: noRedisServer }, () => {
  let redis: PrivateRedis;
  let site: FixtureSite;
  let server: TestServer;
  /** A client of a key of its own, and one of another key. */
  let mine: PageShot;
  let theirs: PageShot;

  before(async () => {
    redis = await startPrivateRedis();
    site = await startFixtureSite();
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_REDIS_URL: redis.url });
    const key = (await createKey(server, { name: 'jobs', scopes: ['screenshot'] })).key;
    const other = (await createKey(server, { name: 'someone else', scopes: ['screenshot'] })).key;
    secrets.add(key).add(other);
    mine = new PageShot({ apiKey: key, baseUrl: server.url, retryBaseDelayMs: 50 });
    theirs = new PageShot({ apiKey: other, baseUrl: server.url, retryBaseDelayMs: 50 });
  });
  after(async () => {
    await server.stop();
    await site.close();
    await redis.kill();
  });

  it('submit → wait → result: the image asked for, the metadata given back, and an ETag that answers 304', async () => {
    const metadata = { order: 42, nested: { ok: true, text: 'ünïcode' } };
    const submitted = await mine.submit({ url: `${site.url}/`, width: 400, height: 300, metadata });
    assert.match(submitted.id, /^job_/);
    assert.equal(submitted.status, 'queued');
    assert.equal(submitted.statusUrl, `/v1/jobs/${submitted.id}`);
    assert.equal(submitted.resultUrl, `/v1/jobs/${submitted.id}/result`);

    const job = await mine.wait(submitted.id, { timeoutMs: 30_000, pollIntervalMs: 100 });
    assert.equal(job.status, 'succeeded', util.inspect(job.error));
    assert.deepEqual(job.metadata, metadata);
    assert.equal(job.error, null);
    assert.ok(job.result, 'a succeeded job describes its result');
    assert.ok(job.startedAt && job.finishedAt);

    const shot = await mine.result(submitted.id);
    assert.equal(shot.contentType, 'image/png');
    assert.equal(shot.image.length, job.result.bytes);
    assert.equal(shot.etag, job.result.etag);
    const image = await decodeImage(Buffer.from(shot.image));
    assert.deepEqual([image.format, image.width, image.height], ['png', 400, 300]);

    const again = await mine.result(submitted.id, { ifNoneMatch: shot.etag });
    assert.equal(again.notModified, true);
    assert.equal(again.image.length, 0);

    // Deleted: gone for its owner, and deleting again is done too.
    await mine.deleteJob(submitted.id);
    await mine.deleteJob(submitted.id);
    assert.equal((await failure(mine.job(submitted.id), NotFoundError)).code, 'JOB_NOT_FOUND');
  });

  it('result() of an unfinished job is ConflictError JOB_NOT_READY with retryAfter, sent once; wait() then sees it finish', async () => {
    const { id } = await mine.submit({ url: `${site.url}/slow?ms=1500` });
    const early = await failure(mine.result(id), ConflictError);
    assert.equal(early.code, 'JOB_NOT_READY');
    assert.equal(early.retryAfter, 1);
    assert.equal(early.attempts, 1, 'a 409 is not retried');
    assert.equal((await mine.wait(id, { timeoutMs: 30_000, pollIntervalMs: 100 })).status, 'succeeded');
    assert.equal((await mine.result(id)).contentType, 'image/png');
  });

  it('a failed job: wait() returns it with its error, result() is ConflictError JOB_FAILED with jobError', async () => {
    const { id } = await mine.submit({ html: '<!doctype html><body style="background:#fff"></body>', failOnBlank: true });
    const job = await mine.wait(id, { timeoutMs: 30_000, pollIntervalMs: 100 });
    assert.equal(job.status, 'failed');
    assert.equal(job.error?.code, 'BLANK_PAGE');
    assert.equal(job.result, null);
    const error = await failure(mine.result(id), ConflictError);
    assert.equal(error.code, 'JOB_FAILED');
    assert.equal(error.jobError, 'BLANK_PAGE');
  });

  it("another key's job is NotFoundError JOB_NOT_FOUND (never 403) for job(), wait() and result(), like an unknown id", async () => {
    const { id } = await mine.submit({ html: '<h1>mine</h1>' });
    const unknown = `job_${'A'.repeat(22)}`; // well-formed (a malformed id is a 400 ValidationError)
    const calls = [() => theirs.job(id), () => theirs.wait(id, { timeoutMs: 1000 }), () => theirs.result(id), () => theirs.deleteJob(id), () => mine.job(unknown), () => mine.result(unknown)];
    for (const call of calls) {
      const error = await failure(call(), NotFoundError);
      assert.equal(error.status, 404);
      assert.equal(error.code, 'JOB_NOT_FOUND');
      assert.equal(error.attempts, 1);
    }
    assert.equal((await mine.wait(id, { timeoutMs: 30_000, pollIntervalMs: 100 })).status, 'succeeded', 'the owner still sees it');
  });

  it('webhooks: a webhookUrl needs a secret; the delivery verifies with verifyWebhook() and carries the job; deleting the secret refuses webhookUrl again', async () => {
    const received: Array<{ headers: http.IncomingHttpHeaders; body: Buffer }> = [];
    const receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(204).end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      assert.equal(await mine.webhookSecret(), null, 'a new key has no secret');
      await mine.deleteWebhookSecret(); // deleting none is done too
      const missing = await failure(mine.submit({ html: '<h1>hook</h1>', webhookUrl }), ValidationError);
      assert.equal(missing.code, 'WEBHOOK_SECRET_MISSING');

      const created = await mine.createWebhookSecret();
      secrets.add(created.secret);
      assert.match(created.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
      assert.equal((await mine.webhookSecret())?.hint, created.hint);

      const { id } = await mine.submit({ html: '<h1>hook</h1>', webhookUrl, metadata: { order: 7 } });
      await mine.wait(id, { timeoutMs: 30_000, pollIntervalMs: 100 });
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(received.length, 1, 'one delivery');
      const delivery = received[0]!;
      const event = await verifyWebhook(created.secret, delivery.headers, delivery.body);
      assert.equal(event.type, 'job.succeeded');
      assert.equal(event.data.id, id);
      assert.deepEqual(event.data.metadata, { order: 7 });
      const otherSecret = (await theirs.createWebhookSecret()).secret;
      secrets.add(otherSecret);
      await assert.rejects(verifyWebhook(otherSecret, delivery.headers, delivery.body), WebhookVerificationError);

      await mine.deleteWebhookSecret();
      assert.equal(await mine.webhookSecret(), null);
      assert.equal((await failure(mine.submit({ html: '<h1>hook</h1>', webhookUrl }), ValidationError)).code, 'WEBHOOK_SECRET_MISSING');
    } finally {
      receiver.closeAllConnections();
      receiver.close();
    }
  });
});
