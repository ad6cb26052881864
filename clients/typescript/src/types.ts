/**
 * The shapes PageShot's API takes and returns, as its schemas define them
 * (src/capture/options.ts, src/routes/*.ts on the server).
 */
import type { RateLimitState } from './rate-limit.js';

/** A cookie set before the page loads; without `domain` it belongs to the target URL. */
export interface Cookie {
  name: string;
  value: string;
  domain?: string;
  path?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None';
  /** Unix time in seconds. */
  expires?: number;
}

/** Request types `blockResources` can skip (Playwright's resource types). */
export type BlockableResource =
  | 'image'
  | 'media'
  | 'font'
  | 'stylesheet'
  | 'script'
  | 'xhr'
  | 'fetch'
  | 'websocket'
  | 'eventsource'
  | 'manifest'
  | 'texttrack'
  | 'other';

/** Named paper sizes of `PdfOptions.paperFormat`. */
export type PaperFormat = 'Letter' | 'Legal' | 'Tabloid' | 'Ledger' | 'A0' | 'A1' | 'A2' | 'A3' | 'A4' | 'A5' | 'A6';

/**
 * A CSS length as the PDF options take it: `0`, or a number with a unit (`px`, `in`,
 * `cm`, `mm`), e.g. `"210mm"`, `"0.5in"`.
 */
export type PdfLength = string;

/** The `pdf` option: paper, margins and printing of a capture with `format: 'pdf'`. */
export interface PdfOptions {
  /** Named paper size (default Letter unless `width` and `height` are given). */
  paperFormat?: PaperFormat;
  /** Paper width, e.g. `"210mm"`; with `height`, instead of `paperFormat` (each side 0.1–200 in). */
  width?: PdfLength;
  /** Paper height, e.g. `"297mm"`; with `width`, instead of `paperFormat`. */
  height?: PdfLength;
  /** Page margins (default 0); a header or footer is drawn inside the top or bottom margin. */
  margin?: { top?: PdfLength; right?: PdfLength; bottom?: PdfLength; left?: PdfLength };
  /** Landscape paper (default false). */
  landscape?: boolean;
  /** Print background colours and images (default true). */
  printBackground?: boolean;
  /** Pages to print, counted from 1, e.g. `"1-3, 5"` (default all). */
  pageRanges?: string;
  /** Rendering scale, 0.1–2 (default 1). */
  scale?: number;
  /** HTML of each page header; elements with the classes `date`, `title`, `url`, `pageNumber`, `totalPages` are filled in. */
  headerTemplate?: string;
  /** HTML of each page footer (the same classes as `headerTemplate`). */
  footerTemplate?: string;
}

