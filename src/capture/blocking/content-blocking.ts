import type { CaptureOptions } from '../options.js';
import type { PooledContext } from '../pooled-context.js';

/**
 * What a capture asks to keep off the page: ads and trackers (network and cosmetic
 * filters), cookie-consent dialogs, request types (`blockResources`) and the caller's
 * own `hideSelectors`. Like emulation, every capture sets all of it, to its own options
 * or to nothing, so nothing one capture asked for reaches the next in the same context.
 */
export interface ContentBlocking {
  /**
   * Throws an ApiError when the options ask for something this server cannot do (ads or
   * trackers without their filter list). Cheap and synchronous: call it before admission,
   * so such a request takes neither a queue place nor a browser context.
   */
  assertAvailable(options: CaptureOptions): void;
  /** Before the target loads: request filters and document-start scripts. */
  beforeNavigation(pooled: PooledContext, options: CaptureOptions): Promise<void>;
  /** After it loaded: waits (bounded by `deadline`) for consent dialogs to be refused, hides elements. */
  afterLoad(pooled: PooledContext, options: CaptureOptions, deadline: number): Promise<void>;
}

/** Blocks nothing: for engines built without filter lists (unit tests). */
export const noContentBlocking: ContentBlocking = {
  assertAvailable() {},
  async beforeNavigation() {},
  async afterLoad() {},
};
