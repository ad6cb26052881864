import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startFixtureSite, type FixtureSite } from './helpers/fixture-site.js';
import { decodeImage, httpRequest, tempDataDir, TEST_ENV } from './helpers/harness.js';
import { descendants, stillPresent, waitFor } from './helpers/processes.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** The key store of every server and keys command these tests start. */
const DATA_DIR = tempDataDir();

/** Starts the real CLI (`pageshot …`) from source in a child process. */
function cli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...TEST_ENV, PAGESHOT_DATA_DIR: DATA_DIR, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Waits for a child to exit; returns its code and everything it printed. */
function finished(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Reads the JSON log of `pageshot serve` until Fastify says where it listens. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (match) resolve(match[1]!);
    });
    child.on('exit', (code) => reject(new Error(`serve exited early with ${code}`)));
  });
}

describe('the pageshot command', () => {
  let site: FixtureSite;
  let dir: string;

  before(async () => {
    site = await startFixtureSite();
    dir = await mkdtemp(path.join(os.tmpdir(), 'pageshot-cli-'));
  });
  after(async () => {
    await site.close();
    await rm(dir, { recursive: true, force: true });
    await rm(DATA_DIR, { recursive: true, force: true });
  });

  it('shoot writes an image with the requested options, without a server', async () => {
    const output = path.join(dir, 'shot.jpeg');
    const result = await finished(
      cli(['shoot', `${site.url}/`, '-o', output, '--width', '400', '--height', '300', '--format', 'jpeg']),
    );
    assert.equal(result.code, 0, result.stderr);
    const image = await decodeImage(await readFile(output));
    assert.deepEqual([image.format, image.width, image.height], ['jpeg', 400, 300]);
  });

  it('shoot refuses a bad option value naming the option, and exits non-zero', async () => {
    const result = await finished(cli(['shoot', `${site.url}/`, '-o', path.join(dir, 'x.png'), '--width', '99999']));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /VALIDATION_ERROR.*width/);
  });

  it('refuses an unknown command with usage and exit code 2', async () => {
    const result = await finished(cli(['explode']));
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Usage:/);
  });

  it('serve stops with a clear message when a variable is invalid', async () => {
    const result = await finished(cli(['serve'], { PAGESHOT_MAX_QUEUE: 'lots' }));
    assert.equal(result.code, 1);
    assert.match(result.stderr, /PAGESHOT_MAX_QUEUE/);
  });

  it('serve on SIGTERM finishes the running capture, refuses new work, exits 0 and leaves no Chromium behind', async () => {
    const server = cli(['serve'], { PAGESHOT_LOG_LEVEL: 'info' });
    const exit = finished(server);
    const url = await listeningUrl(server);
    const browserTree = descendants(server.pid!).map((info) => info.pid);
    assert.ok(browserTree.length > 0, 'Chromium runs under the server');

    const running = httpRequest(url, '/screenshot', { body: { url: `${site.url}/slow?ms=1500` } });
    await waitFor(() => site.hits('/slow') === 1, 10_000, 'the capture to reach the site');
    server.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = await httpRequest(url, '/status').catch((error: NodeJS.ErrnoException) => error);
    assert.ok(refused instanceof Error ? refused.code === 'ECONNREFUSED' : refused.status === 503, 'new work is refused');

    const reply = await running;
    assert.equal(reply.status, 200, 'the running capture completed');
    const { code, stdout } = await exit;
    assert.equal(code, 0);
    assert.match(stdout, /"msg":"stopped"/);
    await waitFor(() => stillPresent(browserTree).length === 0, 10_000, 'Chromium to exit');
  });
});
