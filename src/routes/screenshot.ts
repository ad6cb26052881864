import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { entityTag, matchesIfNoneMatch, type CachePlan, type CacheStatus, type ResultCache } from '../cache/result-cache.js';
import type { CachedResult } from '../cache/result-store.js';
import { captureBodySchema, captureQuerySchema, toCaptureOptions, type CaptureRequest } from '../capture/options.js';
import type { CaptureService, RenderOutcome } from '../capture/service.js';
import { ApiError } from '../errors.js';
import type { Config } from '../config.js';
import { KEY_OR_SIGNED_LINK } from '../http/openapi.js';
import { captureHeaders } from './capture-headers.js';
import { ALL_FORMATS, captureResponses } from './capture-responses.js';

/** What the screenshot route needs from the rest of the service. */
export interface ScreenshotRouteDeps {
  config: Config;
  /** Repeats answered from storage; identical captures running at once shared. */
  resultCache: ResultCache<RenderOutcome>;
  /** Captures: rendered here, or by a worker node (api role). */
  captureService: CaptureService;
}

/**
 * `POST /screenshot` (JSON body) and `GET /screenshot?url=…` (query parameters):
 * validate, check the target, wait for a slot, capture, answer with the image.
 */
export function screenshotRoutes(app: FastifyInstance, deps: ScreenshotRouteDeps): void {
  const { config } = deps;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const handle = captureHandler(deps);
  const routeConfig = { scope: 'screenshot' as const, capture: true };
  const response = captureResponses(ALL_FORMATS, 'The capture: an image, or a PDF with `format: "pdf"`.');
  const tags = ['capture'];
  api.post(
    '/screenshot',
    { config: routeConfig, schema: { tags, summary: 'Capture a page (options as JSON)', body: captureBodySchema(config.limits), response } },
    (request, reply) => handle(request, reply, request.body),
  );
  api.get(
    '/screenshot',
    {
      // A signed embed link authenticates here, and only here.
      config: { ...routeConfig, errors: ['SIGNATURE_INVALID', 'SIGNATURE_EXPIRED'] },
      schema: {
        tags,
        summary: 'Capture a page (options as query parameters; also a signed embed link)',
        security: KEY_OR_SIGNED_LINK,
        querystring: captureQuerySchema(config.limits),
        response,
      },
    },
    (request, reply) => handle(request, reply, request.query),
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
  const { config, resultCache, captureService: service } = deps;

  async function handle(request: FastifyRequest, reply: FastifyReply, input: CaptureRequest) {
    const clientGone = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) clientGone.abort();
    });
    const options = toCaptureOptions(input, config.limits);
    const started = await service.start(request.principal!, input, options, clientGone.signal);
    if (started.kind === 'hit') {
      const { entry, plan, lookupMs } = started;
      request.captureStats = { renderMs: 0, bytes: entry.body.length, cached: true };
      const headers = { ...entry.headers, 'server-timing': `cache;desc="hit";dur=${lookupMs.toFixed(1)}` };
      return send(request, reply, { ...entry, headers, status: 'HIT', entry, plan });
    }
    const { plan, leader } = started;
    // Settling (the key's slot, usage, refunds) waits for this, even if the client is gone.
    const work = started.outcome.then((outcome) => {
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
