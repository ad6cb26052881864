import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { matchesIfNoneMatch } from '../cache/result-cache.js';
import { captureBodySchema, toCaptureOptions } from '../capture/options.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { jobView, type CaptureJobData } from '../jobs/job-model.js';
import { JOB_ID_PATTERN, newJobId } from '../jobs/queued-renderer.js';
import type { CaptureQueue } from '../jobs/queue.js';
import { NetworkRefusal, type NetworkPolicy } from '../netguard/network-policy.js';
import { assertTargetAllowed, assertTargetRulesAllowed } from '../netguard/target-policy.js';
import type { WebhookSecretStore } from '../store/webhook-secret-store.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import { ALL_FORMATS, captureResponses } from './capture-responses.js';

/** Bytes `metadata` may take, serialized: it travels with the job and in its webhook. */
const MAX_METADATA_BYTES = 4096;

/** `POST /v1/jobs`: every option of `POST /screenshot`, a webhook and the caller's own metadata. */
export function jobBodySchema(limits: Config['limits']) {
  const { properties } = captureBodySchema(limits);
  return Type.Object(
    {
      ...properties,
      webhookUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: '^[Hh][Tt][Tt][Pp][Ss]?://', description: 'told when the job finishes (Standard Webhooks)' })),
      metadata: Type.Optional(Type.Object({}, { additionalProperties: true, maxProperties: 64, description: 'given back unchanged on the job and in its webhook' })),
    },
    { additionalProperties: false },
  );
}

const JobParams = Type.Object({ id: Type.String({ pattern: JOB_ID_PATTERN, description: 'The job id, as `POST /v1/jobs` answered it.' }) }, { additionalProperties: false });

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Timestamp = Type.String({ format: 'date-time' });
const JobStatusSchema = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]);

const JobAccepted = Type.Object(
  {
    id: Type.String(),
    status: Type.Literal('queued'),
    statusUrl: Type.String({ description: 'Poll it (`GET`) for the job\'s state; also in `Location`.' }),
    resultUrl: Type.String({ description: 'The bytes, once the job succeeded.' }),
    createdAt: Timestamp,
  },
  { additionalProperties: false },
);

