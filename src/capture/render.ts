import type { CaptureLimits } from '../config.js';
import { ApiError } from '../errors.js';
import { REFUSED_HEADER, UPSTREAM_ERROR_HEADER } from '../netguard/guard-headers.js';
import { planClip } from './clip.js';
import { applyEmulation } from './emulation.js';
import type { CaptureOptions } from './options.js';
import type { PooledContext } from './pooled-context.js';
import { assertSelectorsValid, waitForVisible } from './selectors.js';
import { addUserStyle, runUserScript } from './user-script.js';

/** An encoded image, and whether a cap cut the page or element it shows. */
export interface RenderedImage {
  image: Buffer;
  truncated: boolean;
}

/** Chromium's errors for a proxy that refused or could not make a connection. */
const PROXY_NET_ERRORS = /net::ERR_(TUNNEL_CONNECTION_FAILED|PROXY_[A-Z_]+|HTTP_RESPONSE_CODE_FAILURE|EMPTY_RESPONSE)/;

/** Milliseconds left before `deadline`, at least 1 (Playwright treats 0 as "no timeout"). */
function remaining(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}

/**
 * Loads the target on a prepared page, applies the caller's waits and injections and
 * returns the encoded image. Every wait is bounded by `deadline`.
 */
export async function renderAndCapture(
  pooled: PooledContext,
  options: CaptureOptions,
  limits: CaptureLimits,
  deadline: number,
): Promise<RenderedImage> {
  const { page } = pooled;
  const started = Date.now();
  pooled.mainDocumentBlock = undefined;
  await assertSelectorsValid(pooled, options);
  await applyEmulation(pooled, options);
  if (options.cookies?.length) await addCookies(pooled, options);
  await navigate(pooled, options, deadline);
  if (options.waitForSelector !== undefined) await waitForVisible(pooled, options.waitForSelector, remaining(deadline));
  if (options.css !== undefined) await addUserStyle(pooled, options.css);
  if (options.js !== undefined) await runUserScript(pooled, options.js);
  if (options.delay > 0) await new Promise((resolve) => setTimeout(resolve, options.delay));
  assertShowsTarget(pooled, started);
  const rendered = await screenshotSettled(pooled, options, limits, deadline, started);
  // The page may have navigated (a timer, a meta refresh) while the picture was taken.
  assertShowsTarget(pooled, started);
  return rendered;
}

/** Errors of a step that ran while the page navigated away under it. */
const NAVIGATED_UNDER_US = /Execution context was destroyed|Cannot find context with specified id|frame (was|got) detached|Not attached to an active page/i;

/** True for the errors of a step that ran while the page navigated away under it. */
export function navigatedUnderUs(error: unknown): boolean {
  return error instanceof Error && NAVIGATED_UNDER_US.test(error.message);
}

/** The answer for a page that navigates again and again while it is captured (a self-refresh loop). */
export function keptNavigating(): ApiError {
  return new ApiError('NAVIGATION_FAILED', 'The page kept navigating away while it was being captured.');
}

/** Pictures tried before a page that keeps navigating under the capture is given up on. */
const SCREENSHOT_ATTEMPTS = 3;

/**
 * Takes the picture; when the page navigated by itself in the middle of it (a meta
 * refresh, a script's `location`), waits for the new document to load and paint, holds
 * it to the same rules, and tries again (a few times, within the deadline).
 */
async function screenshotSettled(
  pooled: PooledContext,
  options: CaptureOptions,
  limits: CaptureLimits,
  deadline: number,
  since: number,
): Promise<RenderedImage> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await screenshot(pooled, options, limits);
    } catch (error) {
      if (!navigatedUnderUs(error)) throw error;
      if (attempt >= SCREENSHOT_ATTEMPTS) throw keptNavigating();
    }
    try {
      await pooled.page.waitForLoadState('load', { timeout: remaining(deadline) });
      // Two animation frames: the new document has painted, and the page's CDP target is
      // attached to it again (during the swap Chromium answers "Not attached to an active page").
      await pooled.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    } catch (error) {
      if (!navigatedUnderUs(error)) throw error;
    }
    assertShowsTarget(pooled, since);
  }
}

/**
 * Refuses to return a picture of anything but the target: Chromium's own error page, or
 * the guard's answer to a page-initiated navigation to a refused or unreachable address.
 */
function assertShowsTarget(pooled: PooledContext, since: number): void {
  const block = pooled.mainDocumentBlock;
  if (block?.refused) throw new ApiError('TARGET_FORBIDDEN', `The page navigated to a target that is not allowed: ${block.refused}.`);
  if (block?.unreachable) throw navigationFailed(block.unreachable);
  if (pooled.page.mainFrame().url().startsWith('chrome-error://')) {
    throw (
      refusedNavigation(pooled, since) ??
      unreachedNavigation(pooled, since) ??
      new ApiError('NAVIGATION_FAILED', 'The page navigated to an address that could not be loaded.')
    );
  }
}

