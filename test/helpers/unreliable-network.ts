/**
 * Stand-ins for a network that misbehaves, on loopback: a proxy in front of a real
 * PageShot that breaks chosen answers off half way, and a server that answers at its own
 * (slow) pace. The clients' tests use them for what PageShot itself cannot be made to do.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP server and how to stop it. */
export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

async function listen(server: http.Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: http.Server): () => Promise<void> {
  return async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
}

/** A proxy to `target` that counts requests; the answers numbered in `cut` (1 = first) lose the second half of their body. */
export interface CuttingProxy extends LocalServer {
  requests: number;
  cut: Set<number>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

/** Starts a proxy to the server at `target`. */
export async function startCuttingProxy(target: string, cut: Iterable<number>): Promise<CuttingProxy> {
  const proxy = { requests: 0, cut: new Set(cut) } as CuttingProxy;
  const server = http.createServer(async (req, res) => {
    const number = ++proxy.requests;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.entries(req.headers).filter(([name]) => !HOP_BY_HOP.has(name)) as Array<[string, string]>;
    const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
    const body = Buffer.from(await answer.arrayBuffer());
    const out: Record<string, string> = {};
    answer.headers.forEach((value, name) => {
      if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') out[name] = value;
    });
    res.writeHead(answer.status, { ...out, 'content-length': String(body.length), connection: 'close' });
    if (proxy.cut.has(number) && answer.status === 200) {
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
    } else res.end(body);
  });
  proxy.url = await listen(server);
  proxy.close = closer(server);
  return proxy;
}

/** Starts a server whose every request is answered by `handle` (a slow, stalling or trickling answer). */
export async function startLocalServer(handle: http.RequestListener): Promise<LocalServer> {
  const server = http.createServer(handle);
  return { url: await listen(server), close: closer(server) };
}
