import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors.js';
import { jsonTextDepthViolation, MAX_JSON_DEPTH } from '../json-depth.js';

/**
 * Replaces Fastify's `application/json` parser with one that first measures how deep the
 * text nests, then parses it exactly as Fastify's own parser does (secure-json-parse,
 * with the server's prototype-poisoning settings; its errors for an empty or broken body).
 *
 * Why at the parser: V8's `JSON.parse` takes a million levels without complaint, but what
 * runs after it recurses (Ajv on a typed branch, `JSON.stringify` of `metadata` for its
 * size, the store, webhooks, the answer's serialisation) and overflows the stack from a
 * few thousand, which answered 500. Refusing the text before it becomes an object protects
 * every route at once, present and future, and costs one pass over bytes already in memory.
 *
 * A body nested more than MAX_JSON_DEPTH levels is answered 400 VALIDATION_ERROR with
 * `field` naming the top-level property it happens under (`(root)` for an array body).
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  const { onProtoPoisoning, onConstructorPoisoning } = app.initialConfig;
  const parse = app.getDefaultJsonParser(onProtoPoisoning ?? 'error', onConstructorPoisoning ?? 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const violation = jsonTextDepthViolation(body as string);
    if (violation) {
      const message = `"${violation.field}" nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`;
      done(new ApiError('VALIDATION_ERROR', message, { extras: { field: violation.field } }), undefined);
      return;
    }
    parse(request, body as string, done);
  });
}
