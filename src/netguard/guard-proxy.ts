import http from 'node:http';
import net from 'node:net';
import { pipeline, type Duplex } from 'node:stream';
import { contained, parseUrl } from '../safe.js';
import { REFUSED_HEADER, UPSTREAM_ERROR_HEADER } from './guard-headers.js';
import { NetworkRefusal, type NetworkPolicy } from './network-policy.js';
import {
  ABSOLUTE_FORM,
  forwardable,
  answerFromGuard,
  endRaw,
  INVALID_RESPONSE,
  networkErrorOf,
  parseAuthority,
  relayableHead,
} from './proxy-answers.js';

export { REFUSED_HEADER, UPSTREAM_ERROR_HEADER } from './guard-headers.js';

/** One connection the proxy refused (the policy said no). */
export interface ProxyRefusal {
  host: string;
  port: number;
  reason: string;
  at: number;
}

/** One allowed connection that failed (no such host, refused, timed out, a broken answer…). */
export interface UpstreamFailure {
  host: string;
  port: number;
  /** Chromium's name for the error, e.g. ERR_CONNECTION_REFUSED. */
  networkError: string;
  at: number;
}

/** Time limits of a guard proxy; the defaults suit production, tests shorten them. */
export interface GuardProxyOptions {
  /** Longest wait for a target to accept a connection, or to send anything on a forwarded request. */
  connectTimeoutMs?: number;
  /** A CONNECT tunnel with no traffic either way for this long is closed. */
  tunnelIdleTimeoutMs?: number;
}

const UPSTREAM_CONNECT_TIMEOUT_MS = 15_000;
/** Chromium itself drops a used idle socket after 5 minutes: a tunnel idle longer is abandoned. */
const TUNNEL_IDLE_TIMEOUT_MS = 300_000;
/** Chromium accepts up to 256 KiB of response headers; Node's default (16 KiB) would break real sites. */
const MAX_RESPONSE_HEADER_BYTES = 256 * 1024;
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