/** Options of `POST /screenshot`. Exactly one of `url` or `html`. Unknown options are refused by the server. */
export interface ScreenshotOptions {
  /** `http:` or `https:` URL to capture. */
  url?: string;
  /** Markup rendered instead of a URL. */
  html?: string;
  /** Viewport width in CSS pixels (default 1280; a `device` overrides it). */
  width?: number;
  /** Viewport height in CSS pixels (default 720; a `device` overrides it). */
  height?: number;
  /** Image pixels per CSS pixel, 1–3 (default 1; a `device` overrides it). */
  deviceScaleFactor?: number;
  /** Capture the whole page height (images only). */
  fullPage?: boolean;
  /** Output format (default png); `pdf` prints the page, see `pdf` and `PageShot.pdf()`. */
  format?: 'png' | 'jpeg' | 'webp' | 'pdf';
  /** 0–100, jpeg and webp only (default 80). */
  quality?: number;
  /** Capture only the first visible element matching this CSS selector (images only). */
  selector?: string;
  /** When navigation counts as done (default load). */
  waitUntil?: 'load' | 'domcontentloaded' | 'networkidle';
  /** Wait until an element matching this selector is visible. */
  waitForSelector?: string;
  /** Extra wait before capturing, in ms. */
  delay?: number;
  /**
   * The server's deadline for rendering this capture, in ms, 1000 up to the server's
   * `PAGESHOT_MAX_TIMEOUT_MS` (default 30000; answered with `RENDER_TIMEOUT` when missed).
   * Sent as is. Not the client's `timeoutMs`, the HTTP deadline of one attempt, which must
   * be longer: this plus any queueing (`PAGESHOT_QUEUE_TIMEOUT_MS`) plus the transfer.
   */
  timeout?: number;
  /** `prefers-color-scheme: dark`. */
  darkMode?: boolean;
  /** Transparent default background (png, webp). */
  omitBackground?: boolean;
  /** User-Agent for every request the page makes (a `device` brings its own). */
  userAgent?: string;
  /** Extra HTTP headers on every request the page makes (at most 50). */
  headers?: Record<string, string>;
  /** Cookies set before the page loads (at most 50). */
  cookies?: Cookie[];
  /** Style sheet added after load, before capture. */
  css?: string;
  /** Script run in the page after load, before capture. */
  js?: string;
  /**
   * Use a brand-new browser context instead of a warm one. With the server's result cache
   * on, also render anew rather than answer from the cache (the new result is still stored).
   */
  fresh?: boolean;
  /**
   * Seconds, 0–31536000: how old a result in the server's cache may be to answer this
   * request, and how long a new one is kept there (0 = no cache: always render). Default:
   * the server's `PAGESHOT_CACHE_TTL` (itself 0 unless set); lowered to the server's
   * `PAGESHOT_CACHE_MAX_TTL`. `Screenshot.cache` says what the cache did.
   */
  cacheTtl?: number;
  /** Scroll through the page first so lazy content loads (default: true with `fullPage`, else false). */
  scrollPage?: boolean;
  /** Finish CSS animations and transitions, stop carets, emulate reduced motion (default true). */
  disableAnimations?: boolean;
  /** Refuse cookie-consent dialogs and hide what remains of them (default false). */
  blockCookieBanners?: boolean;
  /** Block ads (EasyList) at the network and hide ad slots (default false). */
  blockAds?: boolean;
  /** Block trackers (EasyPrivacy) at the network (default false). */
  blockTrackers?: boolean;
  /** Click the first element matching this CSS selector before capturing. */
  clickSelector?: string;
  /** Fail with `BLANK_PAGE` (a `CaptureError`) when the picture is a single colour (default false). */
  failOnBlank?: boolean;
  /** Fail with `NAVIGATION_FAILED` when the target answers HTTP 4xx or 5xx (default true). */
  failOnHttpError?: boolean;
  /** Named device preset, e.g. `"iPhone 15"` (`devices()` lists them); sets viewport, scale, touch and User-Agent. */
  device?: string;
  /** IANA time zone of the page, e.g. `"Europe/Berlin"`. */
  timezone?: string;
  /** BCP 47 locale of the page (`navigator.language`, `Intl`, `Accept-Language`), e.g. `"de-DE"`. */
  locale?: string;
  /** `prefers-reduced-motion` of the page. */
  reducedMotion?: 'reduce' | 'no-preference';
  /** CSS media type the page is rendered with (default: screen for images, print for PDF). */
  mediaType?: 'screen' | 'print';
  /** CSS selectors of elements hidden before capture (at most 50). */
  hideSelectors?: string[];
  /** Request types never loaded, e.g. `['image', 'font']`. */
  blockResources?: BlockableResource[];
  /** Paper, margins and printing; only with `format: 'pdf'`. */
  pdf?: PdfOptions;
}

/** Options of `POST /pdf`: those of `POST /screenshot`, printed as a PDF (`format` may be left out). */
export interface PdfCaptureOptions extends Omit<ScreenshotOptions, 'format' | 'quality' | 'selector' | 'fullPage' | 'omitBackground'> {
  /** Always `pdf` on this route. */
  format?: 'pdf';
}

