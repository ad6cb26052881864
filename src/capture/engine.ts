import type { Logger } from 'pino';
import type { CaptureLimits } from '../config.js';
import { ApiError, type ErrorCode } from '../errors.js';
import { noContentBlocking, type ContentBlocking } from './blocking/content-blocking.js';
import { browserCrashed, isBrowserGone, whenDisconnected } from './browser-gone.js';
import type { CaptureOptions } from './options.js';
import { outputFor } from './outputs/output.js';
import type { PooledContext } from './pooled-context.js';
import { keptNavigating, navigatedUnderUs, renderAndCapture, type Rendered } from './render.js';
import type { WarmPool } from './warm-pool.js';

/** A finished capture: the output's bytes and what the caller needs to trust them. */
export interface CaptureResult extends Rendered {
  /** Milliseconds from taking a context to having the bytes. */
  renderMs: number;
}

/** Errors after which the page is in an ordinary state and can be reset and reused. */
const REUSABLE_AFTER: ReadonlySet<ErrorCode> = new Set([
  'NAVIGATION_FAILED',
  'TARGET_FORBIDDEN',
  'SELECTOR_NOT_FOUND',
  'SCRIPT_FAILED',
  'VALIDATION_ERROR',
  'TARGET_IS_DOWNLOAD',
  'BLANK_PAGE',
  'TOO_MANY_PAGES',
  'PDF_TOO_LARGE',
  'FILTER_LISTS_UNAVAILABLE',
]);

/** Answers a dying browser can cause on its own; with the browser gone, each is BROWSER_CRASHED instead. */
const DIED_WITH_BROWSER: ReadonlySet<ErrorCode> = new Set(['NAVIGATION_FAILED', 'PAGE_CRASHED', 'CAPTURE_FAILED']);

/** How long a failed capture waits to learn whether its renderer crashed. */
const CRASH_PROBE_MS = 1_000;

/**
 * Whether a capture failed because its renderer died. A renderer killed mid-navigation
 * (out of memory) first shows as an aborted navigation; Playwright's 'crash' event may
 * come a moment later, so a failure that is not already explained asks the page once.
 */
async function crashedUnder(error: unknown, pooled: PooledContext | undefined): Promise<boolean> {
  if (!pooled || error instanceof ApiError || pooled.closed) return pooled?.crashed ?? false;
  if (pooled.crashed) return true;
  let timer: NodeJS.Timeout | undefined;
  const probe = pooled.page.evaluate('0').then(
    () => false,
    (failure: unknown) => failure instanceof Error && /crash/i.test(failure.message),
  );
  const patience = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CRASH_PROBE_MS);
  });
  const answer = await Promise.race([probe, patience]);
  clearTimeout(timer);
  return answer || pooled.crashed;
}

/**
 * Runs one capture for one caller under a hard deadline. When the deadline passes, the
 * context is closed whatever the page is doing (a busy loop, a hung request), which
 * ends its renderer; the caller gets RENDER_TIMEOUT.
 */
export class CaptureEngine {
  constructor(
    private readonly pool: WarmPool,
    private readonly limits: CaptureLimits,
    private readonly logger: Logger,
    private readonly blocking: ContentBlocking = noContentBlocking,
  ) {}

