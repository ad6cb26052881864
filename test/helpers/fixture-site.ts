import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the fixture site received, for assertions on what Chromium sent. */
export interface SeenRequest {
  path: string;
  /** The query string, `?` included; empty when there is none. */
  query: string;
  headers: http.IncomingHttpHeaders;
}

/** The local site tests capture: the only "internet" the suite needs. */
export interface FixtureSite {
  /** Base URL on 127.0.0.1, ending without a slash. */
  url: string;
  port: number;
  /** Every request received, in order. */
  seen: SeenRequest[];
  /** How many times a path was requested. */
  hits(path: string): number;
  close(): Promise<void>;
}

const page = (body: string, head = '') =>
  `<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;background:#fff}</style>${head}</head><body>${body}</body></html>`;

/** Red 200×100 block at the top-left corner of a white page. */
export const COLOUR_PAGE = page(
  '<div id="block" style="position:absolute;left:0;top:0;width:200px;height:100px;background:#ff0000"></div>' +
    '<div id="green" style="position:absolute;left:300px;top:200px;width:120px;height:80px;background:#00ff00"></div>',
);

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, url: URL) => void;

function html(res: http.ServerResponse, body: string, headers: http.OutgoingHttpHeaders = {}): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...headers });
  res.end(body);
}

const routes: Record<string, Handler> = {
  '/': (_req, res) => html(res, COLOUR_PAGE),
  // A page `h` CSS pixels tall whose last 100 px are blue.
  '/tall': (_req, res, url) => {
    const height = Number(url.searchParams.get('h') ?? 3000);
    html(res, page(`<div style="height:${height - 100}px"></div><div style="height:100px;background:#0000ff"></div>`));
  },
  '/dark': (_req, res) =>
    html(res, page('<p>theme</p>', '<style>@media (prefers-color-scheme: dark){html,body{background:#000 !important}}</style>')),
  '/echo': (_req, res) => html(res, page('<p>echo</p>')),
  '/late-element': (_req, res) =>
    html(
      res,
      page(
        '<script>setTimeout(()=>{const d=document.createElement("div");d.id="late";' +
          'd.style.cssText="width:50px;height:60px;background:#ff0000";document.body.appendChild(d)},300)</script>',
      ),
    ),
  '/hang-js': (_req, res) => html(res, page('<script>for(;;){}</script>')),
  // Answers after `ms` milliseconds (default: never within a test).
  '/slow': (_req, res, url) => {
    const timer = setTimeout(() => html(res, COLOUR_PAGE), Number(url.searchParams.get('ms') ?? 600_000));
    res.on('close', () => clearTimeout(timer));
  },
  '/status': (_req, res, url) => {
    res.writeHead(Number(url.searchParams.get('code') ?? 500), { 'content-type': 'text/html' });
    res.end(page('<h1>error page</h1>'));
  },
  '/cached': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/css', 'cache-control': 'public, max-age=3600' });
    res.end('body{color:#111}');
  },
  '/uses-cached': (_req, res) => html(res, page('<p>css</p>', '<link rel="stylesheet" href="/cached">')),
  // HTTP basic auth: 401 until the browser sends credentials.
  '/auth': (req, res) => {
    if (!req.headers.authorization) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="fixture"', 'content-type': 'text/plain' });
      res.end('auth needed');
      return;
    }
    html(res, page('<p>authorised</p>'));
  },
};

/**
 * Starts the fixture site on 127.0.0.1 (a random port). `extra` adds or overrides
 * routes for one test file.
 */
export async function startFixtureSite(extra: Record<string, Handler> = {}): Promise<FixtureSite> {
  const seen: SeenRequest[] = [];
  const all = { ...routes, ...extra };
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture.invalid');
    seen.push({ path: url.pathname, query: url.search, headers: req.headers });
    const handler = all[url.pathname];
    if (handler) handler(req, res, url);
    else {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    hits: (path) => seen.filter((request) => request.path === path).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
