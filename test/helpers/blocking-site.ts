import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small "internet" on one loopback port for the content-blocking tests: a news site
 * (`news.test`), real ad and tracker host names that the shipped EasyList and
 * EasyPrivacy block, and a neutral widget host. The test's resolver maps every one of
 * these names to 127.0.0.1, so Chromium (through PageShot's guard proxy) asks this
 * server, and each request is logged as `host/path`.
 */
export const HOSTS = {
  news: 'news.test',
  widgets: 'widgets.test',
  /** `||g.doubleclick.net^` in EasyList. */
  doubleclick: 'securepubads.g.doubleclick.net',
  /** `||adnxs.com^` in EasyList. */
  adnxs: 'ib.adnxs.com',
  /** `||pubmatic.com^` in EasyList. */
  pubmatic: 'ads.pubmatic.com',
  /** `||hotjar.com^$third-party` in EasyPrivacy. */
  hotjar: 'static.hotjar.com',
} as const;

/** The names the test's resolver maps to loopback. */
export const SITE_HOSTS: readonly string[] = Object.values(HOSTS);

export interface BlockingSite {
  port: number;
  /** `http://<host>:<port>` */
  origin(host: string): string;
  /** Every request, as `host/path?query`, in order. */
  log: string[];
  /** Requests whose host is one of `hosts`. */
  hitsTo(...hosts: string[]): string[];
  /** Milliseconds ad responses are held back (the benchmark makes ads slow). */
  adDelayMs: number;
  close(): Promise<void>;
}

const BLUE = '#0000ff';

const page = (body: string, head = '') =>
  `<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0;background:#fff;font:16px sans-serif}</style>${head}</head><body>${body}</body></html>`;

/** The article: a blue block top-left; nothing a list blocks. */
const ARTICLE = `<div id="article" style="position:absolute;left:0;top:0;width:600px;height:400px;background:${BLUE}"><h1 style="margin:0;color:#fff">Headline</h1></div>`;

/** A news article with ads around it: an ad iframe, an ad script, an ad image, a first-party slot, and a tracker. */
function adPage(origin: (host: string) => string): string {
  return page(
    ARTICLE +
      // Network: an ad frame in a neutral box (only the network rule and the collapse can remove it).
      `<div class="promo-box" style="position:absolute;left:700px;top:0;width:300px;height:250px">` +
      `<iframe src="${origin(HOSTS.doubleclick)}/gampad/ads?iu=/1234/news&sz=300x250" width="300" height="250" style="border:0;display:block"></iframe></div>` +
      // Network: an ad script that draws its own ad.
      `<div id="side" style="position:absolute;left:700px;top:300px;width:300px;height:100px"></div>` +
      `<script src="${origin(HOSTS.adnxs)}/ut/v3/ad.js"></script>` +
      // Network: an ad image.
      `<img src="${origin(HOSTS.pubmatic)}/AdServer/banner.png" style="position:absolute;left:1050px;top:0;width:200px;height:200px">` +
      // Cosmetic: a first-party slot EasyList hides by class (`##.ad-slot`), no request at all.
      `<div class="ad-slot" style="position:absolute;left:0;top:450px;width:600px;height:100px;background:#ffff00"></div>` +
      // A cross-origin widget frame holding a slot hidden by id (`##[id^="div-gpt-ad"]`).
      `<iframe src="${origin(HOSTS.widgets)}/widget" width="300" height="150" style="position:absolute;left:700px;top:450px;border:0"></iframe>` +
      // A tracker (EasyPrivacy), invisible.
      `<script src="${origin(HOSTS.hotjar)}/c/hotjar-123.js"></script>`,
  );
}

/**
 * A consent banner built the way OneTrust's SDK builds it (the ids and classes
 * autoconsent's OneTrust rule looks for): a script that arrives late inserts a dimming
 * overlay over the article and a green bar at the bottom with "Accept All" and
 * "Reject All". Each button tells the site the choice, hides the banner and sets
 * `OnetrustActiveGroups` as OneTrust does (autoconsent's self-test reads it).
 */
const ONETRUST_SDK = `
window.OnetrustActiveGroups = ',C0001,C0002,C0003,C0004,';
{
  const sdk = document.createElement('div');
  sdk.id = 'onetrust-consent-sdk';
  sdk.innerHTML =
    '<div class="onetrust-pc-dark-filter" style="position:fixed;inset:0;background:rgba(0,0,0,0.6);z-index:2147483646"></div>' +
    '<div id="onetrust-banner-sdk" class="otFlat" role="region" aria-label="Cookie banner" tabindex="0"' +
    ' style="position:fixed;left:0;right:0;bottom:0;height:220px;background:#00ff00;z-index:2147483647">' +
    '<div id="onetrust-policy"><p id="onetrust-policy-text">We use cookies to improve your experience.</p></div>' +
    '<div id="onetrust-button-group">' +
    '<button id="onetrust-pc-btn-handler">Cookie Settings</button>' +
    '<button id="onetrust-reject-all-handler">Reject All</button>' +
    '<button id="onetrust-accept-btn-handler">Accept All Cookies</button></div></div>';
  document.body.appendChild(sdk);
  const choose = (choice, groups) => () => {
    window.OnetrustActiveGroups = groups;
    sdk.style.display = 'none';
    fetch('/consent-choice?choice=' + choice);
  };
  document.getElementById('onetrust-reject-all-handler').addEventListener('click', choose('reject', ',C0001,'));
  document.getElementById('onetrust-accept-btn-handler').addEventListener('click', choose('accept', ',C0001,C0002,C0003,C0004,'));
}
`;

/**
 * A consent dialog no autoconsent rule knows (Cookiebot's markup without Cookiebot's
 * script): only the CSS fallback can hide it. It locks scrolling (`overflow: hidden` on
 * the body) as such dialogs do.
 */
const RULELESS_BANNER = page(
  ARTICLE +
    '<div id="CybotCookiebotDialogBodyUnderlay" style="position:fixed;inset:0;background:rgba(0,0,0,0.6)"></div>' +
    '<div id="CybotCookiebotDialog" style="position:fixed;left:340px;top:160px;width:600px;height:400px;background:#00ff00">' +
    '<p>This website uses cookies.</p><a href="#">Allow all</a></div>' +
    '<div style="position:absolute;top:0;left:0;height:3000px;width:1px"></div>',
  '<style>body.CybotCookiebotDialogActive{overflow:hidden}</style><script>addEventListener("DOMContentLoaded",()=>document.body.classList.add("CybotCookiebotDialogActive"))</script>',
);

/** An ad-heavy article (benchmarks): `n` ad iframes and `n` async ad scripts around it. */
function adHeavyPage(origin: (host: string) => string, n: number): string {
  const frames = Array.from(
    { length: n },
    (_, i) => `<iframe src="${origin(HOSTS.doubleclick)}/gampad/ads?slot=${i}" width="120" height="60" style="border:0"></iframe>`,
  );
  const scripts = Array.from({ length: n }, (_, i) => `<script async src="${origin(HOSTS.adnxs)}/ut/v3/ad.js?slot=${i}"></script>`);
  return page(`${ARTICLE}<div id="side" style="position:absolute;left:700px;top:300px"></div><div style="position:absolute;top:420px">${frames.join('')}</div>${scripts.join('')}`);
}

/** Red everywhere: any ad that gets through shows as red. */
const RED_AD = page('<div style="width:100%;height:100vh;background:#ff0000"></div>');
const AD_SCRIPT = `document.getElementById('side').innerHTML = '<div style="width:300px;height:100px;background:#ff0000"></div>';`;
/** A 1×1 red PNG (scaled up by the page). */
const RED_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC',
  'base64',
);

