import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { CaptureLimits } from '../config.js';
import { ApiError } from '../errors.js';

const shortText = (maxLength: number, description: string) => Type.String({ minLength: 1, maxLength, description });

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
    format: Type.Union([Type.Literal('png'), Type.Literal('jpeg'), Type.Literal('webp')], { default: 'png' }),
    quality: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    selector: Type.Optional(shortText(1024, 'CSS selector of the one element to capture')),
    waitUntil: Type.Union([Type.Literal('load'), Type.Literal('domcontentloaded'), Type.Literal('networkidle')], { default: 'load' }),
    waitForSelector: Type.Optional(shortText(1024, 'CSS selector to wait for before capturing')),
    delay: Type.Integer({ minimum: 0, maximum: limits.maxDelayMs, default: 0 }),
    timeout: Type.Integer({ minimum: 1000, maximum: limits.maxTimeoutMs, default: limits.defaultTimeoutMs }),
    darkMode: Type.Boolean({ default: false }),
    omitBackground: Type.Boolean({ default: false }),
    userAgent: Type.Optional(shortText(1024, 'User-Agent for every request the page makes')),
    // Character caps here; the byte caps are checked after parsing (toCaptureOptions).
    css: Type.Optional(shortText(limits.maxScriptBytes, 'style sheet added before capture')),
    js: Type.Optional(shortText(limits.maxScriptBytes, 'script run in the page before capture')),
    fresh: Type.Boolean({ default: false, description: 'use a brand-new browser context' }),
  };
}

const HeaderName = Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$" });

const CookieSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 256 }),
    value: Type.String({ maxLength: 4096 }),
    domain: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    path: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    secure: Type.Optional(Type.Boolean()),
    httpOnly: Type.Optional(Type.Boolean()),
    sameSite: Type.Optional(Type.Union([Type.Literal('Strict'), Type.Literal('Lax'), Type.Literal('None')])),
    expires: Type.Optional(Type.Integer({ minimum: 0, description: 'Unix time in seconds' })),
  },
  { additionalProperties: false },
);

/** JSON body schema of `POST /screenshot`. */
export function captureBodySchema(limits: CaptureLimits) {
  return Type.Object(
    {
      ...scalarOptions(limits),
      headers: Type.Optional(
        Type.Record(HeaderName, Type.String({ maxLength: 8192 }), { maxProperties: limits.maxHeaders, additionalProperties: false }),
      ),
      cookies: Type.Optional(Type.Array(CookieSchema, { maxItems: limits.maxCookies })),
    },
    { additionalProperties: false },
  );
}

/** Query-string schema of `GET /screenshot`: the same options except the structured ones. */
export function captureQuerySchema(limits: CaptureLimits): TObject {
  return Type.Object(scalarOptions(limits), { additionalProperties: false });
}

/** Capture options after schema validation and defaults. */
export type CaptureRequest = Static<ReturnType<typeof captureBodySchema>>;

/** What to load: a URL, or markup rendered in place. */
export type CaptureTarget = { kind: 'url'; url: URL } | { kind: 'html'; html: string };

/** Fully checked options the engine acts on. */
export interface CaptureOptions extends Omit<CaptureRequest, 'url' | 'html' | 'quality'> {
  target: CaptureTarget;
  quality: number | undefined;
}

const DEFAULT_QUALITY = 80;

/**
 * Applies the rules a schema cannot express: exactly one of `url` / `html`, only
 * http(s) URLs, `quality` only for lossy formats. Throws VALIDATION_ERROR naming the field.
 */
export function toCaptureOptions(request: CaptureRequest, limits: CaptureLimits): CaptureOptions {
  const { url, html, quality, ...rest } = request;
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
  const pixels = rest.width * rest.height * rest.deviceScaleFactor ** 2;
  if (pixels > limits.maxPixels) {
    throw new ApiError('VALIDATION_ERROR', `width × height × deviceScaleFactor² is ${Math.round(pixels)} pixels; at most ${limits.maxPixels} are allowed.`, {
      extras: { field: 'deviceScaleFactor', limit: limits.maxPixels },
    });
  }
  if (quality !== undefined && rest.format === 'png') {
    throw new ApiError('VALIDATION_ERROR', '"quality" applies only to jpeg and webp.', { extras: { field: 'quality' } });
  }
  if (rest.selector !== undefined && rest.fullPage) {
    throw new ApiError('VALIDATION_ERROR', '"selector" and "fullPage" cannot be combined.', { extras: { field: 'selector' } });
  }
  const target: CaptureTarget = html !== undefined ? { kind: 'html', html } : { kind: 'url', url: parseTargetUrl(url!) };
  const lossy = rest.format !== 'png';
  return { ...rest, target, quality: lossy ? (quality ?? DEFAULT_QUALITY) : undefined };
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
