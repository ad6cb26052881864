import { canonicalLocale, devicePreset, effectiveViewport, type DevicePreset, type EffectiveViewport } from './emulation-options.js';
import type { CaptureOptions } from './options.js';
import type { PooledContext } from './pooled-context.js';

const TRANSPARENT = { r: 0, g: 0, b: 0, a: 0 };

/** Touch points a phone or tablet reports (iOS and Android both say 5); CDP's default is 1. */
const MAX_TOUCH_POINTS = 5;

/**
 * Sets every per-capture override on the page: viewport, scale, mobile and touch, media
 * type and features, User-Agent and languages, time zone, locale, extra headers and the
 * default background. Each is set on every capture, to the caller's value or the
 * default, before the target loads, so nothing one capture asked for reaches the next
 * (the context is reused and CDP overrides outlive navigations). (Setting the transparent
 * background only around the screenshot and clearing it after raced the next capture's
 * first frame under load.)
 *
 * The overrides reach the page and the frames in its renderer; an iframe from another
 * site runs in its own renderer (site isolation) and keeps the browser's own time zone
 * and locale.
 */
export async function applyEmulation(pooled: PooledContext, options: CaptureOptions): Promise<void> {
  const { cdp, page, browser } = pooled;
  const viewport = effectiveViewport(options);
  const preset = options.device === undefined ? undefined : devicePreset(options.device);
  const locale = options.locale === undefined ? undefined : canonicalLocale(options.locale);
  await Promise.all([
    cdp.send('Emulation.setDeviceMetricsOverride', deviceMetrics(viewport, preset)),
    cdp.send('Emulation.setTouchEmulationEnabled', viewport.hasTouch ? { enabled: true, maxTouchPoints: MAX_TOUCH_POINTS } : { enabled: false }),
    cdp.send('Emulation.setEmulatedMedia', emulatedMedia(options)),
    cdp.send('Emulation.setUserAgentOverride', {
      userAgent: options.userAgent ?? preset?.userAgent ?? browser.userAgent,
      // Left out, the browser's own Accept-Language and navigator.languages come back.
      ...(locale === undefined ? {} : { acceptLanguage: acceptLanguage(locale) }),
    }),
    // '' and {} lift the override: the browser's own zone (UTC here) and locale come back.
    cdp.send('Emulation.setTimezoneOverride', { timezoneId: options.timezone ?? '' }),
    // Blink refuses a locale override while another DevTools session holds one ("Another
    // locale override is already in effect"); only this session ever sets it (contexts
    // are opened without Playwright's `locale`), so setting or lifting it here is allowed.
    cdp.send('Emulation.setLocaleOverride', locale === undefined ? {} : { locale }),
    cdp.send('Emulation.setDefaultBackgroundColorOverride', options.omitBackground ? { color: TRANSPARENT } : {}),
    page.setExtraHTTPHeaders(options.headers ?? {}),
  ]);
}

/**
 * `Emulation.setDeviceMetricsOverride` parameters. Each call replaces the whole override,
 * so the screen size and orientation a device capture set are gone when the next capture
 * leaves them out. `mobile` turns on what a phone does (the `<meta name="viewport">` tag,
 * a 980 px layout width for pages without one, overlay scroll bars).
 */
function deviceMetrics(viewport: EffectiveViewport, preset: DevicePreset | undefined) {
  const metrics = { width: viewport.width, height: viewport.height, deviceScaleFactor: viewport.deviceScaleFactor, mobile: viewport.isMobile };
  if (!preset) return metrics;
  // Orientation follows the viewport: a "landscape" preset keeps its portrait screen size
  // (iOS never swaps screen.width), but its page is held sideways.
  const landscape = viewport.width > viewport.height;
  const screenOrientation = !preset.isMobile
    ? { angle: 0, type: 'landscapePrimary' as const }
    : landscape
      ? { angle: 90, type: 'landscapePrimary' as const }
      : { angle: 0, type: 'portraitPrimary' as const };
  return { ...metrics, screenWidth: preset.screen.width, screenHeight: preset.screen.height, screenOrientation };
}

/**
 * Media type and features. `prefers-reduced-motion` is always set: the caller's choice,
 * else `reduce` while animations are disabled (pages that honour it then draw their
 * final state), else `no-preference`.
 */
function emulatedMedia(options: CaptureOptions) {
  const reducedMotion = options.reducedMotion ?? (options.disableAnimations ? 'reduce' : 'no-preference');
  return {
    // Left out: none, which is screen for a picture and print for a PDF (printToPDF's own default).
    media: options.mediaType ?? '',
    features: [
      { name: 'prefers-color-scheme', value: options.darkMode ? 'dark' : 'light' },
      { name: 'prefers-reduced-motion', value: reducedMotion },
    ],
  };
}

/**
 * The Accept-Language a browser set to `locale` sends: the tag, then its bare language
 * (`de-DE,de`), which Chromium weights into `de-DE,de;q=0.9` and also gives the page as
 * `navigator.languages`, as it does for its own default `en-US,en;q=0.9`.
 */
function acceptLanguage(locale: string): string {
  const language = new Intl.Locale(locale).language;
  return language === locale ? locale : `${locale},${language}`;
}
