import { ApiError } from '../errors.js';
import type { ShareStanding } from './result-store.js';

/**
 * The refusals of the result store's limits, worded once for the route that refuses a
 * submission and for the worker that fails a job.
 */

/** A result larger than PAGESHOT_JOB_MAX_RESULT_BYTES: the job fails, nothing is kept. */
export function resultTooLarge(bytes: number, limitBytes: number): ApiError {
  return new ApiError('RESULT_TOO_LARGE', `The result (${bytes} bytes) is larger than this server keeps for a job (${limitBytes} bytes).`, {
    extras: { limitBytes, bytes },
  });
}

/**
 * A key whose kept results fill its share (PAGESHOT_JOB_MAX_STORED_BYTES_PER_KEY): with
 * how long until enough of them expire, and what frees room sooner.
 */
export function storageFull(standing: ShareStanding): ApiError {
  return new ApiError(
    'RESULT_STORAGE_FULL',
    `This key's job results take ${standing.storedBytes} of its ${standing.limitBytes} bytes of result storage: delete results you have fetched (DELETE /v1/jobs/:id), or wait until older ones expire.`,
    {
      ...(standing.retryAfterSeconds !== undefined ? { retryAfter: standing.retryAfterSeconds } : {}),
      extras: { limitBytes: standing.limitBytes, storedBytes: standing.storedBytes },
    },
  );
}

/** One download more than PAGESHOT_JOB_MAX_DOWNLOADS_PER_KEY from this node. */
export function tooManyDownloads(limit: number): ApiError {
  return new ApiError('TOO_MANY_DOWNLOADS', `This key already downloads ${limit} job results at once from this server; retry when one ends.`, {
    retryAfter: 1,
    extras: { limit },
  });
}
