import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { NetworkRefusal, type NetworkPolicy } from './network-policy.js';

/** Response header that marks an answer as a refusal by PageShot, not by the target. */
export const REFUSED_HEADER = 'x-pageshot-refused';
/** Response header naming why an allowed target could not be reached (a Chromium net error name). */
export const UPSTREAM_ERROR_HEADER = 'x-pageshot-upstream-error';

/** One connection the proxy refused (the policy said no). */
export interface ProxyRefusal {
  host: string;
  port: number;
  reason: string;
  at: number;
}

/** One allowed connection that failed (no such host, refused, timed out…). */
export interface UpstreamFailure {
  host: string;
  port: number;
  /** Chromium's name for the error, e.g. ERR_CONNECTION_REFUSED. */
  networkError: string;
  at: number;
}

/**
 * Chromium's names for the socket errors the proxy meets, so a capture fails with the
 * same `networkError` it would without the proxy.
 */
const NETWORK_ERRORS: Record<string, string> = {
  ENOTFOUND: 'ERR_NAME_NOT_RESOLVED',
  ECONNREFUSED: 'ERR_CONNECTION_REFUSED',
  ECONNRESET: 'ERR_CONNECTION_RESET',
  ETIMEDOUT: 'ERR_CONNECTION_TIMED_OUT',
  EHOSTUNREACH: 'ERR_ADDRESS_UNREACHABLE',
  ENETUNREACH: 'ERR_ADDRESS_UNREACHABLE',
};

function networkErrorOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code && NETWORK_ERRORS[code]) ?? 'ERR_CONNECTION_FAILED';
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

/** A host as recorded: lower case, IPv6 without brackets. */
function bare(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Appends to a bounded list of recent events. */
function remember<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_REMEMBERED_REFUSALS) list.shift();
}

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
  /** Recent failures to reach an allowed target, newest last. */
  readonly failures: UpstreamFailure[] = [];
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

  /** Stops listening and drops every open connection. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.agent.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Asks the policy about a destination: the address to connect to, a refusal (recorded),
   * or, for a name that does not resolve, an upstream failure (recorded).
   */
  private async check(host: string, port: number): Promise<string | NetworkRefusal | UpstreamFailure> {
    try {
      return await this.policy.resolveDestination(host, port, this.narrowHosts);
    } catch (error) {
      const refusal = error instanceof NetworkRefusal ? error : new NetworkRefusal('the destination could not be checked');
      if (refusal.kind === 'unresolvable') return this.failed(host, port, 'ERR_NAME_NOT_RESOLVED');
      remember(this.refusals, { host: bare(host), port, reason: refusal.reason, at: Date.now() });
      return refusal;
    }
  }

  private failed(host: string, port: number, networkError: string): UpstreamFailure {
    const failure = { host: bare(host), port, networkError, at: Date.now() };
    remember(this.failures, failure);
    return failure;
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
    // A body, so that Chromium hands the answer (and its header) to the page instead of
    // replacing it with its own error page.
    const answerFailure = (failure: UpstreamFailure) =>
      response
        .writeHead(502, { 'content-type': 'text/plain', [UPSTREAM_ERROR_HEADER]: failure.networkError })
        .end(`PageShot could not reach the target: ${failure.networkError}\n`);
    if (typeof address !== 'string') {
      answerFailure(address);
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
      const headers = forwardable(answer.headers);
      // A target must not pass itself off as the guard.
      delete headers[REFUSED_HEADER];
      delete headers[UPSTREAM_ERROR_HEADER];
      response.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(response);
    });
    upstream.on('timeout', () => upstream.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })));
    upstream.on('error', (error) => {
      const failure = this.failed(target.hostname, port, networkErrorOf(error));
      if (!response.headersSent) answerFailure(failure);
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
    if (typeof address !== 'string') {
      client.end(`HTTP/1.1 502 Bad Gateway\r\n${UPSTREAM_ERROR_HEADER}: ${address.networkError}\r\n\r\n`);
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
    upstream.on('timeout', () => upstream.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })));
    upstream.on('error', (error) => {
      const failure = this.failed(authority.host, authority.port, networkErrorOf(error));
      client.end(`HTTP/1.1 502 Bad Gateway\r\n${UPSTREAM_ERROR_HEADER}: ${failure.networkError}\r\n\r\n`);
    });
    client.on('close', () => upstream.destroy());
  }
}
