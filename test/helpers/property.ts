import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Reply } from './harness.js';

/** What a successful capture may answer with. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'application/pdf']);

/**
 * The seed of the generated cases: fixed by default, so a CI run is repeatable and a red
 * one can be replayed; `PAGESHOT_PROPERTY_SEED=random` explores new cases (fast-check
 * prints the seed of any failure), a number replays one.
 */
const SEED = process.env.PAGESHOT_PROPERTY_SEED === 'random' ? undefined : Number(process.env.PAGESHOT_PROPERTY_SEED ?? 20_261_130);
/** fast-check's parameters for that seed. */
export const seeded = SEED === undefined ? {} : { seed: SEED };

/**
 * Asserts that `reply` is an error in the shared shape with a stable code and not a 500:
 * a 500 would mean PageShot failed on input that is the caller's or the page's, not ours.
 */
export function assertJsonErrorNot500(reply: Reply, input: unknown): void {
  const context = JSON.stringify(input)?.slice(0, 600);
  assert.notEqual(reply.status, 500, `500 ${reply.body.toString().slice(0, 300)} for ${context}`);
  assert.ok(reply.json, `a non-JSON error (${reply.status}) for ${context}`);
  assert.equal(typeof reply.json.code, 'string');
  assert.equal(typeof reply.json.error, 'string');
  assert.equal(reply.json.requestId, reply.headers['x-request-id']);
}

/**
 * The one promise every capture answer keeps: an image, or a JSON error in the shared
 * shape with a stable code — never a 500.
 */
export function assertKeepsPromise(reply: Reply, input: unknown): void {
  if (reply.status === 200) {
    assert.ok(IMAGE_TYPES.has(String(reply.headers['content-type'])), `200 without an image for ${JSON.stringify(input).slice(0, 600)}`);
    return;
  }
  assertJsonErrorNot500(reply, input);
}

/** Any JSON value, small. */
export const anyJson = fc.jsonValue({ maxDepth: 2 });

/** Strings a hostile caller likes: control characters, quotes, selectors, huge numbers as text. */
export const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '\r\n', '\u0000', '::-p(', 'internal:text="x"', 'a'.repeat(2000), '1e400', '-0', '__Host-x', '..', '.0.0.1'),
);