/** `GET /v1/jobs/:id`, and the `data` of a job's webhook. */
export const JobViewSchema = Type.Object(
  {
    id: Type.String(),
    status: JobStatusSchema,
    createdAt: Timestamp,
    startedAt: Nullable(Timestamp),
    finishedAt: Nullable(Timestamp),
    attempts: Type.Integer({ minimum: 0, description: 'Runs started (a worker lost mid-capture makes two).' }),
    metadata: Nullable(Type.Object({}, { additionalProperties: true, description: 'What the job was submitted with, unchanged.' })),
    result: Nullable(
      Type.Object(
        { contentType: Type.String(), bytes: Type.Integer({ minimum: 0 }), etag: Type.String(), url: Type.String(), expiresAt: Timestamp },
        { additionalProperties: false },
      ),
    ),
    error: Nullable(
      Type.Object(
        { status: Type.Integer(), code: Type.Union((Object.keys(ERRORS) as ErrorCode[]).map((code) => Type.Literal(code))), error: Type.String() },
        { additionalProperties: false, description: 'Why the job failed, in the shared error shape.' },
      ),
    ),
    webhook: Nullable(
      Type.Object(
        {
          url: Type.String(),
          status: Type.Union([Type.Literal('pending'), Type.Literal('delivered'), Type.Literal('failed')]),
          attempts: Type.Integer({ minimum: 0 }),
          lastStatusCode: Type.Optional(Type.Integer()),
          lastError: Type.Optional(Type.String()),
          deliveredAt: Type.Optional(Timestamp),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const WebhookSecretInfo = Type.Object({ hint: Type.String(), createdAt: Timestamp }, { additionalProperties: false });
const WebhookSecretCreated = Type.Object(
  { secret: Type.String({ description: 'The signing secret (`whsec_…`): shown this once.' }), ...WebhookSecretInfo.properties },
  { additionalProperties: false },
);
const NoContent = { 204: { description: 'Done.', type: 'null' } } as const;

/** What the job routes work with. */
export interface JobRouteDeps {
  config: Config;
  /** Undefined without Redis: every job route then answers 503 JOBS_UNAVAILABLE. */
  queue: CaptureQueue | undefined;
  networkPolicy: NetworkPolicy;
  webhookSecrets: WebhookSecretStore;
}

function unavailable(): ApiError {
  return new ApiError('JOBS_UNAVAILABLE', 'Async jobs need Redis: this server has no PAGESHOT_REDIS_URL, or Redis cannot be reached.', {
    retryAfter: 1,
  });
}

/** Runs a queue operation; Redis errors become 503 JOBS_UNAVAILABLE (ApiErrors pass through). */
async function onQueue<T>(queue: CaptureQueue | undefined, work: (queue: CaptureQueue) => Promise<T>): Promise<T> {
  if (!queue) throw unavailable();
  try {
    return await work(queue);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw unavailable();
  }
}

/** The webhook URL, checked by the network guard as a target would be (DNS included). */
async function checkWebhookUrl(policy: NetworkPolicy, raw: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('VALIDATION_ERROR', '"webhookUrl" must be an absolute http(s) URL.', { extras: { field: 'webhookUrl' } });
  }
  if (url.username || url.password) {
    throw new ApiError('VALIDATION_ERROR', '"webhookUrl" may not carry credentials.', { extras: { field: 'webhookUrl' } });
  }
  try {
    await policy.checkUrl(url);
  } catch (error) {
    if (error instanceof NetworkRefusal) throw new ApiError('TARGET_FORBIDDEN', `"webhookUrl" is not allowed: ${error.reason}.`, { extras: { field: 'webhookUrl' } });
    throw error;
  }
}

/**
 * Async jobs: `POST /v1/jobs` (202 and where to look), `GET /v1/jobs/:id` (its state,
 * timings, error and webhook), `GET /v1/jobs/:id/result` (the bytes). A job belongs to
 * the caller that submitted it; to anyone else it does not exist (404, never 403).
 */
export function jobRoutes(app: FastifyInstance, deps: JobRouteDeps): void {
  const { config, networkPolicy, webhookSecrets } = deps;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['jobs'];
  // Checked at submission: the target and the webhook (a failed capture is the job's error, not this answer's).
  const submitErrors: ErrorCode[] = ['TARGET_FORBIDDEN', 'WEBHOOK_SECRET_MISSING', 'QUEUE_FULL', 'JOBS_UNAVAILABLE'];
  // Polling a job renders nothing: it counts against the rate limit, not the daily quota.
  const read = { scope: 'screenshot' as const, countsDaily: false };

  const submitSchema = {
    tags,
    summary: 'Submit a capture to run in the background',
    body: jobBodySchema(config.limits),
    response: { 202: { ...JobAccepted, headers: { location: { type: 'string', description: 'The job\'s status URL.' } } } },
  };
  api.post('/v1/jobs', { config: { scope: 'screenshot', errors: submitErrors }, schema: submitSchema }, async (request, reply) => {
    const { webhookUrl, metadata, ...capture } = request.body;
    const principal = request.principal!;
    if (metadata !== undefined && Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) {
      throw new ApiError('VALIDATION_ERROR', `"metadata" may take at most ${MAX_METADATA_BYTES} bytes as JSON.`, { extras: { field: 'metadata' } });
    }
    // Checked now, so that the caller hears of a bad target or webhook at once, not in a failed job.
    const options = toCaptureOptions(capture, config.limits);
    if (options.target.kind === 'url') {
      assertTargetRulesAllowed(networkPolicy, options.target.url, principal.allowedHosts);
      await assertTargetAllowed(networkPolicy, options.target.url, principal.allowedHosts);
    } else if (principal.allowedHosts.length > 0) {
      throw new ApiError('TARGET_FORBIDDEN', 'This API key may capture only its allowed hosts, not raw html.');
    }
    if (webhookUrl !== undefined) {
      await checkWebhookUrl(networkPolicy, webhookUrl);
      if (!(await webhookSecrets.infoOf(principal.caller))) {
        throw new ApiError('WEBHOOK_SECRET_MISSING', 'Create a webhook signing secret first (POST /v1/me/webhook-secret): webhooks are always signed.');
      }
    }
    const id = newJobId();
    const data: CaptureJobData = {
      kind: 'async',
      owner: principal.caller,
      subject: principal.keyId ?? principal.caller,
      allowedHosts: [...principal.allowedHosts],
      request: capture,
      ...(webhookUrl !== undefined ? { webhookUrl } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
      dailyCounted: request.limitDecision?.daily !== undefined,
      submittedAt: Date.now(),
    };
    await onQueue(deps.queue, async (queue) => {
      const waiting = await queue.waitingOf('async');
      if (waiting >= config.jobs.maxQueued) {
        throw new ApiError('QUEUE_FULL', 'Too many jobs are waiting; submit again later.', { retryAfter: 5, extras: { status: 'busy', queueLength: waiting } });
      }
      await queue.add(id, data);
    });
    const statusUrl = `/v1/jobs/${id}`;
    reply.code(202).header('location', statusUrl);
    return { id, status: 'queued' as const, statusUrl, resultUrl: `${statusUrl}/result`, createdAt: new Date(data.submittedAt).toISOString() };
  });

  /** The caller's job, or 404 whether it does not exist or is someone else's. */
  async function ownJob(request: FastifyRequest, id: string) {
    const job = await onQueue(deps.queue, (queue) => queue.snapshot(id));
    if (!job || job.data.owner !== request.principal!.caller) throw new ApiError('JOB_NOT_FOUND', `No job ${id}.`);
    return job;
  }

  const jobSchema = { tags, summary: "A job's state, timings, error and webhook", params: JobParams, response: { 200: JobViewSchema } };
  api.get('/v1/jobs/:id', { config: { ...read, errors: ['JOB_NOT_FOUND', 'JOBS_UNAVAILABLE'] }, schema: jobSchema }, async (request, reply) => {
    const job = await ownJob(request, request.params.id);
    const webhook = job.data.webhookUrl ? await onQueue(deps.queue, (queue) => queue.webhookRecord(job.id)) : undefined;
    reply.header('cache-control', 'no-store');
    return jobView(job, webhook);
  });

  const resultSchema = { tags, summary: "A finished job's bytes", params: JobParams, response: captureResponses(ALL_FORMATS, 'The capture.') };
  const resultErrors: ErrorCode[] = ['JOB_NOT_FOUND', 'JOB_NOT_READY', 'JOB_FAILED', 'JOB_RESULT_EXPIRED', 'JOBS_UNAVAILABLE'];
  api.get('/v1/jobs/:id/result', { config: { ...read, errors: resultErrors }, schema: resultSchema }, async (request, reply: FastifyReply) => {
    const job = await ownJob(request, request.params.id);
    const view = jobView(job, undefined);
    if (view.status === 'queued' || view.status === 'running') {
      throw new ApiError('JOB_NOT_READY', `Job ${job.id} is ${view.status}; ask again shortly.`, { retryAfter: 1, extras: { status: view.status } });
    }
    if (!view.result) throw new ApiError('JOB_FAILED', `Job ${job.id} failed: it has no result.`, { extras: { jobError: view.error?.code ?? 'CAPTURE_FAILED' } });
    const body = await onQueue(deps.queue, (queue) => queue.results.get(job.id));
    if (!body) throw new ApiError('JOB_RESULT_EXPIRED', `The result of job ${job.id} is no longer kept.`);
    reply.header('etag', view.result.etag).header('x-job-id', job.id).header('cache-control', 'private, no-cache');
    if (matchesIfNoneMatch(request.headers['if-none-match'], view.result.etag)) return reply.code(304).send();
    return reply.header('content-type', view.result.contentType).send(body);
  });
}

/**
 * The caller's webhook signing secret: `POST /v1/me/webhook-secret` creates (or replaces)
 * it and shows it this once; `GET` answers `{webhookSecret: {hint, createdAt} | null}`;
 * `DELETE` removes it (204 whether there was one or not).
 */
export function webhookSecretRoutes(app: FastifyInstance, secrets: WebhookSecretStore): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const config = { scope: 'screenshot' as const };
  const tags = ['account'];
  const created = { 201: WebhookSecretCreated };
  api.post('/v1/me/webhook-secret', { config, schema: { tags, summary: 'Create or replace the webhook signing secret (shown once)', response: created } }, async (request, reply) => {
    reply.code(201).header('cache-control', 'no-store');
    return secrets.create(request.principal!.caller);
  });
  const info = { 200: Type.Object({ webhookSecret: Nullable(WebhookSecretInfo) }, { additionalProperties: false }) };
  api.get('/v1/me/webhook-secret', { config, schema: { tags, summary: 'Whether there is a webhook signing secret', response: info } }, async (request) => ({
    webhookSecret: await secrets.infoOf(request.principal!.caller),
  }));
  // Idempotent: deleting a secret that is not there (or no longer, after a retry) is done too.
  api.delete('/v1/me/webhook-secret', { config, schema: { tags, summary: 'Remove the webhook signing secret', response: NoContent } }, async (request, reply) => {
    await secrets.delete(request.principal!.caller);
    return reply.code(204).send();
  });
}
