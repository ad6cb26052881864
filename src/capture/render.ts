import type { CaptureLimits } from '../config.js';
import { ApiError } from '../errors.js';
import { REFUSED_HEADER, UPSTREAM_ERROR_HEADER } from '../netguard/guard-proxy.js';
import { applyEmulation, clearTransparentBackground, setTransparentBackground } from './emulation.js';
import type { CaptureOptions } from './options.js';
import type { PooledContext } from './pooled-context.js';

interface Clip {
  x: number;
  y: number;
  width: number;
  height: number;
  scale: number;
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
): Promise<Buffer> {
  const { page } = pooled;
  const started = Date.now();
  await applyEmulation(pooled, options);
  if (options.cookies?.length) await addCookies(pooled, options);
  await navigate(pooled, options, deadline);
  if (options.waitForSelector !== undefined) {
    await page.waitForSelector(options.waitForSelector, { state: 'visible', timeout: remaining(deadline) });
  }
  if (options.css !== undefined) await page.addStyleTag({ content: options.css });
  if (options.js !== undefined) await runScript(pooled, options.js);
  if (options.delay > 0) await new Promise((resolve) => setTimeout(resolve, options.delay));
  if (page.mainFrame().url().startsWith('chrome-error://')) {
    throw (
      refusedNavigation(pooled, started) ??
      unreachedNavigation(pooled, started) ??
      new ApiError('NAVIGATION_FAILED', 'The page navigated to an address that could not be loaded.')
    );
  }
  return screenshot(pooled, options, limits);
}

async function addCookies(pooled: PooledContext, options: CaptureOptions): Promise<void> {
  const targetUrl = options.target.kind === 'url' ? options.target.url.href : undefined;
  const cookies = (options.cookies ?? []).map((cookie, index) => {
    if (cookie.domain !== undefined) return { ...cookie, path: cookie.path ?? '/' };
    if (targetUrl === undefined) {
      throw new ApiError('VALIDATION_ERROR', `"cookies[${index}]" needs a "domain" when capturing html.`, {
        extras: { field: `cookies/${index}/domain` },
      });
    }
    const { path, ...rest } = cookie;
    return path === undefined ? { ...rest, url: targetUrl } : { ...rest, url: new URL(path, targetUrl).href };
  });
  await pooled.context.addCookies(cookies);
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
    // Chromium names a refused or failed proxy connection vaguely (a tunnel or proxy
    // error); the guard knows the real cause. Any other error (a certificate, say) stands.
    const proxyError = error instanceof Error && PROXY_NET_ERRORS.test(error.message);
    throw (proxyError && (refusedNavigation(pooled, started) ?? unreachedNavigation(pooled, started))) || error;
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

async function runScript(pooled: PooledContext, js: string): Promise<void> {
  try {
    await pooled.page.evaluate(js);
  } catch (error) {
    if (!pooled.page.isClosed() && error instanceof Error && !/Target .*closed/i.test(error.message)) {
      const reason = error.message.split('\n')[0]?.replace(/^page\.evaluate: /, '').slice(0, 200);
      throw new ApiError('SCRIPT_FAILED', `The "js" option threw: ${reason}`);
    }
    throw error;
  }
}

async function screenshot(pooled: PooledContext, options: CaptureOptions, limits: CaptureLimits): Promise<Buffer> {
  let clip: Clip | undefined;
  if (options.selector !== undefined) clip = await elementClip(pooled, options.selector);
  else if (options.fullPage) {
    // The pixel cap holds for full pages too: a taller page is cut where it is reached.
    const heightForPixels = Math.floor(limits.maxPixels / (options.width * options.deviceScaleFactor ** 2));
    clip = await fullPageClip(pooled, options.width, Math.min(limits.maxFullPageHeight, heightForPixels));
  }
  const params = {
    format: options.format,
    ...(options.quality !== undefined ? { quality: options.quality } : {}),
    // Chromium's fast PNG encoder: ~3x cheaper than page.screenshot() for a larger file.
    optimizeForSpeed: true,
    ...(clip ? { clip, captureBeyondViewport: true } : {}),
  };
  if (options.omitBackground) await setTransparentBackground(pooled);
  try {
    return await captureWithRetry(pooled, params);
  } finally {
    if (options.omitBackground) await clearTransparentBackground(pooled);
  }
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

async function fullPageClip(pooled: PooledContext, width: number, maxHeight: number): Promise<Clip> {
  const metrics = (await pooled.cdp.send('Page.getLayoutMetrics')) as { cssContentSize: { height: number } };
  const height = Math.min(Math.max(1, Math.ceil(metrics.cssContentSize.height)), maxHeight);
  return { x: 0, y: 0, width, height, scale: 1 };
}

async function elementClip(pooled: PooledContext, selector: string): Promise<Clip> {
  let box: { x: number; y: number; width: number; height: number } | null;
  try {
    box = await pooled.page.evaluate((css) => {
      const element = document.querySelector(css);
      if (!element) return null;
      const rect = element.getBoundingClientRect();
      return { x: rect.left + window.scrollX, y: rect.top + window.scrollY, width: rect.width, height: rect.height };
    }, selector);
  } catch (error) {
    if (error instanceof Error && /SyntaxError|is not a valid selector/.test(error.message)) {
      throw new ApiError('VALIDATION_ERROR', '"selector" is not a valid CSS selector.', { extras: { field: 'selector' } });
    }
    throw error;
  }
  if (!box || box.width < 1 || box.height < 1) {
    throw new ApiError('SELECTOR_NOT_FOUND', `No visible element matches the selector "${selector.slice(0, 100)}".`);
  }
  return { x: box.x, y: box.y, width: box.width, height: box.height, scale: 1 };
}
