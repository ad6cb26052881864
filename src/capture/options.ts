import { Type, type Static } from '@sinclair/typebox';
import type { CaptureLimits } from '../config.js';
import { ApiError } from '../errors.js';
import { checkEmulationOptions, effectiveViewport } from './emulation-options.js';
import { checkPdfOptions, pdfOptionsSchema } from './outputs/pdf-options.js';

const shortText = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, description });

/**
 * An HTTP field value as a browser may send it: no control characters but HTAB
 * (RFC 9110 §5.5). CR, LF and NUL would otherwise reach Chromium, which refuses them
 * in the middle of a capture.
 */
const FIELD_VALUE = '^[^\\u0000-\\u0008\\u000A-\\u001F\\u007F]*$';
/** A CSS selector: any text but NUL, which no selector grammar accepts. */
const SELECTOR_TEXT = '^[^\\u0000]*$';
/** An RFC 9110 token: header names and cookie names. */
const TOKEN = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/** A cookie value or path: no control characters and no `;`, which would end the cookie. */
const COOKIE_TEXT = '^[^\\u0000-\\u001F\\u007F;]*$';
/** A cookie domain: host name labels, an optional leading dot. */
const COOKIE_DOMAIN = '^\\.?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$';
/** 9999-12-31T23:59:59Z: later expiry times overflow the browser's cookie time. */
const MAX_COOKIE_EXPIRES = 253_402_300_799;
const selectorText = (description: string) => Type.String({ minLength: 1, maxLength: 1024, pattern: SELECTOR_TEXT, description });

/** Options that can be written as query parameters (GET) as well as JSON (POST). */
function scalarOptions(limits: CaptureLimits) {
  return {
    url: Type.Optional(shortText(8192, 'http(s) URL to capture')),
    // The byte size is checked after parsing (toCaptureOptions); characters never exceed bytes.
    html: Type.Optional(Type.String({ minLength: 1, maxLength: limits.maxHtmlBytes, description: 'raw HTML to render instead of a URL' })),
    width: Type.Integer({ minimum: 100, maximum: limits.maxWidth, default: 1280 }),
    height: Type.Integer({ minimum: 100, maximum: limits.maxHeight, default: 720 }),
    deviceScaleFactor: Type.Number({ minimum: 1, maximum: 3, default: 1 }),
    fullPage: Type.Boolean({ default: false }),
    format: Type.Union([Type.Literal('png'), Type.Literal('jpeg'), Type.Literal('webp'), Type.Literal('pdf')], { default: 'png' }),
    quality: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    selector: Type.Optional(selectorText('CSS selector of the one element to capture')),
    waitUntil: Type.Union([Type.Literal('load'), Type.Literal('domcontentloaded'), Type.Literal('networkidle')], { default: 'load' }),
    waitForSelector: Type.Optional(selectorText('CSS selector to wait for before capturing')),
    delay: Type.Integer({ minimum: 0, maximum: limits.maxDelayMs, default: 0 }),
    timeout: Type.Integer({ minimum: 1000, maximum: limits.maxTimeoutMs, default: limits.defaultTimeoutMs }),
    darkMode: Type.Boolean({ default: false }),
    omitBackground: Type.Boolean({ default: false }),
    userAgent: Type.Optional(
      Type.String({ minLength: 1, maxLength: 1024, pattern: FIELD_VALUE, description: 'User-Agent for every request the page makes' }),
    ),
    // Character caps here; the byte caps are checked after parsing (toCaptureOptions).
    css: Type.Optional(shortText(limits.maxScriptBytes, 'style sheet added before capture')),
    js: Type.Optional(shortText(limits.maxScriptBytes, 'script run in the page before capture')),
    fresh: Type.Boolean({ default: false, description: 'use a brand-new browser context (and render anew rather than answer from the cache)' }),
    cacheTtl: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 31_536_000,
        description: "seconds a cached result may be old to answer this request, and how long a new one is kept (0 = no cache; default: the server's)",
      }),
    ),
    // Fidelity: what the picture shows.
    scrollPage: Type.Optional(
      Type.Boolean({ description: 'scroll through the page first to load lazy content (default: true for fullPage, else false)' }),
    ),
    disableAnimations: Type.Boolean({ default: true, description: 'finish CSS animations and transitions, stop carets, emulate reduced motion' }),
    blockCookieBanners: Type.Boolean({ default: false, description: 'refuse cookie-consent dialogs, hide what remains of them' }),
    blockAds: Type.Boolean({ default: false, description: 'block ads (EasyList) at the network and hide ad slots' }),
    blockTrackers: Type.Boolean({ default: false, description: 'block trackers (EasyPrivacy) at the network' }),
    clickSelector: Type.Optional(selectorText('CSS selector of one element to click before capturing')),
    failOnBlank: Type.Boolean({ default: false, description: 'fail with BLANK_PAGE when the picture is a single colour' }),
    failOnHttpError: Type.Boolean({ default: true, description: 'fail when the target answers HTTP 4xx or 5xx' }),
    // Devices, locale and time.
    device: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'named device preset (GET /v1/devices lists them)' })),
    timezone: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_+/-]+$', description: 'IANA time zone, e.g. Europe/Berlin' })),
    locale: Type.Optional(Type.String({ minLength: 2, maxLength: 35, pattern: '^[A-Za-z0-9-]+$', description: 'BCP 47 locale, e.g. de-DE' })),
    reducedMotion: Type.Optional(Type.Union([Type.Literal('reduce'), Type.Literal('no-preference')])),
    mediaType: Type.Optional(
      Type.Union([Type.Literal('screen'), Type.Literal('print')], { description: 'CSS media type (default: screen for images, print for PDF)' }),
    ),
  };
}

