import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { sendDocument } from './openapi.js';

/** Where the API reference page is served. */
export const DOCS_PATH = '/docs';

/**
 * The reference page's policy: the console's, but without Trusted Types, which Swagger
 * UI cannot run under (it renders the document's Markdown through innerHTML, sanitised
 * by DOMPurify). Still no inline script or style and nothing from another origin.
 */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
} as const;

/**
 * `GET /docs`: Swagger UI over `/openapi.json`, every file served from the npm package
 * (no CDN), under a strict CSP. "Try it out" calls this server with a key typed into
 * the page's Authorize dialog; the key stays in the page (`persistAuthorization` off).
 */
export async function registerApiDocs(app: FastifyInstance): Promise<void> {
  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    staticCSP: DOCS_CSP,
    // Swagger UI would otherwise send the document to validator.swagger.io.
    validatorUrl: false,
    // BaseLayout: no top bar, whose "Explore" box loads other documents and whose logo is
    // an SVG with an inline <style> the CSP refuses.
    uiConfig: { layout: 'BaseLayout', deepLinking: true, persistAuthorization: false, tryItOutEnabled: false, displayRequestDuration: true },
    uiHooks: {
      onRequest: (request, reply, done) => {
        reply.headers(SECURITY_HEADERS);
        // The page loads the document from ./json: the same kept serialisation as /openapi.json.
        if (request.routeOptions.url === `${DOCS_PATH}/json`) {
          sendDocument(app, request, reply);
          return;
        }
        done();
      },
    },
    theme: { title: 'PageShot API reference' },
  });
}
