import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { Role } from '../config.js';
import { VERSION } from '../version.js';

/** Where a newcomer goes next: what `GET /` points to, by the role of this node. */
function linksFor(role: Role): Record<string, string> {
  const operations = { status: '/status', health: '/healthz', readiness: '/readyz', metrics: '/metrics' };
  if (role === 'worker') return operations;
  return { docs: '/docs', openapi: '/openapi.json', console: '/console', ...operations };
}

const RootAnswer = Type.Object(
  {
    name: Type.Literal('PageShot'),
    version: Type.String(),
    role: Type.Union([Type.Literal('all'), Type.Literal('api'), Type.Literal('worker')]),
    description: Type.String(),
    links: Type.Record(Type.String(), Type.String(), { description: 'Paths on this server: the API reference, the console, status.' }),
  },
  { additionalProperties: false },
);

/** No inline anything, nothing from elsewhere: the page is a few links. */
const ROOT_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(answer: { version: string; description: string; links: Record<string, string> }): string {
  const items = Object.entries(answer.links)
    .map(([name, path]) => `<li><a href="${escapeHtml(path)}">${escapeHtml(name)}</a> <code>${escapeHtml(path)}</code></li>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PageShot</title><meta name="viewport" content="width=device-width"></head>
<body><h1>PageShot ${escapeHtml(answer.version)}</h1><p>${escapeHtml(answer.description)}</p><ul>
${items}
</ul></body></html>
`;
}

/** A browser asks for HTML before anything else; curl and clients send `*\/*` or JSON. */
function prefersHtml(accept: string | undefined): boolean {
  const first = accept?.split(',')[0]?.split(';')[0]?.trim().toLowerCase();
  return first === 'text/html' || first === 'application/xhtml+xml';
}

/**
 * `GET /`: what this server is and where to go next, as JSON, or as a page of links
 * for a browser (which asks for text/html first).
 */
export function rootRoutes(app: FastifyInstance, role: Role): void {
  const answer = {
    name: 'PageShot' as const,
    version: VERSION,
    role,
    description: 'Self-hosted screenshot API: POST /screenshot with {"url": "https://…"} and an API key; the API reference is at /docs.',
    links: linksFor(role),
  };
  const html = page(answer);
  app.get(
    '/',
    {
      schema: {
        tags: ['operations'],
        summary: 'What this server is, and links to its docs, console and status',
        response: {
          200: {
            description: 'This server, and where to go next',
            content: { 'application/json': { schema: RootAnswer }, 'text/html': { schema: Type.String() } },
          },
        },
      },
    },
    (request, reply) => {
      reply.header('vary', 'accept');
      if (prefersHtml(request.headers.accept)) {
        return reply.type('text/html; charset=utf-8').header('content-security-policy', ROOT_CSP).send(html);
      }
      return reply.send(answer);
    },
  );
}
