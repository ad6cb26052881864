import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { CaptureLimits } from '../config.js';
import { captureBodySchema } from '../capture/options.js';
import { captureResponses } from './capture-responses.js';
import { captureHandler, type ScreenshotRouteDeps } from './screenshot.js';

/**
 * JSON body of `POST /pdf`: the options of `POST /screenshot`, with `format` "pdf" or
 * left out, and without the options only an image has (`quality`, `selector`,
 * `fullPage`, `omitBackground`: a PDF always holds the whole page). Anything else is
 * refused by the schema (400 naming the field), so the route's contract and its OpenAPI
 * description say the same thing.
 */
export function pdfBodySchema(limits: CaptureLimits) {
  const { quality: _quality, selector: _selector, fullPage: _fullPage, omitBackground: _omitBackground, ...properties } = captureBodySchema(limits).properties;
  return Type.Object(
    { ...properties, format: Type.Literal('pdf', { default: 'pdf', description: 'always "pdf" on this route (may be left out)' }) },
    { additionalProperties: false },
  );
}

/** `POST /pdf`: `POST /screenshot` with `format: "pdf"`, the same handler, scope and accounting. */
export function pdfRoutes(app: FastifyInstance, deps: ScreenshotRouteDeps): void {
  const handle = captureHandler(deps);
  const routeConfig = { scope: 'screenshot' as const, capture: true };
  const schema = {
    tags: ['capture'],
    summary: 'Print a page to PDF',
    body: pdfBodySchema(deps.config.limits),
    response: captureResponses(['pdf'], 'The PDF.'),
  };
  app.withTypeProvider<TypeBoxTypeProvider>().post('/pdf', { config: routeConfig, schema }, (request, reply) =>
    handle(request, reply, { ...request.body, fullPage: false, omitBackground: false }),
  );
}
