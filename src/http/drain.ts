import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';

/**
 * The requests a server has accepted and not yet finished answering, so that a graceful
 * stop can keep listening (and answer newcomers 503 SHUTTING_DOWN) until the work it took
 * on before the stop is done. Node's `server.close()` stops accepting connections at once,
 * which a client sees as "connection refused" rather than the 503 the API promises.
 */
class InFlight {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** Counts `reply` until its response is over, sent or not (a client may hang up first). */
  track(reply: FastifyReply): void {
    this.count++;
    reply.raw.once('close', () => {
      this.count--;
      if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
    });
  }

  get size(): number {
    return this.count;
  }

  /** Resolves once nothing is in flight. */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

const inFlightByServer = new WeakMap<FastifyInstance, InFlight>();

/**
 * Counts the requests `app` accepts from now on. Call `track(reply)` from the onRequest
 * hook that lets a request in (not for one it refuses while draining).
 */
export function trackRequests(app: FastifyInstance): { track(reply: FastifyReply): void } {
  const inFlight = new InFlight();
  inFlightByServer.set(app, inFlight);
  return inFlight;
}

/** Resolves after `ms`, or never when cancelled; the timer does not hold the process open. */
function delay(ms: number): { done: Promise<'timeout'>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
  });
  return { done, cancel: () => clearTimeout(timer) };
}

/**
 * The HTTP side of a graceful stop, once new requests are being refused (SHUTTING_DOWN):
 * 1. idle keep-alive connections are closed, so their clients reconnect and are told;
 * 2. the listener stays open while the requests accepted before the stop finish (running
 *    captures), for at most `timeoutMs`; a request arriving meanwhile is answered 503
 *    SHUTTING_DOWN with `Connection: close` and `Retry-After`, `/readyz` included;
 * 3. then the listener closes; connections still open when the time is up are cut.
 * Resolves when the server is closed.
 */
export async function drainHttp(server: FastifyInstance, timeoutMs: number, logger: Logger): Promise<void> {
  const started = Date.now();
  server.server.closeIdleConnections();
  const inFlight = inFlightByServer.get(server);
  const waiting = delay(timeoutMs);
  const drained = await Promise.race([(inFlight?.idle() ?? Promise.resolve()).then(() => 'drained' as const), waiting.done]);
  waiting.cancel();
  if (drained === 'timeout') logger.warn({ inFlight: inFlight?.size }, 'shutdown timeout reached with requests still running; closing anyway');
  // What is left: answers being written, and the 503s of late arrivals (each closes its connection).
  const closing = delay(timeoutMs - (Date.now() - started));
  const closed = await Promise.race([server.close().then(() => 'closed' as const), closing.done]);
  closing.cancel();
  if (closed === 'timeout') {
    if (drained !== 'timeout') logger.warn('shutdown timeout reached with connections still open; closing anyway');
    server.server.closeAllConnections();
  }
}
