import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { startPageShot, type TestServer } from './helpers/harness.js';
import { noRedisServer, startPrivateRedis, type PrivateRedis } from './helpers/redis-server.js';
import { AUTH_ENV, ROOT_KEY } from './helpers/keys.js';
import { PYTHON, pythonMissing, ROOT } from './helpers/python.js';

/** Runs the unittest suite in a child process (so this process keeps serving it). */
function runUnittest(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, ['-m', 'unittest', 'discover', '-s', 'clients/python/tests', '-v'], {
      cwd: ROOT,
      env: { ...process.env, PYTHONPATH: path.join(ROOT, 'clients/python'), PYTHONDONTWRITEBYTECODE: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('Python client against a real PageShot', () => {
  let site: FixtureSite;
  let server: TestServer;
  let redis: PrivateRedis | undefined;
  const gates: http.ServerResponse[] = [];

  before(async () => {
    site = await startFixtureSite({
      // Holds its answer until /gates/open: a capture that takes exactly as long as a test needs.
      '/gate': (_req, res) => gates.push(res),
      // A redirect, so the final URL differs from the one asked for.
      '/moved': (_req, res) => {
        res.writeHead(302, { location: '/' });
        res.end();
      },
      '/gates/waiting': (_req, res) => res.end(String(gates.length)),
      // How many requests this site received for ?path=…&query=… (the query with its `?`):
      // one per render of that page, none for an answer from PageShot's result cache.
      '/seen': (_req, res, url) => {
        const path = url.searchParams.get('path');
        const query = url.searchParams.get('query') ?? '';
        res.end(String(site.seen.filter((seen) => seen.path === path && seen.query === query).length));
      },
      '/gates/open': (_req, res) => {
        for (const held of gates.splice(0)) {
          held.writeHead(200, { 'content-type': 'text/html' });
          held.end('<!doctype html><p>gate</p>');
        }
        res.end('ok');
      },
    });
    // One capture slot and no queue (503 QUEUE_FULL while one runs), with a calm CPU
    // reading so a busy test machine does not turn that into SERVER_BUSY.
    // With Redis, for async jobs (their tests skip themselves on a server without it).
    redis = noRedisServer ? undefined : await startPrivateRedis();
    const jobs: Record<string, string> = redis ? { PAGESHOT_REDIS_URL: redis.url } : {};
    server = await startPageShot({ ...AUTH_ENV, ...jobs, PAGESHOT_MAX_CONCURRENCY: '1', PAGESHOT_MAX_QUEUE: '0' }, { cpuUsage: () => 10 });
  });
  after(async () => {
    for (const held of gates.splice(0)) held.end();
    await server.stop();
    await site.close();
    await redis?.kill();
  });

  it('passes its unittest suite: success, capture options and answer headers, PDF, devices, result cache (cache_ttl, HIT/MISS, ETag, Age, 304), 401/403 without retries, busy and 429 retried per Retry-After, caps, cancel, no key in errors, captures streamed to files and file objects (no partial file, retries restart it), what timeout means, unknown options refused, signed links, the error table', { skip: pythonMissing() }, async (t) => {
    const { code, output } = await runUnittest({
      PAGESHOT_TEST_BASE_URL: server.url,
      PAGESHOT_TEST_ROOT_KEY: ROOT_KEY,
      PAGESHOT_TEST_FIXTURE_URL: site.url,
      PAGESHOT_API_KEY: '',
    });
    assert.equal(code, 0, output);
    assert.match(output, /^Ran \d+ tests? in/m, output);
    assert.match(output, /^OK( \(skipped=\d+\))?$/m, output);
    assert.doesNotMatch(output, /needs a PageShot/, 'the suite found the server');
    for (const line of output.split('\n').filter((text) => / \.\.\. ok$|^Ran /.test(text))) t.diagnostic(line);
  });
});
