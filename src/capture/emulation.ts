import type { CaptureOptions } from './options.js';
import type { PooledContext } from './pooled-context.js';

const TRANSPARENT = { r: 0, g: 0, b: 0, a: 0 };

/**
 * Makes the page's default background transparent for the capture that follows, when
 * the caller asked for it. Undone by `clearTransparentBackground` right after capture.
 */
export async function setTransparentBackground(pooled: PooledContext): Promise<void> {
  await pooled.cdp.send('Emulation.setDefaultBackgroundColorOverride', { color: TRANSPARENT });
}

/** Removes the override, so the page's white default is back for the next capture. */
export async function clearTransparentBackground(pooled: PooledContext): Promise<void> {
  await pooled.cdp.send('Emulation.setDefaultBackgroundColorOverride', {});
}

/**
 * Sets every per-capture override on the page: viewport and scale, colour scheme,
 * User-Agent and extra headers. Each is set on every capture, to the
 * caller's value or the default, so nothing one capture asked for reaches the next.
 */
export async function applyEmulation(pooled: PooledContext, options: CaptureOptions): Promise<void> {
  const { cdp, page, browser } = pooled;
  await Promise.all([
    cdp.send('Emulation.setDeviceMetricsOverride', {
      width: options.width,
      height: options.height,
      deviceScaleFactor: options.deviceScaleFactor,
      mobile: false,
    }),
    cdp.send('Emulation.setEmulatedMedia', {
      media: '',
      features: [{ name: 'prefers-color-scheme', value: options.darkMode ? 'dark' : 'light' }],
    }),
    cdp.send('Emulation.setUserAgentOverride', { userAgent: options.userAgent ?? browser.userAgent }),
    page.setExtraHTTPHeaders(options.headers ?? {}),
  ]);
}
