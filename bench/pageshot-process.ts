/**
 * PageShot for a benchmark, either in the bench's own Node process (the test harness) or
 * as a separate `pageshot serve` process, the way it runs in production. Both answer the
 * same small interface, and both can say what their Chromium holds in memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromiumMemory, type ProcessMemory } from '../src/capture/process-memory.js';
import { loadConfig } from '../src/config.js';
import { httpRequest, startPageShot, TEST_ENV, type Reply, type RequestOptions } from '../test/helpers/harness.js';

/** Where PageShot runs: `process` (a separate `pageshot serve`) or `inline` (this process). */
export type ServerMode = 'process' | 'inline';

/** A running PageShot the bench talks to over HTTP. */
export interface BenchServer {
  url: string;
  /** The server's own process (its tree holds its Chromium); undefined when it runs inside the bench. */
  pid: number | undefined;
  request(route: string, options?: RequestOptions): Promise<Reply>;
  shoot(body: Record<string, unknown>, options?: Omit<RequestOptions, 'body'>): Promise<Reply>;
  /** What this PageShot's Chromium holds now (PSS/RSS over its process tree). */
  chromiumMemory(): ProcessMemory | undefined;
  stop(): Promise<void>;
}

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The test environment, but with the production CPU shedding threshold: a benchmark
 * measures the server as it runs in production (the tests switch shedding off).
 */
const BENCH_ENV = { ...TEST_ENV, PAGESHOT_CPU_BUSY_PERCENT: String(loadConfig({}).cpuBusyPercent) };
const START_TIMEOUT_MS = 60_000;

/** A TCP port that was free a moment ago (the server binds it right after). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Polls GET /status until the server answers, or fails after START_TIMEOUT_MS. */
async function waitUntilUp(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pageshot serve exited with ${child.exitCode}: ${output()}`);
    try {
      if ((await httpRequest(url, '/status')).status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`pageshot serve did not answer within ${START_TIMEOUT_MS} ms: ${output()}`);
}

/**
 * Starts `pageshot serve` (through tsx, from this checkout) with the test environment plus
 * `env`, on a free loopback port, with its own data directory.
 */
async function startProcess(env: Record<string, string>): Promise<BenchServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'pageshot-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli.ts'), 'serve'], {
    cwd: REPO,
    env: { ...process.env, ...BENCH_ENV, PORT: String(port), PAGESHOT_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(35_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilUp(url, child, () => stderr);
  } catch (error) {
    await stop();
    throw error;
  }
  const request = (route: string, options?: RequestOptions) => httpRequest(url, route, options);
  return {
    url,
    pid: child.pid,
    request,
    shoot: (body, options) => request('/screenshot', { ...options, body }),
    chromiumMemory: () => (child.pid === undefined ? undefined : chromiumMemory(child.pid)),
    stop,
  };
}

/** Starts PageShot for one scenario, in `mode`. */
export async function startBenchServer(mode: ServerMode, env: Record<string, string>): Promise<BenchServer> {
  if (mode === 'process') return startProcess(env);
  const server = await startPageShot({ PAGESHOT_CPU_BUSY_PERCENT: BENCH_ENV.PAGESHOT_CPU_BUSY_PERCENT, ...env });
  return { ...server, pid: undefined, chromiumMemory: () => chromiumMemory() };
}
