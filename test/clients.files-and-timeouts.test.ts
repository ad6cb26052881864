import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  CaptureError,
  ConnectionError,
  PageShot,
  PageShotError,
  ServerBusyError,
  TimeoutError,
  type PageShotOptions,
  type RetryEvent,
} from '../clients/typescript/src/index.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, startPageShot, type TestServer } from './helpers/harness.js';
import { AUTH_ENV, bearer, ROOT_KEY } from './helpers/keys.js';
import { startCuttingProxy, startLocalServer } from './helpers/unreliable-network.js';

/** Awaits a call that must fail with `type`. */
async function failure<T extends Error>(call: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  const error = await call.then(
    () => assert.fail(`expected ${type.name}`),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
  return error;
}

describe('TypeScript client: captures streamed to files, and what timeoutMs means, against a real PageShot', () => {
  let site: FixtureSite;
  let server: TestServer;
  let folder: string;
  const gates: http.ServerResponse[] = [];

  before(async () => {
    site = await startFixtureSite({ '/gate': (_req, res) => gates.push(res) });
    // One capture slot and no queue: a second capture while one runs is a busy 503.
    server = await startPageShot({ ...AUTH_ENV, PAGESHOT_MAX_CONCURRENCY: '1', PAGESHOT_MAX_QUEUE: '0' }, { cpuUsage: () => 10 });
  });
  after(async () => {
    openGates();
    await server.stop();
    await site.close();
  });
  beforeEach(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'pageshot-files-'));
  });
  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  function openGates(): void {
    for (const res of gates.splice(0)) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<!doctype html><p>gate</p>');
    }
  }

  async function until(condition: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 250 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(condition(), `timed out waiting for ${what}`);
  }

  /** Lets a capture of /gate that a test gave up on finish, and its slot free up. */
  async function releaseAbandoned(): Promise<void> {
    await until(() => {
      openGates();
      return server.app.admission.stats().activeRequests === 0;
    }, 'the slot to be free');
  }

  /** Requests the server answered on POST /screenshot, whatever the status, as its own metrics count them. */
  async function captureRequests(): Promise<number> {
    const metric = await server.app.metrics.httpRequests.get();
    return metric.values.filter(({ labels }) => labels.route === '/screenshot' && labels.method === 'POST').reduce((sum, { value }) => sum + value, 0);
  }

  const client = (options: PageShotOptions = {}) => new PageShot({ apiKey: ROOT_KEY, baseUrl: server.url, retryBaseDelayMs: 20, ...options });
  const files = () => readdir(folder).then((names) => names.sort());
  const at = (name: string) => path.join(folder, name);
  const blank = { html: '<!doctype html><body style="background:#fff"></body>', failOnBlank: true };

  it('screenshotToFile writes the capture and leaves nothing else beside it', async () => {
    const saved = await client().screenshotToFile({ url: `${site.url}/`, width: 400, height: 300 }, at('shot.png'));
    assert.deepEqual(await files(), ['shot.png']);
    const written = await readFile(at('shot.png'));
    const image = await decodeImage(written);
    assert.deepEqual([image.format, image.width, image.height], ['png', 400, 300]);
    assert.deepEqual([saved.path, saved.bytes, saved.contentType, saved.notModified], [at('shot.png'), written.length, 'image/png', false]);
    assert.equal(typeof saved.timing.renderMs, 'number');
  });

  it('a failed capture leaves no file, and an existing file as it was', async () => {
    const refused = await failure(client().screenshotToFile(blank, at('new.png')), CaptureError);
    assert.equal(refused.code, 'BLANK_PAGE');
    assert.deepEqual(await files(), [], 'neither the file nor a part file');

    await writeFile(at('old.png'), 'the old bytes');
    await failure(client().screenshotToFile(blank, at('old.png')), CaptureError);
    assert.equal(await readFile(at('old.png'), 'utf8'), 'the old bytes');
    assert.deepEqual(await files(), ['old.png']);

    const before = await captureRequests();
    await failure(client().screenshotToFile(`${site.url}/`, at('no/such/folder/x.png')), PageShotError);
    assert.equal(await captureRequests(), before, 'a folder that is not there is refused before a request is spent');
  });

  it('a busy answer is retried and the file written once', async () => {
    const occupied = server.shoot({ url: `${site.url}/gate` }, { headers: bearer(ROOT_KEY) });
    await until(() => gates.length > 0, 'the capture to reach /gate');
    const retries: RetryEvent[] = [];
    const saved = await client({ onRetry: (event) => (retries.push(event), openGates()) }).screenshotToFile(`${site.url}/?file-busy`, at('busy.png'));
    await occupied;
    assert.ok(retries[0]?.error instanceof ServerBusyError);
    assert.deepEqual(await files(), ['busy.png']);
    assert.equal((await readFile(at('busy.png'))).length, saved.bytes);
  });

  it('a download that breaks off is retried into a new file, never appended to; without retries it leaves nothing', async () => {
    const whole = Buffer.from((await client().screenshot({ url: `${site.url}/`, width: 400, height: 300 })).image);
    const proxy = await startCuttingProxy(server.url, [1]);
    try {
      const retries: RetryEvent[] = [];
      const saved = await client({ baseUrl: proxy.url, onRetry: (event) => retries.push(event) }).screenshotToFile(
        { url: `${site.url}/`, width: 400, height: 300 },
        at('cut.png'),
      );
      assert.equal(proxy.requests, 2, 'the broken download was asked for again');
      assert.ok(retries[0]?.error instanceof ConnectionError);
      assert.ok((await readFile(at('cut.png'))).equals(whole), 'exactly one capture: the half of the first is gone');
      assert.equal(saved.bytes, whole.length);

      proxy.cut.add(3);
      const broken = await failure(client({ baseUrl: proxy.url, maxRetries: 0 }).screenshotToFile(`${site.url}/`, at('gone.png')), ConnectionError);
      assert.equal(broken.attempts, 1);
      assert.deepEqual(await files(), ['cut.png']);
    } finally {
      await proxy.close();
    }
  });

  it('an unchanged capture (ifNoneMatch) does not touch the file', async () => {
    const url = `${site.url}/?file-conditional`;
    const first = await client().screenshotToFile({ url, cacheTtl: 60 }, at('held.png'));
    const held = await readFile(at('held.png'));
    const same = await client().screenshotToFile({ url, cacheTtl: 60 }, at('held.png'), { ifNoneMatch: first.etag });
    assert.deepEqual([same.notModified, same.bytes, same.cache], [true, 0, 'HIT']);
    assert.ok((await readFile(at('held.png'))).equals(held));
    assert.deepEqual(await files(), ['held.png']);
  });

  it('screenshotStream hands over the body to pipe anywhere; a break is the stream’s error, never a silent restart', async () => {
    const whole = Buffer.from((await client().screenshot({ url: `${site.url}/`, width: 400, height: 300 })).image);
    const shot = await client().screenshotStream({ url: `${site.url}/`, width: 400, height: 300 });
    assert.equal(shot.contentType, 'image/png');
    await pipeline(Readable.fromWeb(shot.body as import('node:stream/web').ReadableStream), createWriteStream(at('piped.png')));
    assert.ok((await readFile(at('piped.png'))).equals(whole));

    const proxy = await startCuttingProxy(server.url, [1]);
    try {
      const cut = await client({ baseUrl: proxy.url }).screenshotStream({ url: `${site.url}/`, width: 400, height: 300 });
      const read = new Response(cut.body).arrayBuffer();
      await failure(read, ConnectionError);
      assert.equal(proxy.requests, 1, 'not retried once the body was handed over');
    } finally {
      await proxy.close();
    }
  });

  it('timeoutMs bounds the whole answer of one attempt, not each read', async () => {
    const body = Buffer.from('{"id":"root","kind":"root"}');
    const trickle = await startLocalServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
      for (const byte of body) {
        if (res.destroyed) return;
        res.write(Buffer.from([byte]));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      res.end();
    });
    try {
      const start = Date.now();
      const timedOut = await failure(client({ baseUrl: trickle.url, timeoutMs: 500, maxRetries: 0 }).me(), TimeoutError);
      assert.equal(timedOut.attempts, 1);
      assert.ok(Date.now() - start < 1500, `cut off at the deadline, not after the ${body.length * 100} ms the body takes`);
    } finally {
      await trickle.close();
    }
  });

  it('each retry gets a deadline of its own', async () => {
    let requests = 0;
    const stallOnce = await startLocalServer((_req, res) => {
      const wait = ++requests === 1 ? 2000 : 300;
      setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"root"}'), wait);
    });
    try {
      const retries: RetryEvent[] = [];
      const start = Date.now();
      const me = await client({ baseUrl: stallOnce.url, timeoutMs: 500, maxRetries: 1, onRetry: (event) => retries.push(event) }).me();
      assert.equal(me.id, 'root');
      assert.ok(retries[0]?.error instanceof TimeoutError);
      assert.ok(Date.now() - start > 500, 'the call as a whole outlived one deadline');
    } finally {
      await stallOnce.close();
    }
  });

  it('the capture option timeout is the server’s render deadline in ms, and must be shorter than timeoutMs', async () => {
    const start = Date.now();
    const missed = await failure(client().screenshot({ url: `${site.url}/gate`, timeout: 1000 }), CaptureError);
    assert.deepEqual([missed.status, missed.code, missed.attempts], [504, 'RENDER_TIMEOUT', 1]);
    assert.ok(Date.now() - start < 10_000, 'answered by the server, long before the client’s own deadline');
    await releaseAbandoned();

    const before = await captureRequests();
    const refused = await failure(client({ timeoutMs: 5000 }).screenshot({ url: `${site.url}/`, timeout: 5000 }), PageShotError);
    assert.equal(refused instanceof ConnectionError, false);
    assert.match(refused.message, /timeoutMs/);
    await failure(client().screenshotStream({ url: `${site.url}/`, timeout: 5000 }, { timeoutMs: 4000 }), PageShotError);
    assert.equal(await captureRequests(), before, 'refused before sending');
    assert.equal((await client({ timeoutMs: 5500 }).screenshot({ url: `${site.url}/`, timeout: 5000 })).contentType, 'image/png');
  });
});
