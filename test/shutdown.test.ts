import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { httpRequest, readReply, startPageShot, tempDataDir, TEST_ENV, type Reply } from './helpers/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** A running `pageshot serve` child and when it exited. */
interface Serve {
  child: ChildProcess;
  exited: Promise<{ code: number | null; at: number }>;
}

/** Starts the real CLI from source; stdout is the JSON log, collected in `lines`. */
function serve(env: Record<string, string>, lines: Array<Record<string, unknown>> = []): Serve {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: ROOT,
    env: { ...process.env, ...TEST_ENV, PAGESHOT_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.resume();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: Date.now() })));
  return { child, exited };
}

/** Resolves with the base URL once the child logs that it listens. */
function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
  });
}

/** One request over `agent` (keep-alive), as SDKs and browsers send them. */
function keepAliveRequest(agent: http.Agent, url: string, body?: unknown): Promise<Reply & { at: number }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = http.request(
      url,
      { method: payload ? 'POST' : 'GET', agent, headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => readReply(res).then((reply) => resolve({ ...reply, at: Date.now() }), reject),
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** A Chromium wrapper that puts a unique marker on the browser's command line, so exactly one test's browser can be found. */
function markedChromium(): { path: string; marker: string; remove(): void } {
  const marker = `--pageshot-test-marker=${randomUUID()}`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-chromium-'));
  const wrapper = path.join(dir, 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/chromium "$@" ${marker}\n`);
  chmodSync(wrapper, 0o755);
  chmodSync(dir, 0o755); // the browser may be started as another user
  return {
    path: wrapper,
    marker,
    remove() {
      for (const pid of processesWith(marker)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PIDs of processes whose command line holds `marker`. */
function processesWith(marker: string): number[] {
  const output = execFileSync('ps', ['-ww', '-eo', 'pid=,args='], { encoding: 'utf8' });
  return output
    .split('\n')
    .filter((line) => line.includes(marker) && !line.includes('ps -eo'))
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

describe('pageshot serve stops promptly and leaves nothing behind', () => {
  let site: FixtureSite;
  let dataDir: string;
  let agent: http.Agent;

  before(async () => {
    site = await startFixtureSite();
    dataDir = tempDataDir();
  });
  after(async () => {
    await site.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('finishes a running capture on SIGTERM and exits 0 within 2 s of answering it, with the client keeping its connection alive', async () => {
    agent = new http.Agent({ keepAlive: true });
    const server = serve({ PAGESHOT_DATA_DIR: dataDir });
    const url = await listening(server.child);
    const hitsBefore = site.hits('/slow');
    const capture = keepAliveRequest(agent, `${url}/screenshot`, { url: `${site.url}/slow?ms=1500` });
    while (site.hits('/slow') === hitsBefore) await new Promise((resolve) => setTimeout(resolve, 20));
    server.child.kill('SIGTERM');
    const reply = await capture;
    assert.equal(reply.status, 200, 'the running capture completed');
    const { code, at } = await server.exited;
    assert.equal(code, 0);
    assert.ok(at - reply.at < 2_000, `exited ${at - reply.at} ms after the capture was answered`);
    agent.destroy();
  });

  it('exits 0 within 2 s of SIGTERM when idle, although a client holds a keep-alive connection', async () => {
    agent = new http.Agent({ keepAlive: true });
    const server = serve({ PAGESHOT_DATA_DIR: dataDir });
    const url = await listening(server.child);
    assert.equal((await keepAliveRequest(agent, `${url}/status`)).status, 200);
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const { code, at } = await server.exited;
    assert.equal(code, 0);
    assert.ok(at - signalled < 2_000, `exited ${at - signalled} ms after SIGTERM`);
    agent.destroy();
  });

  it('keeps answering new connections 503 SHUTTING_DOWN during the drain, finishes the running capture and exits 0', async () => {
    const log: Array<Record<string, unknown>> = [];
    const server = serve({ PAGESHOT_DATA_DIR: dataDir, PAGESHOT_SHUTDOWN_TIMEOUT_MS: '20000' }, log);
    const url = await listening(server.child);
    const hitsBefore = site.hits('/slow');
    const capture = httpRequest(url, '/screenshot', { body: { url: `${site.url}/slow?ms=2500` } });
    while (site.hits('/slow') === hitsBefore) await new Promise((resolve) => setTimeout(resolve, 20));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    while (!log.some((line) => line.msg === 'shutting down')) await new Promise((resolve) => setTimeout(resolve, 20));

    // New connections (agent: false) while the capture runs: told, not refused.
    for (const path of ['/status', '/readyz', '/screenshot?url=http%3A%2F%2F127.0.0.1%2F']) {
      const late = await httpRequest(url, path);
      assert.equal(late.status, 503, `${path}: ${late.body.toString()}`);
      assert.equal(late.json?.code, 'SHUTTING_DOWN', path);
      assert.equal(late.headers.connection, 'close', path);
      assert.match(String(late.headers['retry-after']), /^\d+$/, path);
    }
    const reply = await capture;
    const answeredAt = Date.now();
    assert.equal(reply.status, 200, 'the running capture completed');
    const { code, at } = await server.exited;
    assert.equal(code, 0);
    assert.ok(at - signalled < 20_000, `exited ${at - signalled} ms after SIGTERM, within the drain time`);
    assert.ok(at - answeredAt < 2_000, `exited ${at - answeredAt} ms after the capture was answered`);
  });

  it('stops listening and exits 0 when the drain time is up, although a capture still runs', async () => {
    const server = serve({ PAGESHOT_DATA_DIR: dataDir, PAGESHOT_SHUTDOWN_TIMEOUT_MS: '1500' });
    const url = await listening(server.child);
    const hitsBefore = site.hits('/slow');
    // A page that never answers: only the drain time ends this capture.
    const capture = httpRequest(url, '/screenshot', { body: { url: `${site.url}/slow`, timeout: 60_000 } }).catch((error: Error) => error);
    while (site.hits('/slow') === hitsBefore) await new Promise((resolve) => setTimeout(resolve, 20));
    const signalled = Date.now();
    server.child.kill('SIGTERM');
    const { code, at } = await server.exited;
    assert.equal(code, 0);
    // 1.5 s of drain, then the browser and the stores close: well under the 60 s the capture asked for.
    assert.ok(at - signalled < 1_500 + 5_000, `exited ${at - signalled} ms after SIGTERM`);
    assert.ok(at - signalled >= 1_400, `the drain waited for the capture: ${at - signalled} ms`);
    const cut = await capture;
    assert.ok(cut instanceof Error || cut.status !== 200, 'the capture was cut, not answered with a picture');
  });

  it('exits non-zero and leaves no Chromium behind when its port is taken', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const chromium = markedChromium();
    try {
      const log: Array<Record<string, unknown>> = [];
      const server = serve({ PAGESHOT_DATA_DIR: dataDir, PORT: String(port), PAGESHOT_CHROMIUM_PATH: chromium.path }, log);
      const { code } = await server.exited;
      assert.notEqual(code, 0);
      // The app was stopped (browser closed by us, the store flushed), not just abandoned to process exit.
      const stopped = log.find((line) => typeof line.durationsMs === 'object');
      assert.equal(typeof (stopped?.durationsMs as Record<string, unknown> | undefined)?.browser, 'number', 'the app was stopped');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      assert.deepEqual(processesWith(chromium.marker), [], 'no Chromium outlives the failed start');
    } finally {
      chromium.remove();
      blocker.close();
    }
  });

  it('closes the Chromium it launched when a later start-up step fails (in process)', async () => {
    const chromium = markedChromium();
    try {
      const config = loadConfig({ ...TEST_ENV, PAGESHOT_DATA_DIR: dataDir, PAGESHOT_CHROMIUM_PATH: chromium.path });
      // Fastify refuses a body limit that is not an integer: the HTTP layer, built after Chromium, fails.
      config.limits.maxHtmlBytes = Number.NaN;
      await assert.rejects(createApp(config, { logger: createLogger('silent') }));
      const deadline = Date.now() + 5_000;
      while (processesWith(chromium.marker).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(processesWith(chromium.marker), [], 'no Chromium outlives the failed start');
    } finally {
      chromium.remove();
    }
  });
});

describe('app.stop() drains in process', () => {
  it('answers 503 SHUTTING_DOWN to a new connection while a capture runs, completes the capture, then stops listening', async () => {
    const site = await startFixtureSite();
    const pageshot = await startPageShot({ PAGESHOT_SHUTDOWN_TIMEOUT_MS: '20000' }, { cpuUsage: () => 0 });
    try {
      const hitsBefore = site.hits('/slow');
      const capture = pageshot.shoot({ url: `${site.url}/slow?ms=1500` });
      while (site.hits('/slow') === hitsBefore) await new Promise((resolve) => setTimeout(resolve, 20));
      const stopping = pageshot.app.stop();
      let stopped = false;
      void stopping.then(() => (stopped = true));
      const late = await pageshot.request('/readyz');
      assert.equal(late.status, 503);
      assert.equal(late.json?.code, 'SHUTTING_DOWN');
      assert.equal(late.json?.status, 'busy');
      assert.equal(late.headers.connection, 'close');
      assert.equal(stopped, false, 'still draining while the capture runs');
      const reply = await capture;
      assert.equal(reply.status, 200, reply.body.toString());
      await stopping;
      await assert.rejects(pageshot.request('/status'), 'no longer listening once drained');
    } finally {
      await pageshot.stop();
      await site.close();
    }
  });
});
