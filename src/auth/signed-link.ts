import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * Signed embed links: `GET /screenshot?<options>&keyId=…&expires=…&signature=…`, so that a
 * screenshot can sit in an `<img src>` without an API key in the page. The signature is an
 * HMAC-SHA256, with one of the key's signing secrets, over the method, the path and every
 * query parameter but `signature` in a canonical form (RFC 3986 encoding, sorted): any
 * change to the options, `keyId` or `expires` breaks it. The contract (which both clients
 * and the console follow) is the README's "Signed embed links".
 */

/** The query parameters a signed link adds to the capture options. */
export const SIGNED_LINK_PARAMETERS = ['keyId', 'expires', 'signature'] as const;

/** The one route a signed link may be used on (GET, and HEAD where it is served). */
export const SIGNED_LINK_PATH = '/screenshot';

/** What a signing secret looks like: `pss_` and 43 base64url characters (32 random bytes). */
export const SIGNING_SECRET_SHAPE = /^pss_[A-Za-z0-9_-]{43}$/;

const SIGNATURE_SHAPE = /^[0-9a-f]{64}$/;
/** The longest a signed link may live: one year from when it is used. */
export const MAX_LINK_LIFETIME_SECONDS = 31_536_000;
/** Slack for a signer whose clock runs ahead of the server's. */
const CLOCK_SKEW_SECONDS = 300;

/** What a key id looks like (key-format.ts): checked before any secret is looked up. */
export const KEY_ID_SHAPE = /^key_[A-Za-z0-9]{20}$/;

/** Integers only; the sign is allowed so that `-1` is an expired link, not a malformed one. */
const EXPIRES_SHAPE = /^-?[0-9]{1,15}$/;

/** A query parameter as decoded (URLSearchParams semantics: `+` is a space). */
export type QueryPair = readonly [name: string, value: string];

/** A new signing secret: `pss_` and 32 bytes from the CSPRNG, base64url (43 characters). */
export function createSigningSecret(): string {
  return `pss_${randomBytes(32).toString('base64url')}`;
}

/**
 * RFC 3986 percent-encoding: every UTF-8 byte except `A–Z a–z 0–9 - . _ ~` as `%XX`.
 * encodeURIComponent leaves `! ' ( ) *` as they are, which RFC 3986 reserves.
 */
export function rfc3986(text: string): string {
  // encodeURIComponent throws URIError on a lone surrogate; callers check isWellFormed() first.
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The canonical query of a signed link: every pair but `signature`, names and values
 * RFC 3986-encoded, sorted by name then value (code-unit order), joined as `name=value`
 * with `&`. Repeated names stay repeated. It is also a valid query string as it stands.
 */
export function canonicalQuery(pairs: Iterable<QueryPair>): string {
  const encoded: Array<[string, string]> = [];
  for (const [name, value] of pairs) if (name !== 'signature') encoded.push([rfc3986(name), rfc3986(value)]);
  encoded.sort(([nameA, valueA], [nameB, valueB]) => (nameA < nameB ? -1 : nameA > nameB ? 1 : valueA < valueB ? -1 : valueA > valueB ? 1 : 0));
  return encoded.map(([name, value]) => `${name}=${value}`).join('&');
}

/** The message an HMAC is taken of: `GET\n/screenshot\n` and the canonical query. */
export function signingMessage(pairs: Iterable<QueryPair>): string {
  return `GET\n${SIGNED_LINK_PATH}\n${canonicalQuery(pairs)}`;
}

function hmac(secret: string, message: string): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(message, 'utf8').digest();
}

/** The signature of a link's pairs (`signature` itself ignored): lowercase hex HMAC-SHA256. */
export function signPairs(secret: string, pairs: Iterable<QueryPair>): string {
  return hmac(secret, signingMessage(pairs)).toString('hex');
}

/**
 * Which of `secrets` signed `pairs` with `signature`: its index, or -1 when none did (or
 * `signature` is not 64 lowercase hex digits). Every secret is tried and compared with
 * `timingSafeEqual`, whether an earlier one matched or not, so the time taken tells
 * nothing about which secret (or how much of a signature) was right.
 */
