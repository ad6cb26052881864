import { createHash } from 'node:crypto';
import type { CaptureOptions } from '../capture/options.js';

/**
 * Options that change how a capture is run but not what it shows: a result made with
 * any value of them answers a request with any other. `fresh` asks for a new browser
 * context; `timeout` only bounds the wait; `cacheTtl` is about the cache itself.
 */
const NOT_IN_KEY: ReadonlySet<string> = new Set(['timeout', 'fresh', 'cacheTtl', 'target']);

/**
 * `value` as JSON with every object's keys sorted, so that the order a client wrote them
 * in does not matter; `skip` names top-level keys to leave out. Written as plain loops:
 * it runs on every cached request (a cache hit's largest cost after the socket write).
 */
function canonicalJson(value: unknown, skip?: ReadonlySet<string>): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  let out = '{';
  for (const name of Object.keys(object).sort()) {
    const item = object[name];
    if (item === undefined || skip?.has(name)) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(name)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
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
  const target = options.target.kind === 'url' ? `url:${options.target.url.href}` : `html:${options.target.html}`;
  // Newlines separate the parts: JSON escapes every newline inside them.
  return createHash('sha256').update(`${JSON.stringify(scope)}\n${JSON.stringify(target)}\n${canonicalJson(options, NOT_IN_KEY)}`).digest('hex');
}
