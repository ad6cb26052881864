import type { CaptureLimits } from '../config.js';
import { ApiError } from '../errors.js';
import { REFUSED_HEADER, UPSTREAM_ERROR_HEADER } from '../netguard/guard-headers.js';
import { freezeAnimations } from './animations.js';
import { assertNotBlank } from './blank.js';
import type { ContentBlocking } from './blocking/content-blocking.js';
import { applyEmulation } from './emulation.js';
import { scrollThrough } from './lazy-content.js';
import type { CaptureOptions } from './options.js';
import { outputFor, type OutputResult } from './outputs/output.js';
import { PhaseTimer, type PhaseTimings } from './phase-timer.js';
import type { PooledContext } from './pooled-context.js';
import { assertSelectorsValid, clickElement, waitForVisible } from './selectors.js';
import { addUserStyle, runUserScript } from './user-script.js';

/** What a capture made, and what the caller needs to trust it. */
export interface Rendered extends OutputResult {
  /** The page's address when it was captured (after redirects and script navigations); undefined for `html`. */
  finalUrl: string | undefined;
  /** The HTTP status of the target's main document; undefined for `html`. */
  targetStatus: number | undefined;
  /** Milliseconds spent in each phase, in order. */
  timings: PhaseTimings;
}

/** Chromium's errors for a proxy that refused or could not make a connection. */
const PROXY_NET_ERRORS = /net::ERR_(TUNNEL_CONNECTION_FAILED|PROXY_[A-Z_]+|HTTP_RESPONSE_CODE_FAILURE|EMPTY_RESPONSE)/;

/** Milliseconds left before `deadline`, at least 1 (Playwright treats 0 as "no timeout"). */
function remaining(deadline: number): number {
  return Math.max(1, deadline - Date.now());
}

/**
 * Loads the target on a prepared page, applies the caller's waits, edits and
 * preparations, and hands the page to the output that makes the bytes. Every wait is
 * bounded by `deadline`.
 */
export async function renderAndCapture(
  pooled: PooledContext,
  options: CaptureOptions,
  limits: CaptureLimits,
  deadline: number,
  blocking: ContentBlocking,
): Promise<Rendered> {
  const timer = new PhaseTimer();
  const started = Date.now();
  pooled.beginCapture();
  await assertSelectorsValid(pooled, options);
  await applyEmulation(pooled, options);
  await blocking.beforeNavigation(pooled, options);
  if (options.cookies?.length) await addCookies(pooled, options);
  const targetStatus = await timer.time('navigation', () => navigate(pooled, options, deadline));
  await timer.time('waits', () => prepare(pooled, options, deadline, blocking));
  if (options.scrollPage) await timer.time('scroll', () => scrollThrough(pooled, limits, deadline));
  if (options.disableAnimations) await freezeAnimations(pooled);
  if (options.delay > 0) await timer.time('delay', () => new Promise((resolve) => setTimeout(resolve, options.delay)));
  assertShowsTarget(pooled, started);
  if (options.failOnBlank) await assertNotBlank(pooled, options, limits);
  const output = await timer.time('capture', () => produceSettled(pooled, options, limits, deadline, started));
  // The page may have navigated (a timer, a meta refresh) while the picture was taken.
  assertShowsTarget(pooled, started);
  const finalUrl = options.target.kind === 'url' ? pooled.page.url() : undefined;
  return { ...output, finalUrl, targetStatus, timings: timer.timings };
}

/** The caller's waits and edits, in the order a person would see them happen. */
async function prepare(pooled: PooledContext, options: CaptureOptions, deadline: number, blocking: ContentBlocking): Promise<void> {
  if (options.waitForSelector !== undefined) await waitForVisible(pooled, options.waitForSelector, remaining(deadline));
  await blocking.afterLoad(pooled, options, deadline);
  if (options.css !== undefined) await addUserStyle(pooled, options.css);
  if (options.js !== undefined) await runUserScript(pooled, options.js);
  if (options.clickSelector !== undefined) await clickElement(pooled, options.clickSelector, deadline);
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
 * Makes the output; when the page navigated by itself in the middle of it (a meta
 * refresh, a script's `location`), waits for the new document to load and paint, holds
 * it to the same rules, and tries again (a few times, within the deadline).
 */
async function produceSettled(
  pooled: PooledContext,
  options: CaptureOptions,
  limits: CaptureLimits,
  deadline: number,
  since: number,
): Promise<OutputResult> {
  const output = outputFor(options.format);
  for (let attempt = 1; ; attempt++) {
    try {
      return await output.produce(pooled, options, limits, deadline);
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

/** Loads the target; resolves to the HTTP status of its document (undefined for `html`). */
async function navigate(pooled: PooledContext, options: CaptureOptions, deadline: number): Promise<number | undefined> {
  const { page } = pooled;
  const waitUntil = options.waitUntil;
  if (options.target.kind === 'html') {
    await page.setContent(options.target.html, { waitUntil, timeout: remaining(deadline) });
    return undefined;
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
  const status = response?.status();
  if (status !== undefined && status >= 400 && options.failOnHttpError) {
    throw new ApiError('NAVIGATION_FAILED', `The target answered HTTP ${status}.`, { extras: { targetStatus: status } });
  }
  return status;
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
