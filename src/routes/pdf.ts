import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { CaptureLimits } from '../config.js';
import { captureBodySchema, type CaptureRequest } from '../capture/options.js';
import { captureHandler, type ScreenshotRouteDeps } from './screenshot.js';

/**
 * JSON body of `POST /pdf`: the options of `POST /screenshot`, with `format` "pdf" or
 * left out. Any other format is refused by the schema (400 naming `format`), so the
 * route's contract and its OpenAPI description say the same thing.
 */
export function pdfBodySchema(limits: CaptureLimits) {
  const { properties } = captureBodySchema(limits);
  return Type.Object(
    { ...properties, format: Type.Literal('pdf', { default: 'pdf', description: 'always "pdf" on this route (may be left out)' }) },
    { additionalProperties: false },
  );
}

/** `POST /pdf`: `POST /screenshot` with `format: "pdf"`, the same handler, scope and accounting. */
export function pdfRoutes(app: FastifyInstance, deps: ScreenshotRouteDeps): void {
  const handle = captureHandler(deps);
  const routeConfig = { scope: 'screenshot' as const, capture: true };
  app.post('/pdf', { config: routeConfig, schema: { body: pdfBodySchema(deps.config.limits) } }, (request, reply) =>
    handle(request, reply, request.body as CaptureRequest),
  );
}
