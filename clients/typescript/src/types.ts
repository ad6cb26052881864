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

/** Options of `POST /screenshot`. Exactly one of `url` or `html`. Unknown options are refused by the server. */
export interface ScreenshotOptions {
  /** `http:` or `https:` URL to capture. */
  url?: string;
  /** Markup rendered instead of a URL. */
  html?: string;
  /** Viewport width in CSS pixels (default 1280). */
  width?: number;
  /** Viewport height in CSS pixels (default 720). */
  height?: number;
  /** Image pixels per CSS pixel, 1–3 (default 1). */
  deviceScaleFactor?: number;
  /** Capture the whole page height. */
  fullPage?: boolean;
  /** Image format (default png). */
  format?: 'png' | 'jpeg' | 'webp';
  /** 0–100, jpeg and webp only (default 80). */
  quality?: number;
  /** Capture only the first visible element matching this CSS selector. */
  selector?: string;
  /** When navigation counts as done (default load). */
  waitUntil?: 'load' | 'domcontentloaded' | 'networkidle';
  /** Wait until an element matching this selector is visible. */
  waitForSelector?: string;
  /** Extra wait before capturing, in ms. */
  delay?: number;
  /** Hard deadline of the render on the server, in ms (default 30000). */
  timeout?: number;
  /** `prefers-color-scheme: dark`. */
  darkMode?: boolean;
  /** Transparent default background (png, webp). */
  omitBackground?: boolean;
  /** User-Agent for every request the page makes. */
  userAgent?: string;
  /** Extra HTTP headers on every request the page makes (at most 50). */
  headers?: Record<string, string>;
  /** Cookies set before the page loads (at most 50). */
  cookies?: Cookie[];
  /** Style sheet added after load, before capture. */
  css?: string;
  /** Script run in the page after load, before capture. */
  js?: string;
  /** Use a brand-new browser context instead of a warm one. */
  fresh?: boolean;
}

/** A captured image. */
export interface Screenshot {
  /** The image bytes. */
  image: Uint8Array;
  /** `image/png`, `image/jpeg` or `image/webp`. */
  contentType: string;
  /** Where the key stands after this request, if the server said. */
  rateLimit: RateLimitState | undefined;
  /** The server's request id. */
  requestId: string | undefined;
  /** Time queued and rendering on the server, in ms (`Server-Timing`), when sent. */
  timing: { queueMs?: number; renderMs?: number };
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
  browser: { state: string; version: string | null; capturesServed: number; restarts: number; crashes: number };
  pool: Record<string, number>;
}
