import { createHash } from 'node:crypto';
import type { CaptureOptions } from '../capture/options.js';

/**
 * Options that change how a capture is run but not what it shows: a result made with
 * any value of them answers a request with any other. `fresh` asks for a new browser
 * context; `timeout` only bounds the wait; `cacheTtl` is about the cache itself.
 */
const NOT_IN_KEY: ReadonlySet<string> = new Set(['timeout', 'fresh', 'cacheTtl', 'target']);

/** `value` as JSON with every object's keys sorted, so that the order a client wrote them in does not matter. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([name, item]) => `${JSON.stringify(name)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The cache key of a capture: who may see it (`scope`: one key's caller identity, or
 * `*` when the operator shares results between keys) and everything that decides the
 * picture, after validation and defaults (so `{"width":1280}` and `{}` are one entry).
 * The URL is the parsed one (`HTTP://Example.com:80/` and `http://example.com/` are one
 * entry). Returned as a SHA-256 hex digest: fixed size, and no option text (cookies,
 * headers) is kept in a store's key space.
 */
export function cacheKey(scope: string, options: CaptureOptions): string {
  const picture: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(options)) if (!NOT_IN_KEY.has(name)) picture[name] = value;
  const target = options.target.kind === 'url' ? { url: options.target.url.href } : { html: options.target.html };
  return createHash('sha256').update(canonicalJson({ scope, target, picture })).digest('hex');
}