/**
 * The loopback proxy every connection of Chromium goes through (HTTP forward for
 * http:, CONNECT for https: and WebSockets). For each connection it asks the network
 * policy once, then connects to exactly the address the policy checked, so redirects,
 * subresources, iframes, fetch/XHR, page-initiated navigations and WebSocket
 * handshakes are all held to the same rule, with no second DNS lookup to rebind.
 *
 * Everything it handles comes from a page or a target, hostile ones included: no
 * listener may throw (see `contained`), an answer it cannot relay becomes a 502 naming
 * a Chromium error, and a connection either side abandons is closed on the other side.
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
  /** Handler failures that only the safety net caught (a bug in the proxy if ever above 0). */
  unexpectedErrors = 0;
  private readonly server: http.Server;
  private readonly sockets = new Set<Duplex>();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private readonly connectTimeoutMs: number;
  private readonly tunnelIdleTimeoutMs: number;

  private constructor(
    private readonly policy: NetworkPolicy,
    options: GuardProxyOptions,
  ) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? UPSTREAM_CONNECT_TIMEOUT_MS;
    this.tunnelIdleTimeoutMs = options.tunnelIdleTimeoutMs ?? TUNNEL_IDLE_TIMEOUT_MS;
    this.server = http.createServer(
      contained(
        (request: http.IncomingMessage, response: http.ServerResponse) => this.forward(request, response),
        (_request, response) => this.unexpected(() => answerFromGuard(response, 502, [UPSTREAM_ERROR_HEADER, 'ERR_UNEXPECTED'], 'PageShot failed\n')),
      ),
    );
    this.server.on(
      'connect',
      contained(
        (request: http.IncomingMessage, socket: Duplex, head: Buffer) => this.tunnel(request, socket, head),
        (_request, socket) => this.unexpected(() => socket.destroy()),
      ),
    );
    // A WebSocket (or other upgrade) in absolute form: Chromium uses CONNECT, so refuse.
    this.server.on(
      'upgrade',
      contained(
        (_request: http.IncomingMessage, socket: Duplex) => {
          socket.on('error', () => socket.destroy());
          endRaw(socket, 'HTTP/1.1 405 Method Not Allowed\r\n\r\n');
        },
        (_request, socket) => this.unexpected(() => socket.destroy()),
      ),
    );
    this.server.on(
      'connection',
      contained(
        (socket: net.Socket) => {
          this.sockets.add(socket);
          socket.on('close', () => this.sockets.delete(socket));
        },
        (socket) => this.unexpected(() => socket.destroy()),
      ),
    );
    // Replaces Node's default, which writes to a socket that may already be gone.
    this.server.on(
      'clientError',
      contained(
        (error: NodeJS.ErrnoException, socket: Duplex) => {
          if (error.code === 'ECONNRESET' || !socket.writable) socket.destroy();
          else endRaw(socket, 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
        },
        (_error, socket) => this.unexpected(() => socket.destroy()),
      ),
    );
  }

  /** Starts a proxy on a random loopback port. */
  static async start(policy: NetworkPolicy, options: GuardProxyOptions = {}): Promise<GuardProxy> {
    const proxy = new GuardProxy(policy, options);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => {
        proxy.server.off('error', reject);
        // After listening, an accept error (EMFILE) is emitted here: unheard, it would end the process.
        proxy.server.on('error', () => undefined);
        resolve();
      });
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

  /** Counts a failure only the safety net caught, then cleans up. */
  private unexpected(cleanUp: () => void): void {
    this.unexpectedErrors++;
    cleanUp();
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
    let upstream: http.ClientRequest | undefined;
    let abandoned = false;
    // Attached before the first await: Chromium may give up on the request (navigation
    // away, deadline) at any point, and the upstream request must go with it.
    response.on('close', () => {
      if (response.writableFinished) return;
      abandoned = true;
      upstream?.destroy();
    });
    response.on('error', () => response.destroy());
    request.on('error', () => upstream?.destroy());
    const requestTarget = request.url ?? '';
    // Not in absolute form: someone talking to the proxy as if it were a web server.
    if (!ABSOLUTE_FORM.test(requestTarget)) return answerFromGuard(response, 400, [REFUSED_HEADER, 'not a proxy request'], '');
    const target = parseUrl(requestTarget);
    // Chromium's URL parser accepts some hosts WHATWG's refuses (`a%20b.test`): what the
    // guard cannot parse it cannot check, so it is never fetched; to the capture it is a
    // broken address (a redirect to it fails the capture with NAVIGATION_FAILED).
    if (!target) return this.answerFailure(response, this.failed(requestTarget.slice(0, 253), 0, 'ERR_INVALID_URL'));
    if (target.protocol !== 'http:') {
      return answerFromGuard(response, 403, [REFUSED_HEADER, `the scheme ${target.protocol} is not allowed`], '');
    }
    const port = target.port === '' ? 80 : Number(target.port);
    const address = await this.check(target.hostname, port);
    if (abandoned) return;
    if (address instanceof NetworkRefusal) return answerFromGuard(response, 403, [REFUSED_HEADER, address.reason], 'Refused by PageShot\n');
    if (typeof address !== 'string') return this.answerFailure(response, address);
    upstream = http.request({
      host: address,
      port,
      method: request.method,
      path: `${target.pathname}${target.search}`,
      headers: { ...forwardable(request.headers), host: target.host },
      setHost: false,
      agent: this.agent,
      timeout: this.connectTimeoutMs,
      maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
    });
    this.watchUpstream(upstream, response, target.hostname, port);
    request.pipe(upstream);
  }

  /** Relays the upstream answer, or answers 502 naming why it could not be relayed. */
  private watchUpstream(upstream: http.ClientRequest, response: http.ServerResponse, host: string, port: number): void {
    const fail = (networkError: string) => this.answerFailure(response, this.failed(host, port, networkError));
    const destroy = () => this.unexpected(() => upstream.destroy());
    upstream.on('response', contained((answer: http.IncomingMessage) => this.relay(answer, response, upstream, fail), destroy));
    upstream.on(
      'timeout',
      contained(() => upstream.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' })), destroy),
    );
    upstream.on(
      'error',
      contained((error: Error) => fail(networkErrorOf(error)), () => this.unexpected(() => response.destroy())),
    );
  }

  private relay(answer: http.IncomingMessage, response: http.ServerResponse, upstream: http.ClientRequest, fail: (networkError: string) => void): void {
    const head = relayableHead(answer);
    if (head) {
      try {
        response.writeHead(head.statusCode, head.headers);
      } catch {
        // Whatever Node's writer refused besides what relayableHead checks: nothing was sent yet.
        answer.destroy();
        fail(INVALID_RESPONSE);
        return;
      }
      // pipeline, not pipe: a reset mid-body cuts Chromium's connection (a truncated body
      // must not look complete), and Chromium going away destroys the upstream request.
      pipeline(answer, response, (error) => {
        if (error) upstream.destroy();
      });
      return;
    }
    // The connection is in an unknown state after such an answer: it is not reused.
    answer.destroy();
    fail(INVALID_RESPONSE);
  }

  private answerFailure(response: http.ServerResponse, failure: UpstreamFailure): void {
    answerFromGuard(response, 502, [UPSTREAM_ERROR_HEADER, failure.networkError], `PageShot could not load the target: ${failure.networkError}\n`);
  }

  /** A CONNECT tunnel (https:, wss:, ws: through a proxy). */
  private async tunnel(request: http.IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    let upstream: net.Socket | undefined;
    // Attached before the first await: a tunnel Chromium abandons while its name is
    // checked must not leave an upstream connection behind.
    client.on('error', () => client.destroy());
    client.on('close', () => upstream?.destroy());
    const authority = parseAuthority(request.url ?? '');
    if (!authority) {
      this.failed(String(request.url).slice(0, 253), 0, 'ERR_INVALID_URL');
      return endRaw(client, 'HTTP/1.1 400 Bad Request\r\n\r\n');
    }
    const address = await this.check(authority.host, authority.port);
    if (client.destroyed) return;
    if (address instanceof NetworkRefusal) return endRaw(client, `HTTP/1.1 403 Forbidden\r\n${REFUSED_HEADER}: ${address.reason}\r\n\r\n`);
    if (typeof address !== 'string') return endRaw(client, `HTTP/1.1 502 Bad Gateway\r\n${UPSTREAM_ERROR_HEADER}: ${address.networkError}\r\n\r\n`);
    upstream = net.connect({ host: address, port: authority.port, timeout: this.connectTimeoutMs });
    this.splice(client, upstream, head, authority);
  }

  /** Joins Chromium's socket and the target's once the target accepts; either closing closes both. */
  private splice(client: Duplex, upstream: net.Socket, head: Buffer, authority: { host: string; port: number }): void {
    let established = false;
    const closeBoth = () => {
      upstream.destroy();
      client.destroy();
    };
    const cleanUp = () => this.unexpected(closeBoth);
    this.sockets.add(upstream);
    upstream.on('close', () => this.sockets.delete(upstream));
    upstream.once(
      'connect',
      contained(() => {
        established = true;
        // From here the timeout is an idle one: an abandoned tunnel must not stay open forever.
        upstream.setTimeout(this.tunnelIdleTimeoutMs);
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      }, cleanUp),
    );
    upstream.on(
      'timeout',
      contained(() => {
        if (established) closeBoth();
        else upstream.destroy(Object.assign(new Error('upstream timeout'), { code: 'ETIMEDOUT' }));
      }, cleanUp),
    );
    upstream.on(
      'error',
      contained((error: Error) => {
        const failure = this.failed(authority.host, authority.port, networkErrorOf(error));
        // After the 200, the client's bytes are the target's TLS stream: no status line may follow.
        if (established) client.destroy();
        else endRaw(client, `HTTP/1.1 502 Bad Gateway\r\n${UPSTREAM_ERROR_HEADER}: ${failure.networkError}\r\n\r\n`);
      }, cleanUp),
    );
  }
}