/** Request types a capture may skip with `blockResources` (Playwright's resource types). */
export const BLOCKABLE_RESOURCES = [
  'image',
  'media',
  'font',
  'stylesheet',
  'script',
  'xhr',
  'fetch',
  'websocket',
  'eventsource',
  'manifest',
  'texttrack',
  'other',
] as const;

/** Options given as lists or objects: JSON bodies only. */
function structuredOptions(limits: CaptureLimits) {
  return {
    headers: Type.Optional(
      Type.Record(HeaderName, Type.String({ maxLength: 8192, pattern: FIELD_VALUE }), {
        maxProperties: limits.maxHeaders,
        additionalProperties: false,
      }),
    ),
    cookies: Type.Optional(Type.Array(CookieSchema, { maxItems: limits.maxCookies })),
    hideSelectors: Type.Optional(
      Type.Array(selectorText('CSS selector of elements to hide'), { maxItems: 50, description: 'elements hidden before capture' }),
    ),
    blockResources: Type.Optional(
      Type.Array(Type.Union(BLOCKABLE_RESOURCES.map((type) => Type.Literal(type))), {
        maxItems: BLOCKABLE_RESOURCES.length,
        uniqueItems: true,
        description: 'request types never loaded',
      }),
    ),
    pdf: Type.Optional(pdfOptionsSchema()),
  };
}

const HeaderName = Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$" });

const CookieSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256, pattern: TOKEN }),
    value: Type.String({ maxLength: 4096, pattern: COOKIE_TEXT }),
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253, pattern: COOKIE_DOMAIN })),
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 1024, pattern: `^/${COOKIE_TEXT.slice(1)}` })),
    secure: Type.Optional(Type.Boolean()),
    httpOnly: Type.Optional(Type.Boolean()),
    sameSite: Type.Optional(Type.Union([Type.Literal('Strict'), Type.Literal('Lax'), Type.Literal('None')])),
    expires: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_COOKIE_EXPIRES, description: 'Unix time in seconds' })),
  },
  { additionalProperties: false },
);

/** JSON body schema of `POST /screenshot`. */
export function captureBodySchema(limits: CaptureLimits) {
  return Type.Object(
    { ...scalarOptions(limits), ...structuredOptions(limits) },
    { additionalProperties: false },
  );
}

