import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Admission } from '../admission/admission.js';
import type { Principal } from '../auth/principal.js';
import { entityTag, matchesIfNoneMatch, type CachePlan, type CacheStatus, type ResultCache } from '../cache/result-cache.js';
import type { CachedResult } from '../cache/result-store.js';
import type { CaptureEngine, CaptureResult } from '../capture/engine.js';
import { captureBodySchema, captureQuerySchema, toCaptureOptions, type CaptureOptions, type CaptureRequest } from '../capture/options.js';
import { ApiError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { NetworkPolicy } from '../netguard/network-policy.js';
import type { Config } from '../config.js';
import { assertTargetAllowed, assertTargetRulesAllowed } from '../netguard/target-policy.js';
import { captureHeaders, describingHeaders } from './capture-headers.js';

/** How one render ended, shared by every request that waited for it; never a rejection. */
export type RenderOutcome =
  | { ok: true; result: CaptureResult; waitedMs: number; entry: CachedResult | undefined }
  /** `failedMs` is undefined when no capture ran (refused by admission). */
  | { ok: false; error: unknown; failedMs: number | undefined };

/** `outcome`, or a RENDER_TIMEOUT outcome once `timeoutMs` has passed. */
function withinTimeout(outcome: Promise<RenderOutcome>, timeoutMs: number): Promise<RenderOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<RenderOutcome>((resolve) => {
    timer = setTimeout(() => {
      const error = new ApiError('RENDER_TIMEOUT', `The page did not finish rendering within ${timeoutMs} ms.`);
      resolve({ ok: false, error, failedMs: timeoutMs });
    }, timeoutMs);
  });
  return Promise.race([outcome, expired]).finally(() => clearTimeout(timer));
}

