import { createHmac, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/), with Node's crypto only.
 * A receiver verifies with any Standard Webhooks library (the tests use the npm
 * `standardwebhooks` package, which nobody here wrote).
 */

const SECRET_PREFIX = 'whsec_';
/** The specification asks for keys of 24 to 64 bytes; we create 32 (HMAC-SHA256's block-friendly size). */
const SECRET_BYTES = 32;
const MIN_SECRET_BYTES = 24;
const MAX_SECRET_BYTES = 64;

/** The three headers a Standard Webhooks receiver reads. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** A new signing secret, `whsec_<base64 of 32 random bytes>`; shown once to its owner, like a key. */
export function createWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

/** A new message id (`msg_…`): the receiver's idempotency key, the same on every retry. */
export function createWebhookMessageId(): string {
  return 'msg_' + randomBytes(16).toString('base64url');
}

/**
 * The key bytes of a `whsec_<base64>` secret. Throws a message that never repeats the
 * secret (it would end up in logs), when it is malformed or outside 24–64 bytes.
 */
export function parseWebhookSecret(secret: string): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) throw new Error('the webhook secret must start with whsec_');
  const encoded = secret.slice(SECRET_PREFIX.length);
  // Buffer.from(…, 'base64') silently skips invalid characters: check the alphabet first.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('the webhook secret is not valid base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) throw new Error('the webhook secret must hold 24 to 64 bytes');
  return key;
}

/**
 * Signs one delivery: `v1,<base64 HMAC-SHA256 of "${id}.${timestamp}.${body}">`.
 * `body` must be the exact bytes sent: the receiver signs what it received.
 * `timestamp` is in Unix seconds; each attempt is signed afresh with its own time, so a
 * retry minutes later still falls inside the receiver's replay window.
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): WebhookHeaders {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new Error('the webhook timestamp must be whole Unix seconds');
  // The id is joined with '.': a '.' in it would let two (id, timestamp) pairs sign alike.
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new Error('the webhook id must be 1-128 characters of [A-Za-z0-9_-]');
  const signature = createHmac('sha256', parseWebhookSecret(secret)).update(`${id}.${timestamp}.${body}`).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}