export function matchingSecret(secrets: readonly string[], pairs: Iterable<QueryPair>, signature: string): number {
  if (!SIGNATURE_SHAPE.test(signature)) return -1;
  const given = Buffer.from(signature, 'hex');
  const message = signingMessage(pairs);
  let found = -1;
  for (let index = 0; index < secrets.length; index++) {
    const equal = timingSafeEqual(hmac(secrets[index]!, message), given);
    if (equal && found === -1) found = index;
  }
  return found;
}

/** A signed link as read off a request URL, before its signature is checked. */
export interface SignedLink {
  /** Every query pair, in the order sent, `signature` included. */
  pairs: QueryPair[];
  keyId: string;
  expires: string;
  signature: string;
}

/** What a request's query says about signing. */
export type SignedLinkReading =
  | { kind: 'none' }
  /** Some of keyId / expires / signature, not all three. */
  | { kind: 'partial'; missing: string[] }
  /** One of them given more than once. */
  | { kind: 'repeated'; name: string }
  | { kind: 'link'; link: SignedLink };

/**
 * Reads keyId / expires / signature off a request URL (`/path?query`), with the decoding
 * the signer used (URLSearchParams). `none` when the URL has none of them.
 */
export function readSignedLink(url: string): SignedLinkReading {
  const start = url.indexOf('?');
  if (start === -1) return { kind: 'none' };
  const pairs = [...new URLSearchParams(url.slice(start + 1))] as QueryPair[];
  const found = new Map<string, string[]>(SIGNED_LINK_PARAMETERS.map((name) => [name, []]));
  for (const [name, value] of pairs) found.get(name)?.push(value);
  const present = SIGNED_LINK_PARAMETERS.filter((name) => found.get(name)!.length > 0);
  if (present.length === 0) return { kind: 'none' };
  if (present.length < SIGNED_LINK_PARAMETERS.length) {
    return { kind: 'partial', missing: SIGNED_LINK_PARAMETERS.filter((name) => !present.includes(name)) };
  }
  const repeated = present.find((name) => found.get(name)!.length > 1);
  if (repeated) return { kind: 'repeated', name: repeated };
  const first = (name: string) => found.get(name)![0]!;
  return { kind: 'link', link: { pairs, keyId: first('keyId'), expires: first('expires'), signature: first('signature') } };
}

/**
 * The link's state at `nowMs`: `expired` when `expires` (Unix seconds) is not after now,
 * `malformed` when it is not an integer, else `valid`.
 */
export function expiryOf(expires: string, nowMs: number): 'valid' | 'expired' | 'malformed' {
  if (!EXPIRES_SHAPE.test(expires)) return 'malformed';
  const expiresMs = Number(expires) * 1000;
  if (expiresMs <= nowMs) return 'expired';
  // Clients sign offline, so the server is where a link's lifetime is bounded: a link
  // that would outlive every rotation of its secret is refused as if it were forged.
  return expiresMs > nowMs + (MAX_LINK_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS) * 1000 ? 'malformed' : 'valid';
}

/**
 * The query a signed request's capture is made of: every pair but keyId / expires /
 * signature, a repeated name as an array (as Fastify's own parser gives it). Built from
 * the very pairs that were signed, so no difference between two query parsers can slip
 * an unsigned option past the signature.
 */
export function optionsQuery(pairs: readonly QueryPair[]): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of pairs) {
    if ((SIGNED_LINK_PARAMETERS as readonly string[]).includes(name)) continue;
    const earlier = query[name];
    query[name] = earlier === undefined ? value : Array.isArray(earlier) ? [...earlier, value] : [earlier, value];
  }
  return query;
}

/** A scalar screenshot option's value as it is written in a link: booleans `true`/`false`, numbers in decimal. */
export type LinkOptionValue = string | number | boolean;

/**
 * The path and query of a signed link (`/screenshot?…&signature=…`) for `options`,
 * valid until `expires` (Unix seconds). The query is the canonical one, so the link
 * reads the same whatever order the options came in.
 */
export function signedLinkPath(secret: string, keyId: string, expires: number, options: Record<string, LinkOptionValue | undefined>): string {
  const pairs: QueryPair[] = Object.entries(options)
    .filter((entry): entry is [string, LinkOptionValue] => entry[1] !== undefined)
    .map(([name, value]) => [name, String(value)] as const);
  pairs.push(['keyId', keyId], ['expires', String(expires)]);
  return `${SIGNED_LINK_PATH}?${canonicalQuery(pairs)}&signature=${signPairs(secret, pairs)}`;
}
