import { randomBytes } from 'node:crypto';
import type { CachedResult } from '../cache/result-store.js';
import type { CaptureResult } from '../capture/engine.js';
import type { Renderer, RenderJob, RenderOutcome } from '../capture/service.js';
import { ApiError } from '../errors.js';
import { fromJobFailure, WORKER_LOST, type CaptureJobData, type JobSnapshot } from './job-model.js';
import type { CaptureQueue } from './queue.js';

/** A new job id: `job_` and 22 url-safe characters (128 random bits). */
export function newJobId(): string {
  return `job_${randomBytes(16).toString('base64url')}`;
}

/** The shape of every job id; anything else is no job (and never reaches Redis). */
export const JOB_ID_PATTERN = '^job_[A-Za-z0-9_-]{22}$';

/** Beyond the render's own deadline, how long a caller waits for a worker's answer. */
const ANSWER_MARGIN_MS = 10_000;

/** What the queued renderer needs to know of the node's settings. */
export interface QueuedRendererOptions {
  /** Synchronous captures that may wait beyond the workers' running ones, cluster-wide (PAGESHOT_MAX_QUEUE). */
  maxQueue: number;
  /** How long one may wait for a worker (PAGESHOT_QUEUE_TIMEOUT_MS). */
  queueTimeoutMs: number;
}

function busy(code: 'QUEUE_FULL' | 'QUEUE_TIMEOUT', message: string, queueLength: number): ApiError {
  return new ApiError(code, message, { retryAfter: 1, extras: { status: 'busy', queueLength } });
}

/**
 * An api node's renderer: hands the capture to a worker through the job queue and waits
 * for the answer, with the busy answers of a local queue — QUEUE_FULL when as many
 * synchronous captures wait cluster-wide, beyond the workers' free slots, as
 * PAGESHOT_MAX_QUEUE allows (decided atomically in Redis, see AdmissionReservations),
 * QUEUE_TIMEOUT when no worker took it within PAGESHOT_QUEUE_TIMEOUT_MS (it is then
 * taken out of the queue).
 */
export class QueuedRenderer implements Renderer {
  constructor(
    private readonly queue: CaptureQueue,
    private readonly options: QueuedRendererOptions,
  ) {}

  /** Which options a worker can serve is the worker's to say (it answers with the error). */
  assertAvailable(): void {}

  async render({ caller, request, options }: RenderJob, signal: AbortSignal): Promise<RenderOutcome> {
    const submittedAt = Date.now();
    const data: CaptureJobData = {
      kind: 'sync',
      owner: caller.caller,
      subject: caller.caller,
      allowedHosts: [...caller.allowedHosts],
      request,
      dailyCounted: false,
      submittedAt,
    };
    try {
      const id = newJobId();
      // Counted and placed in one step: no two callers, on this node or another, both take the last place.
      const admission = await this.queue.add(id, data, { maxWaiting: this.options.maxQueue, waitMs: this.options.queueTimeoutMs });
      if (!admission.admitted) throw busy('QUEUE_FULL', 'Server is currently overloaded', admission.waiting);
      let finished = await this.queue.finished(id, signal, this.options.queueTimeoutMs);
      if (!finished && (await this.queue.takeBack(id, data))) {
        if (signal.aborted) throw new ApiError('CLIENT_CLOSED_REQUEST', 'The client went away.');
        throw busy('QUEUE_TIMEOUT', 'Request queue timeout', await this.queue.waitingOf('sync'));
      }
      // A worker has it: its own deadline bounds the render.
      finished ??= await this.queue.finished(id, signal, options.timeout + ANSWER_MARGIN_MS);
      if (!finished) {
        if (signal.aborted) throw new ApiError('CLIENT_CLOSED_REQUEST', 'The client went away.');
        throw new ApiError('RENDER_TIMEOUT', `The page did not finish rendering within ${options.timeout} ms.`);
      }
      return await this.answer(finished);
    } catch (error) {
      return { ok: false, error: error instanceof ApiError ? error : new ApiError('JOBS_UNAVAILABLE', 'The job queue cannot be reached right now.', { retryAfter: 1 }), failedMs: undefined };
    }
  }

  /** The outcome of a finished job; its bytes (never counted in a share) are read once and deleted. */
  private async answer(job: JobSnapshot): Promise<RenderOutcome> {
    const ran = job.processedOn !== undefined && job.finishedOn !== undefined ? job.finishedOn - job.processedOn : undefined;
    const outcome = job.returnvalue;
    if (job.state === 'failed' || !outcome) return { ok: false, error: fromJobFailure(WORKER_LOST), failedMs: ran };
    if (!outcome.ok) return { ok: false, error: fromJobFailure(outcome.error), failedMs: outcome.failedMs };
    const body = await this.queue.results.get(job.id);
    void this.queue.results.delete(job.id).catch(() => undefined);
    if (!body) return { ok: false, error: new ApiError('CAPTURE_FAILED', 'The capture result was lost on its way back.'), failedMs: ran };
    const result: CaptureResult = {
      body,
      contentType: outcome.contentType,
      truncated: false,
      headers: outcome.headers,
      finalUrl: undefined,
      targetStatus: undefined,
      timings: outcome.timings,
      renderMs: outcome.renderMs,
    };
    const entry: CachedResult | undefined = outcome.cached && {
      body,
      contentType: outcome.contentType,
      headers: outcome.headers,
      etag: outcome.etag,
      storedAt: outcome.cached.storedAt,
      expiresAt: outcome.cached.expiresAt,
    };
    const waitedMs = Math.max(0, (job.processedOn ?? job.data.submittedAt) - job.data.submittedAt);
    return { ok: true, result, waitedMs, entry };
  }
}