/**
 * Adds the caller's cookies. The schema and toCaptureOptions check them first; anything
 * the browser still refuses is the caller's cookie, not our failure.
 */
async function addCookies(pooled: PooledContext, options: CaptureOptions): Promise<void> {
  const targetUrl = options.target.kind === 'url' ? options.target.url.href : undefined;
  const cookies = (options.cookies ?? []).map((cookie) => {
    if (cookie.domain !== undefined || targetUrl === undefined) return { ...cookie, path: cookie.path ?? '/' };
    const { path, ...rest } = cookie;
    return path === undefined ? { ...rest, url: targetUrl } : { ...rest, url: new URL(path, targetUrl).href };
  });
  try {
    await pooled.context.addCookies(cookies);
  } catch (error) {
    if (pooled.closed || !(error instanceof Error) || !/cookie/i.test(error.message)) throw error;
    throw new ApiError('VALIDATION_ERROR', 'The browser refused one of the "cookies".', { extras: { field: 'cookies' } });
  }
}

async function navigate(pooled: PooledContext, options: CaptureOptions, deadline: number): Promise<void> {
  const { page } = pooled;
  const waitUntil = options.waitUntil;
  if (options.target.kind === 'html') {
    await page.setContent(options.target.html, { waitUntil, timeout: remaining(deadline) });
    return;
  }
  const started = Date.now();
  let response;
  try {
    response = await page.goto(options.target.url.href, { waitUntil, timeout: remaining(deadline) });
  } catch (error) {
    throw navigationError(pooled, error, started);
  }
  const refused = response?.headers()[REFUSED_HEADER];
  if (refused) throw new ApiError('TARGET_FORBIDDEN', `The target is not allowed: ${refused}.`);
  const unreached = response?.headers()[UPSTREAM_ERROR_HEADER];
  if (unreached) throw navigationFailed(unreached);
  const status = response?.status() ?? 0;
  if (status >= 400) {
    throw new ApiError('NAVIGATION_FAILED', `The target answered HTTP ${status}.`, { extras: { targetStatus: status } });
  }
}

/** What a failed `goto` means for the caller. */
function navigationError(pooled: PooledContext, error: unknown, started: number): unknown {
  const message = error instanceof Error ? error.message : '';
  if (/Download is starting/i.test(message)) {
    return new ApiError('TARGET_IS_DOWNLOAD', 'The target answered with a file to download, not a page to render.');
  }
  // Chromium names a refused or failed proxy connection vaguely (a tunnel or proxy
  // error); the guard knows the real cause. Any other error (a certificate, say) stands.
  if (PROXY_NET_ERRORS.test(message)) return refusedNavigation(pooled, started) ?? unreachedNavigation(pooled, started) ?? error;
  return error;
}

/**
 * When the main frame ended on Chromium's error page because the guard refused a
 * connection (a redirect, meta refresh or script navigation to a forbidden address),
 * the capture fails with TARGET_FORBIDDEN naming the guard's reason.
 */
function refusedNavigation(pooled: PooledContext, since: number): ApiError | undefined {
  const refusal = pooled.proxy.refusals.findLast((candidate) => candidate.at >= since);
  if (!refusal) return undefined;
  return new ApiError('TARGET_FORBIDDEN', `The target is not allowed: ${refusal.reason}.`);
}

function navigationFailed(networkError: string): ApiError {
  return new ApiError('NAVIGATION_FAILED', `The target could not be loaded: ${networkError}.`, { extras: { networkError } });
}

/** The guard's record of an allowed target it could not reach during this navigation. */
function unreachedNavigation(pooled: PooledContext, since: number): ApiError | undefined {
  const failure = pooled.proxy.failures.findLast((candidate) => candidate.at >= since);
  return failure && navigationFailed(failure.networkError);
}

async function screenshot(pooled: PooledContext, options: CaptureOptions, limits: CaptureLimits): Promise<RenderedImage> {
  const { clip, truncated } = await planClip(pooled, options, limits);
  const params = {
    format: options.format,
    ...(options.quality !== undefined ? { quality: options.quality } : {}),
    // Chromium's fast PNG encoder: ~3x cheaper than page.screenshot() for a larger file.
    optimizeForSpeed: true,
    ...(clip ? { clip, captureBeyondViewport: true } : {}),
  };
  return { image: await captureWithRetry(pooled, params), truncated };
}

async function captureWithRetry(pooled: PooledContext, params: object): Promise<Buffer> {
  try {
    const { data } = (await pooled.cdp.send('Page.captureScreenshot', params)) as { data: string };
    return Buffer.from(data, 'base64');
  } catch (error) {
    // Right after a navigation, or when another page was in front, Chromium may have no
    // frame to read yet ("Unable to capture screenshot"). Two animation frames later it has.
    if (!(error instanceof Error) || !error.message.includes('Unable to capture screenshot')) throw error;
    await pooled.page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    const { data } = (await pooled.cdp.send('Page.captureScreenshot', params)) as { data: string };
    return Buffer.from(data, 'base64');
  }
}
