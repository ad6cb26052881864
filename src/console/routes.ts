import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The console's files, a fixed list: each is one exact route, so no request path is
 * ever joined to a directory and nothing outside this list can be read (no traversal,
 * no directory listing, no stray file). Paths are relative to `static/`.
 */
export const CONSOLE_FILES: readonly string[] = [
  'index.html',
  'console.css',
  'favicon.svg',
  'js/app.js',
  'js/api.js',
  'js/dom.js',
  'js/keys.js',
  'js/key-dialogs.js',
  'js/usage.js',
  'js/usage-range.js',
  'js/chart.js',
  'js/axis.js',
  'js/status.js',
  'js/playground.js',
  'js/shot-result.js',
  'js/embed-link.js',
  'js/time.js',
];

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  svg: 'image/svg+xml',
};

/**
 * No inline script or style, nothing from another origin, no plugins, no framing, no
 * `<base>`, no form posts (a form that submitted without its script would put a key in
 * a URL), and Trusted Types so no string can become markup through innerHTML. `blob:`
 * images are the playground's screenshots.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join('; ');

/** Headers on every console file. `no-cache` revalidates by ETag, so an upgrade shows at once. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-cache',
};

interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/**
 * The assets sit in `static/` next to this module: src/console/static when run through
 * tsx, dist/console/static once `npm run build` has copied them there.
 */
const STATIC_DIR = new URL('./static/', import.meta.url);

function loadAsset(file: string): Asset {
  const extension = file.slice(file.lastIndexOf('.') + 1);
  const contentType = CONTENT_TYPES[extension];
  if (!contentType) throw new Error(`console: no content type for ${file}`);
  let body: Buffer;
  try {
    body = readFileSync(new URL(file, STATIC_DIR));
  } catch (error) {
    const where = fileURLToPath(STATIC_DIR);
    throw new Error(`console: cannot read ${file} in ${where} (run "npm run build", which copies the console's files): ${String(error)}`);
  }
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
  return { body, contentType, etag };
}

/**
 * `GET /console` (and `/console/`): the web console, a few static files read once at
 * start and served from memory. The routes are public (no `scope`): the page holds no
 * data; everything it shows comes from the public API with the key pasted into it.
 */
export function consoleRoutes(app: FastifyInstance): void {
  const assets = new Map(CONSOLE_FILES.map((file) => [file, loadAsset(file)]));

  /** Answers with one asset, or 304 when the browser already holds this version. */
  const serve = (asset: Asset) => async (request: FastifyRequest, reply: FastifyReply) => {
    reply.headers(SECURITY_HEADERS).header('etag', asset.etag);
    if (request.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    return reply.header('content-type', asset.contentType).send(asset.body);
  };

  const index = assets.get('index.html')!;
  app.get('/console', serve(index));
  app.get('/console/', serve(index));
  for (const [file, asset] of assets) {
    if (file !== 'index.html') app.get(`/console/${file}`, serve(asset));
  }
}
