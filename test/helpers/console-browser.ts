import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM_ARGS } from '../../src/capture/browser.js';
import { findChromium } from '../../src/capture/chromium-path.js';

/**
 * A zone far behind UTC (UTC-11, no daylight saving): a console that showed local times
 * would show another hour than the UTC it must show, and a UTC midnight (a usage day)
 * formatted in this zone falls on the day before.
 */
export const FAR_ZONE = 'Pacific/Pago_Pago';

/** Chromium for the console suites (the system's, as the server uses). */
export function launchConsoleBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: findChromium(process.env.PAGESHOT_CHROMIUM_PATH), args: CHROMIUM_ARGS });
}

/**
 * Errors the page reported: CSP violations (recorded before any page script runs),
 * uncaught exceptions and console errors. The console must run clean under its CSP.
 * Refused API calls log "Failed to load resource" (a 403 or a 400 the test asked for): expected.
 */
export async function watchForErrors(page: Page): Promise<string[]> {
  const errors: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) errors.push(message.text());
  });
  return errors;
}

/** Signs in to the console at `baseUrl` with `key` and waits for the navigation to show. */
export async function signIn(page: Page, baseUrl: string, key: string): Promise<void> {
  await page.goto(`${baseUrl}/console/`);
  await page.fill('#signin-key', key);
  await page.press('#signin-key', 'Enter');
  await page.locator('#nav').waitFor({ state: 'visible' });
}

/** An ISO time as the console must show it: `2026-12-01 08:38 UTC`. */
export function utcMinute(iso: string): string {
  const normal = new Date(iso).toISOString();
  return `${normal.slice(0, 10)} ${normal.slice(11, 16)} UTC`;
}

/** The UTC day `days` from today (negative: before), as YYYY-MM-DD. */
export function utcDayFromToday(days: number): string {
  return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}

/** A box as the page lays it out. */
export interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** The boxes of every element matching `selector`, in document order. */
export function boxesOf(page: Page, selector: string): Promise<Box[]> {
  return page.evaluate((css) => [...document.querySelectorAll(css)].map((element) => {
    const { left, right, top, bottom } = element.getBoundingClientRect();
    return { left, right, top, bottom };
  }), selector);
}
