/**
 * Checking PageShot's webhook deliveries: Standard Webhooks (https://www.standardwebhooks.com/)
 * signatures, with WebCrypto only, so the same code runs in Node ≥ 20, Deno, Bun, workers
 * and browsers. WebCrypto's HMAC is asynchronous, so `verifyWebhook()` is too.
 */
import { PageShotError, WebhookVerificationError } from './errors.js';
import type { WebhookEvent } from './types.js';

/**
 * A delivery's headers as a receiver holds them: a fetch `Headers`, or a plain object with
 * names in any case (Node's `request.headers`, Express, Fastify, …).
 */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

/** Settings of `verifyWebhook()`. */
export interface VerifyWebhookOptions {
  /**
   * How far, in seconds, the delivery's timestamp may be from your clock, in either
   * direction (default 300, as the standard advises). Older ones are refused as possible
   * replays; newer ones as forged.
   */
  toleranceSeconds?: number;
  /** Your clock's time (default: now). For tests, or to check a delivery you stored. */
  now?: Date;
}

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The one value of a header, whatever the case of its name; undefined when absent or repeated. */
function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as Headers).get(name) ?? undefined;
  const values = Object.entries(headers).filter(([key]) => key.toLowerCase() === name);
  // Repeated (two spellings of the name, or an array of values): which one was signed is not ours to guess.
  const value = values.length === 1 ? values[0]![1] : undefined;
  if (Array.isArray(value)) return value.length === 1 ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** The HMAC key of a `whsec_<base64>` secret (the prefix may be left out, as other Standard Webhooks libraries allow). */
function secretKey(secret: string): Uint8Array<ArrayBuffer> {
  const encoded = typeof secret === 'string' && secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  // The message never repeats the secret: it would end up in logs.
  const malformed = () => new PageShotError('The webhook secret must be "whsec_" and base64, as createWebhookSecret() returned it.');
  if (typeof encoded !== 'string' || !BASE64.test(encoded)) throw malformed();
  try {
    return Uint8Array.from(atob(encoded), (char) => char.charCodeAt(0));
  } catch {
    throw malformed();
  }
}

/** The exact bytes received: the signature covers bytes, so a re-serialized object would not verify. */
function bodyBytes(rawBody: string | Uint8Array): Uint8Array {
  if (typeof rawBody === 'string') return new TextEncoder().encode(rawBody);
  if (rawBody instanceof Uint8Array) return rawBody;
  throw new PageShotError('rawBody must be the body exactly as received (a string or bytes), not parsed JSON.');
}

/** Compares two strings in time that depends only on their length, which is public (a signature's is fixed). */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** Base64 of HMAC-SHA256(`key`, `${id}.${timestamp}.` + body), the `v1` signature. */
async function expectedSignature(key: Uint8Array<ArrayBuffer>, id: string, timestamp: string, body: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new PageShotError('verifyWebhook() needs WebCrypto (crypto.subtle): Node ≥ 20, Deno, Bun, a worker, or a browser page served over https.');
  const prefix = new TextEncoder().encode(`${id}.${timestamp}.`);
  const signed = new Uint8Array(prefix.length + body.length);
  signed.set(prefix);
  signed.set(body, prefix.length);
  const hmacKey = await subtle.importKey('raw', key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await subtle.sign('HMAC', hmacKey, signed));
  return btoa(String.fromCharCode(...mac));
}

function parseJson(body: Uint8Array): WebhookEvent {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)) as WebhookEvent;
  } catch {
    throw new WebhookVerificationError('The webhook payload is not JSON.');
  }
}

/**
 * Checks that a webhook delivery comes from PageShot (Standard Webhooks): its
 * `webhook-signature` holds a `v1` HMAC-SHA256 of `webhook-id`.`webhook-timestamp`.body
 * made with your secret, and its timestamp is within `toleranceSeconds` of your clock.
 * Resolves to the parsed payload; rejects with `WebhookVerificationError` otherwise
 * (answer that delivery with a 4xx and ignore it). Asynchronous because WebCrypto is.
 *
 * Pass the body exactly as received: parse it first (as `express.json()` does) and the
 * signature no longer matches. A delivery may be repeated (same `webhook-id`): use the id
 * to do the work once.
 *
 * ```ts
 * app.post('/hooks/pageshot', express.raw({ type: 'application/json' }), async (req, res) => {
 *   const event = await verifyWebhook(process.env.PAGESHOT_WEBHOOK_SECRET!, req.headers, req.body).catch(() => undefined);
 *   if (!event) return res.sendStatus(400);
 *   if (event.type === 'job.succeeded') queueDownload(event.data.id);
 *   res.sendStatus(204);
 * });
 * ```
 *
 * @param secret The key's secret, `whsec_…`, from `createWebhookSecret()`.
 * @throws PageShotError (not its `WebhookVerificationError` subclass) when the secret or
 *   `rawBody` is malformed: a mistake of the receiver, not of the delivery.
 */
export async function verifyWebhook(
  secret: string,
  headers: WebhookHeaders,
  rawBody: string | Uint8Array,
  options: VerifyWebhookOptions = {},
): Promise<WebhookEvent> {
  const { toleranceSeconds = 300, now = new Date() } = options;
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) throw new PageShotError('"toleranceSeconds" must be a number >= 0.');
  const key = secretKey(secret);
  const body = bodyBytes(rawBody);

  const id = headerValue(headers, 'webhook-id');
  const timestamp = headerValue(headers, 'webhook-timestamp');
  const signatures = headerValue(headers, 'webhook-signature');
  if (!id) throw new WebhookVerificationError('No single webhook-id header.');
  if (!timestamp) throw new WebhookVerificationError('No single webhook-timestamp header.');
  if (!signatures) throw new WebhookVerificationError('No single webhook-signature header.');

  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError('The webhook-timestamp is not Unix seconds.');
  const age = Math.floor(now.getTime() / 1000) - Number(timestamp);
  if (age > toleranceSeconds) throw new WebhookVerificationError(`The webhook timestamp is ${age} s old, more than the ${toleranceSeconds} s allowed.`);
  if (-age > toleranceSeconds) throw new WebhookVerificationError(`The webhook timestamp is ${-age} s ahead, more than the ${toleranceSeconds} s allowed.`);

  const expected = await expectedSignature(key, id, timestamp, body);
  // Space-separated `version,signature` entries: several while a secret is rotated. Only v1 is ours.
  const matches = signatures.split(' ').some((entry) => {
    const comma = entry.indexOf(',');
    return comma > 0 && entry.slice(0, comma) === 'v1' && sameText(entry.slice(comma + 1), expected);
  });
  if (!matches) throw new WebhookVerificationError('No webhook signature matches the secret.');
  return parseJson(body);
}