/** Where the time of a capture went, in ms, from the answer's `Server-Timing`. */
export interface Timing {
  /** Time waiting for a capture slot. */
  queueMs?: number;
  /** Time rendering, from taking a browser context to having the bytes. */
  renderMs?: number;
  /** Time looking the result up in the server's cache, on a `HIT` answered from it (no render, so no `queueMs` or `renderMs`). */
  cacheMs?: number;
  /** Time in each phase of the render, in order: `navigation`, `waits`, `scroll`, `delay`, `capture` (those that ran). */
  phases: Record<string, number>;
}

/** What the server's result cache did for an answer (`X-Cache`). */
export type CacheStatus = 'HIT' | 'MISS' | 'BYPASS';

/** What the answer to a capture says about its bytes (everything of a `Screenshot` but the bytes). */
export interface CaptureInfo {
  /** `image/png`, `image/jpeg`, `image/webp` or `application/pdf`; `''` when `notModified` (the type of the bytes you hold). */
  contentType: string;
  /**
   * True when the server answered 304 Not Modified to `ifNoneMatch`: the bytes you hold
   * (tagged `etag`) are still the answer, and none were sent again.
   */
  notModified: boolean;
  /**
   * What the server's result cache did (`X-Cache`): `HIT` answered from it (or from an
   * identical capture running at the same time), `MISS` rendered and stored, `BYPASS`
   * rendered and not stored (`cacheTtl` 0). Undefined from a server without the cache.
   */
  cache: CacheStatus | undefined;
  /** The strong entity tag of the bytes (`ETag`, quoted as sent); pass it as `ifNoneMatch` to a later call. */
  etag: string | undefined;
  /** Seconds since the cached result was rendered (`Age`), on `HIT` and `MISS`; undefined on `BYPASS`. */
  age: number | undefined;
  /** The page's address when captured, after redirects (`X-PageShot-Final-Url`); undefined for `html` and very long addresses. */
  finalUrl: string | undefined;
  /** HTTP status of the target's document (`X-PageShot-Target-Status`); undefined for `html`. */
  targetStatus: number | undefined;
  /** True when a size cap cut the page or element short (`X-PageShot-Truncated`). */
  truncated: boolean;
  /** Page count of a PDF (`X-PageShot-Pages`); undefined for images. */
  pages: number | undefined;
  /** Where the key stands after this request, if the server said. */
  rateLimit: RateLimitState | undefined;
  /** The server's request id. */
  requestId: string | undefined;
  /** Time queued, rendering, and in each phase on the server, in ms (`Server-Timing`), when sent. */
  timing: Timing;
}

/** A capture: an image, or a PDF. */
export interface Screenshot extends CaptureInfo {
  /** The bytes of the image (or of the PDF); empty when `notModified`. */
  image: Uint8Array;
}

/**
 * A capture whose bytes are still on their way (`screenshotStream()`): read `body` once,
 * to its end or `cancel()` it, else the connection stays open.
 */
export interface StreamedScreenshot extends CaptureInfo {
  /** The bytes as they arrive; empty when `notModified`. Errors with a `ConnectionError` if the answer breaks off. */
  body: ReadableStream<Uint8Array>;
}

/** A capture written to a file (`screenshotToFile()`). */
export interface SavedScreenshot extends CaptureInfo {
  /** The file, as given. Untouched when `notModified`. */
  path: string;
  /** Bytes written (0 when `notModified`). */
  bytes: number;
}

/**
 * The options a signed link can carry: the scalar ones, those `GET /screenshot` takes as
 * query parameters (not `headers`, `cookies`, `hideSelectors`, `blockResources`, `pdf`).
 */
export type SignedUrlOptions = Omit<ScreenshotOptions, 'headers' | 'cookies' | 'hideSelectors' | 'blockResources' | 'pdf'>;

/** A device preset of `GET /v1/devices`, for the `device` option. */
export interface Device {
  /** The name `device` takes, e.g. `"iPhone 15"`. */
  name: string;
  /** Viewport width in CSS pixels. */
  width: number;
  /** Viewport height in CSS pixels. */
  height: number;
  deviceScaleFactor: number;
  /** Mobile emulation: the page's `<meta name="viewport">` is honoured. */
  mobile: boolean;
  /** Touch input. */
  touch: boolean;
  userAgent: string;
}