/** What the screenshot route needs from the rest of the service. */
export interface ScreenshotRouteDeps {
  config: Config;
  admission: Admission;
  engine: CaptureEngine;
  metrics: Metrics;
  networkPolicy: NetworkPolicy;
  /** Repeats answered from storage; identical captures running at once shared. */
  resultCache: ResultCache<RenderOutcome>;
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

/** The bytes of one answer and what the cache did for it. */
interface Answer {
  body: Buffer;
  contentType: string;
  /** Headers describing the bytes, and Server-Timing. */
  headers: Record<string, string>;
  etag: string;
  status: CacheStatus;
  /** The cached entry behind a HIT or MISS (its age and lifetime). */
  entry?: CachedResult;
  plan?: CachePlan;
}

/**
 * The handler every capture route shares (`/screenshot`, `/pdf`): validate, check the
 * target, answer from the cache when it can, else wait for a slot, capture (or share an
 * identical capture already running), answer with the output's bytes and headers.
 */
export function captureHandler(deps: ScreenshotRouteDeps) {
  const { config, admission, engine, metrics, resultCache } = deps;

  async function handle(request: FastifyRequest, reply: FastifyReply, input: CaptureRequest) {
    const clientGone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) clientGone.abort();
    });
    const options = toCaptureOptions(input, config.limits);
    const principal = request.principal!;
    if (options.target.kind === 'url') assertTargetRulesAllowed(deps.networkPolicy, options.target.url, principal.allowedHosts);
    else if (principal.allowedHosts.length > 0) {
      // Raw html could load anything: a key limited to some hosts may not send any.
      throw new ApiError('TARGET_FORBIDDEN', 'This API key may capture only its allowed hosts, not raw html.');
    }
    const plan = resultCache.plan(principal, options);
    const lookupStarted = performance.now();
    const cached = plan && (await resultCache.lookup(plan));
    if (cached) {
      request.captureStats = { renderMs: 0, bytes: cached.body.length, cached: true };
      const lookupMs = (performance.now() - lookupStarted).toFixed(1);
      const headers = { ...cached.headers, 'server-timing': `cache;desc="hit";dur=${lookupMs}` };
      return send(request, reply, { ...cached, headers, status: 'HIT', entry: cached, plan });
    }
    engine.assertAvailable(options);
    if (options.target.kind === 'url') await assertTargetAllowed(deps.networkPolicy, options.target.url, principal.allowedHosts);
    // Settling (the key's slot, usage, refunds) waits for this, even if the client is gone.
    const { promise, leader } = startRender(principal, options, plan, clientGone.signal);
    const work = promise.then((outcome) => {
      account(request, outcome, leader);
      return outcome;
    });
    request.work = work;
    const outcome = await work;
    if (!outcome.ok) throw outcome.error;
    const { result, waitedMs, entry } = outcome;
    return send(request, reply, {
      body: result.body,
      contentType: result.contentType,
      headers: captureHeaders(result, waitedMs),
      etag: entry?.etag ?? entityTag(result.body),
      status: !plan ? 'BYPASS' : leader ? 'MISS' : 'HIT',
      ...(entry ? { entry } : {}),
      ...(plan ? { plan } : {}),
    });
  }

  /**
   * A render for this request: its own when the cache is bypassed or `fresh` is asked,
   * else the one running for the same key (single flight), started if there is none.
   */
  function startRender(principal: Principal, options: CaptureOptions, plan: CachePlan | undefined, signal: AbortSignal) {
    if (!plan || !plan.read) return { promise: render(principal, options, plan, signal), leader: true };
    const flight = resultCache.flights.join(plan.key, signal, (flightSignal) => render(principal, options, plan, flightSignal));
    // `timeout` is not part of the cache key: one who joined a render started with a longer
    // deadline still gets an answer within its own.
    return flight.leader ? flight : { promise: withinTimeout(flight.promise, options.timeout), leader: false };
  }

  /** Waits for a slot (fair between callers), captures, stores the result when a plan says so. */
  async function render(principal: Principal, options: CaptureOptions, plan: CachePlan | undefined, signal: AbortSignal): Promise<RenderOutcome> {
    const { caller, allowedHosts } = principal;
    let captureStarted: number | undefined;
    try {
      const queuedAt = Date.now();
      // The queue is fair between callers, and a browser context never serves two of them.
      const release = await admission.acquire(caller, signal);
      const waitedMs = Date.now() - queuedAt;
      captureStarted = Date.now();
      let result: CaptureResult;
      try {
        result = await engine.capture(caller, options, allowedHosts, signal);
      } finally {
        release();
      }
      metrics.captureDuration.observe({ outcome: 'succeeded' }, result.renderMs / 1000);
      const entry = plan && (await resultCache.remember(plan, { body: result.body, contentType: result.contentType, headers: describingHeaders(result) }));
      return { ok: true, result, waitedMs, entry };
    } catch (error) {
      const failedMs = captureStarted === undefined ? undefined : Date.now() - captureStarted;
      if (failedMs !== undefined) metrics.captureDuration.observe({ outcome: 'failed' }, failedMs / 1000);
      return { ok: false, error, failedMs };
    }
  }

  /** Records how the render went for this request; one that shared another's render rendered nothing itself. */
  function account(request: FastifyRequest, outcome: RenderOutcome, leader: boolean): void {
    if (outcome.ok) {
      request.captureStats = leader
        ? { renderMs: outcome.result.renderMs, bytes: outcome.result.body.length }
        : { renderMs: 0, bytes: outcome.result.body.length, cached: true };
      return;
    }
    if (outcome.error instanceof ApiError) request.errorCode = outcome.error.code;
    // A capture cut short because its client left did not fail: it was abandoned.
    if (outcome.failedMs !== undefined && request.errorCode !== 'CLIENT_CLOSED_REQUEST') request.captureFailedMs = leader ? outcome.failedMs : 0;
  }

  /**
   * Sends the bytes, or 304 when the client already holds them (`If-None-Match`), with
   * what the cache did (`X-Cache`, `Age`) and how long the client may keep them
   * (`Cache-Control`: private, as the answer belongs to one key).
   */
  function send(request: FastifyRequest, reply: FastifyReply, answer: Answer) {
    resultCache.answered(answer.status);
    const now = Date.now();
    reply.headers(answer.headers).header('etag', answer.etag).header('x-cache', answer.status);
    if (answer.entry && answer.plan) {
      const expires = Math.min(answer.entry.expiresAt, answer.entry.storedAt + answer.plan.ttlSeconds * 1000);
      reply
        .header('age', String(Math.max(0, Math.floor((now - answer.entry.storedAt) / 1000))))
        .header('cache-control', `private, max-age=${Math.max(0, Math.ceil((expires - now) / 1000))}`);
    } else {
      reply.header('cache-control', 'no-store');
    }
    if (matchesIfNoneMatch(request.headers['if-none-match'], answer.etag)) {
      if (request.captureStats) request.captureStats.bytes = 0;
      return reply.code(304).send();
    }
    return reply.header('content-type', answer.contentType).send(answer.body);
  }

  return handle;
}
