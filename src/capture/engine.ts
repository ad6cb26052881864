import type { Logger } from 'pino';
import type { CaptureLimits } from '../config.js';
import { ApiError, type ErrorCode } from '../errors.js';
import type { CaptureOptions } from './options.js';
import type { PooledContext } from './pooled-context.js';
import { renderAndCapture } from './render.js';
import type { WarmPool } from './warm-pool.js';

/** An encoded screenshot. */
export interface CaptureResult {
  image: Buffer;
  contentType: string;
  /** Milliseconds from taking a context to having the image. */
  renderMs: number;
}

const CONTENT_TYPES = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' } as const;

/** Errors after which the page is in an ordinary state and can be reset and reused. */
const REUSABLE_AFTER: ReadonlySet<ErrorCode> = new Set([
  'NAVIGATION_FAILED',
  'TARGET_FORBIDDEN',
  'SELECTOR_NOT_FOUND',
  'SCRIPT_FAILED',
  'VALIDATION_ERROR',
]);

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
  ) {}

  /**
   * Captures `options` for `caller` (`key:<id>`, or `ip:<address>` without
   * authentication). `allowedHosts`, the key's own host list, narrows what the page may
   * load.
   */
  async capture(caller: string, options: CaptureOptions, allowedHosts: readonly string[] = []): Promise<CaptureResult> {
    const started = Date.now();
    const deadline = started + options.timeout;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ApiError('RENDER_TIMEOUT', `The page did not finish rendering within ${options.timeout} ms.`)),
        options.timeout,
      );
    });
    const lease: { pooled?: PooledContext; settled?: boolean } = {};
    let reusable = false;
    try {
      const work = this.pool.acquire(caller, options.fresh, allowedHosts).then((acquired) => {
        if (lease.settled) {
          // The deadline passed while waiting for a context: give it straight back.
          this.pool.release(acquired, true);
          throw new Error('capture abandoned after its deadline');
        }
        lease.pooled = acquired;
        return renderAndCapture(acquired, options, this.limits, deadline);
      });
      work.catch(() => undefined); // it may settle after the deadline already answered
      const image = await Promise.race([work, expired]);
      // A fresh context was asked for as a throwaway: keeping it would only cost a reset.
      reusable = !options.fresh;
      return { image, contentType: CONTENT_TYPES[options.format], renderMs: Date.now() - started };
    } catch (error) {
      const apiError = this.toApiError(error, lease.pooled);
      reusable = !options.fresh && REUSABLE_AFTER.has(apiError.code);
      throw apiError;
    } finally {
      clearTimeout(timer);
      lease.settled = true;
      if (lease.pooled) this.pool.release(lease.pooled, reusable);
    }
  }

  private toApiError(error: unknown, pooled: PooledContext | undefined): ApiError {
    if (error instanceof ApiError) return error;
    const message = error instanceof Error ? error.message : String(error);
    if (pooled && !pooled.browser.browser.isConnected()) {
      return new ApiError('BROWSER_CRASHED', 'The browser stopped during this capture; it is being restarted.', {
        retryAfter: 1,
      });
    }
    if (error instanceof Error && error.name === 'TimeoutError') {
      return new ApiError('RENDER_TIMEOUT', 'The page did not finish rendering in time.');
    }
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
