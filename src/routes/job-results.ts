import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { KeyStanding } from '../auth/key-standing.js';
import { matchesIfNoneMatch } from '../cache/result-cache.js';
import type { Config } from '../config.js';
import { ApiError, type ErrorCode } from '../errors.js';
import { jobView } from '../jobs/job-model.js';
import type { CaptureQueue } from '../jobs/queue.js';
import { ResultDownloads } from '../jobs/result-downloads.js';
import { tooManyDownloads } from '../jobs/result-limits.js';
import { resultStream } from '../jobs/result-stream.js';
import { ALL_FORMATS, captureResponses } from './capture-responses.js';
import { JobParams, NoContent, onQueue, type OwnJob } from './job-access.js';

/** What the result routes work with. */
export interface JobResultRouteDeps {
  config: Config;
  queue: CaptureQueue | undefined;
  keyStanding: KeyStanding;
}

/**
 * A finished job's bytes and its end: `GET /v1/jobs/:id/result` streams the result out of
 * the store in chunks, as fast as the client reads (a bounded number at once per key and
 * node), and `DELETE /v1/jobs/:id` forgets a finished job and its result before they
 * expire, giving the bytes back to the key's share of result storage.
 */
export function jobResultRoutes(app: FastifyInstance, deps: JobResultRouteDeps, ownJob: OwnJob): void {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const tags = ['jobs'];
  // Reading or deleting renders nothing: the rate limit, not the daily quota.
  const read = { scope: 'screenshot' as const, countsDaily: false };
  // Per node: each api node bounds the downloads it serves.
  const downloads = new ResultDownloads(deps.config.jobs.maxDownloadsPerKey);

  const resultSchema = { tags, summary: "A finished job's bytes", params: JobParams, response: captureResponses(ALL_FORMATS, 'The capture.') };
  const resultErrors: ErrorCode[] = ['JOB_NOT_FOUND', 'JOB_NOT_READY', 'JOB_FAILED', 'JOB_RESULT_EXPIRED', 'TOO_MANY_DOWNLOADS', 'JOBS_UNAVAILABLE'];
  api.get('/v1/jobs/:id/result', { config: { ...read, errors: resultErrors }, schema: resultSchema }, async (request, reply: FastifyReply) => {
    const job = await ownJob(request, request.params.id);
    const view = jobView(job, undefined);
    if (view.status === 'queued' || view.status === 'running') {
      throw new ApiError('JOB_NOT_READY', `Job ${job.id} is ${view.status}; ask again shortly.`, { retryAfter: 1, extras: { status: view.status } });
    }
    if (!view.result) throw new ApiError('JOB_FAILED', `Job ${job.id} failed: it has no result.`, { extras: { jobError: view.error?.code ?? 'CAPTURE_FAILED' } });
    const { results } = deps.queue!;
    const size = await onQueue(deps.queue, () => results.size(job.id));
    if (size === undefined) throw new ApiError('JOB_RESULT_EXPIRED', `The result of job ${job.id} is no longer kept.`);
    reply.header('etag', view.result.etag).header('x-job-id', job.id).header('cache-control', 'private, no-cache');
    if (matchesIfNoneMatch(request.headers['if-none-match'], view.result.etag)) return reply.code(304).send();
    // HEAD reads nothing: Fastify would drain a real stream only to drop it.
    if (request.method === 'HEAD') return reply.header('content-type', view.result.contentType).header('content-length', size).send(Readable.from([]));
    const release = downloads.take(request.principal!.caller);
    if (!release) throw tooManyDownloads(downloads.limit);
    // Given back when the answer ends, whether sent whole or cut off by the client.
    reply.raw.once('close', release);
    reply.header('content-type', view.result.contentType).header('content-length', size);
    return reply.send(resultStream(results, job.id, size));
  });

  // Deleting frees the result (and the key's share of result storage) before it expires.
  const deleteSchema = { tags, summary: 'Delete a finished job and its result', params: JobParams, response: NoContent };
  const deleteErrors: ErrorCode[] = ['JOB_NOT_FOUND', 'JOB_NOT_READY', 'JOBS_UNAVAILABLE'];
  api.delete('/v1/jobs/:id', { config: { ...read, errors: deleteErrors }, schema: deleteSchema }, async (request, reply) => {
    const { id } = request.params;
    const caller = request.principal!.caller;
    const job = await onQueue(deps.queue, (queue) => queue.snapshot(id));
    if (!job) {
      // Deleted before (by this key or one it replaced): done, as the first time. Else no such job.
      const owner = await onQueue(deps.queue, (queue) => queue.deletedOwner(id));
      if (owner !== undefined && (await deps.keyStanding.inherits(caller, owner))) return reply.code(204).send();
      throw new ApiError('JOB_NOT_FOUND', `No job ${id}.`);
    }
    if (!(await deps.keyStanding.inherits(caller, job.data.owner))) throw new ApiError('JOB_NOT_FOUND', `No job ${id}.`);
    const { status } = jobView(job, undefined);
    if (status === 'queued' || status === 'running') {
      throw new ApiError('JOB_NOT_READY', `Job ${id} is ${status}; it can be deleted once it has finished.`, { retryAfter: 1, extras: { status } });
    }
    await onQueue(deps.queue, (queue) => queue.forget(id, job.data));
    return reply.code(204).send();
  });
}
