import type { CaptureOptions } from './options.js';
import type { PooledContext } from './pooled-context.js';

const TRANSPARENT = { r: 0, g: 0, b: 0, a: 0 };

/**
 * Sets every per-capture override on the page: viewport and scale, colour scheme,
 * User-Agent, extra headers and the default background. Each is set on every capture, to
 * the caller's value or the default, before the target loads, so nothing one capture
 * asked for reaches the next. (Setting the transparent background only around the
 * screenshot and clearing it after raced the next capture's first frame under load.)
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
    cdp.send('Emulation.setDefaultBackgroundColorOverride', options.omitBackground ? { color: TRANSPARENT } : {}),
    page.setExtraHTTPHeaders(options.headers ?? {}),
  ]);
}
