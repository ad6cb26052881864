import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Admission } from '../admission/admission.js';
import type { CaptureEngine } from '../capture/engine.js';
import { captureBodySchema, captureQuerySchema, toCaptureOptions, type CaptureRequest } from '../capture/options.js';
import type { Config } from '../config.js';
import { assertTargetAllowed } from '../netguard/target-policy.js';

/** What the screenshot route needs from the rest of the service. */
export interface ScreenshotRouteDeps {
  config: Config;
  admission: Admission;
  engine: CaptureEngine;
}

/**
 * `POST /screenshot` (JSON body) and `GET /screenshot?url=…` (query parameters):
 * validate, check the target, wait for a slot, capture, answer with the image.
 */
export function screenshotRoutes(app: FastifyInstance, deps: ScreenshotRouteDeps): void {
  const { config, admission, engine } = deps;

  async function handle(request: FastifyRequest, reply: FastifyReply, input: CaptureRequest) {
    const clientGone = new AbortController();
    reply.raw.once('close', () => clientGone.abort());
    const options = toCaptureOptions(input, config.limits);
    if (options.target.kind === 'url') await assertTargetAllowed(options.target.url, config.allowPrivateNetworks);
    // Until API keys exist, a caller is a client IP: the queue is fair between them and
    // a browser context never serves two of them.
    const caller = `ip:${request.ip}`;
    const queuedAt = Date.now();
    const release = await admission.acquire(caller, clientGone.signal);
    const waitedMs = Date.now() - queuedAt;
    try {
      const result = await engine.capture(caller, options);
      return reply
        .header('content-type', result.contentType)
        .header('cache-control', 'no-store')
        .header('server-timing', `queue;dur=${waitedMs}, render;dur=${result.renderMs}`)
        .send(result.image);
    } finally {
      release();
    }
  }

  app.post('/screenshot', { schema: { body: captureBodySchema(config.limits) } }, (request, reply) =>
    handle(request, reply, request.body as CaptureRequest),
  );
  app.get('/screenshot', { schema: { querystring: captureQuerySchema(config.limits) } }, (request, reply) =>
    handle(request, reply, request.query as CaptureRequest),
  );
}
