import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { KeyStanding } from '../auth/key-standing.js';
import { ApiError } from '../errors.js';
import type { JobSnapshot } from '../jobs/job-model.js';
import { JOB_ID_PATTERN } from '../jobs/queued-renderer.js';
import type { CaptureQueue } from '../jobs/queue.js';

/** `:id` of the job routes; anything not shaped like a job id never reaches Redis. */
export const JobParams = Type.Object({ id: Type.String({ pattern: JOB_ID_PATTERN, description: 'The job id, as `POST /v1/jobs` answered it.' }) }, { additionalProperties: false });

/** A 204 answer's schema. */
export const NoContent = { 204: { description: 'Done.', type: 'null' } } as const;

function unavailable(): ApiError {
  return new ApiError('JOBS_UNAVAILABLE', 'Async jobs need Redis: this server has no PAGESHOT_REDIS_URL, or Redis cannot be reached.', {
    retryAfter: 1,
  });
}

/** Runs a queue operation; Redis errors become 503 JOBS_UNAVAILABLE (ApiErrors pass through). */
export async function onQueue<T>(queue: CaptureQueue | undefined, work: (queue: CaptureQueue) => Promise<T>): Promise<T> {
  if (!queue) throw unavailable();
  try {
    return await work(queue);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw unavailable();
  }
}

/** Reads the caller's job: `(request, id)` → the job, or 404 JOB_NOT_FOUND. */
export type OwnJob = (request: FastifyRequest, id: string) => Promise<JobSnapshot>;

/**
 * The caller's job (or one of a key it replaced by rotation), or 404 whether it does not
 * exist or is someone else's (never 403: ids cannot be probed).
 */
export function ownJobOf(deps: { queue: CaptureQueue | undefined; keyStanding: KeyStanding }): OwnJob {
  return async (request, id) => {
    const job = await onQueue(deps.queue, (queue) => queue.snapshot(id));
    if (!job || !(await deps.keyStanding.inherits(request.principal!.caller, job.data.owner))) throw new ApiError('JOB_NOT_FOUND', `No job ${id}.`);
    return job;
  };
}
