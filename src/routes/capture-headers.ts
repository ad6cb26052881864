import { validateHeaderValue } from 'node:http';
import type { CaptureResult } from '../capture/engine.js';

/** Longest final URL told in a header; a page can make its address megabytes long (pushState). */
const MAX_URL_HEADER_CHARS = 4096;

/**
 * The headers that tell a caller what it got, beside the bytes:
 * - `X-PageShot-Final-Url`: the page's address when captured (after redirects and script
 *   navigations); left out for `html` and for addresses over 4,096 characters;
 * - `X-PageShot-Target-Status`: the HTTP status of the target's document;
 * - `X-PageShot-Truncated: true` when a cap cut the page or element;
 * - `Server-Timing`: time in the queue and in each phase of the capture, and in all;
 * - whatever the output adds (a PDF's `X-PageShot-Pages`).
 */
export function captureHeaders(result: CaptureResult, waitedMs: number): Record<string, string> {
  const phases = result.timings.map(({ name, ms }) => `${name};dur=${ms}`);
  return {
    ...describingHeaders(result),
    'server-timing': [`queue;dur=${waitedMs}`, ...phases, `render;dur=${result.renderMs}`].join(', '),
  };
}

/**
 * The headers that describe the bytes themselves (all but `Server-Timing`): a cached
 * result is sent again with these.
 */
export function describingHeaders(result: Omit<CaptureResult, 'timings' | 'renderMs' | 'body'>): Record<string, string> {
  const headers: Record<string, string> = { ...result.headers };
  if (result.truncated) headers['x-pageshot-truncated'] = 'true';
  if (result.targetStatus !== undefined) headers['x-pageshot-target-status'] = String(result.targetStatus);
  if (result.finalUrl !== undefined && result.finalUrl.length <= MAX_URL_HEADER_CHARS && isHeaderSafe(result.finalUrl)) {
    headers['x-pageshot-final-url'] = result.finalUrl;
  }
  return headers;
}

/** Whether a value the page chose can be sent as a header (a serialised URL always can; checked anyway). */
function isHeaderSafe(value: string): boolean {
  try {
    validateHeaderValue('x-pageshot-final-url', value);
    return /^[\x20-\x7e]*$/.test(value);
  } catch {
    return false;
  }
}
