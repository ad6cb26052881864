import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { NetworkRefusal, type NetworkPolicy } from './network-policy.js';

/** Response header that marks an answer as a refusal by PageShot, not by the target. */
export const REFUSED_HEADER = 'x-pageshot-refused';

/** One connection the proxy refused. */
export interface ProxyRefusal {
  host: string;
  port: number;
  reason: string;
  at: number;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) and proxy credentials: never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const UPSTREAM_CONNECT_TIMEOUT_MS = 15_000;
const MAX_REMEMBERED_REFUSALS = 100;

function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

/** `host:port` of a CONNECT request line, including `[v6]:port`. */
function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(authority);
  return match ? { host: match[1]!, port: Number(match[2]) } : undefined;
}

/**
 * The loopback proxy every connection of Chromium goes through (HTTP forward for
 * http:, CONNECT for https: and WebSockets). For each connection it asks the network
 * policy once, then connects to exactly the address the policy checked, so redirects,
 * subresources, iframes, fetch/XHR, page-initiated navigations and WebSocket
 * handshakes are all held to the same rule, with no second DNS lookup to rebind.
 *
 * One proxy serves one browser context, so a key's own host list can narrow it and a
 * refusal can be told to the capture that caused it.
 */
export class GuardProxy {
  /** Recent refusals, newest last, for telling a capture why its navigation failed. */
  readonly refusals: ProxyRefusal[] = [];
  /** A key's allowed hosts, narrowing the policy for the context this proxy serves. */
  narrowHosts: readonly string[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<Duplex>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  private constructor(private readonly policy: NetworkPolicy) {
    this.server = http.createServer((request, response) => void this.forward(request, response));
    this.server.on('connect', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.tunnel(request, socket, head));
    // A WebSocket (or other upgrade) in absolute form: Chromium uses CONNECT, so refuse.
    this.server.on('upgrade', (_request: http.IncomingMessage, socket: Duplex) => socket.end('HTTP/1.1 405 Method Not Allowed\r\n\r\n'));
    this.server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  /** Starts a proxy on a random loopback port. */
  static async start(policy: NetworkPolicy): Promise<GuardProxy> {
    const proxy = new GuardProxy(policy);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  /** The proxy's URL, for Chromium's `--proxy-server` or a context's `proxy.server`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** The refusal of `host` (any port, or `port`) since `since`, if there was one. */
  refusalOf(host: string, since: number, port?: number): ProxyRefusal | undefined {
    const wanted = host.toLowerCase();
    return this.refusals.findLast(
      (refusal) => refusal.at >= since && refusal.host === wanted && (port === undefined || refusal.port === port),
    );
  }

  /** Stops listening and drops every open connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async check(host: string, port: number): Promise<string | NetworkRefusal> {
    try {
      return await this.policy.resolveDestination(host, port, this.narrowHosts);
    } catch (error) {
      const refusal = error instanceof NetworkRefusal ? error : new NetworkRefusal('the destination could not be checked');
      this.refusals.push({ host: host.replace(/^\[|\]$/g, '').toLowerCase(), port, reason: refusal.reason, at: Date.now() });
      if (this.refusals.length > MAX_REMEMBERED_REFUSALS) this.refusals.shift();
      return refusal;
    }
  }

  /** An http: request in absolute form (`GET http://host/path`). */
  private async forward(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    let target: URL;
    try {
      target = new URL(request.url ?? '');
    } catch {
      response.writeHead(400, { [REFUSED_HEADER]: 'not a proxy request' }).end();
      return;
    }
    if (target.protocol !== 'http:') {
      response.writeHead(403, { [REFUSED_HEADER]: `the scheme ${target.protocol} is not allowed` }).end();
      return;
    }
    const port = target.port === '' ? 80 : Number(target.port);
    const address = await this.check(target.hostname, port);
    if (address instanceof NetworkRefusal) {
      response.writeHead(403, { 'content-type': 'text/plain', [REFUSED_HEADER]: address.reason }).end('Refused by PageShot\n');
      return;
    }
    const upstream = http.request({
      host: address,
      port,
      method: request.method,
      path: `${target.pathname}${target.search}`,
      headers: { ...forwardable(request.headers), host: target.host },
      setHost: false,
      agent: this.agent,
      timeout: UPSTREAM_CONNECT_TIMEOUT_MS,
    });
    upstream.on('response', (answer) => {
      response.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
      answer.pipe(response);
    });
    upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502).end();
      else response.destroy();
    });
    request.pipe(upstream);
  }

  /** A CONNECT tunnel (https:, wss:, ws: through a proxy). */
  private async tunnel(request: http.IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const authority = parseAuthority(request.url ?? '');
    if (!authority) {
      client.end('HTTP/1.1 400 Bad Request\r\n\r\n');
      return;
    }
    const address = await this.check(authority.host, authority.port);
    if (address instanceof NetworkRefusal) {
      client.end(`HTTP/1.1 403 Forbidden\r\n${REFUSED_HEADER}: ${address.reason}\r\n\r\n`);
      return;
    }
    const upstream = net.connect({ host: address, port: authority.port, timeout: UPSTREAM_CONNECT_TIMEOUT_MS });
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('timeout', () => upstream.destroy());
    upstream.on('error', () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    client.on('close', () => upstream.destroy());
  }
}
