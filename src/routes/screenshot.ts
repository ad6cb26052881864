import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Admission } from '../admission/admission.js';
import type { CaptureEngine } from '../capture/engine.js';
import { captureBodySchema, captureQuerySchema, toCaptureOptions, type CaptureOptions, type CaptureRequest } from '../capture/options.js';
import { ApiError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { NetworkPolicy } from '../netguard/network-policy.js';
import type { Config } from '../config.js';
import { assertTargetAllowed } from '../netguard/target-policy.js';
import { captureHeaders } from './capture-headers.js';

/** What the screenshot route needs from the rest of the service. */
export interface ScreenshotRouteDeps {
  config: Config;
  admission: Admission;
  engine: CaptureEngine;
  metrics: Metrics;
  networkPolicy: NetworkPolicy;
}

/**
 * `POST /screenshot` (JSON body) and `GET /screenshot?url=…` (query parameters):
 * validate, check the target, wait for a slot, capture, answer with the image.
 */
export function screenshotRoutes(app: FastifyInstance, deps: ScreenshotRouteDeps): void {
  const { config } = deps;
  const handle = captureHandler(deps);
  const routeConfig = { scope: 'screenshot' as const, capture: true };
  app.post('/screenshot', { config: routeConfig, schema: { body: captureBodySchema(config.limits) } }, (request, reply) =>
    handle(request, reply, request.body as CaptureRequest),
  );
  app.get('/screenshot', { config: routeConfig, schema: { querystring: captureQuerySchema(config.limits) } }, (request, reply) =>
    handle(request, reply, request.query as CaptureRequest),
  );
}

/**
 * The handler every capture route shares (`/screenshot`, `/pdf`): validate, check the
 * target, wait for a slot, capture, answer with the output's bytes and headers.
 */
export function captureHandler(deps: ScreenshotRouteDeps) {
  const { config, admission, engine, metrics } = deps;

  async function handle(request: FastifyRequest, reply: FastifyReply, input: CaptureRequest) {
    const clientGone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) clientGone.abort();
    });
    const options = toCaptureOptions(input, config.limits);
    engine.assertAvailable(options);
    const principal = request.principal!;
    if (options.target.kind === 'url') await assertTargetAllowed(deps.networkPolicy, options.target.url, principal.allowedHosts);
    else if (principal.allowedHosts.length > 0) {
      // Raw html could load anything: a key limited to some hosts may not send any.
      throw new ApiError('TARGET_FORBIDDEN', 'This API key may capture only its allowed hosts, not raw html.');
    }
    // Settling (the key's slot, usage, refunds) waits for this, even if the client is gone.
    const work = capture(request, options, clientGone.signal);
    request.work = work;
    const { result, waitedMs } = await work;
    return reply
      .headers(captureHeaders(result, waitedMs))
      .header('content-type', result.contentType)
      .header('cache-control', 'no-store')
      .send(result.body);
  }

  /** Waits for a slot (fair between callers), captures, and records how it went. */
  async function capture(request: FastifyRequest, options: CaptureOptions, signal: AbortSignal) {
    const { caller, allowedHosts } = request.principal!;
    const queuedAt = Date.now();
    // The queue is fair between callers, and a browser context never serves two of them.
    const release = await admission.acquire(caller, signal);
    const waitedMs = Date.now() - queuedAt;
    const captureStarted = Date.now();
    try {
      const result = await engine.capture(caller, options, allowedHosts, signal);
      request.captureStats = { renderMs: result.renderMs, bytes: result.body.length };
      metrics.captureDuration.observe({ outcome: 'succeeded' }, result.renderMs / 1000);
      return { result, waitedMs };
    } catch (error) {
      const failedMs = Date.now() - captureStarted;
      if (error instanceof ApiError) request.errorCode = error.code;
      // A capture cut short because its client left did not fail: it was abandoned.
      if (request.errorCode !== 'CLIENT_CLOSED_REQUEST') request.captureFailedMs = failedMs;
      metrics.captureDuration.observe({ outcome: 'failed' }, failedMs / 1000);
      throw error;
    } finally {
      release();
    }
  }

  return handle;
}
