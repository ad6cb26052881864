import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { captureBodySchema, toCaptureOptions } from '../capture/options.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import { jobView, type CaptureJobData } from '../jobs/job-model.js';
import { newJobId } from '../jobs/queued-renderer.js';
import type { CaptureQueue } from '../jobs/queue.js';
import { storageFull } from '../jobs/result-limits.js';
import { NetworkRefusal, type NetworkPolicy } from '../netguard/network-policy.js';
import { assertTargetAllowed, assertTargetRulesAllowed } from '../netguard/target-policy.js';
import type { KeyStanding } from '../auth/key-standing.js';
import type { WebhookSecretStore } from '../store/webhook-secret-store.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import { JobParams, NoContent, onQueue, ownJobOf } from './job-access.js';
import { jobResultRoutes } from './job-results.js';

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
        {
          additionalProperties: Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
          description: 'Why the job failed, in the shared error shape, with the fields its code carries (e.g. `limitBytes`).',
        },
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
/** What the job routes work with. */
export interface JobRouteDeps {
  config: Config;
  /** Undefined without Redis: every job route then answers 503 JOBS_UNAVAILABLE. */
  queue: CaptureQueue | undefined;
  networkPolicy: NetworkPolicy;
  webhookSecrets: WebhookSecretStore;
  /** Whose jobs a caller may read: its own, and those of the keys it replaced by rotation. */
  keyStanding: KeyStanding;
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
 * timings, error and webhook), `GET /v1/jobs/:id/result` (the bytes, streamed from the
 * store in chunks), `DELETE /v1/jobs/:id` (a finished job and its result, before they
 * expire). A job belongs to the caller that submitted it; to anyone else it does not
 * exist (404, never 403).
 */
export function jobRoutes(app: FastifyInstance, deps: JobRouteDeps): void {
  const { config, networkPolicy, webhookSecrets } = deps;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['jobs'];
  // Checked at submission: the target and the webhook (a failed capture is the job's error, not this answer's).
  const submitErrors: ErrorCode[] = ['TARGET_FORBIDDEN', 'WEBHOOK_SECRET_MISSING', 'RESULT_STORAGE_FULL', 'QUEUE_FULL', 'JOBS_UNAVAILABLE'];
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
      // A key whose kept results fill its share would get a job that can only fail: refused now.
      const share = await queue.results.share(data.owner, config.jobs.maxStoredBytesPerKey);
      if (share.full) throw storageFull(share);
      // Counted and placed in one step: no two submissions, on this node or another, both take the last place.
      const admission = await queue.add(id, data, { maxWaiting: config.jobs.maxQueued });
      if (!admission.admitted) {
        throw new ApiError('QUEUE_FULL', 'Too many jobs are waiting; submit again later.', { retryAfter: 5, extras: { status: 'busy', queueLength: admission.waiting } });
      }
    });
    const statusUrl = `/v1/jobs/${id}`;
    reply.code(202).header('location', statusUrl);
    return { id, status: 'queued' as const, statusUrl, resultUrl: `${statusUrl}/result`, createdAt: new Date(data.submittedAt).toISOString() };
  });

  const ownJob = ownJobOf(deps);
  const jobSchema = { tags, summary: "A job's state, timings, error and webhook", params: JobParams, response: { 200: JobViewSchema } };
  api.get('/v1/jobs/:id', { config: { ...read, errors: ['JOB_NOT_FOUND', 'JOBS_UNAVAILABLE'] }, schema: jobSchema }, async (request, reply) => {
    const job = await ownJob(request, request.params.id);
    const webhook = job.data.webhookUrl ? await onQueue(deps.queue, (queue) => queue.webhookRecord(job.id)) : undefined;
    reply.header('cache-control', 'no-store');
    return jobView(job, webhook);
  });

  jobResultRoutes(api, deps, ownJob);

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