/**
 * The parameters a signed embed link adds to `GET /screenshot` (README: "Signed embed
 * links"). The authentication hook reads and removes them before validation, so they
 * never reach the capture options or the result cache's key; they are listed here so the
 * query's schema (and the OpenAPI document made from it) names them.
 */
function signedLinkParameters() {
  return {
    keyId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'signed link: id of the key whose signing secret signed it (with expires and signature, instead of an API key header)' })),
    expires: Type.Optional(Type.Integer({ description: 'signed link: Unix time in seconds after which the link is refused (SIGNATURE_EXPIRED)' })),
    signature: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description: 'signed link: lowercase hex HMAC-SHA256, with a signing secret of the key, of "GET\\n/screenshot\\n" and every other parameter, RFC 3986-encoded and sorted',
      }),
    ),
  };
}

/** Query-string schema of `GET /screenshot`: the same options except the structured ones, and a signed link's parameters. */
export function captureQuerySchema(limits: CaptureLimits) {
  return Type.Object({ ...scalarOptions(limits), ...signedLinkParameters() }, { additionalProperties: false });
}

/** Capture options after schema validation and defaults. */
export type CaptureRequest = Static<ReturnType<typeof captureBodySchema>>;

/** What to load: a URL, or markup rendered in place. */
export type CaptureTarget = { kind: 'url'; url: URL } | { kind: 'html'; html: string };

/** Fully checked options the engine acts on. */
export interface CaptureOptions extends Omit<CaptureRequest, 'url' | 'html' | 'quality' | 'scrollPage'> {
  target: CaptureTarget;
  quality: number | undefined;
  /** Resolved: the caller's choice, else on for full pages. */
  scrollPage: boolean;
}

const DEFAULT_QUALITY = 80;

/**
 * Applies the rules a schema cannot express: exactly one of `url` / `html`, only
 * http(s) URLs, `quality` only for lossy formats. Throws VALIDATION_ERROR naming the field.
 */
export function toCaptureOptions(request: CaptureRequest, limits: CaptureLimits): CaptureOptions {
  const { url, html, quality, scrollPage, ...rest } = request;
  if ((url === undefined) === (html === undefined)) {
    throw new ApiError('VALIDATION_ERROR', 'Send exactly one of "url" or "html".', { extras: { field: 'url' } });
  }
  if (html !== undefined && Buffer.byteLength(html) > limits.maxHtmlBytes) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `"html" is larger than ${limits.maxHtmlBytes} bytes.`, {
      extras: { field: 'html', limit: limits.maxHtmlBytes },
    });
  }
  for (const field of ['css', 'js'] as const) {
    const text = rest[field];
    if (text !== undefined && Buffer.byteLength(text) > limits.maxScriptBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `"${field}" is larger than ${limits.maxScriptBytes} bytes.`, {
        extras: { field, limit: limits.maxScriptBytes },
      });
    }
  }
  checkEmulationOptions(rest);
  const viewport = effectiveViewport(rest);
  const sizeField = rest.device !== undefined ? 'device' : 'deviceScaleFactor';
  const pixels = viewport.width * viewport.height * viewport.deviceScaleFactor ** 2;
  if (pixels > limits.maxPixels) {
    throw new ApiError('VALIDATION_ERROR', `width × height × deviceScaleFactor² is ${Math.round(pixels)} pixels; at most ${limits.maxPixels} are allowed.`, {
      extras: { field: sizeField, limit: limits.maxPixels },
    });
  }
  if (viewport.width > limits.maxWidth || viewport.height > limits.maxHeight) {
    throw new ApiError('VALIDATION_ERROR', `The device's viewport is larger than this server's ${limits.maxWidth} × ${limits.maxHeight} cap.`, {
      extras: { field: 'device' },
    });
  }
  if (quality !== undefined && rest.format !== 'jpeg' && rest.format !== 'webp') {
    throw new ApiError('VALIDATION_ERROR', '"quality" applies only to jpeg and webp.', { extras: { field: 'quality' } });
  }
  if (rest.selector !== undefined && rest.fullPage) {
    throw new ApiError('VALIDATION_ERROR', '"selector" and "fullPage" cannot be combined.', { extras: { field: 'selector' } });
  }
  checkOutputOptions(rest);
  const target: CaptureTarget = html !== undefined ? { kind: 'html', html } : { kind: 'url', url: parseTargetUrl(url!) };
  checkHeaderNames(rest.headers);
  rest.cookies?.forEach((cookie, index) => checkCookie(cookie, index, target));
  const lossy = rest.format === 'jpeg' || rest.format === 'webp';
  return { ...rest, target, quality: lossy ? (quality ?? DEFAULT_QUALITY) : undefined, scrollPage: scrollPage ?? rest.fullPage };
}

