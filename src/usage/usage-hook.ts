import type { FastifyInstance, FastifyRequest } from 'fastify';
import { REFUNDED_CODES, type ErrorCode } from '../errors.js';
import { whenSettled } from '../http/settled.js';
import type { LimitBackend } from '../limits/policy.js';
import type { UsageOutcome, UsageRecorder } from './usage-recorder.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The code of the error this request was answered with, if any. */
    errorCode?: ErrorCode;
    /**
     * Set by the screenshot route when an image was sent; `cached` when it came from the
     * result cache or another request's render (no render of its own).
     */
    captureStats?: { renderMs: number; bytes: number; cached?: boolean };
    /** Set by the screenshot route when a capture ran and failed. */
    captureFailedMs?: number;
  }
}

/** Codes that stop a request before any capture: counted as "rejected" with their reason. */
const LIMIT_CODES: ReadonlySet<ErrorCode> = new Set(['RATE_LIMITED', 'QUOTA_EXCEEDED', 'CONCURRENCY_LIMITED']);

function outcomeOf(capture: boolean, code: ErrorCode | undefined, stats: FastifyRequest['captureStats'], failedMs: number | undefined): UsageOutcome {
  if (stats) return { kind: 'succeeded', ...stats };
  if (failedMs !== undefined) return { kind: 'failed', renderMs: failedMs };
  if (code && (capture || LIMIT_CODES.has(code))) return { kind: 'rejected', reason: code };
  return { kind: 'other' };
}

/**
 * Counts every authenticated request in the usage of its key (or client IP without
 * authentication), and refunds the daily quota of requests that failed on our side and
 * of cache hits (answered without a render: the daily quota bounds rendering, the rate
 * limit bounds requests).
 * Requests refused before authentication are not counted against any key.
 */
export function registerUsageAccounting(app: FastifyInstance, deps: { recorder: UsageRecorder; backend: LimitBackend }): void {
  app.addHook('onRequest', (request, reply, done) => {
    const principal = request.principal;
    if (principal) {
      // Settled once the answer is sent or the client is gone, and the capture is over.
      whenSettled(request, reply, (aborted) => {
        const capture = request.routeOptions.config.capture === true;
        const subject = principal.keyId ?? principal.caller;
        const code = request.errorCode ?? (aborted && !request.captureStats ? 'CLIENT_CLOSED_REQUEST' : undefined);
        deps.recorder.record(subject, outcomeOf(capture, code, request.captureStats, request.captureFailedMs));
        if (request.limitDecision?.daily && ((code && REFUNDED_CODES.has(code)) || request.captureStats?.cached)) {
          deps.backend.refundDaily(principal.caller).catch((error: unknown) => request.log.error({ err: error }, 'could not refund the daily quota'));
        }
      });
    }
    done();
  });
}