/** What an API key may do. */
export type Scope = 'screenshot' | 'usage:read' | 'keys:manage';

/** Per-key limit overrides; absent = the server's default. */
export interface KeyLimits {
  /** Requests per second, sustained. */
  rate?: number;
  /** Requests allowed at once after a pause. */
  burst?: number;
  /** Requests per UTC day. */
  daily?: number;
  /** Captures running at once. */
  concurrent?: number;
}

/** Settings of a new key (`POST /v1/keys`). */
export interface KeyCreate {
  name: string;
  scopes: Scope[];
  /** ISO-8601 time; null or absent = never. */
  expiresAt?: string | null;
  limits?: KeyLimits;
  /** Host patterns the key may capture (`example.com`, `*.example.com`); empty = any. */
  allowedHosts?: string[];
  /** IPs / CIDRs the key may be used from; empty = any. */
  allowedIps?: string[];
  metadata?: Record<string, unknown>;
}

/** Changes to a key (`PATCH /v1/keys/:id`); at least one field. */
export interface KeyUpdate extends Partial<KeyCreate> {
  /** A disabled key is refused until enabled again. */
  disabled?: boolean;
}

/** A key as the server shows it: never the key itself, only its hint. */
export interface KeyInfo {
  id: string;
  name: string;
  /** Display form, e.g. `ps_live_…a1b2`. */
  hint: string;
  scopes: Scope[];
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  disabled: boolean;
  limits: KeyLimits;
  allowedHosts: string[];
  allowedIps: string[];
  metadata: Record<string, unknown>;
  /** Id of the key this one replaced by rotation. */
  rotatedFrom: string | null;
  /** Id of the key that replaced this one by rotation. */
  replacedBy: string | null;
  state: 'active' | 'disabled' | 'expired' | 'revoked';
}

/** A key just created or rotated: the only time `key` is ever shown. */
export interface IssuedKey extends KeyInfo {
  key: string;
}

/** One page of a list; pass `next` as `cursor` for the following one. */
export interface Page<T> {
  data: T[];
  next: string | null;
}

/** The calling key (`GET /v1/me`). */
export interface Me {
  /** Key id; `root` for the API_KEY key; null with authentication off. */
  id: string | null;
  kind: 'key' | 'root' | 'anonymous';
  name: string;
  hint: string | null;
  scopes: Scope[];
  limits: KeyLimits;
  allowedHosts: string[];
  expiresAt: string | null;
}

/** A range of UTC days, `YYYY-MM-DD` or a Date (its UTC day); the server defaults to the last 30 days. */
export interface UsageRange {
  from?: string | Date;
  to?: string | Date;
}

/** Counts of one UTC day (or the totals of a range, without `day`). */
export interface UsageCounts {
  requests: number;
  succeeded: number;
  failed: number;
  rejected: number;
  /** Rejections by error code, e.g. `{ RATE_LIMITED: 3 }`. */
  rejectedBy: Record<string, number>;
  renderMs: number;
  bytesSent: number;
  /** Successes answered from the result cache (part of `succeeded`); they cost no daily quota. */
  cacheHits: number;
}

/** Usage of one key (`GET /v1/usage`, `GET /v1/keys/:id/usage`). */
export interface Usage {
  keyId: string | null;
  from: string;
  to: string;
  /** Only days with use. */
  days: Array<UsageCounts & { day: string }>;
  totals: UsageCounts;
}

