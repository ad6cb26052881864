import { devices } from 'playwright-core';
import { ApiError } from '../errors.js';

/**
 * A device preset: what `device` sets. The values are Playwright's device descriptors,
 * not hand-written, so they follow Playwright's updates.
 *
 * Every descriptor is offered, including those Playwright would run in WebKit or Firefox
 * (`defaultBrowserType`): a descriptor is only a viewport, a screen, a scale, a mobile
 * and a touch flag and a User-Agent, and Chromium emulates all of them over CDP (Playwright
 * itself runs its iPhone descriptors in Chromium). What changes is what the page and its
 * server see; the picture is still drawn by Chromium's engine, not by Safari's.
 */
export interface DevicePreset {
  name: string;
  userAgent: string;
  viewport: { width: number; height: number };
  /** The device's whole screen (`screen.width`/`height`); the viewport when the descriptor has none. */
  screen: { width: number; height: number };
  deviceScaleFactor: number;
  isMobile: boolean;
  hasTouch: boolean;
}

/** The preset named `name` exactly (as `GET /v1/devices` spells it), or undefined. */
export function devicePreset(name: string): DevicePreset | undefined {
  if (!Object.hasOwn(devices, name)) return undefined;
  // The typings leave out `screen`, which most descriptors carry.
  const descriptor = devices[name]! as (typeof devices)[string] & { screen?: { width: number; height: number } };
  return {
    name,
    userAgent: descriptor.userAgent,
    viewport: { ...descriptor.viewport },
    screen: { ...(descriptor.screen ?? descriptor.viewport) },
    deviceScaleFactor: descriptor.deviceScaleFactor,
    isMobile: descriptor.isMobile,
    hasTouch: descriptor.hasTouch,
  };
}

/** Every preset name, in Playwright's order (phones and tablets, then desktops). */
export function devicePresetNames(): string[] {
  return Object.keys(devices);
}

/** The preset `name`, or VALIDATION_ERROR naming `device`. */
function knownDevice(name: string): DevicePreset {
  const preset = devicePreset(name);
  if (!preset) {
    throw new ApiError('VALIDATION_ERROR', '"device" is not a known device; GET /v1/devices lists them.', { extras: { field: 'device' } });
  }
  return preset;
}

/** The viewport a capture renders at, in CSS pixels, with its scale and input kind. */
export interface EffectiveViewport {
  width: number;
  height: number;
  deviceScaleFactor: number;
  isMobile: boolean;
  hasTouch: boolean;
}

/**
 * The one source of truth for the viewport a capture renders at. With `device` the
 * preset wins over `width`, `height` and `deviceScaleFactor`: those have defaults, so
 * "the caller left them out" cannot be told from "the caller asked for 1280×720", and a
 * phone at a desktop width is not the phone. Without `device`: the caller's values, a
 * desktop without touch. Throws VALIDATION_ERROR (`device`) for an unknown preset.
 */
export function effectiveViewport(options: { device?: string; width: number; height: number; deviceScaleFactor: number }): EffectiveViewport {
  if (options.device === undefined) {
    const { width, height, deviceScaleFactor } = options;
    return { width, height, deviceScaleFactor, isMobile: false, hasTouch: false };
  }
  const preset = knownDevice(options.device);
  return { ...preset.viewport, deviceScaleFactor: preset.deviceScaleFactor, isMobile: preset.isMobile, hasTouch: preset.hasTouch };
}

/**
 * The canonical spelling of a BCP 47 tag (`de-de` → `de-DE`). Throws VALIDATION_ERROR
 * naming `locale` for a tag that is not well formed.
 *
 * Only the form is checked: any well-formed tag is a fair `Accept-Language`, and
 * Chromium itself accepts any tag for its `Intl` default, falling back to the nearest
 * locale it has (as a real browser set to that language would).
 */
export function canonicalLocale(locale: string): string {
  try {
    const [canonical] = Intl.getCanonicalLocales(locale);
    if (canonical) return canonical;
  } catch {
    // RangeError: not a well-formed tag.
  }
  throw new ApiError('VALIDATION_ERROR', '"locale" is not a BCP 47 language tag (e.g. "de-DE").', { extras: { field: 'locale' } });
}

/**
 * The emulation options a schema cannot check: a known device, a real time zone and a
 * well-formed locale. Chromium takes an unknown zone or locale without a word (and falls
 * back to UTC or en-US), so these checks are the only thing standing between a typo and
 * a silently wrong picture.
 */
export function checkEmulationOptions(options: { device?: string; timezone?: string; locale?: string }): void {
  if (options.device !== undefined) knownDevice(options.device);
  if (options.timezone !== undefined) {
    try {
      // Node's ICU knows the same IANA zones as Chromium's.
      new Intl.DateTimeFormat('en', { timeZone: options.timezone });
    } catch {
      throw new ApiError('VALIDATION_ERROR', '"timezone" is not an IANA time zone (e.g. "Europe/Berlin").', { extras: { field: 'timezone' } });
    }
  }
  if (options.locale !== undefined) canonicalLocale(options.locale);
}
