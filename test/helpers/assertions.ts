import assert from 'node:assert/strict';
import type { Reply } from './harness.js';

/**
 * Asserts that `reply` is an error in the shared shape — JSON with a string `error`, the
 * expected `code` and the request id of the response, and no paths or stack frames —
 * and returns its body.
 */
export function assertErrorShape(reply: Reply, status: number, code: string): Record<string, unknown> {
  assert.equal(reply.status, status, reply.body.toString().slice(0, 500));
  const body = reply.json;
  assert.ok(body, 'the error is JSON');
  assert.equal(body.code, code);
  assert.equal(typeof body.error, 'string');
  assert.equal(body.requestId, reply.headers['x-request-id']);
  const text = reply.body.toString();
  assert.doesNotMatch(text, /\/work\/|node_modules|\bat .*\(/, 'no paths or stack frames');
  return body;
}