/** Options that belong to one output only. */
function checkOutputOptions(request: Omit<CaptureRequest, 'url' | 'html' | 'quality' | 'scrollPage'>): void {
  const pdf = request.format === 'pdf';
  checkPdfOptions(request.pdf);
  if (request.pdf !== undefined && !pdf) {
    throw new ApiError('VALIDATION_ERROR', '"pdf" options apply only to format "pdf".', { extras: { field: 'pdf' } });
  }
  if (pdf && (request.selector !== undefined || request.fullPage || request.omitBackground)) {
    const field = request.selector !== undefined ? 'selector' : request.fullPage ? 'fullPage' : 'omitBackground';
    throw new ApiError('VALIDATION_ERROR', `"${field}" applies only to images; a PDF always holds the whole page.`, { extras: { field } });
  }
}

function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ApiError('VALIDATION_ERROR', '"url" is not a valid absolute URL.', { extras: { field: 'url' } });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ApiError('VALIDATION_ERROR', '"url" must use http or https.', { extras: { field: 'url' } });
  }
  return url;
}

/**
 * Headers a caller may not set: they describe the connection or the message framing,
 * which belong to the browser (and to PageShot's guard proxy), not to the page. Chromium
 * refuses most of them mid-capture; the rest would confuse the proxy.
 */
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function checkHeaderNames(headers: Record<string, string> | undefined): void {
  for (const name of Object.keys(headers ?? {})) {
    const lower = name.toLowerCase();
    if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith('proxy-')) {
      throw new ApiError('VALIDATION_ERROR', `The header "${name}" is set by the browser and may not be overridden.`, {
        extras: { field: `headers/${name}` },
      });
    }
  }
}

type Cookie = NonNullable<CaptureRequest['cookies']>[number];

/** The cookie rules a schema cannot express (RFC 6265bis prefixes, numeric domains, html targets). */
function checkCookie(cookie: Cookie, index: number, target: CaptureTarget): void {
  const invalid = (field: string, message: string) =>
    new ApiError('VALIDATION_ERROR', `"cookies[${index}]": ${message}`, { extras: { field: `cookies/${index}/${field}` } });
  if (cookie.domain === undefined && target.kind === 'html') throw invalid('domain', 'a "domain" is needed when capturing html.');
  const domain = cookie.domain?.replace(/^\./, '');
  // All-numeric labels are an IPv4 address, which a cookie can name only whole and without a dot.
  if (domain !== undefined && /^[0-9.]+$/.test(domain) && (cookie.domain!.startsWith('.') || !isIPv4(domain))) {
    throw invalid('domain', 'a numeric domain must be a whole IPv4 address without a leading dot.');
  }
  const name = cookie.name.toLowerCase();
  const secureTarget = target.kind === 'url' && target.url.protocol === 'https:';
  const secure = cookie.secure ?? (cookie.domain === undefined && secureTarget);
  if ((name.startsWith('__secure-') || name.startsWith('__host-')) && !secure) {
    throw invalid('secure', 'cookies named __Secure- or __Host- must be secure (an https target, or "secure": true).');
  }
  if (name.startsWith('__host-') && cookie.domain !== undefined) throw invalid('domain', '__Host- cookies may not have a domain.');
  if (name.startsWith('__host-') && (cookie.path ?? '/') !== '/') throw invalid('path', '__Host- cookies must have the path "/".');
}

function isIPv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255);
}
