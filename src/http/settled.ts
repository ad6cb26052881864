import type { FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The handler's own work (a capture), while it runs. Settling waits for it, so a
     * client that hangs up mid-capture does not release the capture's slot while the
     * capture still holds the browser.
     */
    work?: Promise<unknown>;
  }
}

/** A request's settle callbacks, in the order they were given; `undefined` once run. */
const SETTLERS = Symbol('pageshot.settlers');

type Settle = (aborted: boolean) => void;
type SettlingRequest = FastifyRequest & { [SETTLERS]?: Settle[] | undefined };

/**
 * Runs `settle` exactly once per request, when both the answer is over — sent, or the
 * connection gone before it could be — and the handler's `work` has ended.
 *
 * Fastify's `onResponse` does not run when the client goes away first
 * (fastify/fastify#6208), so per-request accounting that must never leak (a key's
 * concurrent-capture slot, usage counts, the daily refund) hangs on the response's
 * 'close' event instead, which Node emits in both cases. The listener runs outside any
 * request's try/catch: each `settle` is wrapped so that a throw is logged, never fatal.
 *
 * Every caller of one request shares one 'close' listener (metrics, usage and the
 * capture slot each used to add their own): callbacks run in the order they were given.
 * A callback given after the request settled never runs, as a late listener would not.
 */
export function whenSettled(request: FastifyRequest, reply: FastifyReply, settle: Settle): void {
  const settling = request as SettlingRequest;
  const waiting = settling[SETTLERS];
  if (waiting) {
    waiting.push(settle);
    return;
  }
  if (SETTLERS in settling) return; // settled already
  settling[SETTLERS] = [settle];
  reply.raw.once('close', () => {
    const aborted = !reply.raw.writableFinished;
    const run = () => {
      const settlers = settling[SETTLERS]!;
      settling[SETTLERS] = undefined;
      for (const each of settlers) {
        try {
          each(aborted);
        } catch (error) {
          request.log.error({ err: error }, 'settling a request failed');
        }
      }
    };
    if (request.work) request.work.then(run, run);
    else run();
  });
}
