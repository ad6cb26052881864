/**
 * Signed embed links: a `GET /screenshot` URL that carries its own authorisation (the
 * key's id, an expiry time and an HMAC-SHA256 over every parameter), so a capture can sit
 * in an `<img src>` without an API key. The canonical form follows the server's contract
 * exactly (see the README's "Signed links"): RFC 3986 encoding, pairs sorted.
 */
import { PageShotError } from './errors.js';
import { builtin } from './node-builtins.js';
import type { SignedUrlOptions } from './types.js';

/**
 * The options `GET /screenshot` takes as query parameters, and so the only ones a signed
 * link can carry (the server's `captureQuerySchema`; a test compares the two).
 */
export const SIGNED_URL_OPTIONS = [
  'url',
  'html',
  'width',
  'height',
  'deviceScaleFactor',
  'fullPage',
  'format',
  'quality',
  'selector',
  'waitUntil',
  'waitForSelector',
  'delay',
  'timeout',
  'darkMode',
  'omitBackground',
  'userAgent',
  'css',
  'js',
  'fresh',
  'cacheTtl',
  'scrollPage',
  'disableAnimations',
  'blockCookieBanners',
  'blockAds',
  'blockTrackers',
  'clickSelector',
  'failOnBlank',
  'failOnHttpError',
  'device',
  'timezone',
  'locale',
  'reducedMotion',
  'mediaType',
] as const satisfies ReadonlyArray<keyof SignedUrlOptions>;

/** Parameters the signature itself adds; an option of the same name would be ambiguous. */
const RESERVED = new Set(['keyId', 'expires', 'signature']);
const KNOWN = new Set<string>(SIGNED_URL_OPTIONS);

/** Longest life of a link the server accepts (a year), in seconds. */
export const MAX_EXPIRES_IN = 31_536_000;

/** RFC 3986 percent-encoding: every UTF-8 byte but `A-Z a-z 0-9 - . _ ~` as `%XX`. */
export function rfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The canonical query of a signed request: every (name, value) pair but `signature`,
 * each side RFC 3986-encoded, sorted by encoded name then encoded value (code-unit
 * order), joined as `name=value` with `&`.
 */
export function canonicalQuery(pairs: ReadonlyArray<readonly [string, string]>): string {
  const encoded = pairs.filter(([name]) => name !== 'signature').map(([name, value]) => [rfc3986(name), rfc3986(value)] as const);
  encoded.sort(([nameA, valueA], [nameB, valueB]) => compare(nameA, nameB) || compare(valueA, valueB));
  return encoded.map(([name, value]) => `${name}=${value}`).join('&');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Lowercase hex HMAC-SHA256 of a signed request's message (`GET\n/screenshot\n` + canonical query). */
export function signature(secret: string, canonical: string): string {
  return builtin('node:crypto', 'signedUrl()').createHmac('sha256', secret).update(`GET\n/screenshot\n${canonical}`, 'utf8').digest('hex');
}

/** An option's value as the query carries it: booleans `true`/`false`, numbers in decimal, text as is. */
function queryValue(name: string, value: unknown): string {
  if (typeof value === 'string') {
    // A lone UTF-16 surrogate has no UTF-8 bytes: no URL can carry it (encodeURIComponent would throw URIError).
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(value)) {
      throw new PageShotError(`Option "${name}" of a signed link holds a lone UTF-16 surrogate, which no URL can carry.`);
    }
    return value;
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new PageShotError(`Option "${name}" of a signed link must be a string, a boolean or a finite number.`);
}

/** The options as (name, value) pairs; refuses what `GET /screenshot` could not take. */
export function optionPairs(options: SignedUrlOptions): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined) continue;
    if (RESERVED.has(name)) throw new PageShotError(`"${name}" is set by signedUrl() itself; it cannot be an option.`);
    if (!KNOWN.has(name)) {
      throw new PageShotError(`Unknown option "${name}" for a signed link: it takes the scalar screenshot options only (${SIGNED_URL_OPTIONS.join(', ')}).`);
    }
    pairs.push([name, queryValue(name, value)]);
  }
  return pairs;
}

/** What a signed link is made of. */
export interface SignInput {
  /** The server's base URL, path prefix included. */
  baseUrl: string;
  secret: string;
  keyId: string;
  options: SignedUrlOptions;
  /** Seconds the link stays valid, 1 to a year. */
  expiresIn: number;
  now: Date;
}

/** The absolute URL of a signed `GET /screenshot`. */
export function signUrl({ baseUrl, secret, keyId, options, expiresIn, now }: SignInput): string {
  if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN) {
    throw new PageShotError(`"expiresIn" must be a whole number of seconds from 1 to ${MAX_EXPIRES_IN}.`);
  }
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new PageShotError('"now" must be a valid Date.');
  const expires = Math.floor(now.getTime() / 1000) + expiresIn;
  const pairs: Array<[string, string]> = [...optionPairs(options), ['keyId', keyId], ['expires', String(expires)]];
  const canonical = canonicalQuery(pairs);
  // The canonical query is itself a valid query string; the server decodes it back to the same pairs.
  return `${baseUrl.replace(/\/+$/, '')}/screenshot?${canonical}&signature=${signature(secret, canonical)}`;
}
