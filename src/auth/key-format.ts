import crypto, { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 27 base62 characters carry log2(62^27) ≈ 160.8 bits. */
const RANDOM_LENGTH = 27;
/** 6 base62 characters hold any 32-bit CRC (62^6 ≈ 5.7e10 > 2^32). */
const CHECKSUM_LENGTH = 6;
const KEY_SHAPE = new RegExp(`^([a-z][a-z0-9]*(?:_[a-z0-9]+)*)_([0-9A-Za-z]{${RANDOM_LENGTH}})_([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);

/** What a prefix may look like: lower-case words joined by "_", like `ps_live`. */
export const KEY_PREFIX_SHAPE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/** Random base62 text from the CSPRNG, without modulo bias (bytes ≥ 248 are dropped). */
function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

function toBase62(value: number, width: number): string {
  let out = '';
  let rest = value;
  for (let i = 0; i < width; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

function checksumOf(body: string): string {
  return toBase62(crc32(body), CHECKSUM_LENGTH);
}

/**
 * A new API key: `<prefix>_<27 base62 random chars>_<6 base62 CRC32 chars>`, e.g.
 * `ps_live_3xK…Qz_1a2B3c`. The checksum lets a typo or a made-up string be refused
 * without a database lookup, and gives secret scanners a pattern with few false hits.
 */
export function generateKey(prefix: string): string {
  const body = `${prefix}_${randomBase62(RANDOM_LENGTH)}`;
  return `${body}_${checksumOf(body)}`;
}

/** True when `key` has the shape of a PageShot key and its checksum matches. */
export function isWellFormedKey(key: string): boolean {
  const match = KEY_SHAPE.exec(key);
  if (!match) return false;
  return checksumOf(`${match[1]}_${match[2]}`) === match[3];
}

/** The display form for lists and logs: the prefix and the last 4 characters, `ps_live_…a1b2`. */
export function keyHint(key: string): string {
  const prefix = KEY_SHAPE.exec(key)?.[1];
  return `${prefix ?? 'key'}_…${key.slice(-4)}`;
}

/**
 * Node's one-shot `crypto.hash()` (Node >= 20.12): no Hash object to build and free, so
 * about a third of the cost of `createHash().update().digest()` — this runs on every
 * authenticated request. Older Node 20 releases fall back to createHash.
 */
const oneShotSha256Hex: ((key: string) => string) | undefined =
  typeof crypto.hash === 'function' ? (key) => crypto.hash('sha256', key, 'hex') : undefined;

/** SHA-256 of the key, hex: the only form in which a key is stored, and how it is looked up. */
export function hashKey(key: string): string {
  return oneShotSha256Hex ? oneShotSha256Hex(key) : createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Compares two hex digests in time that does not depend on where they differ (as
 * `timingSafeEqual` does for buffers), without turning either into a buffer first.
 */
export function digestsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** A random id for a stored key: `key_` and 20 base62 characters (not a secret). */
export function newKeyId(): string {
  return `key_${randomBase62(20)}`;
}