  /**
   * Captures `options` for `caller` (`key:<id>`, or `ip:<address>` without
   * authentication). `allowedHosts`, the key's own host list, narrows what the page may
   * load.
   */
  async capture(
    caller: string,
    options: CaptureOptions,
    allowedHosts: readonly string[] = [],
    signal?: AbortSignal,
  ): Promise<CaptureResult> {
    const started = Date.now();
    const deadline = started + options.timeout;
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    // Ends the capture early: its deadline passed, or the client that asked went away.
    const cutShort = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ApiError('RENDER_TIMEOUT', `The page did not finish rendering within ${options.timeout} ms.`)),
        options.timeout,
      );
      onAbort = () => reject(new ApiError('CLIENT_CLOSED_REQUEST', 'The client went away.'));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
    const lease: { pooled?: PooledContext; settled?: boolean; gone?: { dispose(): void } } = {};
    let reusable = false;
    try {
      const work = this.pool.acquire(caller, options.fresh, allowedHosts).then((acquired) => {
        if (lease.settled) {
          // The deadline passed while waiting for a context: give it straight back
          // (a fresh one was meant to be thrown away, so it is).
          this.pool.release(acquired, !options.fresh);
          throw new Error('capture abandoned after its deadline');
        }
        lease.pooled = acquired;
        // A crashed renderer answers nothing more, and a dead browser neither: end at once, not at the deadline.
        const gone = whenDisconnected(acquired.browser.browser);
        lease.gone = gone;
        return Promise.race([renderAndCapture(acquired, options, this.limits, deadline, this.blocking), acquired.interruption(), gone.promise]);
      });
      work.catch(() => undefined); // it may settle after the deadline already answered
      const rendered = await Promise.race([work, cutShort]);
      // A fresh context was asked for as a throwaway: keeping it would only cost a reset.
      // A transparent one is not kept either: under load, the next capture in the same
      // page could still come out transparent after the override was cleared.
      reusable = !options.fresh && !options.omitBackground && outputFor(options.format).leavesContextReusable;
      return { ...rendered, renderMs: Date.now() - started };
    } catch (error) {
      const apiError = this.toApiError(error, lease.pooled, await crashedUnder(error, lease.pooled));
      reusable = !options.fresh && !options.omitBackground && REUSABLE_AFTER.has(apiError.code);
      throw apiError;
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      lease.settled = true;
      lease.gone?.dispose();
      if (lease.pooled) this.pool.release(lease.pooled, reusable);
    }
  }

  /**
   * Refuses, before any queue place or context is taken, options this server cannot
   * serve (ads or trackers without their filter list).
   */
  assertAvailable(options: CaptureOptions): void {
    this.blocking.assertAvailable(options);
  }

  /**
   * What a failed capture answers. A browser that died is never the caller's fault nor an
   * unforeseen failure: whatever step it interrupted (opening a context, navigating, a
   * screenshot, a PDF) and however Playwright words it, the answer is 503 BROWSER_CRASHED.
   */
  private toApiError(error: unknown, pooled: PooledContext | undefined, crashed: boolean): ApiError {
    const browserDead = pooled !== undefined && !pooled.browser.browser.isConnected();
    if (error instanceof ApiError) {
      // A navigation cut short, or a renderer taken down with its browser, is the browser's failure.
      return browserDead && DIED_WITH_BROWSER.has(error.code) ? browserCrashed() : error;
    }
    const message = error instanceof Error ? error.message : String(error);
    if (pooled?.mainDocumentBlock?.refused) {
      return new ApiError('TARGET_FORBIDDEN', `The page navigated to a target that is not allowed: ${pooled.mainDocumentBlock.refused}.`);
    }
    // Before the page's own crash: when the browser dies, every renderer dies with it.
    if (browserDead || isBrowserGone(error)) return browserCrashed();
    if (crashed) {
      return new ApiError('PAGE_CRASHED', 'The page crashed the browser tab rendering it (most often: it ran out of memory).');
    }
    if (error instanceof Error && error.name === 'TimeoutError') {
      return new ApiError('RENDER_TIMEOUT', 'The page did not finish rendering in time.');
    }
    // A step that ran while the page navigated by itself (not ours to fail on).
    if (navigatedUnderUs(error)) return keptNavigating();
    const networkError = /net::(ERR_[A-Z_]+)/.exec(message)?.[1];
    if (networkError) {
      return new ApiError('NAVIGATION_FAILED', `The target could not be loaded: ${networkError}.`, {
        extras: { networkError },
      });
    }
    this.logger.error({ err: error }, 'capture failed');
    return new ApiError('CAPTURE_FAILED', 'The capture failed inside the browser.');
  }
}
