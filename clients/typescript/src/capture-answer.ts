/**
 * What the headers of a capture's answer say about its bytes: type, cache, entity tag,
 * final URL, target status, page count and where the time went.
 */
import type { Answer } from './transport.js';
import type { CacheStatus, CaptureInfo, Timing } from './types.js';

/**
 * `Server-Timing: queue;dur=3, navigation;dur=120, capture;dur=40, render;dur=170`:
 * `queue` and `render` (the total), and every other entry as a phase, in order; or
 * `cache;desc="hit";dur=0.4` for an answer from the result cache, which is no phase.
 */
function parseServerTiming(header: string | null): Timing {
  const timing: Timing = { phases: {} };
  for (const entry of (header ?? '').split(',')) {
    const [name, ...params] = entry.split(';').map((part) => part.trim());
    const dur = params.find((param) => /^dur=/i.test(param));
    const ms = dur === undefined ? Number.NaN : Number(dur.slice(4).replace(/^"|"$/g, ''));
    if (!name || !Number.isFinite(ms)) continue;
    if (name === 'queue') timing.queueMs = ms;
    else if (name === 'render') timing.renderMs = ms;
    else if (name === 'cache') timing.cacheMs = ms;
    else timing.phases[name] = ms;
  }
  return timing;
}

/** A whole number from a header, or undefined. */
function intHeader(headers: Headers, name: string): number | undefined {
  const value = headers.get(name);
  return value !== null && /^\d+$/.test(value.trim()) ? Number(value) : undefined;
}

/**
 * `X-Cache` as PageShot sends it; anything else (a CDN in front that sets its own, say
 * `Hit from cloudfront`) is not about PageShot's cache, so undefined.
 */
function cacheStatus(headers: Headers): CacheStatus | undefined {
  const value = headers.get('x-cache')?.trim().toUpperCase();
  return value === 'HIT' || value === 'MISS' || value === 'BYPASS' ? value : undefined;
}

/** Everything a capture's answer says but its bytes. */
export function captureInfo(answer: Answer<unknown>): CaptureInfo {
  const { headers } = answer;
  return {
    // A 304 carries no body, so no type; the bytes the caller holds keep theirs.
    contentType: answer.notModified ? '' : (headers.get('content-type') ?? 'application/octet-stream'),
    notModified: answer.notModified,
    cache: cacheStatus(headers),
    etag: headers.get('etag') ?? undefined,
    age: intHeader(headers, 'age'),
    finalUrl: headers.get('x-pageshot-final-url') ?? undefined,
    targetStatus: intHeader(headers, 'x-pageshot-target-status'),
    truncated: headers.get('x-pageshot-truncated')?.trim().toLowerCase() === 'true',
    pages: intHeader(headers, 'x-pageshot-pages'),
    rateLimit: answer.rateLimit,
    requestId: answer.requestId,
    timing: parseServerTiming(headers.get('server-timing')),
  };
}
