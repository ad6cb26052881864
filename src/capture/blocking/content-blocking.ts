import type { CaptureOptions } from '../options.js';
import type { PooledContext } from '../pooled-context.js';

/**
 * What a capture asks to keep off the page: ads and trackers (network and cosmetic
 * filters), cookie-consent dialogs, request types (`blockResources`) and the caller's
 * own `hideSelectors`. Like emulation, every capture sets all of it, to its own options
 * or to nothing, so nothing one capture asked for reaches the next in the same context.
 */
export interface ContentBlocking {
  /** Before the target loads: request filters and document-start scripts. */
  beforeNavigation(pooled: PooledContext, options: CaptureOptions): Promise<void>;
  /** After it loaded: waits (bounded by `deadline`) for consent dialogs to be refused, hides elements. */
  afterLoad(pooled: PooledContext, options: CaptureOptions, deadline: number): Promise<void>;
}

/** Blocks nothing (placeholder until the filter engine is wired). */
export const noContentBlocking: ContentBlocking = {
  async beforeNavigation() {},
  async afterLoad() {},
};
