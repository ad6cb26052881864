import { PageShotError, TimeoutError } from './errors.js';
import { sleep } from './retry.js';
import type { Job } from './types.js';

/** Settings of `PageShot.wait()`. */
export interface WaitOptions {
  /**
   * Give up with a `TimeoutError` when the job is not finished this many ms after the call
   * began (default 600000: 10 minutes). Checked between polls, so a poll under way ends first.
   * The job itself goes on: wait again, or fetch it later.
   */
  timeoutMs?: number;
  /**
   * First pause between polls in ms (default 1000). Each pause is 1.5 times the last, up
   * to 5 s (or `pollIntervalMs`, when larger); a `Retry-After` from the server is always
   * waited out in full.
   */
  pollIntervalMs?: number;
  /** Cancels the wait, including a poll under way. */
  signal?: AbortSignal;
}

/** One look at the job, with the wait the server asked for (`Retry-After`), if it did. */
export type Poll = () => Promise<{ job: Job; retryAfterMs: number | undefined }>;

const DEFAULT_WAIT_MS = 10 * 60_000;
const DEFAULT_POLL_MS = 1000;
/** Polls slow down to this: a capture that has run for a while will rarely end in the next second. */
const MAX_POLL_MS = 5000;
const POLL_GROWTH = 1.5;

/** The path of a job; refuses ids that URL parsing would turn into another route (`..`). */
export function jobPath(id: string): string {
  if (typeof id !== 'string' || id === '' || id === '.' || id === '..') throw new PageShotError('A job id is the `id` that submit() returned.');
  return `/v1/jobs/${encodeURIComponent(id)}`;
}

/** True once the job will not change any more. */
export function isFinished(job: Job): boolean {
  return job.status === 'succeeded' || job.status === 'failed';
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new PageShotError(`"${name}" must be a number >= 0.`);
  return value;
}

/**
 * Polls until the job succeeded or failed and returns it; throws `TimeoutError` when
 * `timeoutMs` runs out first (after one last poll at the deadline, so a job that just
 * finished is not missed), `AbortError` when `signal` fires.
 */
export async function waitForJob(id: string, poll: Poll, options: WaitOptions = {}): Promise<Job> {
  const timeoutMs = nonNegative('timeoutMs', options.timeoutMs, DEFAULT_WAIT_MS);
  const firstPauseMs = nonNegative('pollIntervalMs', options.pollIntervalMs, DEFAULT_POLL_MS);
  const maxPauseMs = Math.max(firstPauseMs, MAX_POLL_MS);
  const deadline = Date.now() + timeoutMs;
  for (let pauseMs = firstPauseMs; ; pauseMs = Math.min(pauseMs * POLL_GROWTH, maxPauseMs)) {
    const { job, retryAfterMs } = await poll();
    if (isFinished(job)) return job;
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) throw new TimeoutError(`Job ${id} was still ${job.status} after ${timeoutMs} ms.`);
    await sleep(Math.min(Math.max(pauseMs, retryAfterMs ?? 0), remainingMs), options.signal, 'for the job');
  }
}
