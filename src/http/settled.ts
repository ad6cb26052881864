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

/**
 * Runs `settle` exactly once per request, when both the answer is over — sent, or the
 * connection gone before it could be — and the handler's `work` has ended.
 *
 * Fastify's `onResponse` does not run when the client goes away first
 * (fastify/fastify#6208), so per-request accounting that must never leak (a key's
 * concurrent-capture slot, usage counts, the daily refund) hangs on the response's
 * 'close' event instead, which Node emits in both cases. The listener runs outside any
 * request's try/catch: `settle` is wrapped so that a throw is logged, never fatal.
 */
export function whenSettled(request: FastifyRequest, reply: FastifyReply, settle: (aborted: boolean) => void): void {
  reply.raw.once('close', () => {
    const aborted = !reply.raw.writableFinished;
    const run = () => {
      try {
        settle(aborted);
      } catch (error) {
        request.log.error({ err: error }, 'settling a request failed');
      }
    };
    if (request.work) request.work.then(run, run);
    else run();
  });
}
