import type { CaptureRequest } from '../capture/options.js';
import { ApiError, ERROR_CODES, type ErrorCode, type ErrorExtras } from '../errors.js';

/**
 * What a job is and how it is shown: the data a capture job carries through the queue,
 * what its worker hands back, and the public view of `GET /v1/jobs/:id`.
 */

/** `async`: submitted through /v1/jobs, read later. `sync`: an api node's /screenshot, waited for. */
export type JobKind = 'async' | 'sync';

/** What travels in the queue with a capture: everything a worker needs, nothing secret. */
export interface CaptureJobData {
  kind: JobKind;
  /** The principal's `caller`: only it may read the job. */
  owner: string;
  /** Whose usage the capture counts in (the key id, else the caller). */
  subject: string;
  allowedHosts: string[];
  /** The validated request, as sent: the worker validates it again against its own limits. */
  request: CaptureRequest;
  webhookUrl?: string;
  metadata?: Record<string, unknown>;
  /** A unit of the daily quota was taken when the job was submitted (given back like a capture's). */
  dailyCounted: boolean;
  /** When the caller submitted it, ms since the epoch. */
  submittedAt: number;
}

/** A failure as the job keeps it: the shared error shape's fields, and the HTTP status. */
export interface JobFailure {
  status: number;
  code: ErrorCode;
  error: string;
  retryAfter?: number;
  extras?: ErrorExtras;
}

/** What a worker hands back for a capture job; the bytes are in the result store. */
export type CaptureJobReturn =
  | {
      ok: true;
      contentType: string;
      bytes: number;
      etag: string;
      renderMs: number;
      waitedMs: number;
      /** Headers describing the bytes (final URL, target status, truncation, pages). */
      headers: Record<string, string>;
      timings: Array<{ name: string; ms: number }>;
      /** The result cache's entry the bytes came from or went to, if any. */
      cached: { hit: boolean; storedAt: number; expiresAt: number } | undefined;
      /** When the stored result is deleted, ms since the epoch. */
      expiresAt: number;
    }
  | { ok: false; error: JobFailure; failedMs: number | undefined };

/** Public states; the queue's own (waiting, prioritized, delayed…) are an implementation detail. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** The webhook part of a job's view. */
export type WebhookView = {
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastStatusCode?: number;
  lastError?: string;
  deliveredAt?: string;
};

/** `GET /v1/jobs/:id`, and the `data` of a webhook. */
export interface JobView {
  id: string;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  attempts: number;
  metadata: Record<string, unknown> | null;
  result: { contentType: string; bytes: number; etag: string; url: string; expiresAt: string } | null;
  /** The shared error shape's fields, with the extras the failure carried (e.g. `limitBytes`). */
  error: ({ status: number; code: ErrorCode; error: string } & ErrorExtras) | null;
  webhook: WebhookView | null;
}

/** The failure a job keeps for `error`: an ApiError as it is, anything else as a bare 500. */
export function toJobFailure(error: unknown): JobFailure {
  if (error instanceof ApiError) {
    return {
      status: error.statusCode,
      code: error.code,
      error: error.message,
      ...(error.retryAfter !== undefined ? { retryAfter: error.retryAfter } : {}),
      ...(Object.keys(error.extras).length > 0 ? { extras: error.extras } : {}),
    };
  }
  return { status: 500, code: 'CAPTURE_FAILED', error: 'The capture failed.' };
}

/** The ApiError a failed job answers a waiting synchronous caller with. */
export function fromJobFailure(failure: JobFailure): ApiError {
  const code = failure.code in ERROR_CODES ? failure.code : 'CAPTURE_FAILED';
  return new ApiError(code, failure.error, {
    ...(failure.retryAfter !== undefined ? { retryAfter: failure.retryAfter } : {}),
    ...(failure.extras ? { extras: failure.extras } : {}),
  });
}

/** A worker that stopped twice while holding the job (BullMQ's stalled-job limit). */
export const WORKER_LOST: JobFailure = {
  status: ERROR_CODES.WORKER_LOST,
  code: 'WORKER_LOST',
  error: 'The worker running this capture stopped (twice); the capture was given up. Submit it again.',
  retryAfter: 1,
};

const iso = (ms: number | undefined) => (ms === undefined || ms === 0 ? null : new Date(ms).toISOString());

/** What the queue knows of one job, in the shape `jobView` reads. */
export interface JobSnapshot {
  id: string;
  data: CaptureJobData;
  /** BullMQ's state: waiting, prioritized, delayed, active, completed, failed… */
  state: string;
  returnvalue: CaptureJobReturn | null | undefined;
  processedOn: number | undefined;
  finishedOn: number | undefined;
  attemptsStarted: number;
}

/** How a job's webhook delivery stands, as kept beside the job. */
export type WebhookRecord = Omit<WebhookView, 'url'>;

/** The public view of a job, from the queue's record of it and its webhook's record. */
export function jobView(job: JobSnapshot, webhook: WebhookRecord | undefined): JobView {
  const outcome = job.state === 'completed' ? job.returnvalue : undefined;
  const finished = job.state === 'completed' || job.state === 'failed';
  const status: JobStatus = !finished ? (job.state === 'active' ? 'running' : 'queued') : outcome?.ok ? 'succeeded' : 'failed';
  const failure = status === 'failed' ? (outcome && !outcome.ok ? outcome.error : WORKER_LOST) : undefined;
  const base = `/v1/jobs/${job.id}`;
  return {
    id: job.id,
    status,
    createdAt: new Date(job.data.submittedAt).toISOString(),
    startedAt: iso(job.processedOn),
    finishedAt: finished ? iso(job.finishedOn) : null,
    // A job failed by the queue was lost by its worker twice; BullMQ fails it when a third
    // worker takes it (without running it), which it counts as one more start.
    attempts: job.state === 'failed' ? Math.max(1, job.attemptsStarted - 1) : job.attemptsStarted,
    metadata: job.data.metadata ?? null,
    result:
      outcome?.ok === true
        ? { contentType: outcome.contentType, bytes: outcome.bytes, etag: outcome.etag, url: `${base}/result`, expiresAt: new Date(outcome.expiresAt).toISOString() }
        : null,
    // The failure's extras (limitBytes, networkError…) beside the shared fields, as an error answer carries them.
    error: failure ? { ...failure.extras, status: failure.status, code: failure.code, error: failure.error } : null,
    webhook: job.data.webhookUrl ? webhookView(job.data.webhookUrl, webhook) : null,
  };
}

function webhookView(url: string, record: WebhookRecord | undefined): WebhookView {
  return { url, ...(record ?? { status: 'pending', attempts: 0 }) };
}
