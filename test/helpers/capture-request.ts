import type { CaptureRequest } from '../../src/capture/options.js';
import type { CaptureLimits } from '../../src/config.js';

/** A capture request as it looks after schema validation filled in the defaults. */
export function captureRequest(limits: CaptureLimits, fields: Partial<CaptureRequest>): CaptureRequest {
  return {
    width: 1280,
    height: 720,
    deviceScaleFactor: 1,
    fullPage: false,
    format: 'png',
    waitUntil: 'load',
    delay: 0,
    timeout: limits.defaultTimeoutMs,
    darkMode: false,
    omitBackground: false,
    fresh: false,
    disableAnimations: true,
    blockCookieBanners: false,
    blockAds: false,
    blockTrackers: false,
    failOnBlank: false,
    failOnHttpError: true,
    ...fields,
  };
}