/**
 * Three boxes in normal flow for `hideSelectors`: red #first (with a child that insists
 * on `visibility: visible`), green .second, blue #third below them.
 */
const HIDE_PAGE = page(
  '<div id="first" style="width:200px;height:100px;background:#ff0000"><div style="visibility:visible;width:50px;height:50px;background:#ff00ff"></div></div>' +
    '<div class="second" style="width:200px;height:100px;background:#00ff00"></div>' +
    '<div id="third" style="width:200px;height:100px;background:#0000ff"></div>',
);

/**
 * Fetches a cacheable resource twice, then shows a green #done. Chromium's HTTP cache
 * answers the second fetch, unless request interception is on (Playwright turns the
 * cache off while any route exists): the site then sees two requests.
 */
const CACHE_PROBE = page(
  ARTICLE,
  '<script>fetch("/probe.json").then(() => fetch("/probe.json")).finally(() => { const d = document.createElement("div"); d.id = "done";' +
    ' d.style.cssText = "position:absolute;left:700px;top:0;width:100px;height:100px;background:#00ff00"; document.body.appendChild(d); })</script>',
);

type Reply = (res: http.ServerResponse, url: URL, origin: (host: string) => string) => void;

function send(res: http.ServerResponse, type: string, body: string | Buffer): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

