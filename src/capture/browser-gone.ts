import type { Browser } from 'playwright-core';
import { ApiError } from '../errors.js';

/**
 * What Playwright says when the browser, a context or a page went away under a call:
 * its own TargetClosedError ("Target page, context or browser has been closed"), and the
 * protocol's wording for a session or connection that closed ("Protocol error (…):
 * Target closed", "Session closed", "Connection closed"). A renderer that crashed says
 * "Target crashed" instead, which is the page's fault (PAGE_CRASHED), not the browser's.
 */
const GONE = /Target page, context or browser has been closed|Browser has been closed|Browser closed|browser has disconnected|Target closed|Session closed|Connection closed|WebSocket is not open/i;

/** True when `error` is a Playwright error from a browser, context or page that is gone. */
export function isBrowserGone(error: unknown): boolean {
  return error instanceof Error && GONE.test(error.message);
}

/** The answer for a capture whose browser died under it: 503, retry in a second (a new browser is starting). */
export function browserCrashed(): ApiError {
  return new ApiError('BROWSER_CRASHED', 'The browser stopped during this capture; it is being restarted.', { retryAfter: 1 });
}

/**
 * A promise that rejects with BROWSER_CRASHED as soon as `browser` disconnects (at once
 * if it already has), so a step waiting on it ends then rather than at its deadline.
 * Call `dispose()` when the step is over, to remove the listener.
 */
export function whenDisconnected(browser: Browser): { promise: Promise<never>; dispose(): void } {
  let onDisconnected: (() => void) | undefined;
  const promise = new Promise<never>((_, reject) => {
    onDisconnected = () => reject(browserCrashed());
    if (!browser.isConnected()) onDisconnected();
    else browser.once('disconnected', onDisconnected);
  });
  promise.catch(() => undefined); // the step may have ended first and no longer listen
  return { promise, dispose: () => void browser.off('disconnected', onDisconnected!) };
}
