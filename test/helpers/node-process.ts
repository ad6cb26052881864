/**
 * PageShot nodes as real processes (`pageshot serve --role …` through tsx, from this
 * checkout), for tests of many nodes: each has its own PID, can be stopped gracefully
 * (SIGTERM) or killed (SIGKILL) and started again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpRequest, TEST_ENV, type Reply, type RequestOptions } from './harness.js';
import { freePort } from './redis-server.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const START_TIMEOUT_MS = 60_000;

/** One running node. */
export interface NodeProcess {
  url: string;
  role: 'all' | 'api' | 'worker';
  child: ChildProcess;
  request(route: string, options?: RequestOptions): Promise<Reply>;
  /** The last lines it wrote to stderr (for failure messages). */
  output(): string;
  /** SIGTERM, then waits for the exit (graceful: drains, flushes usage). Resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no goodbye (a crash, a lost machine). */
  kill(): Promise<void>;
}

/** Starts a node with TEST_ENV, `env` and `role` on a free loopback port; resolves once /healthz answers. */
export async function startNode(role: NodeProcess['role'], env: Record<string, string>): Promise<NodeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli.ts'), 'serve', '--role', role], {
    cwd: REPO,
    env: { ...process.env, ...TEST_ENV, PORT: String(port), ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = once(child, 'exit');
  const node: NodeProcess = {
    url,
    role,
    child,
    request: (route, options) => httpRequest(url, route, options),
    output: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      return child.exitCode;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`pageshot serve --role ${role} exited with ${child.exitCode}: ${stderr}`);
    const up = await node.request('/healthz').then(
      (reply) => reply.status === 200,
      () => false,
    );
    if (up) return node;
    await sleep(100);
  }
  await node.kill();
  throw new Error(`pageshot serve --role ${role} did not answer within ${START_TIMEOUT_MS} ms: ${stderr}`);
}
