/**
 * The request of a call answered with a capture's bytes (a screenshot, a PDF, a job's
 * result): the conditional header, and the check that the HTTP deadline leaves the server
 * time to render.
 */
import { PageShotError } from './errors.js';
import type { Repeatable } from './retry.js';
import type { CallSpec, RequestOptions } from './transport.js';
import type { PdfCaptureOptions, ScreenshotOptions } from './types.js';

/** Per-call settings of `screenshot()` and `pdf()`: those of every call, and a conditional request. */
export interface CaptureRequestOptions extends RequestOptions {
  /**
   * The `etag` of a capture you already hold (sent as `If-None-Match`). When the answer's
   * bytes carry the same tag, the server sends none: the result has `notModified: true`
   * and an empty `image`. Useful with `cacheTtl`, where a repeat is a cache `HIT`.
   */
  ifNoneMatch?: string;
}

/** What `captureSpec()` needs to know of one call. */
export interface CaptureCall {
  method: 'GET' | 'POST';
  path: string;
  body: ScreenshotOptions | PdfCaptureOptions | undefined;
  repeatable: Repeatable;
  expect: 'bytes' | 'stream' | 'sink';
  sink?: CallSpec['sink'];
}

/**
 * The call spec and per-call settings of a capture. Refuses, before anything is sent, an
 * `ifNoneMatch` no header can carry and a capture `timeout` (the server's render deadline)
 * that the attempt's HTTP deadline would cut short: the server would go on rendering for
 * an answer nobody waits for.
 */
export function captureSpec(call: CaptureCall, options: CaptureRequestOptions | undefined, clientTimeoutMs: number): { spec: CallSpec; request: RequestOptions } {
  const { ifNoneMatch, ...request } = options ?? {};
  let headers: Record<string, string> | undefined;
  if (ifNoneMatch !== undefined) {
    // Checked here: fetch would throw a TypeError for it, which reads as a lost connection and is retried.
    if (!/^[\x20-\x7e]+$/.test(ifNoneMatch)) throw new PageShotError('"ifNoneMatch" must be an entity tag such as a capture\'s `etag`.');
    headers = { 'if-none-match': ifNoneMatch };
  }
  const renderMs = call.body?.timeout;
  const deadlineMs = request.timeoutMs ?? clientTimeoutMs;
  if (typeof renderMs === 'number' && renderMs >= deadlineMs) {
    throw new PageShotError(
      `The capture option "timeout" (${renderMs} ms, the server's render deadline) must be shorter than the HTTP deadline of an attempt, ` +
        `"timeoutMs" (${deadlineMs} ms), which also covers queueing and the transfer: raise "timeoutMs".`,
    );
  }
  const { method, path, body, repeatable, expect, sink } = call;
  const spec: CallSpec = { method, path, body, expect, repeatable, ...(sink ? { sink } : {}), ...(headers ? { headers } : {}) };
  return { spec, request };
}
