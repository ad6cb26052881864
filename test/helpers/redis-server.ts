import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

/** Why a private redis-server cannot be started here, or undefined when it can. */
export const noRedisServer = spawnSync('redis-server', ['--version']).error
  ? 'redis-server is not on PATH; install it (apt-get install redis-server) to run this test'
  : undefined;

/** A redis-server of one test's own, which the test may kill. */
export interface PrivateRedis {
  url: string;
  port: number;
  process: ChildProcess;
  /** Kills it at once (SIGKILL: no goodbye to its clients) and waits for it to exit. */
  kill(): Promise<void>;
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Spawns redis-server on `port` (a free one by default), without persistence, and waits until it answers. */
export async function startPrivateRedis(port?: number): Promise<PrivateRedis> {
  const chosen = port ?? (await freePort());
  const child = spawn('redis-server', ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitForPing(chosen);
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    process: child,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resolves once Redis on `port` answers PING (5 s at most). */
export async function waitForPing(port: number): Promise<void> {
  const client = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if (client.status !== 'ready') await client.connect();
        await client.ping();
        return;
      } catch {
        client.disconnect();
        await sleep(50);
      }
    }
    throw new Error(`redis-server on port ${port} did not start`);
  } finally {
    client.disconnect();
  }
}