/** Routes by `host/path`. Ad hosts answer after `adDelayMs`. */
function routes(extra: Record<string, Reply>): Record<string, Reply> {
  return {
    [`${HOSTS.news}/ads`]: (res, _url, origin) => send(res, 'text/html; charset=utf-8', adPage(origin)),
    [`${HOSTS.news}/ad-heavy`]: (res, url, origin) =>
      send(res, 'text/html; charset=utf-8', adHeavyPage(origin, Math.min(100, Number(url.searchParams.get('n')) || 20))),
    [`${HOSTS.news}/socket`]: (res) =>
      send(
        res,
        'text/html; charset=utf-8',
        page(
          ARTICLE,
          // #done appears once the socket failed (the site refuses every handshake), so a capture can wait for it.
          '<script>const socket = new WebSocket("ws://" + location.host + "/live"); socket.onclose = () => { const d = document.createElement("div");' +
            ' d.id = "done"; d.style.cssText = "width:10px;height:10px;background:#000"; document.body.appendChild(d); };</script>',
        ),
      ),
    [`${HOSTS.news}/plain`]: (res) => send(res, 'text/html; charset=utf-8', page(ARTICLE)),
    [`${HOSTS.news}/consent`]: (res) => send(res, 'text/html; charset=utf-8', page(ARTICLE, '<script src="/consent-sdk.js" async></script>')),
    // Arrives late, as from a CDN; an async script still holds the load event until it ran.
    [`${HOSTS.news}/consent-sdk.js`]: (res) => void setTimeout(() => send(res, 'text/javascript', ONETRUST_SDK), 150),
    [`${HOSTS.news}/consent-choice`]: (res) => send(res, 'text/plain', 'noted'),
    [`${HOSTS.news}/ruleless-banner`]: (res) => send(res, 'text/html; charset=utf-8', RULELESS_BANNER),
    [`${HOSTS.news}/images`]: (res) =>
      send(
        res,
        'text/html; charset=utf-8',
        page(
          ARTICLE +
            '<img src="/photo.png" style="position:absolute;left:700px;top:0;width:200px;height:200px">' +
            '<div id="texture" style="position:absolute;left:700px;top:300px;width:100px;height:100px"></div>',
          '<style>#texture{background-image:url(/texture.png)}</style>',
        ),
      ),
    [`${HOSTS.news}/photo.png`]: (res) => send(res, 'image/png', RED_PNG),
    [`${HOSTS.news}/texture.png`]: (res) => send(res, 'image/png', RED_PNG),
    [`${HOSTS.news}/hide`]: (res) => send(res, 'text/html; charset=utf-8', HIDE_PAGE),
    [`${HOSTS.news}/cache-probe`]: (res) => send(res, 'text/html; charset=utf-8', CACHE_PROBE),
    [`${HOSTS.news}/probe.json`]: (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
      res.end('{}');
    },
    [`${HOSTS.widgets}/widget`]: (res) =>
      send(res, 'text/html; charset=utf-8', page('<div id="div-gpt-ad-1" style="width:300px;height:150px;background:#ff8800"></div>')),
    [`${HOSTS.doubleclick}/gampad/ads`]: (res) => send(res, 'text/html; charset=utf-8', RED_AD),
    [`${HOSTS.doubleclick}/landing`]: (res) => send(res, 'text/html; charset=utf-8', page(ARTICLE)),
    [`${HOSTS.adnxs}/ut/v3/ad.js`]: (res) => send(res, 'text/javascript', AD_SCRIPT),
    [`${HOSTS.pubmatic}/AdServer/banner.png`]: (res) => send(res, 'image/png', RED_PNG),
    [`${HOSTS.hotjar}/c/hotjar-123.js`]: (res) => send(res, 'text/javascript', 'window.hotjarLoaded = true;'),
    ...extra,
  };
}

const AD_HOSTS = new Set<string>([HOSTS.doubleclick, HOSTS.adnxs, HOSTS.pubmatic, HOSTS.hotjar]);

/** Starts the site on 127.0.0.1; `extra` adds routes keyed `host/path`. */
export async function startBlockingSite(extra: Record<string, Reply> = {}): Promise<BlockingSite> {
  const log: string[] = [];
  const table = routes(extra);
  let port = 0;
  const origin = (host: string) => `http://${host}:${port}`;
  const site: BlockingSite = {
    port: 0,
    origin,
    log,
    hitsTo: (...hosts) => log.filter((entry) => hosts.some((host) => entry.startsWith(`${host}/`))),
    adDelayMs: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    const url = new URL(req.url ?? '/', `http://${host || 'unknown.invalid'}`);
    log.push(`${host}${url.pathname}${url.search}`);
    const reply = table[`${host}${url.pathname}`];
    const answer = () => {
      if (reply) reply(res, url, origin);
      else send(res, 'text/plain', 'not found');
    };
    if (AD_HOSTS.has(host) && site.adDelayMs > 0) {
      const timer = setTimeout(answer, site.adDelayMs);
      res.on('close', () => clearTimeout(timer));
    } else answer();
  });
  // A WebSocket handshake is logged like any request, then refused.
  server.on('upgrade', (req, socket) => {
    log.push(`${(req.headers.host ?? '').replace(/:\d+$/, '')}${req.url ?? ''} (websocket)`);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  site.port = port;
  return site;
}