/** `GET /status`: whether the server would take more work right now. */
export interface Status {
  /** `busy` exactly when a request that had to wait would be refused. */
  status: 'running' | 'busy';
  version: string;
  /** What this node does: everything (`all`), only the HTTP API (`api`), or only captures (`worker`). */
  role: 'all' | 'api' | 'worker';
  uptimeSeconds: number;
  system: {
    cpuUsage: string;
    cpuCount: number;
    loadAverage: number[];
    memory: { processRssMb: number; systemFreeMb: number; systemTotalMb: number };
  };
  queue: {
    activeRequests: number;
    queuedRequests: number;
    maxConcurrency: number;
    maxQueue: number;
    queueTimeoutMs: number;
    refusals: Record<string, number>;
  };
  /** Null on an api node, which has no browser. */
  browser: {
    state: 'starting' | 'running' | 'restarting' | 'stopped';
    version: string | null;
    capturesServed: number;
    restarts: number;
    crashes: number;
    /** Chromium's sandbox; null until known. */
    sandbox: 'on' | 'off' | null;
  } | null;
  /** The warm pool of browser contexts; null on an api node. */
  pool: {
    contexts: number;
    idle: number;
    busy: number;
    maxContexts: number;
    opened: number;
    callers: number;
    evicted: number;
    /** Chromium's process tree, PSS in MB (Linux only). */
    memoryPssMb?: number;
    memoryRssMb?: number;
  } | null;
  /** The job queue across every node (with Redis); null while Redis cannot say, absent without Redis. */
  cluster?: { waiting: number; waitingSync: number; running: number; workers: number; slots: number } | null;
}

/** Options of `POST /v1/jobs`: those of `POST /screenshot`, plus where to tell you it finished. */
export interface JobOptions extends ScreenshotOptions {
  /**
   * An http(s) URL (at most 2048 characters) PageShot POSTs the outcome to, signed with the
   * key's webhook secret (create it first with `createWebhookSecret()`). Check each delivery
   * with `verifyWebhook()`.
   */
  webhookUrl?: string;
  /** Any JSON object (at most 4096 bytes serialized), given back unchanged on the job and in its webhook. */
  metadata?: Record<string, unknown>;
}

/** Where a job is: waiting, rendering, or done one way or the other. */
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** The answer to `POST /v1/jobs` (202): the job is queued. */
export interface SubmittedJob {
  id: string;
  status: 'queued';
  /** Path of `GET /v1/jobs/:id`, relative to the server. */
  statusUrl: string;
  /** Path of `GET /v1/jobs/:id/result`, relative to the server. */
  resultUrl: string;
  createdAt: string;
}

/** What a succeeded job produced; fetch the bytes with `result()`. */
export interface JobResultInfo {
  contentType: string;
  /** Size of the bytes. */
  bytes: number;
  /** The strong entity tag of the bytes, quoted as sent; pass it as `ifNoneMatch` to `result()`. */
  etag: string;
  /** Path of the result, relative to the server. */
  url: string;
  /** When the server drops the result (then `result()` throws `GoneError`). */
  expiresAt: string;
}

/** Why a job failed: what a synchronous capture would have answered. */
export interface JobError {
  /** The HTTP status the capture would have had, e.g. 504. */
  status: number;
  /** Its stable code, e.g. `RENDER_TIMEOUT`. */
  code: string;
  error: string;
}

/** How the job's webhook delivery went. */
export interface JobWebhook {
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  /** HTTP status of the receiver's last answer, when there was one. */
  lastStatusCode?: number;
  lastError?: string;
  deliveredAt?: string;
}

/** An async job (`GET /v1/jobs/:id`). */
export interface Job {
  id: string;
  status: JobStatus;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  attempts: number;
  /** The `metadata` it was submitted with, unchanged. */
  metadata: Record<string, unknown> | null;
  /** Set once it succeeded. */
  result: JobResultInfo | null;
  /** Set once it failed. */
  error: JobError | null;
  /** Set when it was submitted with a `webhookUrl`. */
  webhook: JobWebhook | null;
}

/** A new webhook signing secret (`POST /v1/me/webhook-secret`): the only time `secret` is shown. */
export interface WebhookSecret {
  /** `whsec_…`: give it to `verifyWebhook()` on your receiver, and keep it secret. */
  secret: string;
  /** Display form, e.g. `whsec_…abcd`. */
  hint: string;
  createdAt: string;
}

/** The body of a webhook delivery, as `verifyWebhook()` returns it. */
export interface WebhookEvent {
  type: 'job.succeeded' | 'job.failed';
  /** When the job finished (ISO time). */
  timestamp: string;
  /** The job, as `GET /v1/jobs/:id` shows it. */
  data: Job;
}
